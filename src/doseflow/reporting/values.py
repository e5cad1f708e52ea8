"""Data values: as submitted (raw, from any file or API) and as validated and stored.

A value is identified by its *key*: participant, org unit, period (DHIS2 code), data element
and category key. Re-submitting the same key replaces the value (an idempotent upsert).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from doseflow.reporting.schema import DEFAULT_CATEGORY_KEY

#: (participant, org_unit, period, data_element, category)
ValueKey = tuple[str, str, str, str, str]


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
    deleted: bool = False


class DataValue(NamedTuple):
    """A validated value (a number), as stored. Immutable; a named tuple rather than a
    dataclass because bulk imports create a million of them and tuples are built ~5x faster.
    The first five fields are the key."""

    participant: str
    org_unit: str
    period: str
    data_element: str
    category: str
    value: float
    comment: str | None = None

    @property
    def key(self) -> ValueKey:
        return (self.participant, self.org_unit, self.period, self.data_element, self.category)


def format_number(value: float) -> str:
    """``5.0`` -> ``"5"``; other numbers as Python writes them (no exponent for counts)."""
    number = float(value)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)
