"""Small builders for ledger tests: a network of nodes and terse event constructors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from doseflow.domain.events import (
    Adjustment,
    AdjustmentReason,
    Administration,
    ArrivedAtHub,
    DiscrepancyReason,
    DispatchedOnward,
    Issue,
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
from doseflow.domain.network import Node, NodeKind

BY = "tester"
LOT_A = Lot("AZ-SII", "A1", date(2021, 9, 30))
LOT_B = Lot("AZ-SII", "B2", date(2021, 7, 31))

NODES = (
    Node("SII", "Serum Institute of India", NodeKind.SUPPLIER),
    Node("DLC", "Dalian hub", NodeKind.HUB, country="CHN"),
    Node("PRK-NS", "DPRK national store", NodeKind.NATIONAL_STORE, country="PRK"),
    Node("PRK-R1", "DPRK region 1", NodeKind.REGIONAL_STORE, country="PRK", parent="PRK-NS"),
    Node("PRK-R2", "DPRK region 2", NodeKind.REGIONAL_STORE, country="PRK", parent="PRK-NS"),
)


def day(d: int, hour: int = 12) -> datetime:
    """Noon (or ``hour``) on day ``d`` of 2021 (1 = 1 January)."""
    return datetime(2021, 1, 1, hour, tzinfo=UTC) + timedelta(days=d - 1)


def planned(eid: str, d: int, q: int, shipment: str = "S1") -> ShipmentPlanned:
    return ShipmentPlanned(
        event_id=eid,
        occurred_at=day(d),
        recorded_by=BY,
        shipment_id=shipment,
        origin="SII",
        destination="PRK-NS",
        product="AZ-SII",
        quantity=q,
        route=("SII", "DLC", "PRK-NS"),
    )


def dispatched(
    eid: str, d: int, q: int, shipment: str = "S1", lot: Lot = LOT_A, to: str = "DLC"
) -> ShipmentDispatched:
    return ShipmentDispatched(
        event_id=eid,
        occurred_at=day(d),
        recorded_by=BY,
        shipment_id=shipment,
        origin="SII",
        destination=to,
        lot=lot,
        quantity=q,
        expected_arrival=date(2021, 3, 1),
    )


def arrived(eid: str, d: int, q: int, shipment: str = "S1", lot: Lot = LOT_A) -> ArrivedAtHub:
    return ArrivedAtHub(
        event_id=eid,
        occurred_at=day(d),
        recorded_by=BY,
        shipment_id=shipment,
        hub="DLC",
        lot=lot,
        quantity=q,
    )


def held(eid: str, d: int, shipment: str = "S1") -> ShipmentHeld:
    return ShipmentHeld(
        event_id=eid,
        occurred_at=day(d),
        recorded_by=BY,
        shipment_id=shipment,
        hub="DLC",
        reason="awaiting import permit",
    )


def onward(eid: str, d: int, q: int, shipment: str = "S1", lot: Lot = LOT_A) -> DispatchedOnward:
    return DispatchedOnward(
        event_id=eid,
        occurred_at=day(d),
        recorded_by=BY,
        shipment_id=shipment,
        hub="DLC",
        destination="PRK-NS",
        lot=lot,
        quantity=q,
        expected_arrival=date(2021, 4, 1),
    )


def received(
    eid: str,
    d: int,
    q: int,
    shipment: str = "S1",
    lot: Lot = LOT_A,
    node: str = "PRK-NS",
    damaged: int = 0,
) -> ShipmentReceived:
    return ShipmentReceived(
        event_id=eid,
        occurred_at=day(d),
        recorded_by=BY,
        shipment_id=shipment,
        node=node,
        lot=lot,
        quantity=q,
        discrepancy=damaged,
        outcome=ReceiptOutcome.DIFFERENT_QUANTITY if damaged else ReceiptOutcome.CONFIRMED,
        reason=DiscrepancyReason.DAMAGED if damaged else None,
    )


def issue(
    eid: str, d: int, q: int, node: str = "PRK-NS", to: str = "PRK-R1", lot: Lot = LOT_A
) -> Issue:
    return Issue(
        event_id=eid, occurred_at=day(d), recorded_by=BY, node=node, to_node=to, lot=lot, quantity=q
    )


def transfer(
    eid: str, d: int, q: int, node: str = "PRK-R1", to: str = "PRK-R2", lot: Lot = LOT_A
) -> Transfer:
    return Transfer(
        event_id=eid, occurred_at=day(d), recorded_by=BY, node=node, to_node=to, lot=lot, quantity=q
    )


def administered(
    eid: str, d: int, q: int, node: str = "PRK-R1", lot: Lot = LOT_A
) -> Administration:
    return Administration(
        event_id=eid, occurred_at=day(d), recorded_by=BY, node=node, lot=lot, quantity=q
    )


def adjusted(
    eid: str, d: int, q: int, reason: AdjustmentReason, node: str = "PRK-NS", lot: Lot = LOT_A
) -> Adjustment:
    return Adjustment(
        event_id=eid,
        occurred_at=day(d),
        recorded_by=BY,
        node=node,
        lot=lot,
        quantity=q,
        reason=reason,
    )


def counted(eid: str, d: int, q: int, node: str = "PRK-NS", lot: Lot = LOT_A) -> PhysicalCount:
    return PhysicalCount(
        event_id=eid, occurred_at=day(d), recorded_by=BY, node=node, lot=lot, counted=q
    )


def reversal(eid: str, d: int, target: str) -> Reversal:
    return Reversal(
        event_id=eid, occurred_at=day(d), recorded_by=BY, reverses=target, reason="entered in error"
    )
