"""The database sorts and filters the dashboard's big tables (stock on hand, shipments) before
cutting a page, on both backends (issue 15: never read every row to show a page)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from doseflow.domain.events import ShipmentDispatched, ShipmentPlanned, ShipmentReceived
from doseflow.domain.lot import Lot
from doseflow.domain.network import Node, NodeKind
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore

STORES = ("KEN-A", "KEN-B", "NGA-A")


@pytest.fixture
def ledger(db_url: str) -> LedgerStore:
    """Each store receives two products x two lots, doses 100 x store + 10 x product + lot."""
    store = LedgerStore(open_database(db_url))
    store.register_nodes(
        [
            Node("SUP", "supplier", NodeKind.SUPPLIER),
            *(Node(c, c, NodeKind.NATIONAL_STORE, country=c[:3]) for c in STORES),
        ]
    )
    t0 = datetime(2021, 3, 1, tzinfo=UTC)
    events: list[Any] = []
    for s, code in enumerate(STORES):
        for p in range(2):
            for k in range(2):
                sid = f"S-{s}{p}{k}"
                doses = 100 * (s + 1) + 10 * p + k
                lot = Lot(f"P{p}", f"L{p}{k}", expiry=date(2021, 9, 1) + timedelta(days=k))
                common: dict[str, Any] = {"recorded_by": "t", "shipment_id": sid}
                events += [
                    ShipmentPlanned(
                        event_id=f"p{sid}",
                        occurred_at=t0,
                        origin="SUP",
                        destination=code,
                        product=lot.product,
                        quantity=doses,
                        **common,
                    ),
                    ShipmentDispatched(
                        event_id=f"d{sid}",
                        occurred_at=t0 + timedelta(days=1),
                        origin="SUP",
                        destination=code,
                        lot=lot,
                        quantity=doses,
                        **common,
                    ),
                    ShipmentReceived(
                        event_id=f"r{sid}",
                        occurred_at=t0 + timedelta(days=2),
                        node=code,
                        lot=lot,
                        quantity=doses,
                        **common,
                    ),
                ]
    store.append_events(events)
    return store


def test_stock_pages_are_sorted_by_the_database(ledger: LedgerStore) -> None:
    first, total = ledger.stock_page(limit=5, sort="doses", descending=True)
    rest, _ = ledger.stock_page(limit=None, offset=5, sort="doses", descending=True)
    assert total == 12
    doses = [s.doses for s in first + rest]
    assert doses == sorted(doses, reverse=True)
    assert doses[0] == 311
    lots, _ = ledger.stock_page(limit=None, sort="lot", node=["KEN-A", "KEN-B"], product="P1")
    assert [(s.lot, s.node) for s in lots] == [
        ("L10", "KEN-A"),
        ("L10", "KEN-B"),
        ("L11", "KEN-A"),
        ("L11", "KEN-B"),
    ]


def test_shipment_pages_are_filtered_and_ordered_by_the_database(ledger: LedgerStore) -> None:
    page, total = ledger.shipments_page(limit=2, product="P0", nodes=["KEN-B"], descending=True)
    assert total == 2
    assert [s.shipment_id for s in page] == ["S-101", "S-100"]
    assert {s.destination for s in page} == {"KEN-B"}
    every, total = ledger.shipments_page(limit=None)
    assert total == len(every) == 12


def test_shipment_pages_sort_by_doses_in_the_database_leaving_reversed_events_out(
    ledger: LedgerStore,
) -> None:
    from doseflow.domain.events import Reversal

    ledger.append_events(
        [
            Reversal(
                event_id="undo-rS-211",
                occurred_at=datetime(2021, 3, 5, tzinfo=UTC),
                recorded_by="t",
                reverses="rS-211",
                reason="entered twice",
            )
        ]
    )
    page, total = ledger.shipments_page(limit=3, sort="received", descending=True)
    assert total == 12
    # S-211 (311 doses) no longer counts as received: S-210 (310) leads
    assert [(s.shipment_id, s.received_doses) for s in page] == [
        ("S-210", 310),
        ("S-201", 301),
        ("S-200", 300),
    ]
    every, _ = ledger.shipments_page(limit=None, sort="planned")
    planned = [s.planned_doses for s in every]
    assert planned == sorted(planned)
    assert every[-1].shipment_id == "S-211"
