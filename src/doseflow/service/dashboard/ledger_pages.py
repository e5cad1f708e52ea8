"""Dashboard pages for the ledger: shipments in transit and held at hubs; stock and expiry;
a stock card per node x product x lot. A participant sees the nodes of its own country only
(same rule as the API).

Every table pages, sorts and filters on the server with its state in the address, and
downloads as CSV or Excel with the same filters (see ``tables``). The two big tables (all
shipments, stock on hand) are cut by the database; the others are bounded lists computed
whole (what is in transit, held, expiring within the window)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, tzinfo
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from doseflow.domain.errors import DoseflowError
from doseflow.domain.network import Node
from doseflow.domain.time_zone import local_date, zones_by_node
from doseflow.ledger.sources import StockSource, describe, select
from doseflow.ledger.views import (
    CardLine,
    ExpiringLine,
    HeldShipment,
    HubHolding,
    ShipmentState,
    ShipmentStatus,
    StockLine,
    TransitLine,
)
from doseflow.service.auth import Access
from doseflow.service.context import engine_of
from doseflow.service.dashboard.paging import (
    DASHBOARD_ROWS,
    OffsetParam,
    TablePage,
    page_rows,
    table_page,
)
from doseflow.service.dashboard.render import NavItem, add_nav, page_access, render
from doseflow.service.dashboard.tables import (
    Column,
    DownloadFormat,
    SizeParam,
    TableView,
    download,
    download_links,
    head,
    sort_rows,
    view_of,
)
from doseflow.store.ledger import LedgerStore
from doseflow.store.ledger_query import SHIPMENT_SORTS

router = APIRouter(prefix="/dashboard", include_in_schema=False)
add_nav(NavItem("/dashboard/shipments", "Shipments", "shipments.read"))
add_nav(NavItem("/dashboard/stock", "Stock and expiry", "stock.read"))

Code = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.:\-]*$")]
Iso3 = Annotated[str | None, Query(max_length=3, pattern=r"^[A-Za-z]{0,3}$")]
SHIPMENT_STATES = (
    ShipmentState.PLANNED,
    ShipmentState.IN_TRANSIT,
    ShipmentState.AT_HUB,
    ShipmentState.HELD,
    ShipmentState.RECEIVED,
    ShipmentState.CANCELLED,
)
State = Annotated[
    str | None,
    Query(pattern="^(|" + "|".join(SHIPMENT_STATES) + ")$", description="shipment state"),
]
Lot = Annotated[str | None, Query(max_length=100)]

SHIPMENT_COLUMNS = (
    Column("shipment", "Shipment", lambda s: s.shipment_id),
    Column("product", "Product", lambda s: s.product),
    Column("origin", "From", lambda s: s.origin),
    Column("destination", "To", lambda s: s.destination),
    Column("route", "Route", lambda s: s.route, sortable=False),
    Column("state", "State", lambda s: s.state),
    Column("planned", "Planned", lambda s: s.planned_doses, numeric=True),
    Column("dispatched", "Dispatched", lambda s: s.dispatched_doses, numeric=True),
    Column("received", "Received", lambda s: s.received_doses, numeric=True),
    Column("written_off", "Written off", lambda s: s.written_off_doses, numeric=True),
)
TRANSIT_COLUMNS = (
    Column("shipment", "Shipment", lambda t: t.shipment_id),
    Column("origin", "From", lambda t: t.origin),
    Column("destination", "To", lambda t: t.destination),
    Column("product", "Product", lambda t: t.product),
    Column("lot", "Lot", lambda t: t.lot),
    Column("doses", "Doses", lambda t: t.doses, numeric=True),
    Column("dispatched", "Dispatched", lambda t: t.dispatched_at),
    Column("expected", "Expected", lambda t: t.expected_arrival),
)
HELD_COLUMNS = (
    Column("hub", "Hub", lambda r: r[0].hub),
    Column("shipment", "Shipment", lambda r: r[1].shipment_id),
    Column("product", "Product", lambda r: r[0].product),
    Column("lot", "Lot", lambda r: r[0].lot),
    Column("doses", "Doses at hub (lot)", lambda r: r[0].doses, numeric=True),
    Column("reason", "Reason", lambda r: r[1].reason),
    Column("since", "Since", lambda r: r[1].since),
    Column("until", "Until", lambda r: r[1].until),
)
STOCK_COLUMNS = (
    Column("node", "Node", lambda s: s.node),
    Column("product", "Product", lambda s: s.product),
    Column("lot", "Lot", lambda s: s.lot),
    Column("expiry", "Expiry", lambda s: s.expiry),
    Column("vvm_stage", "VVM stage", lambda s: s.vvm_stage, numeric=True),
    Column("doses", "Doses", lambda s: s.doses, numeric=True),
)
EXPIRING_COLUMNS = (
    Column("node", "Node", lambda e: e.node),
    Column("product", "Product", lambda e: e.product),
    Column("lot", "Lot", lambda e: e.lot),
    Column("expiry", "Expiry", lambda e: e.expiry),
    Column("days_left", "Days left", lambda e: e.days_left, numeric=True),
    Column("doses", "Doses", lambda e: e.doses, numeric=True),
)


@dataclass(frozen=True)
class Filters:
    """The page's filters (empty ones are None); codes compared as given, upper-cased."""

    product: str | None = None
    node: str | None = None
    country: str | None = None
    state: str | None = None

    @staticmethod
    def of(
        product: str | None, node: str | None, country: str | None, state: str | None = None
    ) -> Filters:
        return Filters(
            product or None, node or None, (country or "").upper() or None, state or None
        )


