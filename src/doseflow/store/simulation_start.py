"""Where a simulation run starts, read from the live ledger.

``read_start_state(engine, as_of)`` is the ledger's picture at the *start* of ``as_of``:
every event up to the end of the day before, in each node's own time zone (the ledger's
meaning of a date), and none of ``as_of`` itself, which is the run's day 0. It is read
through the ledger's own queries, never by a fold of its own, so the doses reconcile with
what the ledger shows for that day:

``StartState.total_doses() == stock on hand + in transit`` as of the day before, where the
stock at hubs is part of stock on hand (an arrival at a hub puts doses in the hub's stock).

* ``stock``: every lot with doses at every node, less the doses of shipments waiting at a hub;
* ``pipeline``: one line per shipment and lot not yet received: travelling (the ledger's
  transit lines: the next node and its expected arrival) or waiting at the hub it arrived at
  (``held`` when its last step there is a hold).

Queries: stock, transit, the shipments that ever arrived at a hub, and the events of the
pipeline's shipments in one batch (chunked by the store), whatever the number of shipments.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, timedelta, tzinfo

from sqlalchemy import Connection, Engine, select

from doseflow.domain.events import EventKind, LedgerEvent
from doseflow.ledger.accounts import to_instant
from doseflow.ledger.shipments import doses_at_hub
from doseflow.ledger.views import ShipmentState, StockLine, TransitLine, shipment_status
from doseflow.simulation.start import LotStock, PipelineShipment, StartState
from doseflow.store import ledger_query as q
from doseflow.store import ledger_tables as t
from doseflow.store.ledger import LedgerStore

__all__ = ["read_start_state"]


def read_start_state(
    engine: Engine,
    as_of: date,
    *,
    nodes: Sequence[str] | None = None,
    product: str | None = None,
) -> StartState:
    """The live ledger at the start of ``as_of`` (see the module). ``nodes`` keeps the stock
    at those nodes and the shipments bound for, travelling to or waiting at one of them;
    ``product`` keeps one product."""
    day = as_of - timedelta(days=1)
    ledger = LedgerStore(engine)
    stock = ledger.stock_on_hand(at=day, product=product)
    transit = [
        line for line in ledger.in_transit(at=day) if product is None or line.product == product
    ]
    zones = ledger.node_zones()
    with engine.connect() as conn:
        arrived = _ever_at_hub(conn)
        wanted = sorted(arrived | {line.shipment_id for line in transit})
        grouped = q.shipment_events(conn, wanted)
        gone = q.reversed_ids(conn, [ev.event_id for evs in grouped.values() for ev in evs])
    live = {sid: [ev for ev in evs if ev.event_id not in gone] for sid, evs in grouped.items()}
    waiting = _waiting_at_hubs(live, arrived, day, zones, product)
    pipeline = [_travelling(line, live.get(line.shipment_id, [])) for line in transit]
    pipeline += waiting
    kept_stock = _less_waiting(stock, waiting)
    if nodes is not None:
        chosen = set(nodes)
        kept_stock = [s for s in kept_stock if s.node in chosen]
        pipeline = [p for p in pipeline if chosen & {p.next_node, p.held_at, p.destination}]
    return StartState(
        as_of=as_of,
        stock=tuple(kept_stock),
        pipeline=tuple(sorted(pipeline, key=lambda p: (p.shipment_id, p.lot, p.held_at or ""))),
    )


def _ever_at_hub(conn: Connection) -> set[str]:
    """Shipments with an arrival at a hub (reversed or not): the only ones that can be
    waiting at one, read without folding every shipment."""
    e = t.events
    query = (
        select(e.c.shipment_id)
        .where(e.c.kind == EventKind.ARRIVED_AT_HUB.value, e.c.shipment_id.isnot(None))
        .distinct()
    )
    return {str(sid) for (sid,) in conn.execute(query)}


def _route(
    shipment_id: str, events: Sequence[LedgerEvent], fallback: Iterable[str]
) -> tuple[str, ...]:
    status = shipment_status(shipment_id, events)
    if status.route:
        return status.route
    ends = (status.origin, status.destination) if status.origin else tuple(fallback)
    return tuple(n for n in ends if n)


def _expiry(events: Sequence[LedgerEvent], lot: str) -> date | None:
    for ev in events:
        found = getattr(ev, "lot", None)
        if found is not None and found.number == lot:
            return found.expiry  # type: ignore[no-any-return]
    return None


def _travelling(line: TransitLine, events: Sequence[LedgerEvent]) -> PipelineShipment:
    return PipelineShipment(
        shipment_id=line.shipment_id,
        product=line.product,
        lot=line.lot,
        expiry=_expiry(events, line.lot),
        doses=line.doses,
        route=_route(line.shipment_id, events, (line.origin, line.destination)),
        next_node=line.destination,
        expected_arrival=line.expected_arrival,
    )


def _waiting_at_hubs(
    live: dict[str, list[LedgerEvent]],
    arrived: set[str],
    day: date,
    zones: Mapping[str, tzinfo],
    product: str | None,
) -> list[PipelineShipment]:
    """Per shipment and lot, the doses waiting at the hub it last arrived at, by the end of
    ``day`` at that hub (the hub's stock is cut at the same moment), whatever the rest of
    the shipment does: doses left at a hub when others went on are still on their way."""
    out: list[PipelineShipment] = []
    for sid in sorted(arrived):
        events = live.get(sid, [])
        hubs = {getattr(ev, "hub", "") for ev in events if ev.kind is EventKind.ARRIVED_AT_HUB}
        for hub in sorted(hubs):
            cut = q.instant_of(day, zones.get(hub, UTC))
            so_far = [ev for ev in events if to_instant(ev.occurred_at) <= cut]
            at, lots = doses_at_hub(so_far)
            if at != hub or not lots:
                continue
            status = shipment_status(sid, so_far)
            route = _route(sid, so_far, (hub,))
            for lot, doses in sorted(lots.items(), key=lambda kv: kv[0].number):
                if product is not None and lot.product != product:
                    continue
                out.append(
                    PipelineShipment(
                        shipment_id=sid,
                        product=lot.product,
                        lot=lot.number,
                        expiry=lot.expiry,
                        doses=doses,
                        route=route,
                        next_node=None,
                        expected_arrival=None,
                        held_at=hub,
                        held=status.state == ShipmentState.HELD,
                    )
                )
    return out


def _less_waiting(
    stock: Sequence[StockLine], waiting: Sequence[PipelineShipment]
) -> list[LotStock]:
    """The stock lines less the doses of shipments waiting at hubs: those are in the
    pipeline, not free stock of the hub."""
    taken: dict[tuple[str, str, str], int] = defaultdict(int)
    for p in waiting:
        taken[(p.held_at or "", p.product, p.lot)] += p.doses
    out = []
    for s in stock:
        doses = s.doses - taken.get((s.node, s.product, s.lot), 0)
        if doses > 0:
            out.append(LotStock(s.node, s.product, s.lot, s.expiry, s.vvm_stage, doses))
    return out
