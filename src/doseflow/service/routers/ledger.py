"""Stock, shipments and ledger events, over ``doseflow.store.ledger.LedgerStore``.

A participant's data is what sits at, or travels to, nodes in its own country (the node's
``country``); these endpoints narrow every answer to those nodes for a participant token and
refuse a node in another country with ``SERVICE_OUT_OF_SCOPE``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from doseflow.domain.errors import DoseflowError
from doseflow.ledger.attribution import recorded_events
from doseflow.ledger.event_file import row_of
from doseflow.ledger.sources import StockSource, describe, select
from doseflow.ledger.views import (
    ExpiringLine,
    HubHolding,
    ShipmentStatus,
    StockCard,
    StockLine,
    TransitLine,
)
from doseflow.service.auth import Access, authorize
from doseflow.service.bodies import WriteBody
from doseflow.service.context import engine_of
from doseflow.service.days import (
    DayOrMomentQuery,
    ZoneQuery,
    is_day,
    state_zones,
    with_day_zone,
    zone_of,
)
from doseflow.service.errors import ERROR_RESPONSES
from doseflow.service.queries import (
    PAGED_RESPONSES,
    CodeQuery,
    DateQuery,
    Iso3Query,
    LotQuery,
    Page,
    RequiredCode,
    page_headers,
    page_of,
    paged,
)
from doseflow.service.responses import json_response
from doseflow.store.ledger import LedgerStore

router = APIRouter(prefix="/api", tags=["stock and shipments"], responses=ERROR_RESPONSES)

#: Which stock a query covers: the network's stores, the UNICEF deliveries data, or both.
SourceQuery = Annotated[
    StockSource,
    Query(
        description="network: "
        + describe(StockSource.NETWORK)
        + "; unicef: "
        + describe(StockSource.UNICEF)
        + "; all (default): "
        + describe(StockSource.ALL)
    ),
]

ReadStock = Annotated[Access, Depends(authorize("stock.read"))]
ReadShipments = Annotated[Access, Depends(authorize("shipments.read"))]
WriteShipments = Annotated[Access, Depends(authorize("shipments.write"))]

MAX_EVENTS = 50_000


class EventBatch(WriteBody):
    """Ledger events as rows of a ledger event file (``docs/ledger.md`` lists the columns:
    ``id``, ``type``, ``occurred_at``, ``shipment``, ``node``, ``product``, ``lot``, ...).
    Who recorded them and when are the token's user and the server's clock: a row with
    ``recorded_by`` or ``recorded_at`` is refused (``LEDGER_SERVER_SET_FIELD``);
    ``occurred_at`` may not be after the server's clock plus a few minutes."""

    events: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_EVENTS)


class AppendOut(BaseModel):
    appended: list[str] = Field(description="event ids written by this batch")
    skipped: list[str] = Field(description="ids already recorded with the same content")
    derived: list[str] = Field(description="count corrections produced by physical counts")


class NodeOut(BaseModel):
    code: str
    name: str
    kind: str
    country: str | None
    parent: str | None
    region: str | None


def ledger_of(request: Request) -> LedgerStore:
    return LedgerStore(engine_of(request))


def country_nodes(ledger: LedgerStore, iso3: str | None) -> list[str] | None:
    """The node codes in ``iso3`` (``None``: no filter)."""
    if iso3 is None:
        return None
    return [code for code, node in ledger.nodes().items() if node.country == iso3]


def scoped_nodes(
    ledger: LedgerStore, access: Access, iso3: str | None, node: str | None
) -> list[str] | None:
    """The nodes a query may cover: the asked-for node (checked against the caller's country)
    and/or the nodes of the country asked for (forced to its own for a participant)."""
    country = access.scoped(iso3)
    nodes = country_nodes(ledger, country)
    if node is None:
        return nodes
    if nodes is not None and node not in nodes:
        known = ledger.nodes().get(node)
        access.check_iso3(known.country if known else None)
        if known is None or (country and known.country != country):
            return []
    return [node]


@router.get(
    "/nodes",
    summary="Nodes of the supply network the ledger knows (paged)",
    responses=PAGED_RESPONSES,
)
def get_nodes(
    request: Request, response: Response, access: ReadStock, page: Page, iso3: Iso3Query = None
) -> list[NodeOut]:
    country = access.scoped(iso3)
    nodes = [
        NodeOut(
            code=n.code,
            name=n.name,
            kind=n.kind.value,
            country=n.country,
            parent=n.parent,
            region=n.region,
        )
        for n in ledger_of(request).nodes().values()
        if country is None or n.country == country
    ]
    return page_of(request, response, page, nodes)


