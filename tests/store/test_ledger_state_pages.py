"""A shipment's state is worked out by the database for filtering and sorting a page (issue
15: ``/dashboard/shipments?state=held`` and sorting by state folded every shipment of the
ledger, 3 to 4 s on the demo database); the page equals filtering and sorting the folds."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from doseflow.ledger.views import ShipmentState
from doseflow.store import ledger_query as q
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from tests.ledger.factory import (
    NODES,
    arrived,
    dispatched,
    held,
    onward,
    planned,
    received,
    reversal,
)


@pytest.fixture
def ledger(db_url: str) -> LedgerStore:
    store = LedgerStore(open_database(db_url))
    store.register_nodes(NODES)
    store.append_events(
        [
            *[planned(f"p{i}", 1, 100, f"S{i}") for i in range(1, 12)],
            *[dispatched(f"d{i}", 2, 100, f"S{i}") for i in (1, 2, 3, 4, 5)],
            *[arrived(f"a{i}", 10, 100, f"S{i}") for i in (1, 2, 3)],
            held("h1", 11, "S1"),  # S1 held
            held("h2", 11, "S2"),
            onward("o2", 20, 100, "S2"),
            received("r2", 25, 100, "S2"),  # S2 held, then received
            held("h3", 11, "S3"),
            reversal("x3", 12, "h3"),  # S3's hold undone: at the hub
            reversal("x5", 3, "d5"),  # S5's dispatch undone: planned again
            reversal("x6", 3, "p6"),  # S6's only event undone: cancelled
            dispatched("d7", 1, 100, "S7"),  # same instant as its planning, recorded later
        ]
    )
    return store


def test_the_states_cover_every_kind(ledger: LedgerStore) -> None:
    states = {s.shipment_id: s.state for s in ledger.shipments()}
    assert states["S1"] == ShipmentState.HELD
    assert states["S2"] == ShipmentState.RECEIVED
    assert states["S3"] == ShipmentState.AT_HUB
    assert states["S4"] == ShipmentState.IN_TRANSIT
    assert states["S5"] == ShipmentState.PLANNED
    assert states["S6"] == ShipmentState.CANCELLED
    assert states["S7"] == ShipmentState.IN_TRANSIT


def test_a_page_filtered_by_state_is_the_folds_filtered(ledger: LedgerStore) -> None:
    every = ledger.shipments()
    for state in {s.state for s in every}:
        page, total = ledger.shipments_page(limit=None, state=state)
        assert page == [s for s in every if s.state == state], state
        assert total == len(page)
    first, total = ledger.shipments_page(limit=2, offset=1, state=ShipmentState.PLANNED)
    planned_ones = [s for s in every if s.state == ShipmentState.PLANNED]
    assert first == planned_ones[1:3]
    assert total == len(planned_ones)


@pytest.mark.parametrize("descending", [False, True])
def test_a_page_sorted_by_state_is_the_folds_sorted(ledger: LedgerStore, descending: bool) -> None:
    every = sorted(ledger.shipments(), key=lambda s: s.shipment_id, reverse=descending)
    expected = sorted(every, key=lambda s: s.state, reverse=descending)
    page, total = ledger.shipments_page(limit=None, sort="state", descending=descending)
    assert [(s.state, s.shipment_id) for s in page] == [(s.state, s.shipment_id) for s in expected]
    assert total == len(every)


def test_a_state_page_reads_only_its_own_shipments(
    ledger: LedgerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[Sequence[str] | None] = []
    real = q.shipment_events

    def spy(conn: object, ids: Sequence[str] | None) -> object:
        asked.append(None if ids is None else sorted(ids))
        return real(conn, ids)  # type: ignore[arg-type]

    monkeypatch.setattr(q, "shipment_events", spy)
    page, _ = ledger.shipments_page(limit=None, state=ShipmentState.HELD)
    assert [s.shipment_id for s in page] == ["S1"]
    assert asked == [["S1"]]


def test_a_state_filter_keeps_the_doses_order(ledger: LedgerStore) -> None:
    every = sorted(ledger.shipments(), key=lambda s: s.shipment_id, reverse=True)
    moving = [s for s in every if s.state == ShipmentState.IN_TRANSIT]
    expected = sorted(moving, key=lambda s: s.dispatched_doses, reverse=True)
    page, total = ledger.shipments_page(
        limit=None, state=ShipmentState.IN_TRANSIT, sort="dispatched", descending=True
    )
    assert page == expected
    assert total == len(moving) == 2