@dataclass(frozen=True)
class Table:
    """What a template needs to draw one table: its rows, header cells, pager, downloads."""

    rows: list[Any]
    head: list[Any]
    page: TablePage
    downloads: dict[str, str]


def _table(
    request: Request,
    view: TableView,
    columns: Sequence[Column],
    rows: list[Any],
    total: int | None,
    page_path: str,
) -> Table:
    """A table from a page cut by the database (``total`` given) or from every row (sorted
    and cut here)."""
    if total is None:
        rows, nav = page_rows(
            request, f"{view.key}_offset", view.offset, sort_rows(rows, view, columns), view.size
        )
    else:
        nav = table_page(request, f"{view.key}_offset", view.offset, len(rows), total, view.size)
    return Table(
        rows, head(request, view, columns), nav, download_links(request, page_path, view.key)
    )


class _Scope:
    """Which nodes the signed-in user and the filters let a table show."""

    def __init__(self, nodes: dict[str, Node], own: str | None, filters: Filters) -> None:
        self.nodes = nodes
        self.own = own
        self.filters = filters

    def country_ok(self, node: str | None) -> bool:
        for country in (self.own, self.filters.country):
            if country is not None and (
                node is None or node not in self.nodes or self.nodes[node].country != country
            ):
                return False
        return True

    def codes(self) -> list[str] | None:
        """Node codes to hand the database, or None for every node."""
        if self.filters.node is not None:  # within the user's (and the filter's) country
            return [self.filters.node] if self.country_ok(self.filters.node) else []
        if self.own is None and self.filters.country is None:
            return None
        return [c for c in self.nodes if self.country_ok(c)]


# -- shipments ------------------------------------------------------------------------------


def _shipments(
    ledger: LedgerStore, scope: _Scope, view: TableView, everything: bool
) -> tuple[list[ShipmentStatus], int | None]:
    """The shipments table: a page cut by the database when it can (sorted by id, state or
    doses, no country rule); otherwise the shipments the database selects (product, nodes,
    state) are read whole and filtered and sorted here. ``everything``: every matching row."""
    f = scope.filters
    plain = view.sort in SHIPMENT_SORTS and scope.own is None and f.country is None
    limit = None if everything else view.size
    if plain:
        rows, total = ledger.shipments_page(
            limit=limit,
            offset=0 if everything else view.offset,
            product=f.product,
            nodes=scope.codes(),
            state=f.state,
            sort=view.sort,
            descending=view.descending,
        )
        return rows, (None if everything else total)
    rows, _ = ledger.shipments_page(
        limit=None, product=f.product, nodes=scope.codes(), state=f.state
    )
    kept = [s for s in rows if scope.country_ok(s.destination)]
    return kept, None


def _transit(ledger: LedgerStore, scope: _Scope) -> list[TransitLine]:
    f = scope.filters
    return [
        t
        for t in ledger.in_transit()
        if scope.country_ok(t.destination)
        and (f.product is None or t.product == f.product)
        and (f.node is None or f.node in (t.origin, t.destination))
    ]


