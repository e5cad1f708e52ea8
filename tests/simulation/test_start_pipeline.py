"""How a run takes the start state's pipeline and odd start stock."""

from __future__ import annotations

from doseflow.domain.events import (
    Adjustment,
    AdjustmentReason,
    ArrivedAtHub,
    DispatchedOnward,
    EventKind,
    ShipmentReceived,
)
from doseflow.simulation.engine import run
from doseflow.simulation.scenario import Quarantine, Scenario, SimLane
from doseflow.simulation.start import PipelineShipment
from doseflow.simulation.streams import LeadTime
from tests.simulation.cases import NODES, PRODUCT, lot, on, scratch_check, start

ROUTE = ("SII", "DLC", "PRK-NS")
ONWARD = SimLane("DLC", "PRK-NS", LeadTime.fixed(4))


def _shipment(**kw: object) -> PipelineShipment:
    base: dict[str, object] = {
        "shipment_id": "S1",
        "product": PRODUCT,
        "lot": "P1",
        "expiry": on(100),
        "doses": 600,
        "route": ROUTE,
        "next_node": "DLC",
        "expected_arrival": on(3),
    }
    base.update(kw)
    return PipelineShipment(**base)  # type: ignore[arg-type]


def test_a_shipment_on_its_way_to_a_hub_arrives_there_and_moves_on() -> None:
    begin = start(pipeline=(_shipment(),))
    result = run(begin, Scenario(NODES, (ONWARD,)), seed=0, days=10)
    arrived, onward, received = result.events
    assert isinstance(arrived, ArrivedAtHub)
    assert (arrived.hub, arrived.occurred_at.date(), arrived.quantity) == ("DLC", on(3), 600)
    assert isinstance(onward, DispatchedOnward)
    assert onward.occurred_at.date() == on(3)
    assert isinstance(received, ShipmentReceived)
    assert (received.node, received.occurred_at.date()) == ("PRK-NS", on(7))
    _, report = scratch_check(begin, result)
    assert report.ok


def test_a_shipment_held_at_a_hub_is_hub_stock_from_day_0_without_a_new_quarantine() -> None:
    held = _shipment(next_node=None, expected_arrival=None, held_at="DLC", held=True)
    begin = start(pipeline=(held,))
    scenario = Scenario(NODES, (ONWARD,), quarantines=(Quarantine("DLC", 21),))
    result = run(begin, scenario, seed=0, days=10)
    kinds = [e.kind for e in result.events]
    assert kinds == [EventKind.ARRIVED_AT_HUB, EventKind.DISPATCHED_ONWARD, EventKind.RECEIVED]
    assert result.events[1].occurred_at.date() == on(0)
    _, report = scratch_check(begin, result)
    assert report.ok


def test_a_lot_expiring_on_the_road_is_written_off_on_arrival() -> None:
    begin = start(pipeline=(_shipment(next_node="PRK-NS", expiry=on(1), expected_arrival=on(5)),))
    result = run(begin, Scenario(NODES), seed=0, days=10)
    received, write_off = result.events
    assert isinstance(received, ShipmentReceived)
    assert isinstance(write_off, Adjustment)
    assert (write_off.node, write_off.reason, write_off.quantity) == (
        "PRK-NS",
        AdjustmentReason.EXPIRED,
        -600,
    )
    assert write_off.occurred_at.date() == on(5)
    assert result.expired[result.node_index("PRK-NS"), 5] == 600


def test_start_stock_past_the_vvm_discard_point_is_discarded_on_day_0() -> None:
    begin = start(lot("PRK-NS", "V3", 40, expiry_day=100, stage=3))
    result = run(begin, Scenario(NODES), seed=0, days=2)
    assert result.vvm_discarded[result.node_index("PRK-NS"), 0] == 40
    _, report = scratch_check(begin, result)
    assert report.ok
