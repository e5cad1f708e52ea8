"""Dashboard pages for the ledger: shipments in transit and held at hubs; stock and expiry;
a stock card per node x product x lot. A participant sees the nodes of its own country only
(same rule as the API).

Every table pages, sorts and filters on the server with its state in the address, and
downloads as CSV or Excel with the same filters (see ``tables``). The two big tables (all
shipments, stock on hand) are cut by the database; the others are bounded lists computed
whole (what is in transit, held, expiring within the window)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, tzinfo
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
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
from doseflow.service.dashboard.count_pages import may_count
from doseflow.service.dashboard.render import NavItem, add_nav, page_access, render
from doseflow.service.dashboard.tables import (
    Column,
    PageData,
    PageTables,
    Rows,
    TableSpec,
    TableView,
    add_download,
    whole,
)
from doseflow.service.queries import DateQuery
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
        return rows, (len(rows) if everything else total)  # sorted by the database
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


SHIPMENTS_TABLES = PageTables(
    "/dashboard/shipments",
    (
        TableSpec("shipments", SHIPMENT_COLUMNS, "shipment", "shipments"),
        TableSpec("transit", TRANSIT_COLUMNS, "expected", "transit"),
        TableSpec("held", HELD_COLUMNS, "hub", "held"),
    ),
)


def shipments_setup(
    request: Request,
    product: Code = None,
    node: Code = None,
    country: Iso3 = None,
    state: State = None,
) -> PageData:
    """The Shipments page's setup, shared by the page and its downloads: the nodes the
    user may see (a participant: its own country's) and the filters."""
    access = page_access(request, "shipments.read")
    ledger = LedgerStore(engine_of(request))
    filters = Filters.of(product, node, country, state)
    scope = _Scope(ledger.nodes(), access.own_iso3, filters)
    return PageData(
        {
            "shipments": lambda view, everything: _shipments(ledger, scope, view, everything),
            "transit": lambda _view, _every: (_transit(ledger, scope), None),
            "held": lambda _view, _every: (_held(ledger, scope), None),
        },
        {"ledger": ledger, "scope": scope, "filters": filters},
    )


@router.get("/shipments")
def shipments_page(
    request: Request, data: Annotated[PageData, Depends(shipments_setup)]
) -> Response:
    ledger: LedgerStore = data.context["ledger"]
    tables = SHIPMENTS_TABLES.build(request, data)
    # overdue: after the expected arrival date at the destination, in its time zone
    destinations = {t.destination for t in tables["transit"].rows}
    today_at = ledger.today_at(destinations)
    return render(
        request,
        "shipments.html",
        title="Shipments",
        filters=data.context["filters"],
        states=SHIPMENT_STATES,
        nodes=data.context["scope"].nodes,
        today_at=today_at,
        transit_zones=zones_by_node(ledger.node_zones(), destinations),
        **tables,
    )


add_download(router, SHIPMENTS_TABLES, shipments_setup)


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

STOCK_TABLES = PageTables(
    "/dashboard/stock",
    (
        TableSpec("stock", STOCK_COLUMNS, "node", "stock"),
        TableSpec("expiring", EXPIRING_COLUMNS, "expiry", "expiring"),
    ),
)


def stock_setup(
    request: Request,
    within_days: WithinDays = 90,
    source: StockSource = StockSource.ALL,
    product: Code = None,
    node: Code = None,
    country: Iso3 = None,
) -> PageData:
    """The Stock page's setup, shared by the page and its downloads: the nodes the user
    may see and the source and filters keep; stock on hand is sorted and cut by the
    database, the lots expiring within the window are read whole."""
    access = page_access(request, "stock.read")
    ledger = LedgerStore(engine_of(request))
    filters = Filters.of(product, node, country)
    scope = _Scope(ledger.nodes(), access.own_iso3, filters)
    codes = _stock_codes(scope, source)
    everywhere = scope.codes() is None and source is StockSource.ALL

    def stock(view: TableView, everything: bool) -> Rows:
        rows, total = _stock(ledger, codes, filters.product, view, everything)
        return rows, len(rows) if everything else total

    return PageData(
        {
            "stock": stock,
            "expiring": whole(_expiring(ledger, codes, filters.product, within_days, everywhere)),
        },
        {
            "ledger": ledger,
            "nodes": scope.nodes,
            "filters": filters,
            "source": source,
            "within_days": within_days,
        },
    )


@router.get("/stock")
def stock_page(request: Request, data: Annotated[PageData, Depends(stock_setup)]) -> Response:
    ledger: LedgerStore = data.context["ledger"]
    tables = STOCK_TABLES.build(request, data)
    source: StockSource = data.context["source"]
    # days left count from today at each node (its local date): say in which zone
    expiring_zones = zones_by_node(ledger.node_zones(), {e.node for e in tables["expiring"].rows})
    return render(
        request,
        "stock.html",
        title="Stock and expiry",
        within_days=data.context["within_days"],
        expiring_zones=expiring_zones,
        nodes=data.context["nodes"],
        filters=data.context["filters"],
        source=source,
        sources=list(StockSource),
        source_text=describe(source),
        **tables,
        may_count=may_count(request),
    )


add_download(router, STOCK_TABLES, stock_setup)


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
    Column("date", "Date", lambda r: r.day),
    Column("kind", "Movement", lambda r: r.kind, sortable=False),
    Column("lot", "Lot", lambda r: r.lot, sortable=False),
    Column("counterpart", "Source or destination", lambda r: r.counterpart, sortable=False),
    Column("document", "Document", lambda r: r.document, sortable=False),
    Column("in", "In", lambda r: r.doses_in, numeric=True, sortable=False),
    Column("out", "Out", lambda r: r.doses_out, numeric=True, sortable=False),
    Column("shortfall", "Short", lambda r: r.shortfall, numeric=True, sortable=False),
    Column("balance", "Balance", lambda r: r.balance, numeric=True, sortable=False),
)
#: The card reads in time order (each balance is the one after its line): it sorts by date
#: only, oldest or newest first.
CARD_TABLES = PageTables(
    "/dashboard/stock/card",
    (TableSpec("card", CARD_COLUMNS, "date", "stock-card", expand=lambda entry: entry),),
)