def _held(ledger: LedgerStore, scope: _Scope) -> list[tuple[HubHolding, HeldShipment]]:
    """Shipments held at hubs; under a country (the user's or the filter's), those bound for
    it (the hub is often in another country)."""
    f = scope.filters
    held = [
        (h, x)
        for h in ledger.held_at_hubs()
        for x in h.held
        if (f.product is None or h.product == f.product) and (f.node is None or h.hub == f.node)
    ]
    if scope.own is None and f.country is None:
        return held
    bound = {
        s.shipment_id
        for s in ledger.shipments(sorted({x.shipment_id for _, x in held}))
        if scope.country_ok(s.destination)
    }
    return [(h, x) for h, x in held if x.shipment_id in bound]


def _shipment_views(
    request: Request,
    shipments: tuple[int, int],
    transit: tuple[int, int],
    held: tuple[int, int],
) -> dict[str, TableView]:
    return {
        "shipments": view_of(
            request,
            "shipments",
            SHIPMENT_COLUMNS,
            "shipment",
            offset=shipments[0],
            size=shipments[1],
        ),
        "transit": view_of(
            request, "transit", TRANSIT_COLUMNS, "expected", offset=transit[0], size=transit[1]
        ),
        "held": view_of(request, "held", HELD_COLUMNS, "hub", offset=held[0], size=held[1]),
    }


@router.get("/shipments")
def shipments_page(
    request: Request,
    transit_offset: OffsetParam = 0,
    held_offset: OffsetParam = 0,
    shipments_offset: OffsetParam = 0,
    transit_size: SizeParam = DASHBOARD_ROWS,
    held_size: SizeParam = DASHBOARD_ROWS,
    shipments_size: SizeParam = DASHBOARD_ROWS,
    product: Code = None,
    node: Code = None,
    country: Iso3 = None,
    state: State = None,
) -> Response:
    access = page_access(request, "shipments.read")
    ledger = LedgerStore(engine_of(request))
    filters = Filters.of(product, node, country, state)
    scope = _Scope(ledger.nodes(), access.own_iso3, filters)
    views = _shipment_views(
        request,
        (shipments_offset, shipments_size),
        (transit_offset, transit_size),
        (held_offset, held_size),
    )
    path = "/dashboard/shipments"
    rows, total = _shipments(ledger, scope, views["shipments"], everything=False)
    shipments = _table(request, views["shipments"], SHIPMENT_COLUMNS, rows, total, path)
    transit = _table(
        request, views["transit"], TRANSIT_COLUMNS, _transit(ledger, scope), None, path
    )
    held = _table(request, views["held"], HELD_COLUMNS, _held(ledger, scope), None, path)
    # overdue: after the expected arrival date at the destination, in its time zone
    destinations = {t.destination for t in transit.rows}
    today_at = ledger.today_at(destinations)
    return render(
        request,
        "shipments.html",
        title="Shipments",
        shipments=shipments,
        transit=transit,
        held=held,
        filters=filters,
        states=SHIPMENT_STATES,
        nodes=scope.nodes,
        today_at=today_at,
        transit_zones=zones_by_node(ledger.node_zones(), destinations),
    )


@router.get("/shipments/download")
def shipments_download(
    request: Request,
    table: Annotated[str, Query(pattern="^(shipments|transit|held)$")],
    format: DownloadFormat,
    product: Code = None,
    node: Code = None,
    country: Iso3 = None,
    state: State = None,
) -> Response:
    """Every row of one Shipments table under the page's filters and sort."""
    access = page_access(request, "shipments.read")
    ledger = LedgerStore(engine_of(request))
    scope = _Scope(ledger.nodes(), access.own_iso3, Filters.of(product, node, country, state))
    view = _shipment_views(request, (0, 1), (0, 1), (0, 1))[table]
    columns: Sequence[Column]
    rows: list[Any]
    if table == "shipments":
        columns, rows = SHIPMENT_COLUMNS, _shipments(ledger, scope, view, everything=True)[0]
    elif table == "transit":
        columns, rows = TRANSIT_COLUMNS, _transit(ledger, scope)
    else:
        columns, rows = HELD_COLUMNS, _held(ledger, scope)
    return download(table, columns, sort_rows(rows, view, columns), format)


# -- stock ----------------------------------------------------------------------------------


def _stock_codes(scope: _Scope, source: StockSource) -> list[str]:
    codes = scope.codes()
    return select(codes if codes is not None else scope.nodes, source)


def _stock(
    ledger: LedgerStore, codes: list[str], product: str | None, view: TableView, everything: bool
) -> tuple[list[StockLine], int]:
    """Stock lines sorted and cut by the database."""
    if not codes:
        return [], 0
    return ledger.stock_page(
        limit=None if everything else view.size,
        offset=0 if everything else view.offset,
        node=codes,
        product=product,
        sort=view.sort,
        descending=view.descending,
    )


