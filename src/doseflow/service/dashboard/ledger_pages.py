"""Dashboard pages for the ledger: shipments in transit and held at hubs; stock and expiry.
A participant sees the nodes of its own country only (same rule as the API)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from doseflow.domain.time_zone import zones_by_node
from doseflow.ledger.sources import StockSource, describe, select
from doseflow.service.context import engine_of
from doseflow.service.dashboard.paging import (
    DASHBOARD_ROWS,
    OffsetParam,
    page_rows,
    table_page,
)
from doseflow.service.dashboard.render import NavItem, add_nav, page_access, render
from doseflow.store.ledger import LedgerStore

router = APIRouter(prefix="/dashboard", include_in_schema=False)
add_nav(NavItem("/dashboard/shipments", "Shipments", "shipments.read"))
add_nav(NavItem("/dashboard/stock", "Stock and expiry", "stock.read"))


@router.get("/shipments")
def shipments_page(
    request: Request,
    transit_offset: OffsetParam = 0,
    held_offset: OffsetParam = 0,
    shipments_offset: OffsetParam = 0,
) -> Response:
    access = page_access(request, "shipments.read")
    ledger = LedgerStore(engine_of(request))
    nodes = ledger.nodes()
    own = access.own_iso3

    def mine(node: str | None) -> bool:
        return own is None or (
            node is not None and nodes.get(node) is not None and nodes[node].country == own
        )

    if own is None:  # every shipment: the database cuts the page
        shipments, total = ledger.shipments_page(limit=DASHBOARD_ROWS, offset=shipments_offset)
        shipments_page = table_page(
            request, "shipments_offset", shipments_offset, len(shipments), total
        )
        transit = ledger.in_transit()
        held = [(h, x) for h in ledger.held_at_hubs() for x in h.held]
    else:
        every = [s for s in ledger.shipments() if mine(s.destination)]
        ids = {s.shipment_id for s in every}
        transit = [t for t in ledger.in_transit() if t.shipment_id in ids or mine(t.destination)]
        held = [(h, x) for h in ledger.held_at_hubs() for x in h.held if x.shipment_id in ids]
        shipments, shipments_page = page_rows(request, "shipments_offset", shipments_offset, every)
    transit, transit_page = page_rows(request, "transit_offset", transit_offset, transit)
    held, held_page = page_rows(request, "held_offset", held_offset, held)
    # overdue: after the expected arrival date at the destination, in its time zone
    destinations = {t.destination for t in transit}
    today_at = ledger.today_at(destinations)
    return render(
        request,
        "shipments.html",
        title="Shipments",
        shipments=shipments,
        shipments_page=shipments_page,
        transit=transit,
        transit_page=transit_page,
        held=held,
        held_page=held_page,
        nodes=nodes,
        today_at=today_at,
        transit_zones=zones_by_node(ledger.node_zones(), destinations),
    )


@router.get("/stock")
def stock_page(
    request: Request,
    within_days: Annotated[int, Query(ge=0, le=3650)] = 90,
    stock_offset: OffsetParam = 0,
    expiring_offset: OffsetParam = 0,
    source: StockSource = StockSource.ALL,
) -> Response:
    access = page_access(request, "stock.read")
    ledger = LedgerStore(engine_of(request))
    nodes = ledger.nodes()
    own = access.own_iso3
    codes = select((c for c, n in nodes.items() if own is None or n.country == own), source)
    everywhere = own is None and source is StockSource.ALL
    # the database cuts the stock table to one page
    stock, total = (
        ledger.stock_page(limit=DASHBOARD_ROWS, offset=stock_offset, node=codes)
        if codes
        else ([], 0)
    )
    stock_nav = table_page(request, "stock_offset", stock_offset, len(stock), total)
    every = (
        ledger.expiring(within_days)
        if everywhere
        else [line for code in codes for line in ledger.expiring(within_days, node=code)]
    )
    every.sort(key=lambda x: (x.expiry, x.node, x.product, x.lot))
    expiring, expiring_nav = page_rows(request, "expiring_offset", expiring_offset, every)
    # days left count from today at each node (its local date): say in which zone
    expiring_zones = zones_by_node(ledger.node_zones(), {e.node for e in expiring})
    return render(
        request,
        "stock.html",
        title="Stock and expiry",
        stock=stock,
        stock_page=stock_nav,
        expiring=expiring,
        expiring_page=expiring_nav,
        within_days=within_days,
        expiring_zones=expiring_zones,
        nodes=nodes,
        source=source,
        sources=list(StockSource),
        source_text=describe(source),
    )
