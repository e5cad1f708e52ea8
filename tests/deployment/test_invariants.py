"""Invariants of every plan, on random inputs (Hypothesis), and agreement with the
benchmark's pure-Python baseline (which also keeps the benchmark from rotting)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from doseflow.deployment import DeploymentInput, Strategy, plan_deployment

from .builders import expiry_violations, group, lot, make, policy, product, region
from .test_shares import bench


@st.composite
def inputs(draw: st.DrawFn) -> DeploymentInput:
    n_r = draw(st.integers(1, 5))
    n_g = draw(st.integers(1, 3))
    regions = [
        region(
            f"R{i}",
            per_day=draw(st.integers(0, 500)),
            litres=float(draw(st.integers(0, 200))),
            lead=draw(st.integers(0, 5)),
        )
        for i in range(n_r)
    ]
    groups = [
        group(
            f"G{g}",
            [draw(st.integers(0, 20_000)) for _ in range(n_r)],
            coverage=draw(st.sampled_from([0.5, 0.8, 1.0])),
            priority=draw(st.integers(1, 3)),
            weight=draw(st.sampled_from([0.5, 1.0, 2.5])),
        )
        for g in range(n_g)
    ]
    policies, stock = [], []
    for p in range(draw(st.integers(1, 3))):
        prod = product(
            f"P{p}", course=draw(st.integers(1, 3)), pack=draw(st.sampled_from([10, 50, 100]))
        )
        policies.append(
            policy(
                prod,
                interval=draw(st.integers(7, 40)),
                reserve=draw(st.booleans()),
                days_in_band=draw(st.sampled_from([None, 20])),
            )
        )
        for k in range(draw(st.integers(1, 3))):
            stock.append(
                lot(prod.code, f"L{p}{k}", draw(st.integers(0, 30_000)), draw(st.integers(-5, 200)))
            )
    return make(regions, groups, stock, policies, draw(st.sampled_from(list(Strategy))), 60)


@settings(max_examples=60, deadline=None)
@given(inputs())
def test_every_plan_keeps_the_rules(inp: DeploymentInput) -> None:
    plan = plan_deployment(inp)
    people = plan.people_by_cell
    assert (people <= plan.demand).all()  # nobody beyond a group's target
    for pp in plan.products:
        pack = pp.product.pack_doses
        for lp in pp.lots:  # conservation, lot by lot
            assert int(lp.packs_by_region.sum()) * pack <= lp.lot.doses
            assert (lp.packs_by_region >= 0).all()
        by_lots = sum(lp.packs_by_region for lp in pp.lots)
        assert (by_lots == pp.packs).all()  # whole packs, and shipments match the plan
        # course completeness: doses cover every person's planned doses
        assert (pp.doses >= pp.people.sum(axis=1) * pp.policy.doses_per_person).all()
        cold = pp.cold_room_doses
        admin = pp.admin_room_doses
        assert (pp.doses <= cold).all()
        assert (pp.doses <= admin).all()
    assert expiry_violations(plan) == []
    held = sum(h.doses for h in plan.held())
    assert plan.planned_doses() + held == plan.available_doses()


@settings(max_examples=25, deadline=None)
@given(inputs())
def test_the_vectorised_plan_equals_the_item_by_item_baseline(inp: DeploymentInput) -> None:
    assert bench.vector_plan(inp) == bench.baseline_plan(inp)


def test_benchmark_core_runs_on_a_small_network() -> None:
    result = bench.run(points=40, products=3, repeat=1)
    assert result["lines"] > 0
    assert result["doses"] > 0
