"""Preparing a batch of events for the ledger: idempotency, reversals, sequence numbers.

Shared by the in-memory :class:`~doseflow.ledger.book.Book` and the database store, so both
apply exactly the same rules. Preparation reads nothing but what ``stored`` returns and
raises before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Container, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.domain.events import (
    Adjustment,
    AdjustmentReason,
    EventKind,
    LedgerEvent,
    PhysicalCount,
    Reversal,
)
from doseflow.ledger.accounts import AccountKey, AccountState, to_instant
from doseflow.ledger.postings import RawPosting, raw_postings, reversed_postings
from doseflow.ledger.timeline import Entry, timeline_key


class StoredEvent(NamedTuple):
    """What preparation needs to know about an event already in the ledger."""

    event: LedgerEvent
    effective_at: int
    order: int
    postings: tuple[RawPosting, ...]
    reversed_by: str | None


class Prepared(NamedTuple):
    """A new event with its sequence number, the moment its postings take effect, and the
    postings (none yet for a physical count: see :func:`count_entry`)."""

    seq: int
    order: int  # the timeline order: ``seq``, or the reversed event's order
    event: LedgerEvent
    effective_at: int
    postings: tuple[RawPosting, ...]


@dataclass(frozen=True)
class PreparedBatch:
    new: tuple[Prepared, ...]
    skipped: tuple[str, ...]  # ids already recorded with the same content
    next_seq: int


#: Looks up already-stored events by id (returns only those found).
StoredLookup = Callable[[Collection[str]], Mapping[str, StoredEvent]]


def _conflict(event: LedgerEvent, other: LedgerEvent, where: str) -> ErrorDetail:
    fields = ", ".join(event.differences(other))
    return ErrorDetail(
        "LEDGER_IDEMPOTENCY_CONFLICT",
        f"event id '{event.event_id}' {where} with different content ({fields})",
        ErrorLocation(field="event_id"),
        expected="a new id for a new event, or exactly the same content for a re-send",
        value=event.event_id,
    )


def _reversal_problem(code: str, event: Reversal, message: str, expected: str) -> ErrorDetail:
    return ErrorDetail(
        code,
        f"reversal {event.event_id}: {message}",
        ErrorLocation(field="reverses"),
        expected=expected,
        value=event.reverses,
    )


def prepare_batch(
    batch: Sequence[LedgerEvent],
    *,
    stored: StoredLookup,
    sources: Container[str],
    first_seq: int,
) -> PreparedBatch:
    """Classify ``batch`` into new events and re-sends; refuse conflicts and bad reversals.

    A physical count takes two sequence numbers: its own and one for the count-correction
    adjustment it may produce.
    """
    problems: list[ErrorDetail] = []
    unique = dict(zip([e.event_id for e in batch], batch, strict=True))
    if len(unique) != len(batch):  # an id sent twice: the first counts, and must agree
        unique = {}
        for event in batch:
            seen = unique.get(event.event_id)
            if seen is None:
                unique[event.event_id] = event
            elif not seen.same_content(event):
                problems.append(_conflict(event, seen, "appears twice in the batch"))
    targets = {e.reverses for e in unique.values() if isinstance(e, Reversal)}
    known = stored(unique.keys() | targets)
    skipped: list[str] = []
    new_events: list[LedgerEvent] = list(unique.values())
    if known:
        new_events = []
        for event in unique.values():
            old = known.get(event.event_id)
            if old is None:
                new_events.append(event)
            elif old.event.same_content(event):
                skipped.append(event.event_id)
            else:
                problems.append(_conflict(event, old.event, "is already recorded"))
    prepared: list[Prepared] = []
    in_batch: dict[str, Prepared] = {}  # only needed when the batch reverses something
    reversed_now: set[str] = set()
    seq = first_seq
    for event in new_events:
        at = to_instant(event.occurred_at)
        kind = event.kind
        if kind is not EventKind.REVERSAL and kind is not EventKind.PHYSICAL_COUNT:
            # the usual case, kept lean: bulk imports are almost all plain movements
            item = Prepared(seq, seq, event, at, raw_postings(event, sources))
            prepared.append(item)
            if targets:
                in_batch[event.event_id] = item
            seq += 1
            continue
        order = seq
        postings: tuple[RawPosting, ...] = ()
        if isinstance(event, Reversal):
            target = in_batch.get(event.reverses)
            found = known.get(event.reverses)
            target_event = target.event if target else found.event if found else None
            if target_event is None:
                problems.append(
                    _reversal_problem(
                        "LEDGER_UNKNOWN_EVENT",
                        event,
                        f"no event '{event.reverses}' to reverse",
                        "the id of an event recorded earlier (or earlier in this batch)",
                    )
                )
                continue
            if isinstance(target_event, Reversal | PhysicalCount):
                problems.append(
                    _reversal_problem(
                        "LEDGER_NOT_REVERSIBLE",
                        event,
                        f"a {target_event.kind.value} cannot be reversed"
                        + (
                            f"; reverse its adjustment '{target_event.discrepancy_id}' instead"
                            if isinstance(target_event, PhysicalCount)
                            else "; record the original event again instead"
                        ),
                        "the id of a movement, plan, hold or adjustment",
                    )
                )
                continue
            if (found is not None and found.reversed_by) or event.reverses in reversed_now:
                problems.append(
                    _reversal_problem(
                        "LEDGER_ALREADY_REVERSED",
                        event,
                        f"event '{event.reverses}' has already been reversed",
                        "an event not reversed yet",
                    )
                )
                continue
            reversed_now.add(event.reverses)
            if target is not None:
                at, order, original = target.effective_at, target.order, target.postings
            else:
                assert found is not None
                at, order, original = found.effective_at, found.order, found.postings
            postings = reversed_postings(original)
        item = Prepared(seq, order, event, at, postings)
        prepared.append(item)
        in_batch[event.event_id] = item
        seq += 2 if isinstance(event, PhysicalCount) else 1
    if problems:
        raise DoseflowError.from_details(problems)
    return PreparedBatch(tuple(prepared), tuple(skipped), seq)


def count_account(count: PhysicalCount) -> AccountKey:
    return AccountKey(AccountState.STOCK, count.node, count.lot.product, count.lot.number)


def count_entry(item: Prepared) -> Entry:
    """The timeline entry of a count: it sets the balance, at the adjustment's sequence."""
    assert isinstance(item.event, PhysicalCount)
    return Entry(
        item.effective_at,
        item.seq + 1,
        item.seq + 1,
        item.event.counted,
        item.event.event_id,
        True,
        True,
    )


