"""Events to table rows and back: one flat row per event, typed columns, no JSON.

Columns are shared between kinds: ``node`` is where doses leave from or are counted
(origin, hub, node), ``to_node`` where they go (destination, to_node); ``ref`` holds the
reversed event (reversal), the producing count (adjustment) or the allocation reference
(planned shipment); ``reason`` is the typed reason or a free-text hold/reversal reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter
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

#: The columns each kind fills besides the common ones (seq, event id, moments, recorder:
#: see ``doseflow.store.ledger_write.event_rows``), each with where its value comes from:
#: an event attribute, or ``lot_id`` (given by the caller), ``vvm``, a date (``day:``), an
#: enum value (``value:``), or the route. The other columns stay NULL. Binding only these
#: keeps a bulk insert fast: parameter binding, not SQLite, is what costs most per row.
KIND_FIELDS: dict[EventKind, tuple[tuple[str, str], ...]] = {
    EventKind.SHIPMENT_PLANNED: (
        ("node", "origin"),
        ("to_node", "destination"),
        ("shipment_id", "shipment_id"),
        ("product", "product"),
        ("quantity", "quantity"),
        ("route", "route"),
        ("expected_dispatch", "day:expected_dispatch"),
        ("expected_arrival", "day:expected_arrival"),
        ("ref", "allocation_ref"),
    ),
    EventKind.DISPATCHED: (
        ("node", "origin"),
        ("to_node", "destination"),
        ("shipment_id", "shipment_id"),
        ("lot_id", "lot_id"),
        ("vvm_stage", "vvm"),
        ("quantity", "quantity"),
        ("expected_arrival", "day:expected_arrival"),
    ),
    EventKind.ARRIVED_AT_HUB: (
        ("node", "hub"),
        ("shipment_id", "shipment_id"),
        ("lot_id", "lot_id"),
        ("vvm_stage", "vvm"),
        ("quantity", "quantity"),
    ),
    EventKind.HELD: (
        ("node", "hub"),
        ("shipment_id", "shipment_id"),
        ("reason", "reason"),
        ("until", "day:until"),
    ),
    EventKind.DISPATCHED_ONWARD: (
        ("node", "hub"),
        ("to_node", "destination"),
        ("shipment_id", "shipment_id"),
        ("lot_id", "lot_id"),
        ("vvm_stage", "vvm"),
        ("quantity", "quantity"),
        ("expected_arrival", "day:expected_arrival"),
    ),
    EventKind.RECEIVED: (
        ("node", "node"),
        ("shipment_id", "shipment_id"),
        ("lot_id", "lot_id"),
        ("vvm_stage", "vvm"),
        ("quantity", "quantity"),
        ("discrepancy", "discrepancy"),
        ("outcome", "value:outcome"),
        ("reason", "value:reason"),
    ),
    EventKind.TRANSFER: (
        ("node", "node"),
        ("to_node", "to_node"),
        ("lot_id", "lot_id"),
        ("vvm_stage", "vvm"),
        ("quantity", "quantity"),
    ),
    EventKind.ISSUE: (
        ("node", "node"),
        ("to_node", "to_node"),
        ("lot_id", "lot_id"),
        ("vvm_stage", "vvm"),
        ("quantity", "quantity"),
    ),
    EventKind.ADMINISTRATION: (
        ("node", "node"),
        ("lot_id", "lot_id"),
        ("vvm_stage", "vvm"),
        ("quantity", "quantity"),
    ),
    EventKind.ADJUSTMENT: (
        ("node", "node"),
        ("lot_id", "lot_id"),
        ("vvm_stage", "vvm"),
        ("quantity", "quantity"),
        ("reason", "value:reason"),
        ("ref", "caused_by"),
    ),
    EventKind.PHYSICAL_COUNT: (
        ("node", "node"),
        ("lot_id", "lot_id"),
        ("vvm_stage", "vvm"),
        ("quantity", "counted"),
        ("reason", "remark"),
    ),
    EventKind.REVERSAL: (("ref", "reverses"), ("reason", "reason")),
}

#: The columns alone, per kind.
KIND_COLUMNS: dict[EventKind, tuple[str, ...]] = {
    kind: tuple(column for column, _ in fields) for kind, fields in KIND_FIELDS.items()
}

ROUTE_SEPARATOR = ">"


def _attribute(name: str) -> Callable[[Sequence[Any]], list[Any]]:
    get = attrgetter(name)
    return lambda events: list(map(get, events))


def _day_column(name: str, as_text: bool) -> Callable[[Sequence[Any]], list[Any]]:
    get = attrgetter(name)
    if not as_text:
        return lambda events: list(map(get, events))
    return lambda events: [d.isoformat() if d is not None else None for d in map(get, events)]


def _value_column(name: str) -> Callable[[Sequence[Any]], list[Any]]:
    """An enum field's value (None stays None)."""
    get = attrgetter(name)
    return lambda events: [v.value if v is not None else None for v in map(get, events)]


def _route(events: Sequence[Any]) -> list[str]:
    return [ROUTE_SEPARATOR.join(e.route) for e in events]


def kind_columns(
    kind: EventKind,
    events: Sequence[LedgerEvent],
    lot_ids: Sequence[int | None],
    dates_as_text: bool,
) -> list[list[Any]]:
    """The values of :data:`KIND_COLUMNS` for many events of ``kind``, column by column
    (``lot_ids``: each event's lot id, aligned with ``events``)."""
    out: list[list[Any]] = []
    for _column, source in KIND_FIELDS[kind]:
        if source == "lot_id":
            out.append(list(lot_ids))
        elif source == "vvm":
            out.append(_attribute("lot.vvm_stage")(events))
        elif source == "route":
            out.append(_route(events))
        elif source.startswith("day:"):
            out.append(_day_column(source[4:], dates_as_text)(events))
        elif source.startswith("value:"):
            out.append(_value_column(source[6:])(events))
        else:
            out.append(_attribute(source)(events))
    return out


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
    return PhysicalCount(
        **common, node=row["node"], lot=lot, counted=q, remark=row["reason"] or None
    )
