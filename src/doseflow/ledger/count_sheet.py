"""A physical-count sheet: what a store's counter enters, as ledger event rows, and what the
ledger recorded for it.

A count is recorded like any other ledger event: the sheet only turns what was typed into
rows of a ledger event file (``physical-count``), which then go through the same path as an
imported file or ``POST /api/ledger/events`` (:func:`doseflow.ledger.attribution.
recorded_events`, then the store's all-or-nothing append). So the ledger's own rules judge
a count: a negative or fractional number, a lot with another expiry than the ledger's, a
moment in the future, or a back-dated count that would leave too little for a later
movement are refused with the same located errors as anywhere else, and nothing is written.

Typed values are passed on as typed (a whole number as a number, anything else as text),
so the row checks, not this module, say what is wrong with them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from doseflow.domain.events import Adjustment, EventKind, LedgerEvent, PhysicalCount
from doseflow.domain.time_zone import day_start

#: A whole number as typed: an optional sign and digits (at most 15: beyond any quantity).
_WHOLE = re.compile(r"[+-]?\d{1,15}")


@dataclass(frozen=True)
class CountEntry:
    """One lot as entered on the sheet, ``key`` naming its line there: a lot the sheet
    listed (``listed``), or one found on the shelf. Every value is the text sent (``''``
    when left empty)."""

    key: str
    listed: bool
    product: str
    lot: str
    expiry: str
    counted: str

    @property
    def blank(self) -> bool:
        """A line not counted, left out of the count: a listed lot with no count, or a line
        for a found lot with nothing typed in it."""
        typed = [self.counted] if self.listed else [self.counted, self.product, self.lot]
        return not any(value.strip() for value in [*typed, "" if self.listed else self.expiry])


@dataclass(frozen=True)
class CountResult:
    """What the ledger recorded for one counted lot: the count, the ledger's balance at its
    moment, and the correction it produced (counted - ledger; none recorded when 0)."""

    event_id: str
    node: str
    product: str
    lot: str
    counted: int
    ledger: int
    adjustment: int
    adjustment_id: str | None
    remark: str | None


def count_moment(day: date, zone: tzinfo, now: datetime) -> datetime:
    """The moment a count of ``day`` at a node (in ``zone``) stands for: the end of that day
    there, or ``now`` while that day is still under way (a count taken today is of what is
    on the shelf now). A day still to come gives the end of that day, which the ledger then
    refuses as in the future (``LEDGER_OCCURRED_OUT_OF_RANGE``)."""
    end = day_start(day + timedelta(days=1), zone) - timedelta(seconds=1)
    return min(end, now) if day_start(day, zone) <= now else end


def _typed(text: str) -> int | str | None:
    value = text.strip()
    if not value:
        return None
    return int(value) if _WHOLE.fullmatch(value) else value


def count_rows(
    entries: Sequence[CountEntry],
    *,
    node: str,
    moment: datetime,
    sheet: str,
    remark: str | None,
) -> list[tuple[int, dict[str, Any]]]:
    """The ledger event rows of the counted lines (blank ones left out), numbered from 1 in
    sheet order; the event ids are ``<sheet>-<n>``, so sending the same sheet again is a
    no-op. Values are typed as entered (see the module)."""
    rows: list[tuple[int, dict[str, Any]]] = []
    for entry in entries:
        if entry.blank:
            continue
        line = len(rows) + 1
        row: dict[str, Any] = {
            "id": f"{sheet}-{line}",
            "type": EventKind.PHYSICAL_COUNT.value,
            "occurred_at": moment.isoformat(),
            "node": node,
            "product": entry.product.strip() or None,
            "lot": entry.lot.strip() or None,
            "expiry": entry.expiry.strip() or None,
            "quantity": _typed(entry.counted),
        }
        if remark and remark.strip():
            row["reason"] = remark.strip()
        rows.append((line, row))
    return rows


def count_results(
    count_ids: Sequence[str], recorded: Mapping[str, LedgerEvent]
) -> list[CountResult]:
    """Each recorded count among ``count_ids`` with the correction the ledger recorded for
    it (``recorded``: the counts and their ``<id>/discrepancy`` adjustments, by id)."""
    out: list[CountResult] = []
    for event_id in count_ids:
        count = recorded.get(event_id)
        if not isinstance(count, PhysicalCount):
            continue
        found = recorded.get(count.discrepancy_id)
        adjustment = found.quantity if isinstance(found, Adjustment) else 0
        out.append(
            CountResult(
                event_id,
                count.node,
                count.lot.product,
                count.lot.number,
                count.counted,
                count.counted - adjustment,
                adjustment,
                found.event_id if found is not None else None,
                count.remark,
            )
        )
    return out
