"""Policy choices and lane limits, by hand: stockpiling at a hub, batch sizes, capacity,
several lanes out of one node; and the scenario's own checks."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.domain.events import DispatchedOnward, ShipmentDispatched
from doseflow.simulation.engine import run
from doseflow.simulation.scenario import (
    Closure,
    Demand,
    Policy,
    Quarantine,
    Scenario,
    SimLane,
)
from doseflow.simulation.streams import LeadTime
from tests.simulation.cases import AS_OF, NODES, lot, on, scratch_check, start

HUB = start(lot("DLC", "H", 1000, expiry_day=200))
HUB_TO_NS = SimLane("DLC", "PRK-NS", LeadTime.fixed(2))


def _sent(events: object) -> list[tuple[str, str, int, str]]:
    assert isinstance(events, tuple)
    return [
        (e.occurred_at.date().isoformat(), e.destination, e.quantity, e.shipment_id)
        for e in events
        if isinstance(e, DispatchedOnward | ShipmentDispatched)
    ]


def test_stockpiling_at_the_hub_holds_everything_until_the_date() -> None:
    policy = Policy(stockpile_until=MappingProxyType({"DLC": on(9)}))
    result = run(HUB, Scenario(NODES, (HUB_TO_NS,), policy=policy), seed=0, days=20)
    assert _sent(result.events) == [("2021-06-11", "PRK-NS", 1000, "sim-DLC>PRK-NS-d10")]


def test_batches_and_daily_capacity_cut_what_leaves() -> None:
    """Capacity 300 a day, batches of 200: 200 leave each day for five days."""
    lane = SimLane("DLC", "PRK-NS", LeadTime.fixed(2), capacity_per_day=300)
    result = run(HUB, Scenario(NODES, (lane,), policy=Policy(batch_size=200)), seed=0, days=8)
    assert [q for _, _, q, _ in _sent(result.events)] == [200] * 5
    ns = [s for s in result.stock_end if s.node == "PRK-NS"]
    # arrivals on days 2-6 of the five batches (the last arrives on day 6)
    assert sum(s.doses for s in ns) == 1000


def test_batches_larger_than_the_stock_never_leave() -> None:
    result = run(HUB, Scenario(NODES, (HUB_TO_NS,), policy=Policy(batch_size=1500)), 0, 10)
    assert _sent(result.events) == []
    assert result.stock_end[0].doses == 1000


def test_several_open_lanes_share_equally_and_a_closed_one_gets_nothing() -> None:
    lanes = (
        SimLane("DLC", "PRK-NS", LeadTime.fixed(2)),
        SimLane("DLC", "PRK-BORDER", LeadTime.fixed(1)),
        SimLane("DLC", "PRK-SP", LeadTime.fixed(1)),
    )
    begin = start(lot("DLC", "H", 1001, expiry_day=200))
    closed = (Closure("DLC", "PRK-SP", AS_OF, on(5)),)
    result = run(begin, Scenario(NODES, lanes, closed), seed=0, days=1)
    assert sorted((d, q) for _, d, q, _ in _sent(result.events)) == [
        ("PRK-BORDER", 501),
        ("PRK-NS", 500),
    ]
    _, report = scratch_check(begin, result)
    assert report.ok


def test_unmet_demand_counts_stock_out_days() -> None:
    begin = start(lot("PRK-SP", "S", 45, expiry_day=200))
    result = run(begin, Scenario(NODES, demand=(Demand("PRK-SP", 20),)), seed=0, days=5)
    sp = result.node_index("PRK-SP")
    assert result.administered[sp].tolist() == [20, 20, 5, 0, 0]
    assert result.unmet[sp].tolist() == [0, 0, 15, 20, 20]
    assert result.stockout_days[sp] == 3


def test_a_scenario_naming_unknown_nodes_is_refused_with_every_problem() -> None:
    bad = Scenario(
        NODES,
        lanes=(SimLane("DLC", "NOWHERE", LeadTime.fixed(1)),) * 2,
        closures=(Closure("DLC", "PRK-NS", on(5), on(1)),),
        quarantines=(Quarantine("ATLANTIS", -2),),
        demand=(Demand("PRK-SP", -1),),
    )
    with pytest.raises(DoseflowError) as caught:
        run(start(lot("MARS", "M", 1, 10)), bad, seed=0, days=5)
    values = sorted(str(d.value) for d in caught.value.details)
    assert {d.code for d in caught.value.details} == {"SIMULATION_BAD_SCENARIO"}
    assert values == sorted(
        ["NOWHERE", "NOWHERE", "2021-06-02", "ATLANTIS", "-2", "-1", "MARS", "DLC>NOWHERE"]
    )


def test_a_run_needs_a_day() -> None:
    with pytest.raises(DoseflowError) as caught:
        run(HUB, Scenario(NODES), seed=0, days=0)
    assert caught.value.code == "SIMULATION_BAD_SCENARIO"