@router.get(
    "/stock",
    summary="Stock on hand per node, product and lot (doses; paged by the database)",
    response_model=list[StockLine],
    responses=with_day_zone(PAGED_RESPONSES),
)
def get_stock(
    request: Request,
    access: ReadStock,
    page: Page,
    iso3: Iso3Query = None,
    node: CodeQuery = None,
    product: CodeQuery = None,
    lot: LotQuery = None,
    at: DayOrMomentQuery = None,
    zone: ZoneQuery = None,
    include_zero: bool = False,
    source: SourceQuery = StockSource.ALL,
) -> Response:
    """A date ``at`` is the end of that day at each node (its time zone, or ``zone``), as
    ``doseflow ledger stock --at``; a date-time is that instant."""
    ledger = ledger_of(request)
    given = zone_of(zone)
    nodes = scoped_nodes(ledger, access, iso3, node)
    if source is not StockSource.ALL:
        nodes = select(ledger.nodes() if nodes is None else nodes, source)
    lines, total = (
        ([], 0)
        if nodes is not None and not nodes
        else ledger.stock_page(
            limit=page.limit,
            offset=page.offset,
            node=nodes,
            product=product,
            lot=lot,
            at=at,
            zone=given,
            include_zero=include_zero,
        )
    )
    answer = json_response(list[StockLine], lines)
    answer.headers.update(page_headers(request, page, len(lines), total))
    shown = {s.node for s in lines} | ({node} if node else set())
    state_zones(answer, is_day(at), given, ledger.node_zones, shown)
    return answer


@router.get(
    "/stock/expiring",
    summary="Lots in stock expiring within a number of days (paged)",
    responses=with_day_zone(PAGED_RESPONSES),
)
def get_expiring(
    request: Request,
    response: Response,
    access: ReadStock,
    page: Page,
    within_days: Annotated[int, Query(ge=0, le=3650)] = 90,
    today: DateQuery = None,
    iso3: Iso3Query = None,
    node: CodeQuery = None,
    source: SourceQuery = StockSource.ALL,
    zone: ZoneQuery = None,
) -> list[ExpiringLine]:
    """Days left count from ``today``, else from today at each node (its time zone, or
    ``zone``): a lot is usable through its expiry date where it is."""
    ledger = ledger_of(request)
    given = zone_of(zone)
    nodes = scoped_nodes(ledger, access, iso3, node)
    if source is not StockSource.ALL:
        nodes = select(ledger.nodes() if nodes is None else nodes, source)
    lines: list[ExpiringLine] = []
    for code in nodes if nodes is not None else [None]:
        lines.extend(ledger.expiring(within_days, today=today, node=code, zone=given))
    lines.sort(key=lambda x: (x.expiry, x.node, x.product, x.lot))
    shown = page_of(request, response, page, lines)
    # without ``today``, today is a day at each node: say in which zone
    state_zones(response, today is None, given, ledger.node_zones, {x.node for x in shown})
    return shown


@router.get(
    "/stock/card",
    summary="Stock card: every movement at a node, with balances (lines paged by the database; "
    "the opening balance is the one before the page's first line)",
    responses=with_day_zone(PAGED_RESPONSES),
)
def get_stock_card(
    request: Request,
    response: Response,
    access: ReadStock,
    page: Page,
    node: RequiredCode,
    product: RequiredCode,
    lot: LotQuery = None,
    start: DayOrMomentQuery = None,
    end: DayOrMomentQuery = None,
    zone: ZoneQuery = None,
) -> StockCard:
    """A date ``start`` is from the start of that day at the node, a date ``end`` to its end
    (the node's time zone, or ``zone``), as ``doseflow ledger card --from/--to``."""
    ledger = ledger_of(request)
    given = zone_of(zone)
    known = ledger.nodes().get(node)
    if known is None:
        raise DoseflowError(
            "LEDGER_UNKNOWN_NODE",
            f"no node with code {node!r} in the ledger",
            field="node",
            expected="a node code from GET /api/nodes",
            value=node,
        )
    access.check_iso3(known.country)
    card, total = ledger.stock_card_page(
        node,
        product,
        lot=lot,
        start=start,
        end=end,
        limit=page.limit,
        offset=page.offset,
        zone=given,
    )
    paged(request, response, page, list(card.lines), total)
    state_zones(response, is_day(start) or is_day(end), given, ledger.node_zones, {node})
    return card


def _destination_countries(ledger: LedgerStore) -> dict[str, str | None]:
    return {code: n.country for code, n in ledger.nodes().items()}


def _own_shipments(
    statuses: Sequence[ShipmentStatus], countries: dict[str, str | None], iso3: str | None
) -> list[ShipmentStatus]:
    if iso3 is None:
        return list(statuses)
    return [s for s in statuses if s.destination and countries.get(s.destination) == iso3]