def discrepancy_adjustment(item: Prepared, delta: int, sources: Container[str]) -> Prepared:
    """The count-correction adjustment a count produced (``delta`` != 0)."""
    count = item.event
    assert isinstance(count, PhysicalCount)
    adjustment = Adjustment(
        event_id=count.discrepancy_id,
        occurred_at=count.occurred_at,
        recorded_by=count.recorded_by,
        recorded_at=count.recorded_at,
        node=count.node,
        lot=count.lot,
        quantity=delta,
        reason=AdjustmentReason.COUNT_CORRECTION,
        caused_by=count.event_id,
    )
    return Prepared(
        item.seq + 1, item.seq + 1, adjustment, item.effective_at, raw_postings(adjustment, sources)
    )


def new_entries(batch: PreparedBatch) -> dict[AccountKey, list[Entry]]:
    """Per account, the batch's new timeline entries in timeline order."""
    out: dict[AccountKey, list[Entry]] = {}
    for item in batch.new:
        if isinstance(item.event, PhysicalCount):
            out.setdefault(count_account(item.event), []).append(count_entry(item))
            continue
        for state, node, product, lot, ref, delta in item.postings:
            out.setdefault(AccountKey(state, node, product, lot, ref), []).append(
                Entry(item.effective_at, item.order, item.seq, delta, item.event.event_id, True)
            )
    for entries in out.values():
        entries.sort(key=timeline_key)
    return out
