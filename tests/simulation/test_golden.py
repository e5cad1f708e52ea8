"""Golden cases, computed by hand (docs/simulation.md gives the rules they follow)."""

from __future__ import annotations

from datetime import UTC, datetime, time

from doseflow.domain.events import (
    Adjustment,
    AdjustmentReason,
    Administration,
    DispatchedOnward,
    EventKind,
    ShipmentDispatched,
    ShipmentHeld,
    ShipmentReceived,
)
from doseflow.simulation.engine import run
from doseflow.simulation.scenario import (
    Closure,
    Demand,
    LotOrder,
    Policy,
    PowerOutage,
    Quarantine,
    Scenario,
    SimLane,
)
from doseflow.simulation.start import PipelineShipment
from doseflow.simulation.streams import LeadTime
from tests.simulation.cases import AS_OF, NODES, PRODUCT, lot, on, scratch_check, start


def noon(day: int) -> datetime:
    return datetime.combine(on(day), time(12), tzinfo=UTC)


HUB_TO_NS = SimLane("DLC", "PRK-NS", LeadTime.fixed(3))
AT_HUB = start(lot("DLC", "EXP30", 1000, expiry_day=30))


def test_closed_border_lets_the_stockpile_expire_at_the_hub() -> None:
    """Border closed days 0-40, the lot usable to day 30: written off at the hub on day 31."""
    closed = Scenario(
        NODES,
        lanes=(HUB_TO_NS,),
        closures=(Closure("DLC", "PRK-NS", AS_OF, on(40)),),
        demand=(Demand("PRK-NS", 100),),
    )
    result = run(AT_HUB, closed, seed=1, days=60)
    hub = result.node_index("DLC")
    assert result.expired[hub, 31] == 1000
    assert result.expired.sum() == 1000
    assert result.administered.sum() == 0
    moves = [e for e in result.events if e.kind is not EventKind.ADJUSTMENT]
    assert moves == []
    (write_off,) = result.events
    assert isinstance(write_off, Adjustment)
    assert (write_off.node, write_off.quantity, write_off.reason) == (
        "DLC",
        -1000,
        AdjustmentReason.EXPIRED,
    )
    assert write_off.occurred_at == noon(31)
    assert result.stock_end == ()
    _, report = scratch_check(AT_HUB, result)
    assert report.ok


def test_open_border_ships_the_same_lot_in_time() -> None:
    """The same lot without the closure leaves on day 0, arrives on day 3 and is given at
    100 a day on days 3-12: nothing expires."""
    result = run(AT_HUB, Scenario(NODES, (HUB_TO_NS,), demand=(Demand("PRK-NS", 100),)), 1, 60)
    ns = result.node_index("PRK-NS")
    (dispatch,) = [e for e in result.events if isinstance(e, DispatchedOnward)]
    assert (dispatch.occurred_at, dispatch.quantity, dispatch.expected_arrival) == (
        noon(0),
        1000,
        on(3),
    )
    assert result.administered[ns].tolist()[:14] == [0, 0, 0] + [100] * 10 + [0]
    assert result.expired.sum() == 0
    assert result.unmet[ns, :3].tolist() == [100, 100, 100]
    assert result.unmet[ns, 3:13].sum() == 0


def test_quarantine_receipt_lands_21_days_after_arrival_at_the_border() -> None:
    """Dispatched day 0, 5 days on the road: held at the border day 5, received day 26; the
    border's own demand (10 a day) cannot use it before."""
    begin = start(lot("SII", "Q1", 500, expiry_day=200))
    scenario = Scenario(
        NODES,
        lanes=(SimLane("SII", "PRK-BORDER", LeadTime.fixed(5)),),
        quarantines=(Quarantine("PRK-BORDER", 21),),
        demand=(Demand("PRK-BORDER", 10),),
    )
    result = run(begin, scenario, seed=3, days=40)
    (sent,) = [e for e in result.events if isinstance(e, ShipmentDispatched)]
    (hold,) = [e for e in result.events if isinstance(e, ShipmentHeld)]
    (receipt,) = [e for e in result.events if isinstance(e, ShipmentReceived)]
    assert sent.occurred_at == noon(0)
    assert (hold.occurred_at, hold.hub, hold.reason, hold.until) == (
        noon(5),
        "PRK-BORDER",
        "quarantine",
        on(26),
    )
    assert (receipt.occurred_at, receipt.node, receipt.quantity) == (noon(26), "PRK-BORDER", 500)
    assert (receipt.occurred_at - hold.occurred_at).days == 21
    border = result.node_index("PRK-BORDER")
    assert result.administered[border, :26].sum() == 0
    assert result.administered[border, 26:].tolist() == [10] * 14
    _, report = scratch_check(begin, result)
    assert report.ok


