"""One test per planning rule, on inputs small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest

from doseflow.deployment import Limit, Strategy, plan_deployment

from .builders import expiry_violations, group, lot, make, policy, product, region


def test_reserved_second_doses_make_every_course_complete() -> None:
    inp = make(
        [region("A"), region("B")],
        [group("All", [30_000, 30_000])],
        [lot("AZ", "L1", 10_000)],
        [policy(product(course=2), reserve=True)],
    )
    plan = plan_deployment(inp)
    pp = plan.products[0]
    assert int(pp.people.sum()) == 5_000  # 10,000 doses = 5,000 complete courses
    assert (pp.doses >= pp.people.sum(axis=1) * 2).all()
    line = plan.region_lines()[0]
    assert line.courses_reserved == line.people_started


def test_without_reservation_every_dose_is_a_first_dose_and_later_doses_are_owed() -> None:
    from doseflow.deployment import project_coverage

    inp = make(
        [region("A")],
        [group("All", [30_000])],
        [lot("AZ", "L1", 10_000)],
        [policy(product(course=2), reserve=False, interval=28)],
    )
    plan = plan_deployment(inp)
    assert int(plan.products[0].people.sum()) == 10_000
    assert plan.region_lines()[0].courses_reserved == 0
    proj = project_coverage(plan)
    assert proj.second_doses_unplanned[-1] == 10_000
    assert proj.completed.sum() == 0


def test_single_dose_course_counts_one_dose_per_person() -> None:
    jj = product("JJ", course=1)
    inp = make([region("A")], [group("All", [30_000])], [lot("JJ", "L1", 10_000)], [policy(jj)])
    assert int(plan_deployment(inp).products[0].people.sum()) == 10_000


def test_priority_serves_groups_in_order_and_spills_over() -> None:
    inp = make(
        [region("A"), region("B")],
        [
            group("Health workers", [1_000, 3_000], priority=1),
            group("Older", [10_000, 10_000], priority=2),
            group("Rest", [50_000, 50_000], priority=3),
        ],
        [lot("AZ", "L1", 2 * 10_000)],
        [policy()],
    )
    people = plan_deployment(inp).products[0].people
    assert people[:, 0].tolist() == [1_000, 3_000]  # first group complete
    assert int(people[:, 1].sum()) == 6_000  # the rest spills to the second group ...
    assert people[0, 1] == people[1, 1]  # ... at the same coverage in both regions
    assert int(people[:, 2].sum()) == 0  # ... and nothing to the third


def test_proportional_shares_follow_target_population() -> None:
    inp = make(
        [region("A"), region("B")],
        [group("G1", [10_000, 30_000]), group("G2", [20_000, 40_000])],
        [lot("AZ", "L1", 2 * 10_000)],
        [policy()],
        Strategy.PROPORTIONAL,
    )
    people = plan_deployment(inp).products[0].people
    assert people.tolist() == [[1_000, 2_000], [3_000, 4_000]]


def test_weights_multiply_a_groups_share() -> None:
    inp = make(
        [region("A")],
        [group("G1", [10_000], weight=3.0), group("G2", [10_000], weight=1.0)],
        [lot("AZ", "L1", 2 * 4_000)],
        [policy()],
        Strategy.WEIGHTED,
    )
    assert plan_deployment(inp).products[0].people.tolist() == [[3_000, 1_000]]


def test_cold_chain_room_caps_a_region_and_the_rest_goes_elsewhere() -> None:
    # 25 litres at 2.5 cm3 per dose = 10,000 doses
    inp = make(
        [region("A", litres=25.0), region("B")],
        [group("All", [50_000, 50_000])],
        [lot("AZ", "L1", 40_000)],
    )
    plan = plan_deployment(inp)
    doses = plan.products[0].doses
    assert doses.tolist() == [10_000, 30_000]
    assert plan.limit(plan.products[0], 0) is Limit.COLD_CHAIN


def test_cold_chain_room_is_shared_by_products_in_the_same_band() -> None:
    a, b = product("A1", course=1), product("B1", course=1)
    inp = make(
        [region("A", litres=25.0)],
        [group("All", [100_000])],
        [lot("A1", "L1", 6_000, days=100), lot("B1", "L2", 6_000, days=200)],
        [policy(a), policy(b)],
    )
    plan = plan_deployment(inp)
    assert plan.planned_doses() == 10_000
    assert plan.product_plan("B1").doses.tolist() == [4_000]


def test_administration_capacity_caps_a_region_over_the_horizon() -> None:
    inp = make(
        [region("A", per_day=100), region("B")],
        [group("All", [50_000, 50_000])],
        [lot("AZ", "L1", 40_000)],
        horizon=90,
    )
    plan = plan_deployment(inp)
    assert plan.products[0].doses.tolist() == [9_000, 31_000]
    assert plan.limit(plan.products[0], 0) is Limit.ADMINISTRATION


def test_lots_go_first_expiry_first_out() -> None:
    inp = make(
        [region("A")],
        [group("All", [50_000])],
        [lot("AZ", "LATE", 4_000, days=300), lot("AZ", "SOON", 4_000, days=200)],
    )
    plan = plan_deployment(inp)
    lots = {lp.lot.lot: int(lp.packs_by_region.sum()) for lp in plan.products[0].lots}
    assert lots == {"SOON": 40, "LATE": 40}
    assert [lp.lot.lot for lp in plan.products[0].lots] == ["SOON", "LATE"]


def test_short_dated_lots_go_where_they_will_be_used_in_time() -> None:
    # The short lot may be used up to day 10: in those 11 days the slow region (100/day)
    # can give 1,100 doses, the fast one (2,000/day) all it needs. Only what the slow region
    # can use in time goes there; the fast region takes the rest of the short lot.
    inp = make(
        [region("SLOW", per_day=100), region("FAST", per_day=2_000)],
        [group("All", [10_000, 10_000])],
        [lot("JJ", "SHORT", 10_000, days=10), lot("JJ", "LONG", 10_000, days=300)],
        [policy(product("JJ", course=1))],
        horizon=100,
    )
    plan = plan_deployment(inp)
    by_lot = {lp.lot.lot: lp.packs_by_region.tolist() for lp in plan.products[0].lots}
    assert by_lot["SHORT"] == [11, 89]
    assert by_lot["LONG"] == [89, 11]
    assert expiry_violations(plan) == []


def test_nothing_is_planned_past_expiry_and_the_rest_is_held_with_the_reason() -> None:
    inp = make(
        [region("A", per_day=100)],
        [group("All", [100_000])],
        [lot("JJ", "SHORT", 10_000, days=20)],
        [policy(product("JJ", course=1))],
    )
    plan = plan_deployment(inp)
    assert plan.planned_doses() == 2_100  # days 0..20 at 100 a day
    assert expiry_violations(plan) == []
    held = plan.held()
    assert sum(h.doses for h in held) == 10_000 - 2_100
    assert "before it expires" in held[0].reason


def test_a_lot_expired_before_the_start_is_not_planned() -> None:
    inp = make([region("A")], [group("All", [1_000])], [lot("AZ", "OLD", 1_000, days=-1)])
    plan = plan_deployment(inp)
    assert plan.planned_doses() == 0
    assert plan.held()[0].reason == "expired before the plan"


def test_thawed_products_must_be_used_within_their_days_at_2_8() -> None:
    inp = make(
        [region("A", per_day=100)],
        [group("All", [100_000])],
        [lot("PF", "L1", 10_000, days=300)],
        [policy(product("PF", course=1), days_in_band=31)],
    )
    plan = plan_deployment(inp)
    assert plan.planned_doses() == 3_100  # 31 days x 100


def test_shipments_are_whole_packs() -> None:
    inp = make(
        [region(c) for c in "ABCDE"],
        [group("All", [7_777, 3_333, 1_234, 999, 50])],
        [lot("AZ", "L1", 12_345)],
        [policy(product(pack=250))],
    )
    plan = plan_deployment(inp)
    for line in plan.shipments():
        assert line.doses == line.packs * 250
    assert plan.planned_doses() <= 12_345
    held = {h.reason: h.doses for h in plan.held()}
    assert held["not a whole pack (250 doses)"] == 95


def test_planned_never_exceeds_available() -> None:
    inp = make(
        [region("A"), region("B")],
        [group("All", [1_000_000, 1_000_000])],
        [lot("AZ", "L1", 55_555), lot("AZ", "L2", 44_444, days=200)],
    )
    plan = plan_deployment(inp)
    for pp in plan.products:
        for lp in pp.lots:
            assert int(lp.packs_by_region.sum()) * 100 <= lp.lot.doses
    assert plan.planned_doses() <= plan.available_doses()


@pytest.mark.parametrize("strategy", list(Strategy))
def test_explanations_name_the_figures_behind_a_region_amount(strategy: Strategy) -> None:
    inp = make(
        [region("A", litres=25.0), region("B")],
        [group("All", [50_000, 50_000])],
        [lot("AZ", "L1", 40_000)],
        strategy=strategy,
    )
    text = plan_deployment(inp).explain("A", "AZ")
    assert "10,000 doses" in text
    assert "cold-chain" in text
    assert "L1 x100" in text


def test_region_lines_report_people_and_packs() -> None:
    inp = make([region("A")], [group("All", [1_000])], [lot("AZ", "L1", 10_000)])
    plan = plan_deployment(inp)
    (line,) = plan.region_lines()
    assert (line.packs, line.people_started, line.limit) == (20, 1_000, Limit.NEED)
    assert np.array_equal(plan.people_by_cell, np.array([[1_000]]))