def _expiring(
    ledger: LedgerStore, codes: list[str], product: str | None, within_days: int, every: bool
) -> list[ExpiringLine]:
    if not every and not codes:
        return []
    lines = ledger.expiring(within_days, node=None if every else codes)
    wanted = set(codes)
    return [
        x
        for x in lines
        if (every or x.node in wanted) and (product is None or x.product == product)
    ]


WithinDays = Annotated[int, Query(ge=0, le=3650, description="expiry window in days")]


@router.get("/stock")
def stock_page(
    request: Request,
    within_days: WithinDays = 90,
    stock_offset: OffsetParam = 0,
    expiring_offset: OffsetParam = 0,
    stock_size: SizeParam = DASHBOARD_ROWS,
    expiring_size: SizeParam = DASHBOARD_ROWS,
    source: StockSource = StockSource.ALL,
    product: Code = None,
    node: Code = None,
    country: Iso3 = None,
) -> Response:
    access = page_access(request, "stock.read")
    ledger = LedgerStore(engine_of(request))
    filters = Filters.of(product, node, country)
    scope = _Scope(ledger.nodes(), access.own_iso3, filters)
    codes = _stock_codes(scope, source)
    everywhere = scope.codes() is None and source is StockSource.ALL
    path = "/dashboard/stock"
    stock_view = view_of(
        request, "stock", STOCK_COLUMNS, "node", offset=stock_offset, size=stock_size
    )
    expiring_view = view_of(
        request, "expiring", EXPIRING_COLUMNS, "expiry", offset=expiring_offset, size=expiring_size
    )
    # the database sorts and cuts the stock table to one page
    rows, total = _stock(ledger, codes, filters.product, stock_view, everything=False)
    stock = _table(request, stock_view, STOCK_COLUMNS, rows, total, path)
    expiring = _table(
        request,
        expiring_view,
        EXPIRING_COLUMNS,
        _expiring(ledger, codes, filters.product, within_days, everywhere),
        None,
        path,
    )
    # days left count from today at each node (its local date): say in which zone
    expiring_zones = zones_by_node(ledger.node_zones(), {e.node for e in expiring.rows})
    return render(
        request,
        "stock.html",
        title="Stock and expiry",
        stock=stock,
        expiring=expiring,
        within_days=within_days,
        expiring_zones=expiring_zones,
        nodes=scope.nodes,
        filters=filters,
        source=source,
        sources=list(StockSource),
        source_text=describe(source),
    )


@router.get("/stock/download")
def stock_download(
    request: Request,
    table: Annotated[str, Query(pattern="^(stock|expiring)$")],
    format: DownloadFormat,
    within_days: WithinDays = 90,
    source: StockSource = StockSource.ALL,
    product: Code = None,
    node: Code = None,
    country: Iso3 = None,
) -> Response:
    """Every row of one Stock table under the page's filters and sort."""
    access = page_access(request, "stock.read")
    ledger = LedgerStore(engine_of(request))
    filters = Filters.of(product, node, country)
    scope = _Scope(ledger.nodes(), access.own_iso3, filters)
    codes = _stock_codes(scope, source)
    if table == "stock":
        view = view_of(request, "stock", STOCK_COLUMNS, "node")
        rows = _stock(ledger, codes, filters.product, view, everything=True)[0]
        return download("stock", STOCK_COLUMNS, rows, format)
    view = view_of(request, "expiring", EXPIRING_COLUMNS, "expiry")
    everywhere = scope.codes() is None and source is StockSource.ALL
    lines = _expiring(ledger, codes, filters.product, within_days, everywhere)
    return download("expiring", EXPIRING_COLUMNS, sort_rows(lines, view, EXPIRING_COLUMNS), format)


# -- stock card -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CardRow:
    """A line of the stock card as the page shows it: a movement, or a discrepancy line
    under the receipt it belongs to (doses dispatched that did not enter stock)."""

    day: date
    kind: str
    lot: str
    counterpart: str
    document: str
    doses_in: int | None
    doses_out: int | None
    balance: int | None
    shortfall: int | None = None
    reason: str | None = None


