"""Participants with their population and name taken from the bundled WPP 2019 data."""

from __future__ import annotations

from typing import Any

from doseflow.data.population import country
from doseflow.domain.errors import DoseflowError
from doseflow.domain.participant import Participant
from doseflow.domain.product import Financing


def make_participant(
    iso3: str, financing: Financing | str, *, population: int | None = None, **fields: Any
) -> Participant:
    """A :class:`Participant`; ``population`` and ``name`` default to the bundled data.

    Raises ``ALLOC_UNKNOWN_ISO3`` for a code the bundled data does not know.
    """
    code = iso3.upper()
    try:
        known = country(code)
    except DoseflowError as err:
        raise DoseflowError(
            "ALLOC_UNKNOWN_ISO3",
            f"'{iso3}' is not a known ISO 3166-1 alpha-3 code",
            field="iso3",
            expected="an ISO3 code from the bundled WPP 2019 data (e.g. PRK, NGA, XKX)",
            value=iso3,
        ) from err
    fields.setdefault("name", known.name)
    return Participant(
        iso3=code,
        population=known.population if population is None else population,
        financing=Financing(financing),
        **fields,
    )
