"""The posting rules over columns (``stock_and_transit_legs``, used by bulk appends) give
exactly the stock and transit postings of the event-by-event rules (``raw_postings``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from doseflow.domain.events import (
    AdjustmentReason,
    DiscrepancyReason,
    DispatchedOnward,
    EventKind,
    LedgerEvent,
    ReceiptOutcome,
    ShipmentDispatched,
    ShipmentReceived,
)
from doseflow.ledger.accounts import CHECKED_STATES, instants, to_instant
from doseflow.ledger.postings import RawPosting, raw_postings, stock_and_transit_legs
from tests.ledger.factory import (
    LOT_A,
    LOT_B,
    adjusted,
    administered,
    arrived,
    day,
    issue,
    transfer,
)

NODES = ("SII", "DLC", "PRK-NS", "PRK-R1")
lots = st.sampled_from([LOT_A, LOT_B])
quantities = st.integers(1, 500)
nodes = st.sampled_from(NODES)


@st.composite
def events(draw: st.DrawFn, n: int) -> LedgerEvent:
    eid, d, q, lot = f"e{n}", draw(st.integers(1, 60)), draw(quantities), draw(lots)
    kind = draw(st.sampled_from(sorted(EventKind)))
    shipment = f"S{draw(st.integers(1, 3))}"
    here, there = draw(st.lists(nodes, min_size=2, max_size=2, unique=True))
    if kind is EventKind.DISPATCHED:
        return ShipmentDispatched(
            event_id=eid, occurred_at=day(d), recorded_by="t", shipment_id=shipment,
            origin=here, destination=there, lot=lot, quantity=q,
        )  # fmt: skip
    if kind is EventKind.DISPATCHED_ONWARD:
        return DispatchedOnward(
            event_id=eid, occurred_at=day(d), recorded_by="t", shipment_id=shipment,
            hub=here, destination=there, lot=lot, quantity=q,
        )  # fmt: skip
    if kind is EventKind.ARRIVED_AT_HUB:
        return arrived(eid, d, q, shipment, lot)
    if kind is EventKind.RECEIVED:
        outcome = draw(st.sampled_from(list(ReceiptOutcome)))
        lost = draw(quantities)
        return ShipmentReceived(
            event_id=eid, occurred_at=day(d), recorded_by="t", shipment_id=shipment,
            node=draw(nodes), lot=lot,
            quantity=0 if outcome is ReceiptOutcome.REJECTED else q,
            outcome=outcome,
            discrepancy=0 if outcome is ReceiptOutcome.CONFIRMED else lost,
            reason=None if outcome is ReceiptOutcome.CONFIRMED else DiscrepancyReason.SHORT,
        )  # fmt: skip
    if kind is EventKind.TRANSFER:
        return transfer(eid, d, q, here, there, lot)
    if kind is EventKind.ISSUE:
        return issue(eid, d, q, here, there, lot)
    if kind is EventKind.ADJUSTMENT:
        reason = draw(st.sampled_from(list(AdjustmentReason)))
        signed = q if reason is AdjustmentReason.FOUND else -q
        if reason is AdjustmentReason.COUNT_CORRECTION:
            signed = draw(st.sampled_from([q, -q]))
        return adjusted(eid, d, signed, reason, draw(nodes), lot)
    return administered(eid, d, q, draw(nodes), lot)


def _by_event(
    kind: EventKind, batch: Sequence[LedgerEvent], sources: frozenset[str]
) -> list[Counter[RawPosting]]:
    """The legs' postings, regrouped per event."""
    out: list[Counter[RawPosting]] = [Counter() for _ in batch]
    for leg in stock_and_transit_legs(kind, batch, sources):
        columns = (leg.rows, leg.node, leg.product, leg.lot, leg.ref, leg.delta)
        assert len({len(c) for c in columns}) == 1
        for row, node, product, lot, ref, delta in zip(*columns, strict=True):
            out[row][(leg.state, node, product, lot, ref, delta)] += 1
    return out


@settings(max_examples=150, deadline=None)
@given(
    batch=st.integers(1, 12).flatmap(lambda n: st.tuples(*(events(i) for i in range(n)))),
    sources=st.sampled_from([frozenset({"SII"}), frozenset(), frozenset({"SII", "DLC"})]),
)
def test_legs_are_the_stock_and_transit_postings_of_raw_postings(
    batch: tuple[LedgerEvent, ...], sources: frozenset[str]
) -> None:
    for kind in {e.kind for e in batch}:
        same = [e for e in batch if e.kind is kind]
        got = _by_event(kind, same, sources)
        for event, postings in zip(same, got, strict=True):
            expected = Counter(p for p in raw_postings(event, sources) if p[0] in CHECKED_STATES)
            assert postings == expected, event


def test_instants_match_to_instant_and_refuse_naive_moments() -> None:
    from datetime import datetime

    import pytest

    moments = [day(d, h) for d in (1, 40, 200) for h in (0, 13)]
    assert instants(moments) == [to_instant(m) for m in moments]
    with pytest.raises(ValueError, match="aware"):
        instants([datetime(2021, 1, 1)])
