"""Reading a supply change (from the command line or a request body) with pydantic.

The same shape everywhere: ``{"supply": {tranche_id: doses}, "add": [tranche, ...],
"remove": [tranche_id, ...]}``, an added tranche written as in a scenario file (its ``id``
required, ``available`` defaulting to the round's date). Problems come back as located
:class:`DoseflowError` details, through the scenario reader's own translator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationError

from doseflow.allocation.revision import SupplyChange
from doseflow.allocation.scenario import Scenario
from doseflow.allocation.scenario_file import TrancheDoc, _details, _Doc, tranche_from_doc
from doseflow.allocation.scenario_locate import NoLocator
from doseflow.data.fields import Identifier, Quantity, text_cells
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.domain.supply import Tranche

MAX_CHANGES = 1000  # tranches a revision may name (a round has far fewer)


class SupplyChangeDoc(_Doc):
    supply: dict[Identifier, Quantity] = Field(default_factory=dict, max_length=MAX_CHANGES)
    add: list[TrancheDoc] = Field(default_factory=list, max_length=MAX_CHANGES)
    remove: list[Identifier] = Field(default_factory=list, max_length=MAX_CHANGES)


def parse_supply_change(
    raw: Mapping[str, Any],
    scenario: Scenario,
    number: int,
    *,
    source: str | None = None,
    text: bool = False,
) -> SupplyChange:
    """A :class:`SupplyChange` for round ``number`` of ``scenario`` from ``raw``; ``text``
    lets numbers be written as text (command-line values)."""
    spec = scenario.round(number)  # ALLOC_UNKNOWN_ROUND
    try:
        doc = SupplyChangeDoc.model_validate(dict(raw), context=text_cells() if text else None)
    except ValidationError as err:
        raise DoseflowError.from_details(_details(err, [], source, NoLocator())) from None
    problems: list[ErrorDetail] = []
    added: list[Tranche] = []
    for k, t in enumerate(doc.add):
        where = ErrorLocation(source=source, field=f"add[{k}].id")
        if t.id is None:
            problems.append(
                ErrorDetail(
                    "ALLOC_MISSING_FIELD",
                    "an added tranche needs an id (to be revised or removed later)",
                    where,
                    expected="an id not used by any tranche of the scenario",
                )
            )
            continue
        try:
            added.append(tranche_from_doc(t, t.id, spec.date))
        except DoseflowError as err:
            for d in err.details:
                fld = f"add[{k}].{d.location.field}" if d.location.field else f"add[{k}]"
                problems.append(
                    ErrorDetail(
                        d.code,
                        d.message,
                        ErrorLocation(source=source, field=fld),
                        d.expected,
                        d.value,
                    )
                )
    if problems:
        raise DoseflowError.from_details(problems)
    return SupplyChange(doses=dict(doc.supply), added=tuple(added), removed=frozenset(doc.remove))
