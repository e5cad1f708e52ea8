"""An in-memory ledger with exactly the store's rules: the reference the database is
checked against, the engine of the self-check replay, and a ledger for simulations.

It keeps every account's whole timeline in lists, which is simple and obviously right; the
database store gets the same answers with indexes and projections.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from doseflow.domain.events import LedgerEvent, PhysicalCount, Reversal
from doseflow.ledger.accounts import AccountKey, AccountState, Posting
from doseflow.ledger.batch import (
    Prepared,
    StoredEvent,
    count_account,
    discrepancy_adjustment,
    new_entries,
    prepare_batch,
)
from doseflow.ledger.postings import named
from doseflow.ledger.timeline import (
    Entry,
    Violation,
    merge,
    raise_violations,
    timeline_key,
    walk,
)


@dataclass(frozen=True)
class AppendResult:
    """What a batch did: ids appended (in order), ids skipped as re-sends, and the ids of
    count-correction adjustments produced by physical counts."""

    appended: tuple[str, ...]
    skipped: tuple[str, ...]
    derived: tuple[str, ...] = ()

    def __add__(self, other: AppendResult) -> AppendResult:
        return AppendResult(
            self.appended + other.appended,
            self.skipped + other.skipped,
            self.derived + other.derived,
        )


@dataclass
class Book:
    """A whole ledger in memory. ``sources`` are the supplier node codes."""

    sources: frozenset[str] = frozenset()
    _events: dict[str, Prepared] = field(default_factory=dict)
    _reversed_by: dict[str, str] = field(default_factory=dict)
    _timelines: dict[AccountKey, list[Entry]] = field(default_factory=dict)
    _next_seq: int = 1

    # -- writing -------------------------------------------------------------------------

    def _stored(self, ids: Collection[str]) -> Mapping[str, StoredEvent]:
        return {
            i: StoredEvent(p.event, p.effective_at, p.order, p.postings, self._reversed_by.get(i))
            for i in ids
            if (p := self._events.get(i)) is not None
        }

    def append(self, batch: Sequence[LedgerEvent]) -> AppendResult:
        """Append ``batch`` all-or-nothing (raises ``DoseflowError`` and changes nothing)."""
        prepared = prepare_batch(
            batch, stored=self._stored, sources=self.sources, first_seq=self._next_seq
        )
        entries = new_entries(prepared)
        violations: list[Violation] = []
        count_deltas: dict[str, int] = {}
        merged_all: dict[AccountKey, list[Entry]] = {}
        for account, new in entries.items():
            merged = merge(self._timelines.get(account, []), new)
            result = walk(account, 0, merged)
            if result.violation is not None:
                violations.append(result.violation)
            count_deltas.update(result.count_deltas)
            merged_all[account] = merged
        raise_violations(violations)
        derived: list[Prepared] = []
        for item in prepared.new:
            if isinstance(item.event, PhysicalCount):
                delta = count_deltas[item.event.event_id]
                # the count entry becomes an ordinary posting of the adjustment
                stock = count_account(item.event)
                merged_all[stock] = [
                    e._replace(delta=delta, is_count=False, event_id=item.event.discrepancy_id)
                    if e.is_count and e.event_id == item.event.event_id
                    else e
                    for e in merged_all[stock]
                ]
                if delta == 0:
                    merged_all[stock] = [
                        e for e in merged_all[stock] if e.event_id != item.event.discrepancy_id
                    ]
                    continue
                adjustment = discrepancy_adjustment(item, delta, self.sources)
                derived.append(adjustment)
                for posting in named(adjustment.postings):
                    if posting.account != stock:
                        entry = Entry(
                            item.effective_at,
                            adjustment.order,
                            adjustment.seq,
                            posting.delta,
                            adjustment.event.event_id,
                            True,
                        )
                        merged_all[posting.account] = merge(
                            merged_all.get(
                                posting.account, self._timelines.get(posting.account, [])
                            ),
                            [entry],
                        )
        for account, merged in merged_all.items():
            self._timelines[account] = [e._replace(new=False) for e in merged]
        for item in (*prepared.new, *derived):
            self._events[item.event.event_id] = item
            if isinstance(item.event, Reversal):
                self._reversed_by[item.event.reverses] = item.event.event_id
        self._next_seq = prepared.next_seq
        return AppendResult(
            tuple(p.event.event_id for p in prepared.new),
            prepared.skipped,
            tuple(p.event.event_id for p in derived),
        )

    def replay(self, stored: Iterable[LedgerEvent]) -> list[Violation]:
        """Load already-recorded events in recording order without refusing anything
        (counts are not re-resolved: their adjustments are among the events). Returns every
        point where a stock or transit balance is negative, for the self-check."""
        for event in stored:
            prepared = prepare_batch(
                [event], stored=self._stored, sources=self.sources, first_seq=self._next_seq
            )
            for item in prepared.new:
                self._events[item.event.event_id] = item
                if isinstance(item.event, Reversal):
                    self._reversed_by[item.event.reverses] = item.event.event_id
                for p in named(item.postings):
                    self._timelines.setdefault(p.account, []).append(
                        Entry(item.effective_at, item.order, item.seq, p.delta, item.event.event_id)
                    )
            self._next_seq = prepared.next_seq
        violations: list[Violation] = []
        for account, timeline in self._timelines.items():
            timeline.sort(key=timeline_key)
            result = walk(account, 0, timeline)
            if result.violation is not None:
                violations.append(result.violation)
        return violations

    # -- reading -------------------------------------------------------------------------

    def event(self, event_id: str) -> LedgerEvent | None:
        found = self._events.get(event_id)
        return found.event if found else None

    def events(self) -> list[LedgerEvent]:
        """Every event in recording order (including derived adjustments)."""
        return [p.event for p in sorted(self._events.values(), key=lambda p: p.seq)]

    def effective_at(self, event_id: str) -> int | None:
        """The moment (seconds since 1970 UTC) an event's postings take effect."""
        found = self._events.get(event_id)
        return found.effective_at if found else None

    def postings(self, event_id: str) -> tuple[Posting, ...]:
        found = self._events.get(event_id)
        return named(found.postings) if found else ()

    def balance(self, account: AccountKey, at: int | None = None) -> int:
        """Balance of ``account`` at the end of second ``at`` (default: now)."""
        timeline = self._timelines.get(account, [])
        if at is not None:
            timeline = timeline[: bisect_right([e.at for e in timeline], at)]
        return sum(e.delta for e in timeline)

    def balances(self, at: int | None = None) -> dict[AccountKey, int]:
        """Every account's balance (zero balances included)."""
        return {account: self.balance(account, at) for account in self._timelines}

    def timeline(self, account: AccountKey) -> list[Entry]:
        return list(self._timelines.get(account, []))

    def totals_by_state(self) -> dict[AccountState, int]:
        out = dict.fromkeys(AccountState, 0)
        for account, amount in self.balances().items():
            out[account.state] += amount
        return out
