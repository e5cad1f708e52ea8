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

#: Column order of the tuples :func:`event_values` returns.
EVENT_COLUMNS: tuple[str, ...] = (
    "seq",
    "event_id",
    "kind",
    "occurred_at",
    "effective_at",
    "recorded_at",
    "recorded_by",
    "batch_id",
    "node",
    "to_node",
    "shipment_id",
    "lot_id",
    "vvm_stage",
    "product",
    "quantity",
    "discrepancy",
    "outcome",
    "reason",
    "ref",
    "route",
    "expected_dispatch",
    "expected_arrival",
    "until",
)

ROUTE_SEPARATOR = ">"


def _kind_fields(e: LedgerEvent) -> dict[str, Any]:
    if isinstance(e, ShipmentPlanned):
        return {
            "node": e.origin,
            "to_node": e.destination,
            "shipment_id": e.shipment_id,
            "product": e.product,
            "quantity": e.quantity,
            "route": ROUTE_SEPARATOR.join(e.route),
            "expected_dispatch": e.expected_dispatch,
            "expected_arrival": e.expected_arrival,
            "ref": e.allocation_ref,
        }
    if isinstance(e, ShipmentDispatched):
        return {
            "node": e.origin,
            "to_node": e.destination,
            "shipment_id": e.shipment_id,
            "quantity": e.quantity,
            "expected_arrival": e.expected_arrival,
        }
    if isinstance(e, ArrivedAtHub):
        return {"node": e.hub, "shipment_id": e.shipment_id, "quantity": e.quantity}
    if isinstance(e, ShipmentHeld):
        return {"node": e.hub, "shipment_id": e.shipment_id, "reason": e.reason, "until": e.until}
    if isinstance(e, DispatchedOnward):
        return {
            "node": e.hub,
            "to_node": e.destination,
            "shipment_id": e.shipment_id,
            "quantity": e.quantity,
            "expected_arrival": e.expected_arrival,
        }
    if isinstance(e, ShipmentReceived):
        return {
            "node": e.node,
            "shipment_id": e.shipment_id,
            "quantity": e.quantity,
            "discrepancy": e.discrepancy,
            "outcome": e.outcome.value,
            "reason": e.reason.value if e.reason else None,
        }
    if isinstance(e, Transfer):  # and Issue
        return {"node": e.node, "to_node": e.to_node, "quantity": e.quantity}
    if isinstance(e, Administration):
        return {"node": e.node, "quantity": e.quantity}
    if isinstance(e, Adjustment):
        return {
            "node": e.node,
            "quantity": e.quantity,
            "reason": e.reason.value,
            "ref": e.caused_by,
        }
    if isinstance(e, PhysicalCount):
        return {"node": e.node, "quantity": e.counted}
    if isinstance(e, Reversal):
        return {"ref": e.reverses, "reason": e.reason}
    raise TypeError(f"not a ledger event: {e!r}")


def event_values(
    event: LedgerEvent,
    *,
    seq: int,
    effective_at: int,
    recorded_at: int,
    batch_id: str,
    lot_id: int | None,
    dates_as_text: bool,
) -> tuple[Any, ...]:
    """The row of ``event``, in :data:`EVENT_COLUMNS` order."""
    row = _kind_fields(event)
    lot = getattr(event, "lot", None)
    if isinstance(lot, Lot):
        row["product"] = lot.product
        row["vvm_stage"] = lot.vvm_stage
    row.update(
        seq=seq,
        event_id=event.event_id,
        kind=event.kind.value,
        occurred_at=int(event.occurred_at.timestamp()),
        effective_at=effective_at,
        recorded_at=recorded_at,
        recorded_by=event.recorded_by,
        batch_id=batch_id,
        lot_id=lot_id,
    )
    if dates_as_text:
        for name in ("expected_dispatch", "expected_arrival", "until"):
            value = row.get(name)
            if isinstance(value, date):
                row[name] = value.isoformat()
    return tuple(row.get(c) for c in EVENT_COLUMNS)


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
