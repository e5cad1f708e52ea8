"""Shipments from allocation to receipt: planning in whole packs and the next events.

A planned shipment carries its route (manufacturer, hub, national store). Recording its
progress always names the next step on that route, so the events follow the route:
dispatched to the next node, arrived at the hub, held there, dispatched onward, received.
Each helper returns events with ids derived from the shipment id and the step, so
recording the same step twice is a no-op.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from doseflow.domain.errors import DoseflowError
from doseflow.domain.events import (
    ArrivedAtHub,
    DiscrepancyReason,
    DispatchedOnward,
    EventKind,
    LedgerEvent,
    ReceiptOutcome,
    ShipmentDispatched,
    ShipmentHeld,
    ShipmentPlanned,
    ShipmentReceived,
)
from doseflow.domain.lot import Lot
from doseflow.domain.product import Product
from doseflow.domain.units import round_down_to_packs, split_packs


def shipment_id_for(scenario: str, round_number: int, pool: str, iso3: str) -> str:
    return f"{scenario}/r{round_number}/{pool}/{iso3}"


def plan_shipment(
    *,
    shipment_id: str,
    product: Product,
    doses: int,
    route: Sequence[str],
    decided: date,
    available: date,
    transit_days: float,
    allocation_ref: str,
    recorded_by: str,
) -> ShipmentPlanned | None:
    """A planned shipment of the whole packs in ``doses`` along ``route`` (None if not one
    whole pack).

    Doses cannot leave before the round that allocates them (``decided``) nor before their
    supply exists (``available``, the pool's tranche availability date): the shipment is
    planned to leave on the later of the two and to arrive ``transit_days`` (rounded up to
    whole days) after that. Every shipment planned from an allocation comes through here, so
    none is ever dispatched before its tranche is available."""
    whole = round_down_to_packs(product, doses)
    if whole == 0:
        return None
    leaves = max(decided, available)
    return ShipmentPlanned(
        event_id=f"{shipment_id}:planned",
        occurred_at=datetime.combine(decided, time(0, 0), tzinfo=UTC),
        recorded_by=recorded_by,
        shipment_id=shipment_id,
        origin=route[0],
        destination=route[-1],
        product=product.code,
        quantity=whole,
        route=tuple(route),
        expected_dispatch=leaves,
        expected_arrival=leaves + timedelta(days=math.ceil(transit_days)),
        allocation_ref=allocation_ref,
    )


def packs_text(product: Product | None, doses: int) -> str:
    """``12 packs`` (plus leftover doses) when the product is known, else doses."""
    if product is None:
        return f"{doses:,} doses"
    packs, rest = split_packs(product, doses)
    extra = f" + {rest:,} doses" if rest else ""
    return f"{packs:,} packs of {product.pack_doses:,}{extra}"


def _plan(events: Sequence[LedgerEvent], shipment_id: str) -> ShipmentPlanned:
    plans = [e for e in events if isinstance(e, ShipmentPlanned)]
    if not plans:
        raise DoseflowError(
            "LEDGER_UNKNOWN_SHIPMENT",
            f"no planned shipment '{shipment_id}'",
            field="shipment",
            expected="the id of a shipment planned with `doseflow ship plan`",
            value=shipment_id,
        )
    return plans[-1]


def _step_error(shipment_id: str, step: str, state: str) -> DoseflowError:
    return DoseflowError(
        "LEDGER_SHIPMENT_STEP",
        f"shipment {shipment_id} cannot be {step} now: it is {state}",
        field="shipment",
        expected="the next step on the shipment's route",
        value=shipment_id,
    )


def _by_lot(events: Sequence[LedgerEvent], kind: EventKind, node: str) -> dict[Lot, int]:
    out: dict[Lot, int] = {}
    for e in events:
        if e.kind is kind and node in (getattr(e, "destination", None), getattr(e, "hub", None)):
            lot: Lot = getattr(e, "lot")  # noqa: B009
            out[lot] = out.get(lot, 0) + int(getattr(e, "quantity"))  # noqa: B009
    return out


def dispatch(
    events: Sequence[LedgerEvent],
    shipment_id: str,
    lot: Lot,
    doses: int | None,
    at: datetime,
    by: str,
) -> ShipmentDispatched:
    """The planned shipment leaves its origin for the next node on its route."""
    plan = _plan(events, shipment_id)
    if any(e.kind is EventKind.DISPATCHED for e in events):
        raise _step_error(shipment_id, "dispatched", "already dispatched")
    if lot.product != plan.product:
        raise DoseflowError(
            "LEDGER_SHIPMENT_STEP",
            f"shipment {shipment_id} is of {plan.product}, not {lot.product}",
            field="product",
            expected=plan.product,
            value=lot.product,
        )
    route = plan.route
    return ShipmentDispatched(
        event_id=f"{shipment_id}:dispatched",
        occurred_at=at,
        recorded_by=by,
        shipment_id=shipment_id,
        origin=route[0],
        destination=route[1],
        lot=lot,
        quantity=doses if doses is not None else plan.quantity,
        expected_arrival=plan.expected_arrival,
    )


def _transit(events: Sequence[LedgerEvent]) -> tuple[str, dict[Lot, int]]:
    """Where the shipment is travelling to, and per lot the doses on the way."""
    legs = [e for e in events if e.kind in (EventKind.DISPATCHED, EventKind.DISPATCHED_ONWARD)]
    if not legs:
        return "", {}
    last = max(legs, key=lambda e: e.occurred_at)
    to: str = getattr(last, "destination")  # noqa: B009
    sent = _by_lot([e for e in legs if getattr(e, "destination", None) == to], last.kind, to)
    done = [e for e in events if e.kind in (EventKind.ARRIVED_AT_HUB, EventKind.RECEIVED)]
    for e in done:
        if to in (getattr(e, "hub", None), getattr(e, "node", None)):
            lot: Lot = getattr(e, "lot")  # noqa: B009
            gone = int(getattr(e, "quantity")) + int(getattr(e, "discrepancy", 0))  # noqa: B009
            sent[lot] = sent.get(lot, 0) - gone
    return to, {lot: q for lot, q in sent.items() if q > 0}


def arrive(
    events: Sequence[LedgerEvent], shipment_id: str, at: datetime, by: str
) -> list[LedgerEvent]:
    """The doses in transit arrive at the hub they were sent to."""
    plan = _plan(events, shipment_id)
    to, lots = _transit(events)
    if not lots or to == plan.destination:
        raise _step_error(shipment_id, "arrived at a hub", "not travelling to a hub")
    return [
        ArrivedAtHub(
            event_id=f"{shipment_id}:arrived:{to}:{lot.number}",
            occurred_at=at,
            recorded_by=by,
            shipment_id=shipment_id,
            hub=to,
            lot=lot,
            quantity=q,
        )
        for lot, q in lots.items()
    ]


def _at_hub(events: Sequence[LedgerEvent], plan: ShipmentPlanned) -> tuple[str, dict[Lot, int]]:
    return doses_at_hub(events)


def doses_at_hub(events: Sequence[LedgerEvent]) -> tuple[str, dict[Lot, int]]:
    """The hub a shipment last arrived at and, per lot, its doses still there (arrived less
    dispatched onward), from its live events; ``("", {})`` if it never reached a hub."""
    arrivals = [e for e in events if isinstance(e, ArrivedAtHub)]
    if not arrivals:
        return "", {}
    hub = max(arrivals, key=lambda e: e.occurred_at).hub
    lots = _by_lot(events, EventKind.ARRIVED_AT_HUB, hub)
    for lot, q in _by_lot(
        [e for e in events if isinstance(e, DispatchedOnward) and e.hub == hub],
        EventKind.DISPATCHED_ONWARD,
        hub,
    ).items():
        lots[lot] = lots.get(lot, 0) - q
    return hub, {lot: q for lot, q in lots.items() if q > 0}


def hold(
    events: Sequence[LedgerEvent],
    shipment_id: str,
    reason: str,
    until: date | None,
    at: datetime,
    by: str,
) -> ShipmentHeld:
    plan = _plan(events, shipment_id)
    hub, lots = _at_hub(events, plan)
    if not lots:
        raise _step_error(shipment_id, "held", "not at a hub")
    n = sum(1 for e in events if isinstance(e, ShipmentHeld)) + 1
    return ShipmentHeld(
        event_id=f"{shipment_id}:held:{n}",
        occurred_at=at,
        recorded_by=by,
        shipment_id=shipment_id,
        hub=hub,
        reason=reason,
        until=until,
    )


def onward(
    events: Sequence[LedgerEvent], shipment_id: str, at: datetime, by: str, transit_days: float = 0
) -> list[LedgerEvent]:
    """What arrived at the hub for this shipment leaves for the next node on the route."""
    plan = _plan(events, shipment_id)
    hub, lots = _at_hub(events, plan)
    if not lots:
        raise _step_error(shipment_id, "dispatched onward", "not at a hub")
    route = plan.route
    nxt = route[route.index(hub) + 1] if hub in route[:-1] else plan.destination
    arrival = (
        (at + timedelta(days=math.ceil(transit_days))).date()
        if transit_days
        else plan.expected_arrival
    )
    return [
        DispatchedOnward(
            event_id=f"{shipment_id}:onward:{hub}:{lot.number}",
            occurred_at=at,
            recorded_by=by,
            shipment_id=shipment_id,
            hub=hub,
            destination=nxt,
            lot=lot,
            quantity=q,
            expected_arrival=arrival,
        )
        for lot, q in lots.items()
    ]


def receive(
    events: Sequence[LedgerEvent],
    shipment_id: str,
    at: datetime,
    by: str,
    *,
    missing: int = 0,
    reason: DiscrepancyReason | None = None,
    reject: bool = False,
) -> list[LedgerEvent]:
    """The doses in transit reach the final destination; ``missing`` doses (damaged, short,
    temperature excursion) are written off, or the whole delivery if ``reject``."""
    plan = _plan(events, shipment_id)
    to, lots = _transit(events)
    if not lots or to != plan.destination:
        raise _step_error(shipment_id, "received", "not travelling to its destination")
    out: list[LedgerEvent] = []
    left = missing
    for lot, q in sorted(lots.items(), key=lambda x: x[0].number):
        short = q if reject else min(left, q)
        left -= 0 if reject else short
        outcome = (
            ReceiptOutcome.REJECTED
            if reject
            else ReceiptOutcome.DIFFERENT_QUANTITY
            if short
            else ReceiptOutcome.CONFIRMED
        )
        out.append(
            ShipmentReceived(
                event_id=f"{shipment_id}:received:{lot.number}",
                occurred_at=at,
                recorded_by=by,
                shipment_id=shipment_id,
                node=to,
                lot=lot,
                quantity=q - short,
                discrepancy=short,
                outcome=outcome,
                reason=reason if short else None,
            )
        )
    if left > 0:
        raise DoseflowError(
            "LEDGER_BAD_RECEIPT",
            f"shipment {shipment_id}: {missing:,} doses missing, but only "
            f"{sum(lots.values()):,} are in transit",
            field="missing",
            expected=f"at most {sum(lots.values()):,}",
            value=missing,
        )
    return out