def _shipment_of(line: CardLine) -> str | None:
    text = line.counterpart or ""
    return text.removeprefix("shipment ") if text.startswith("shipment ") else None


def card_entries(lines: Sequence[CardLine], zone: tzinfo) -> list[tuple[CardRow, ...]]:
    """The card's lines, each receipt with a discrepancy line after it when fewer doses
    entered stock than were dispatched: the stock card's own ``discrepancy`` (the store
    works it out once, for the CLI, the API and this page alike). One entry per line of
    the card, so a page of N lines is N entries."""
    out: list[tuple[CardRow, ...]] = []
    for line in lines:
        sid = _shipment_of(line)
        movement = CardRow(
            local_date(line.at, zone),
            line.kind.value,
            line.lot,
            line.counterpart or "",
            sid or line.event_id,
            line.doses_in or None,
            line.doses_out or None,
            line.balance,
        )
        gap = line.discrepancy
        if gap is None or gap.doses <= 0:
            out.append((movement,))
            continue
        short = CardRow(
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
        out.append((movement, short))
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


def stock_card_setup(
    request: Request,
    node: RequiredCode,
    product: RequiredCode,
    lot: Lot = None,
    since: Annotated[DateQuery, Query(alias="from")] = None,
    until: Annotated[DateQuery, Query(alias="to")] = None,
) -> PageData:
    """The stock card's setup, shared by the page and its downloads: the node (refused
    outside a participant's country), the product, and the filters the database applies
    (a lot; from and to, days at the node). Its lines are cut by the database, newest
    first read from the end (each line keeps the balance after it)."""
    access = page_access(request, "stock.read")
    ledger = LedgerStore(engine_of(request))
    known = _card_node(ledger, node, access)
    zone = ledger.node_zones().get(node, UTC)
    chosen = lot or None
    opening: list[int] = []

    def card(view: TableView, everything: bool) -> Rows:
        if everything:
            whole_card = ledger.stock_card(node, product, lot=chosen, start=since, end=until)
            lines = list(whole_card.lines)
            total = len(lines)
        else:
            offset, size = view.offset, view.size
            if view.descending:  # the page's lines counted from the end, in time order
                total = ledger.stock_card_page(
                    node, product, lot=chosen, start=since, end=until, limit=1
                )[1]
                offset, size = (
                    max(0, total - view.offset - view.size),
                    max(0, min(view.size, total - view.offset)),
                )
            page, total = ledger.stock_card_page(
                node,
                product,
                lot=chosen,
                start=since,
                end=until,
                limit=max(1, size),
                offset=offset,
            )
            lines = list(page.lines)[:size]
            opening.append(page.opening)
        if view.descending:
            lines.reverse()
        return card_entries(lines, zone), total

    context = {
        "ledger": ledger,
        "known": known,
        "node": node,
        "product": product,
        "lot": chosen,
        "opening": opening,
        "filters": {"from": since, "to": until},
    }
    return PageData({"card": card}, context)


@router.get("/stock/card")
def stock_card_page(
    request: Request, data: Annotated[PageData, Depends(stock_card_setup)]
) -> Response:
    """Every movement of a product (or one lot) at a node, a page at a time (cut by the
    database; the balance carries over from the lines before the page)."""
    ctx = data.context
    tables = CARD_TABLES.build(request, data)
    node, product, lot = ctx["node"], ctx["product"], ctx["lot"]
    ledger: LedgerStore = ctx["ledger"]
    return render(
        request,
        "stock_card.html",
        title=f"Stock card: {node} {product}" + (f" lot {lot}" if lot else ""),
        node=ctx["known"],
        product=product,
        lot=lot,
        opening=ctx["opening"][0] if ctx["opening"] else 0,
        filters=ctx["filters"],
        zone=zones_by_node(ledger.node_zones(), {node}),
        **tables,
        may_count=may_count(request),
    )


add_download(router, CARD_TABLES, stock_card_setup)