@router.get(
    "/shipments", summary="Shipments and where each stands (paged)", responses=PAGED_RESPONSES
)
def get_shipments(
    request: Request,
    response: Response,
    access: ReadShipments,
    page: Page,
    iso3: Iso3Query = None,
    state: Annotated[str | None, Query(max_length=32)] = None,
) -> list[ShipmentStatus]:
    ledger = ledger_of(request)
    country = access.scoped(iso3)
    if country is None:  # every shipment (in ``state``): the database cuts the page
        rows, total = ledger.shipments_page(limit=page.limit, offset=page.offset, state=state)
        return paged(request, response, page, rows, total)
    shown = _own_shipments(ledger.shipments(), _destination_countries(ledger), country)
    return page_of(request, response, page, [s for s in shown if state is None or s.state == state])


@router.get(
    "/shipments/in-transit",
    summary="Doses in transit, per shipment leg and lot (paged)",
    responses=with_day_zone(PAGED_RESPONSES),
)
def get_in_transit(
    request: Request,
    response: Response,
    access: ReadShipments,
    page: Page,
    iso3: Iso3Query = None,
    at: DayOrMomentQuery = None,
    zone: ZoneQuery = None,
) -> list[TransitLine]:
    """A date ``at`` is the end of that day at each destination (its time zone, or
    ``zone``), as ``doseflow ledger transit --at``; a date-time is that instant."""
    ledger = ledger_of(request)
    given = zone_of(zone)
    country = access.scoped(iso3)
    lines = ledger.in_transit(at=at, zone=given)
    if country is not None:
        countries = _destination_countries(ledger)
        mine = {s.shipment_id for s in _own_shipments(ledger.shipments(), countries, country)}
        lines = [
            t for t in lines if t.shipment_id in mine or countries.get(t.destination) == country
        ]
    shown = page_of(request, response, page, lines)
    state_zones(response, is_day(at), given, ledger.node_zones, {t.destination for t in shown})
    return shown


@router.get(
    "/shipments/held-at-hubs",
    summary="Stock at hubs and the shipments held there (paged)",
    responses=with_day_zone(PAGED_RESPONSES),
)
def get_held_at_hubs(
    request: Request,
    response: Response,
    access: ReadShipments,
    page: Page,
    iso3: Iso3Query = None,
    at: DayOrMomentQuery = None,
    zone: ZoneQuery = None,
) -> list[HubHolding]:
    """A date ``at`` is the end of that day at each hub (its time zone, or ``zone``), as
    ``doseflow ledger hubs --at``; a date-time is that instant."""
    ledger = ledger_of(request)
    given = zone_of(zone)
    country = access.scoped(iso3)
    holdings = ledger.held_at_hubs(at, given)
    if country is not None:
        mine = {
            s.shipment_id
            for s in _own_shipments(ledger.shipments(), _destination_countries(ledger), country)
        }
        narrowed = []
        for h in holdings:
            held = tuple(x for x in h.held if x.shipment_id in mine)
            if held:
                narrowed.append(
                    HubHolding(h.hub, h.product, h.lot, h.expiry, h.doses, held, h.unit)
                )
        holdings = narrowed
    shown = page_of(request, response, page, holdings)
    state_zones(response, is_day(at), given, ledger.node_zones, {h.hub for h in shown})
    return shown


@router.post(
    "/ledger/events",
    summary="Append a batch of ledger events: all or nothing; re-sent events are no-ops",
)
def post_events(request: Request, body: EventBatch, access: WriteShipments) -> AppendOut:
    now = datetime.now(UTC)  # the recording time: the server's clock, never the client's
    events = recorded_events(
        list(enumerate(body.events, start=1)),
        "request body",
        recorded_by=access.principal.user,
        now=now,
    )
    result = ledger_of(request).append_events(events, now=now)
    access.audit(
        f"{len(events)} events",
        appended=len(result.appended),
        skipped=len(result.skipped),
    )
    return AppendOut(
        appended=list(result.appended),
        skipped=list(result.skipped),
        derived=list(result.derived),
    )


@router.get(
    "/ledger/events",
    summary="Ledger events in recording order, as file rows (paged by the database)",
    responses=PAGED_RESPONSES,
)
def get_events(
    request: Request,
    response: Response,
    access: ReadShipments,
    page: Page,
    iso3: Iso3Query = None,
) -> list[dict[str, Any]]:
    ledger = ledger_of(request)
    country = access.scoped(iso3)
    own = country_nodes(ledger, country) if country else None
    events, total = ledger.events_page(limit=page.limit, offset=page.offset, nodes=own)
    return paged(request, response, page, [row_of(e) for e in events], total)
