"""Shipments held at hubs are found without folding every shipment of the ledger (issue 15:
the shipments page took 0.6 s on the demo database): only shipments with a ``held`` event
are read, and the answer is the same as folding them all."""

from __future__ import annotations

from collections import defaultdict
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
            # S1: held at Dalian, still there
            planned("p1", 1, 500, "S1"),
            dispatched("d1", 2, 500, "S1"),
            arrived("a1", 10, 500, "S1"),
            held("h1", 11, "S1"),
            # S2: held, then sent on and received: no longer held
            planned("p2", 1, 300, "S2"),
            dispatched("d2", 2, 300, "S2"),
            arrived("a2", 10, 300, "S2"),
            held("h2", 11, "S2"),
            onward("o2", 20, 300, "S2"),
            received("r2", 25, 300, "S2"),
            # S3: held, but the hold was entered in error and reversed: at the hub, not held
            planned("p3", 1, 200, "S3"),
            dispatched("d3", 2, 200, "S3"),
            arrived("a3", 10, 200, "S3"),
            held("h3", 11, "S3"),
            reversal("x3", 12, "h3"),
            # S4..S9: never held
            *[e for i in range(4, 10) for e in (planned(f"p{i}", 1, 100, f"S{i}"),)],
        ]
    )
    return store


def _fold_everything(store: LedgerStore) -> dict[tuple[str, str], list[str]]:
    """The old way, as the reference: every shipment's status, keep the held ones."""
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for s in store.shipments():
        if s.state == ShipmentState.HELD:
            out[(s.location or "", s.product or "")].append(s.shipment_id)
    return dict(out)


def test_held_at_hubs_gives_what_folding_every_shipment_gives(ledger: LedgerStore) -> None:
    holdings = ledger.held_at_hubs()
    got = {(h.hub, h.product): [s.shipment_id for s in h.held] for h in holdings if h.held}
    assert got == _fold_everything(ledger) == {("DLC", "AZ-SII"): ["S1"]}
    assert sum(h.doses for h in holdings) == 500 + 200  # S1 and S3 are at the hub


def test_held_at_hubs_reads_only_shipments_that_were_ever_held(
    ledger: LedgerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[Sequence[str] | None] = []
    real = q.shipment_events

    def spy(conn: object, ids: Sequence[str] | None) -> object:
        asked.append(None if ids is None else sorted(ids))
        return real(conn, ids)  # type: ignore[arg-type]

    monkeypatch.setattr(q, "shipment_events", spy)
    ledger.held_at_hubs()
    assert None not in asked  # never every shipment of the ledger
    assert {i for ids in asked if ids for i in ids} <= {"S1", "S2", "S3"}
