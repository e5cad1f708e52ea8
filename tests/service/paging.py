"""A ledger with more rows than a page, and following paging links as a client would."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from doseflow.domain.events import ShipmentDispatched, ShipmentPlanned, ShipmentReceived
from doseflow.domain.lot import Lot
from doseflow.domain.network import Node, NodeKind
from doseflow.store.ledger import LedgerStore
from tests.service.conftest import Service


def next_link(response: Any) -> str | None:
    found = re.search(r'<([^>]+)>; rel="next"', response.headers.get("link", ""))
    return found.group(1) if found else None


def follow(service: Service, path: str, actor: str, **params: Any) -> list[Any]:
    """Every row of a list, following ``rel="next"`` links from the first page."""
    response = service.get(path, actor, params=params)
    assert response.status_code == 200, response.text
    rows = list(response.json())
    total = int(response.headers["x-total-count"])
    pages = 1
    while (link := next_link(response)) is not None:
        response = service.get(link, actor)
        assert response.status_code == 200, response.text
        assert int(response.headers["x-total-count"]) == total
        rows += response.json()
        pages += 1
        assert pages < 1000
    assert len(rows) == total
    return rows


COUNTRIES = ("KEN", "NGA", "GHA")
STORES = 12
PRODUCTS = 3
LOTS = 3


def seed_many(service: Service) -> LedgerStore:
    """12 stores in three countries x 3 products x 3 lots: 108 stock lines, 324 events."""
    ledger = LedgerStore(service.engine)
    stores = [
        Node(
            f"{COUNTRIES[i % 3]}-{i:02d}",
            f"store {i}",
            NodeKind.NATIONAL_STORE,
            country=COUNTRIES[i % 3],
        )
        for i in range(STORES)
    ]
    ledger.register_nodes([Node("SUP", "supplier", NodeKind.SUPPLIER), *stores])
    t0 = datetime(2021, 3, 1, tzinfo=UTC)
    events: list[Any] = []
    for n, store in enumerate(stores):
        for p in range(PRODUCTS):
            for k in range(LOTS):
                sid = f"S-{n}-{p}-{k}"
                lot = Lot(f"P{p}", f"L{p}-{k}", expiry=date(2021, 9, 1) + timedelta(days=30 * k))
                common: dict[str, Any] = {"recorded_by": "seed", "shipment_id": sid}
                events += [
                    ShipmentPlanned(
                        event_id=f"p-{sid}",
                        occurred_at=t0,
                        origin="SUP",
                        destination=store.code,
                        product=lot.product,
                        quantity=1000 + k,
                        **common,
                    ),
                    ShipmentDispatched(
                        event_id=f"d-{sid}",
                        occurred_at=t0 + timedelta(days=1),
                        origin="SUP",
                        destination=store.code,
                        lot=lot,
                        quantity=1000 + k,
                        **common,
                    ),
                    ShipmentReceived(
                        event_id=f"r-{sid}",
                        occurred_at=t0 + timedelta(days=3),
                        node=store.code,
                        lot=lot,
                        quantity=1000 + k,
                        **common,
                    ),
                ]
    ledger.append_events(events)
    return ledger
