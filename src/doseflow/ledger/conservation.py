"""The ledger self-check: replay every event and compare with what the store holds.

By double entry, the replayed accounts always sum to zero: every dose that entered is in
stock, in transit, administered or written off. The check compares that replay with the
stored balances (the projections queries read: stock and transit accounts; doses
administered, written off or entered are totals of the events, so the replay is their
record) and reports any difference, any moment a stock or transit balance was negative, and
a repair plan: what would fix each problem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from doseflow.ledger.accounts import CHECKED_STATES, AccountKey, AccountState, from_instant
from doseflow.ledger.timeline import Violation


@dataclass(frozen=True)
class AccountDifference:
    account: AccountKey
    replayed: int
    stored: int


@dataclass(frozen=True)
class ConservationReport:
    """Totals by state (doses) from the replay, the stored (projected) totals, and every
    problem found."""

    events: int
    totals: Mapping[AccountState, int]
    stored_totals: Mapping[AccountState, int]
    differences: tuple[AccountDifference, ...]
    negatives: tuple[Violation, ...]
    repairs: tuple[str, ...]

    @property
    def entered(self) -> int:
        return -self.totals[AccountState.ENTERED]

    @property
    def accounted(self) -> int:
        """Doses in stock, in transit, administered or written off."""
        return sum(v for s, v in self.totals.items() if s is not AccountState.ENTERED)

    @property
    def ok(self) -> bool:
        return not self.differences and not self.negatives and self.entered == self.accounted


def compare(
    events: int,
    replayed: Mapping[AccountKey, int],
    stored: Mapping[AccountKey, int],
    negatives: Sequence[Violation],
    projected: frozenset[AccountState] = CHECKED_STATES,
) -> ConservationReport:
    """Build the report from the replayed balances of every account and the stored balances
    of the ``projected`` ones (a stored account of another state is a difference too)."""
    totals = dict.fromkeys(AccountState, 0)
    stored_totals = dict.fromkeys(projected, 0)
    for key, amount in replayed.items():
        totals[key.state] += amount
    for key, amount in stored.items():
        stored_totals[key.state] = stored_totals.get(key.state, 0) + amount
    compared = {k for k in replayed if k.state in projected} | set(stored)
    differences = tuple(
        AccountDifference(key, replayed.get(key, 0), stored.get(key, 0))
        for key in sorted(compared)
        if replayed.get(key, 0) != stored.get(key, 0)
    )
    repairs: list[str] = []
    if differences:
        repairs.append(
            f"{len(differences)} stored balance(s) differ from the events: rebuild the "
            "projections from the events (`doseflow ledger check --repair`); no event changes"
        )
        for d in differences[:20]:
            repairs.append(
                f"  {d.account.describe()}: stored {d.stored:,}, events say {d.replayed:,} doses"
            )
    for v in negatives:
        when = from_instant(v.at).date().isoformat()
        repairs.append(
            f"{v.account.describe()} is {v.balance:,} doses on {when}: record the missing "
            f"receipt, or a 'found' adjustment of {v.shortfall:,} doses dated {when} or "
            f"earlier, or reverse event {v.event_id}"
        )
    return ConservationReport(
        events, totals, stored_totals, differences, tuple(negatives), tuple(repairs)
    )
