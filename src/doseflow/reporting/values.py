"""Data values: as submitted (raw, from any file or API) and as validated and stored.

A value is identified by its *key*: participant, org unit, period (DHIS2 code), data element,
category key and attribute option combo key. Re-submitting the same key replaces the value (an
idempotent upsert). The attribute option combo is DHIS2's second disaggregation, of the whole
data set rather than of one element (e.g. a funding partner); it is written like a category
key and is ``default`` when there is none, as almost always.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from doseflow.reporting.schema import DEFAULT_CATEGORY_KEY

#: (participant, org_unit, period, data_element, category, attribute)
ValueKey = tuple[str, str, str, str, str, str]

#: The attribute option combo of a value that has none (DHIS2's "default").
DEFAULT_ATTRIBUTE_KEY = DEFAULT_CATEGORY_KEY


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a submitted value came from, so its errors can point at it: the file, the line
    or row, and the column each field was read from (e.g. ``{"value": "H"}``)."""

    source: str | None = None
    line: int | None = None
    columns: Mapping[str, int | str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class SubmittedValue:
    """One value as a participant sent it: nothing checked yet. ``value`` may be text.
    ``participant`` may be left out; it is then the participant owning ``org_unit``.
    ``attribute`` is the attribute option combo key (``default`` when there is none).
    ``deleted`` marks a DHIS2 ``"deleted": true`` value: it asks for the stored value to be
    removed (its ``value`` is then not checked)."""

    data_element: str
    period: str
    org_unit: str
    value: object
    category: str = DEFAULT_CATEGORY_KEY
    participant: str | None = None
    comment: str | None = None
    origin: Origin | None = None
    attribute: str = DEFAULT_ATTRIBUTE_KEY
    deleted: bool = False


class DataValue(NamedTuple):
    """A validated value (a number), as stored. Immutable; a named tuple rather than a
    dataclass because bulk imports create a million of them and tuples are built ~5x faster.
    The key is the first five fields and ``attribute`` (last, so that it can default to
    ``default``): use :attr:`key`, not a slice."""

    participant: str
    org_unit: str
    period: str
    data_element: str
    category: str
    value: float
    comment: str | None = None
    attribute: str = DEFAULT_ATTRIBUTE_KEY

    @property
    def key(self) -> ValueKey:
        return (
            self.participant,
            self.org_unit,
            self.period,
            self.data_element,
            self.category,
            self.attribute,
        )


def format_number(value: float) -> str:
    """``5.0`` -> ``"5"``; other numbers as Python writes them (no exponent for counts)."""
    number = float(value)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)