CARD_COLUMNS = (
    Column("date", "Date", lambda r: r.day, sortable=False),
    Column("kind", "Movement", lambda r: r.kind, sortable=False),
    Column("lot", "Lot", lambda r: r.lot, sortable=False),
    Column("counterpart", "Source or destination", lambda r: r.counterpart, sortable=False),
    Column("document", "Document", lambda r: r.document, sortable=False),
    Column("in", "In", lambda r: r.doses_in, numeric=True, sortable=False),
    Column("out", "Out", lambda r: r.doses_out, numeric=True, sortable=False),
    Column("shortfall", "Short", lambda r: r.shortfall, numeric=True, sortable=False),
    Column("balance", "Balance", lambda r: r.balance, numeric=True, sortable=False),
)


def _shipment_of(line: CardLine) -> str | None:
    text = line.counterpart or ""
    return text.removeprefix("shipment ") if text.startswith("shipment ") else None


def card_rows(lines: Sequence[CardLine], zone: tzinfo) -> list[CardRow]:
    """The card's lines, each receipt followed by a discrepancy line when fewer doses entered
    stock than were dispatched: the stock card's own ``discrepancy`` (the store works it out
    once, for the CLI, the API and this page alike)."""
    out: list[CardRow] = []
    for line in lines:
        sid = _shipment_of(line)
        out.append(
            CardRow(
                local_date(line.at, zone),
                line.kind.value,
                line.lot,
                line.counterpart or "",
                sid or line.event_id,
                line.doses_in or None,
                line.doses_out or None,
                line.balance,
            )
        )
        gap = line.discrepancy
        if gap is not None and gap.doses > 0:
            out.append(
                CardRow(
                    local_date(line.at, zone),
                    "discrepancy",
                    line.lot,
                    gap.text,
                    sid or gap.document,
                    None,
                    None,
                    None,
                    shortfall=gap.doses,
                    reason=gap.reason or "not received",
                )
            )
    return out


def _card_node(ledger: LedgerStore, node: str, access: Access) -> Node:
    """The card's node; an unknown one is ``LEDGER_UNKNOWN_NODE``, another country's node
    ``SERVICE_OUT_OF_SCOPE`` for a participant (as the API's stock card)."""
    known = ledger.nodes().get(node)
    if known is None:
        raise DoseflowError(
            "LEDGER_UNKNOWN_NODE",
            f"no node with code {node!r} in the ledger",
            field="node",
            expected="a node code from the Stock page",
            value=node,
        )
    access.check_iso3(known.country)
    return known


RequiredCode = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]


@router.get("/stock/card")
def stock_card_page(
    request: Request,
    node: RequiredCode,
    product: RequiredCode,
    lot: Lot = None,
    card_offset: OffsetParam = 0,
    card_size: SizeParam = DASHBOARD_ROWS,
) -> Response:
    """Every movement of a product (or one lot) at a node, a page at a time (cut by the
    database; the balance carries over from the lines before the page)."""
    access = page_access(request, "stock.read")
    ledger = LedgerStore(engine_of(request))
    known = _card_node(ledger, node, access)
    card, total = ledger.stock_card_page(
        node, product, lot=lot or None, limit=card_size, offset=card_offset
    )
    rows = card_rows(card.lines, ledger.node_zones().get(node, UTC))
    nav = table_page(request, "card_offset", card_offset, len(card.lines), total, card_size)
    path = "/dashboard/stock/card"
    return render(
        request,
        "stock_card.html",
        title=f"Stock card: {node} {product}" + (f" lot {lot}" if lot else ""),
        card=card,
        node=known,
        rows=rows,
        page=nav,
        downloads={
            fmt.value: f"{path}/download?" + _card_query(node, product, lot, fmt)
            for fmt in DownloadFormat
        },
        zone=zones_by_node(ledger.node_zones(), {node}),
    )


def _card_query(node: str, product: str, lot: str | None, fmt: DownloadFormat) -> str:
    params = {"node": node, "product": product, "format": fmt.value}
    if lot:
        params["lot"] = lot
    return urlencode(params)


@router.get("/stock/card/download")
def stock_card_download(
    request: Request,
    node: RequiredCode,
    product: RequiredCode,
    format: DownloadFormat,
    lot: Lot = None,
) -> Response:
    """The whole stock card, discrepancy lines included."""
    access = page_access(request, "stock.read")
    ledger = LedgerStore(engine_of(request))
    _card_node(ledger, node, access)
    card = ledger.stock_card(node, product, lot=lot or None)
    name = re.sub(
        r"[^A-Za-z0-9_.-]", "_", f"stock-card-{node}-{product}" + (f"-{lot}" if lot else "")
    )
    zone = ledger.node_zones().get(node, UTC)
    return download(name, CARD_COLUMNS, card_rows(card.lines, zone), format)
