"""Running balances of one account over time, and the never-negative check.

Postings of an account are ordered by (moment it took effect, recording sequence): two
events at the same second keep the order they were recorded in. A new posting (possibly
back-dated) is merged into that order and every balance from its moment on is recomputed;
a stock or transit balance below zero at any point refuses the whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.ledger.accounts import CHECKED_STATES, AccountKey, from_instant


class Entry(NamedTuple):
    """One posting on the timeline, ordered by (``at``, ``order``, ``seq``): ``order`` is the
    event's own sequence number, except for a reversal, which takes the order of the event
    it reverses so the two sit side by side and cancel out exactly. For a physical count,
    ``delta`` holds the counted quantity until :func:`walk` resolves it into the discrepancy."""

    at: int
    order: int
    seq: int
    delta: int
    event_id: str
    new: bool = False
    is_count: bool = False


@dataclass(frozen=True)
class Violation:
    """A balance that would go below zero: where, when, by how much, and which new event
    caused it. ``held`` is the balance just before the postings that took it below zero
    (those of ``taker``, at one moment and place in the order); ``taker`` is the event of
    those postings, which is the new event itself unless a back-dated one left too little
    for an event already recorded."""

    account: AccountKey
    at: int
    balance: int
    event_id: str
    held: int | None = None
    taker: str = ""

    @property
    def shortfall(self) -> int:
        return -self.balance

    @property
    def taken(self) -> int | None:
        """How many doses the postings that went below zero took out."""
        return None if self.held is None else self.held - self.balance

    def detail(self) -> ErrorDetail:
        """The refusal in plain words: who takes how many doses out of what, what was there
        at that moment, and how many are missing."""
        when = from_instant(self.at).strftime("%Y-%m-%d %H:%M:%S UTC")
        if self.held is None or self.taken is None:
            return ErrorDetail(
                code="LEDGER_NEGATIVE_BALANCE",
                message=(
                    f"event {self.event_id} would leave {self.account.describe()} at "
                    f"{self.balance:,} doses on {when} ({self.shortfall:,} short)"
                ),
                location=ErrorLocation(field="quantity"),
                expected=f"stock recorded before {when}",
                value=self.shortfall,
            )
        what = f"{self.account.product} lot {self.account.lot}"
        source = self.account.place()
        if not self.taker or self.taker == self.event_id:
            message = (
                f"event {self.event_id} would take {self.taken:,} doses of {what} out of "
                f"{source} on {when}, which holds only {self.held:,} at that moment "
                f"({self.shortfall:,} short)"
            )
            expected = f"at most {self.held:,} doses"
        else:
            message = (
                f"event {self.event_id} would leave too few doses of {what} at "
                f"{source} for event {self.taker} on {when}: {self.taker} "
                f"takes {self.taken:,} doses out of {source}, which would then hold only "
                f"{self.held:,} ({self.shortfall:,} short)"
            )
            expected = f"at most {self.held:,} doses taken out at that moment"
        return ErrorDetail(
            code="LEDGER_NEGATIVE_BALANCE",
            message=message,
            location=ErrorLocation(field="quantity"),
            expected=expected,
            value=self.taken,
        )


@dataclass(frozen=True)
class WalkResult:
    """Balances after each entry, resolved count discrepancies (event id -> delta), and the
    first violation if any."""

    balances: tuple[int, ...]
    count_deltas: dict[str, int]
    violation: Violation | None


def walk(account: AccountKey, start: int, entries: Sequence[Entry]) -> WalkResult:
    """Run the balance from ``start`` through ``entries`` (already in timeline order).

    An event and its reversal share a place in the order and are netted before the balance
    is checked, so a reversed pair never counts as a dip below zero.
    """
    checked = account.state in CHECKED_STATES
    balance = start
    balances: list[int] = []
    counts: dict[str, int] = {}
    violation: Violation | None = None
    last_new = ""
    held = start  # the balance before the entries of the current (moment, order) place
    n = len(entries)
    for i, entry in enumerate(entries):
        if i == 0 or entries[i - 1][:2] != entry[:2]:
            held = balance
        if entry.new:
            last_new = entry.event_id
        if entry.is_count:
            delta = entry.delta - balance
            counts[entry.event_id] = delta
            balance = entry.delta
        else:
            balance += entry.delta
        balances.append(balance)
        if (
            checked
            and balance < 0
            and violation is None
            and (i + 1 == n or entries[i + 1][:2] != entry[:2])
        ):
            violation = Violation(
                account, entry.at, balance, last_new or entry.event_id, held, entry.event_id
            )
    return WalkResult(tuple(balances), counts, violation)


def timeline_key(entry: Entry) -> tuple[int, int, int]:
    return (entry.at, entry.order, entry.seq)


def merge(existing: Sequence[Entry], new: Sequence[Entry]) -> list[Entry]:
    """Both lists in timeline order."""
    return sorted([*existing, *new], key=timeline_key)


def raise_violations(violations: Sequence[Violation]) -> None:
    """Refuse a batch: one error naming every account that would go negative."""
    if violations:
        ordered = sorted(violations, key=lambda v: (v.at, v.account))
        raise DoseflowError.from_details(v.detail() for v in ordered)
