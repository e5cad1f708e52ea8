"""Events to table rows and back: one flat row per event, typed columns, no JSON.

Columns are shared between kinds: ``node`` is where doses leave from or are counted
(origin, hub, node), ``to_node`` where they go (destination, to_node); ``ref`` holds the
reversed event (reversal), the producing count (adjustment) or the allocation reference
(planned shipment); ``reason`` is the typed reason or a free-text hold/reversal reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from doseflow.domain.events import (
    Adjustment,
    AdjustmentReason,
    Administration,
    ArrivedAtHub,
    DiscrepancyReason,
    DispatchedOnward,
    EventKind,
    Issue,
    LedgerEvent,
    PhysicalCount,
    ReceiptOutcome,
    Reversal,
    ShipmentDispatched,
    ShipmentHeld,
    ShipmentPlanned,
    ShipmentReceived,
    Transfer,
)
from doseflow.domain.lot import Lot
from doseflow.ledger.accounts import from_instant

#: Columns every event row binds; the kind, batch and (usually) recording time are written
#: as constants of the statement, since they are the same for a whole group of rows.
COMMON_COLUMNS: tuple[str, ...] = ("seq", "event_id", "occurred_at", "effective_at", "recorded_by")

#: The further columns each kind fills (the others stay NULL). Binding only these keeps a
#: bulk insert fast: parameter binding, not SQLite, is what costs most per row.
KIND_COLUMNS: dict[EventKind, tuple[str, ...]] = {
    EventKind.SHIPMENT_PLANNED: (
        "node",
        "to_node",
        "shipment_id",
        "product",
        "quantity",
        "route",
        "expected_dispatch",
        "expected_arrival",
        "ref",
    ),
    EventKind.DISPATCHED: (
        "node",
        "to_node",
        "shipment_id",
        "lot_id",
        "vvm_stage",
        "quantity",
        "expected_arrival",
    ),
    EventKind.ARRIVED_AT_HUB: ("node", "shipment_id", "lot_id", "vvm_stage", "quantity"),
    EventKind.HELD: ("node", "shipment_id", "reason", "until"),
    EventKind.DISPATCHED_ONWARD: (
        "node",
        "to_node",
        "shipment_id",
        "lot_id",
        "vvm_stage",
        "quantity",
        "expected_arrival",
    ),
    EventKind.RECEIVED: (
        "node",
        "shipment_id",
        "lot_id",
        "vvm_stage",
        "quantity",
        "discrepancy",
        "outcome",
        "reason",
    ),
    EventKind.TRANSFER: ("node", "to_node", "lot_id", "vvm_stage", "quantity"),
    EventKind.ISSUE: ("node", "to_node", "lot_id", "vvm_stage", "quantity"),
    EventKind.ADMINISTRATION: ("node", "lot_id", "vvm_stage", "quantity"),
    EventKind.ADJUSTMENT: ("node", "lot_id", "vvm_stage", "quantity", "reason", "ref"),
    EventKind.PHYSICAL_COUNT: ("node", "lot_id", "vvm_stage", "quantity"),
    EventKind.REVERSAL: ("ref", "reason"),
}

ROUTE_SEPARATOR = ">"

_D = date | None


def _day(value: _D, as_text: bool) -> Any:
    return value.isoformat() if as_text and value is not None else value


def kind_values(event: LedgerEvent, lot_id: int | None, dates_as_text: bool) -> tuple[Any, ...]:
    """The values of :data:`KIND_COLUMNS` for ``event``'s kind, in that order."""
    e: Any = event
    kind = event.kind
    if kind is EventKind.ADMINISTRATION or kind is EventKind.PHYSICAL_COUNT:
        q = e.quantity if kind is EventKind.ADMINISTRATION else e.counted
        return (e.node, lot_id, e.lot.vvm_stage, q)
    if kind is EventKind.TRANSFER or kind is EventKind.ISSUE:
        return (e.node, e.to_node, lot_id, e.lot.vvm_stage, e.quantity)
    if kind is EventKind.RECEIVED:
        return (
            e.node,
            e.shipment_id,
            lot_id,
            e.lot.vvm_stage,
            e.quantity,
            e.discrepancy,
            e.outcome.value,
            e.reason.value if e.reason else None,
        )
    if kind is EventKind.DISPATCHED:
        return (
            e.origin,
            e.destination,
            e.shipment_id,
            lot_id,
            e.lot.vvm_stage,
            e.quantity,
            _day(e.expected_arrival, dates_as_text),
        )
    if kind is EventKind.DISPATCHED_ONWARD:
        return (
            e.hub,
            e.destination,
            e.shipment_id,
            lot_id,
            e.lot.vvm_stage,
            e.quantity,
            _day(e.expected_arrival, dates_as_text),
        )
    if kind is EventKind.ARRIVED_AT_HUB:
        return (e.hub, e.shipment_id, lot_id, e.lot.vvm_stage, e.quantity)
    if kind is EventKind.ADJUSTMENT:
        return (e.node, lot_id, e.lot.vvm_stage, e.quantity, e.reason.value, e.caused_by)
    if kind is EventKind.SHIPMENT_PLANNED:
        return (
            e.origin,
            e.destination,
            e.shipment_id,
            e.product,
            e.quantity,
            ROUTE_SEPARATOR.join(e.route),
            _day(e.expected_dispatch, dates_as_text),
            _day(e.expected_arrival, dates_as_text),
            e.allocation_ref,
        )
    if kind is EventKind.HELD:
        return (e.hub, e.shipment_id, e.reason, _day(e.until, dates_as_text))
    if kind is EventKind.REVERSAL:
        return (e.reverses, e.reason)
    raise TypeError(f"not a ledger event: {event!r}")


