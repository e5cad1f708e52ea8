"""Dashboard pages for the ledger: shipments in transit and held at hubs; stock and expiry.
A participant sees the nodes of its own country only (same rule as the API)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from doseflow.service.context import engine_of
from doseflow.service.dashboard.render import NavItem, add_nav, page_access, render
from doseflow.store.ledger import LedgerStore

router = APIRouter(prefix="/dashboard", include_in_schema=False)
add_nav(NavItem("/dashboard/shipments", "Shipments", "shipments.read"))
add_nav(NavItem("/dashboard/stock", "Stock and expiry", "stock.read"))


@router.get("/shipments")
def shipments_page(request: Request) -> Response:
    access = page_access(request, "shipments.read")
    ledger = LedgerStore(engine_of(request))
    nodes = ledger.nodes()
    own = access.own_iso3

    def mine(node: str | None) -> bool:
        return own is None or (
            node is not None and nodes.get(node) is not None and nodes[node].country == own
        )

    shipments = [s for s in ledger.shipments() if mine(s.destination)]
    ids = {s.shipment_id for s in shipments}
    transit = [t for t in ledger.in_transit() if t.shipment_id in ids or mine(t.destination)]
    held = [(h, [x for x in h.held if x.shipment_id in ids]) for h in ledger.held_at_hubs()]
    held = [(h, xs) for h, xs in held if xs]
    return render(
        request,
        "shipments.html",
        title="Shipments",
        shipments=shipments,
        transit=transit,
        held=held,
        nodes=nodes,
        today=datetime.now(UTC).date(),
    )


@router.get("/stock")
def stock_page(request: Request, within_days: int = 90) -> Response:
    access = page_access(request, "stock.read")
    ledger = LedgerStore(engine_of(request))
    nodes = ledger.nodes()
    own = access.own_iso3
    codes = [c for c, n in nodes.items() if own is None or n.country == own]
    stock = ledger.stock_on_hand(node=codes) if codes else []
    days = max(0, min(within_days, 3650))
    expiring = [line for code in codes for line in ledger.expiring(days, node=code)]
    expiring.sort(key=lambda x: (x.expiry, x.node, x.product, x.lot))
    return render(
        request,
        "stock.html",
        title="Stock and expiry",
        stock=stock,
        expiring=expiring,
        within_days=days,
        nodes=nodes,
    )
