"""Determinism as a tested property: the same inputs and seed give the same events; one
part of the network's draws never depend on another part."""

from __future__ import annotations

from dataclasses import replace

from doseflow.domain.events import (
    Adjustment,
    AdjustmentReason,
    EventKind,
    LedgerEvent,
    event_nodes,
)
from doseflow.domain.network import Node, NodeKind
from doseflow.simulation.engine import run
from doseflow.simulation.result import SimulationResult
from doseflow.simulation.scenario import (
    Demand,
    Quarantine,
    RandomOutages,
    Scenario,
    SimLane,
)
from doseflow.simulation.streams import Distribution, LeadTime
from tests.simulation.cases import NODES, lot, scratch_check, start

BEGIN = start(
    lot("SII", "A", 4000, expiry_day=90),
    lot("SII", "B", 3000, expiry_day=150),
    lot("DLC", "C", 2000, expiry_day=40),
    lot("PRK-NS", "D", 500, expiry_day=20, stage=2),
    lot("X-HUB", "X", 800, expiry_day=100),
)
LANES = (
    SimLane("SII", "DLC", LeadTime(Distribution.UNIFORM, 5, 15)),
    SimLane("DLC", "PRK-NS", LeadTime(Distribution.TRIANGULAR, 1, 10, 4), capacity_per_day=700),
    SimLane("PRK-NS", "PRK-SP", LeadTime(Distribution.UNIFORM, 1, 3)),
)
X_NODES = (
    Node("X-HUB", "another hub", NodeKind.HUB),
    Node("X-SP", "another service point", NodeKind.SERVICE_POINT),
)
X_LANE = SimLane("X-HUB", "X-SP", LeadTime(Distribution.UNIFORM, 2, 9), capacity_per_day=100)
SCENARIO = Scenario(
    (*NODES, *X_NODES),
    lanes=(*LANES, X_LANE),
    quarantines=(Quarantine("PRK-NS", 7),),
    random_outages=(RandomOutages("PRK-NS", 20.0, 3), RandomOutages("PRK-SP", 20.0, 3)),
    demand=(Demand("PRK-SP", 60), Demand("X-SP", 5)),
)
#: Event kinds the scenario's run produces (so conservation is checked over all of them).
COVERED = (
    EventKind.DISPATCHED,
    EventKind.DISPATCHED_ONWARD,
    EventKind.HELD,
    EventKind.RECEIVED,
    EventKind.ADMINISTRATION,
    EventKind.ADJUSTMENT,
)


def _ours(result: SimulationResult) -> list[LedgerEvent]:
    """The events of the network without the X branch."""
    return [e for e in result.events if not any(n.startswith("X-") for n in event_nodes(e))]


def test_same_inputs_and_seed_give_the_same_events() -> None:
    first = run(BEGIN, SCENARIO, seed=42, days=120)
    second = run(BEGIN, SCENARIO, seed=42, days=120)
    assert len(first.events) > 50
    assert first.events == second.events
    assert [e.event_id for e in first.events] == [e.event_id for e in second.events]
    assert (first.administered == second.administered).all()
    other = run(BEGIN, SCENARIO, seed=43, days=120)
    assert other.events != first.events


def test_event_ids_are_unique_and_the_run_conserves_doses() -> None:
    result = run(BEGIN, SCENARIO, seed=42, days=120)
    kinds = {e.kind for e in result.events}
    reasons = {e.reason for e in result.events if isinstance(e, Adjustment)}
    assert kinds >= set(COVERED)
    assert reasons == {AdjustmentReason.EXPIRED, AdjustmentReason.VVM_DISCARD}
    ids = [e.event_id for e in result.events]
    assert len(ids) == len(set(ids))
    _, report = scratch_check(BEGIN, result)
    assert report.ok
    assert report.entered == BEGIN.total_doses()
    assert BEGIN.total_doses() == (
        result.on_hand_end()
        + result.in_transit_end
        + int(result.administered.sum())
        + result.written_off()
    )


def test_adding_a_branch_leaves_the_rest_of_the_network_unchanged() -> None:
    without = Scenario(
        NODES,
        lanes=LANES,
        quarantines=SCENARIO.quarantines,
        random_outages=SCENARIO.random_outages,
        demand=(Demand("PRK-SP", 60),),
    )
    begin = replace(BEGIN, stock=BEGIN.stock[:-1])
    alone = run(begin, without, seed=42, days=120)
    together = run(BEGIN, SCENARIO, seed=42, days=120)
    assert alone.events == tuple(_ours(together))
    assert len(_ours(together)) < len(together.events)


def test_changing_one_lanes_distribution_leaves_other_lanes_draws_unchanged() -> None:
    slower = replace(X_LANE, lead_time=LeadTime(Distribution.TRIANGULAR, 5, 30, 20))
    changed = run(BEGIN, replace(SCENARIO, lanes=(*LANES, slower)), seed=42, days=120)
    base = run(BEGIN, SCENARIO, seed=42, days=120)
    assert _ours(changed) == _ours(base)
    assert base.events != changed.events  # the X lane itself did change


def test_replication_rows_are_their_own_draws() -> None:
    zero = run(BEGIN, SCENARIO, seed=42, days=120, replication=0)
    one = run(BEGIN, SCENARIO, seed=42, days=120, replication=1)
    assert zero.events != one.events
    assert run(BEGIN, SCENARIO, seed=42, days=120, replication=1).events == one.events