def event_from_row(row: Mapping[str, Any], lot: Lot | None) -> LedgerEvent:
    """Rebuild the event a row was made from (``lot`` rebuilt by the caller from
    ``ledger_lots`` and the row's VVM stage)."""
    kind = EventKind(row["kind"])
    common: dict[str, Any] = {
        "event_id": row["event_id"],
        "occurred_at": from_instant(row["occurred_at"]),
        "recorded_by": row["recorded_by"],
        "recorded_at": from_instant(row["recorded_at"]),
    }
    q = row["quantity"]
    if kind is EventKind.SHIPMENT_PLANNED:
        return ShipmentPlanned(
            **common,
            shipment_id=row["shipment_id"],
            origin=row["node"],
            destination=row["to_node"],
            product=row["product"],
            quantity=q,
            route=tuple(row["route"].split(ROUTE_SEPARATOR)) if row["route"] else (),
            expected_dispatch=row["expected_dispatch"],
            expected_arrival=row["expected_arrival"],
            allocation_ref=row["ref"],
        )
    if kind is EventKind.HELD:
        return ShipmentHeld(
            **common,
            shipment_id=row["shipment_id"],
            hub=row["node"],
            reason=row["reason"],
            until=row["until"],
        )
    if kind is EventKind.REVERSAL:
        return Reversal(**common, reverses=row["ref"], reason=row["reason"])
    assert lot is not None, f"event {row['event_id']} has no lot"
    if kind is EventKind.DISPATCHED:
        return ShipmentDispatched(
            **common,
            shipment_id=row["shipment_id"],
            origin=row["node"],
            destination=row["to_node"],
            lot=lot,
            quantity=q,
            expected_arrival=row["expected_arrival"],
        )
    if kind is EventKind.ARRIVED_AT_HUB:
        return ArrivedAtHub(
            **common, shipment_id=row["shipment_id"], hub=row["node"], lot=lot, quantity=q
        )
    if kind is EventKind.DISPATCHED_ONWARD:
        return DispatchedOnward(
            **common,
            shipment_id=row["shipment_id"],
            hub=row["node"],
            destination=row["to_node"],
            lot=lot,
            quantity=q,
            expected_arrival=row["expected_arrival"],
        )
    if kind is EventKind.RECEIVED:
        return ShipmentReceived(
            **common,
            shipment_id=row["shipment_id"],
            node=row["node"],
            lot=lot,
            quantity=q,
            discrepancy=row["discrepancy"] or 0,
            outcome=ReceiptOutcome(row["outcome"]),
            reason=DiscrepancyReason(row["reason"]) if row["reason"] else None,
        )
    if kind in (EventKind.TRANSFER, EventKind.ISSUE):
        cls = Issue if kind is EventKind.ISSUE else Transfer
        return cls(**common, node=row["node"], to_node=row["to_node"], lot=lot, quantity=q)
    if kind is EventKind.ADMINISTRATION:
        return Administration(**common, node=row["node"], lot=lot, quantity=q)
    if kind is EventKind.ADJUSTMENT:
        return Adjustment(
            **common,
            node=row["node"],
            lot=lot,
            quantity=q,
            reason=AdjustmentReason(row["reason"]),
            caused_by=row["ref"],
        )
    return PhysicalCount(**common, node=row["node"], lot=lot, counted=q)