def test_lot_expiring_in_quarantine_is_written_off_at_the_border() -> None:
    begin = start(lot("SII", "Q2", 500, expiry_day=15))
    scenario = Scenario(
        NODES,
        lanes=(SimLane("SII", "PRK-BORDER", LeadTime.fixed(5)),),
        quarantines=(Quarantine("PRK-BORDER", 21),),
    )
    result = run(begin, scenario, seed=3, days=40)
    assert result.expired[result.node_index("PRK-BORDER"), 16] == 500
    receipt, write_off = result.events[-2:]
    assert isinstance(receipt, ShipmentReceived)
    assert receipt.occurred_at == noon(16)
    assert isinstance(write_off, Adjustment)
    assert write_off.reason is AdjustmentReason.EXPIRED
    _, report = scratch_check(begin, result)
    assert report.ok


def test_three_day_power_cut_raises_the_vvm_stage_by_one() -> None:
    """Days 2-4 without power, one stage per 2 outage days: stage 1 -> 2 on day 3, kept."""
    begin = start(lot("PRK-NS", "V1", 1000, expiry_day=300, stage=1))
    cut = Scenario(NODES, outages=(PowerOutage("PRK-NS", on(2), 3),), days_per_vvm_stage=2)
    result = run(begin, cut, seed=0, days=10)
    (left,) = result.stock_end
    assert (left.vvm_stage, left.doses) == (2, 1000)
    assert result.vvm_discarded.sum() == 0
    assert result.events == ()
    # without the cut the stage stays at 1
    (calm,) = run(begin, Scenario(NODES), seed=0, days=10).stock_end
    assert calm.vvm_stage == 1


def test_power_cut_pushing_a_lot_to_stage_3_discards_it() -> None:
    begin = start(lot("PRK-NS", "V2", 700, expiry_day=300, stage=2))
    cut = Scenario(NODES, outages=(PowerOutage("PRK-NS", on(2), 3),), days_per_vvm_stage=2)
    result = run(begin, cut, seed=0, days=10)
    assert result.vvm_discarded[result.node_index("PRK-NS"), 3] == 700
    (discard,) = result.events
    assert isinstance(discard, Adjustment)
    assert (discard.reason, discard.quantity, discard.lot.vvm_stage) == (
        AdjustmentReason.VVM_DISCARD,
        -700,
        3,
    )
    assert discard.occurred_at == noon(3)
    assert result.stock_end == ()
    _, report = scratch_check(begin, result)
    assert report.ok


def _two_lots(order: LotOrder) -> tuple[int, int, int]:
    """Lot LONG (300, expires day 40) on hand; lot A-SHORT (300, expires day 10) arrives on
    day 1; 20 doses a day for 20 days. Returns (administered, expired, unmet). The short
    lot's number sorts first, so FIFO cannot be lot-number order by accident."""
    begin = start(
        lot("PRK-SP", "LONG", 300, expiry_day=40),
        pipeline=(
            PipelineShipment(
                "S-SHORT",
                PRODUCT,
                "A-SHORT",
                on(10),
                300,
                ("DLC", "PRK-SP"),
                next_node="PRK-SP",
                expected_arrival=on(1),
            ),
        ),
    )
    scenario = Scenario(NODES, demand=(Demand("PRK-SP", 20),), policy=Policy(lot_order=order))
    result = run(begin, scenario, seed=0, days=20)
    _, report = scratch_check(begin, result)
    assert report.ok
    return int(result.administered.sum()), int(result.expired.sum()), int(result.unmet.sum())


def test_fefo_saves_200_doses_from_expiry_over_fifo() -> None:
    """FEFO: day 0 from LONG, days 1-10 SHORT (200), 100 SHORT expire on day 11, days 11-19
    from LONG (180): 400 given, 100 expired. FIFO: LONG first on days 0-14 (300), SHORT's
    300 expire on day 11, days 15-19 unmet (100)."""
    assert _two_lots(LotOrder.FEFO) == (400, 100, 0)
    assert _two_lots(LotOrder.FIFO) == (300, 300, 100)


def test_fefo_administers_the_short_lot_first() -> None:
    begin = start(lot("PRK-SP", "LONG", 50, 40), lot("PRK-SP", "SHORT", 50, 10))
    result = run(begin, Scenario(NODES, demand=(Demand("PRK-SP", 30),)), seed=0, days=1)
    given = [(e.lot.number, e.quantity) for e in result.events if isinstance(e, Administration)]
    assert given == [("SHORT", 30)]
