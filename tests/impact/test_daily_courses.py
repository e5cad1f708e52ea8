"""Daily doses and courses: the batch path (all steady rollouts of a batch at once) gives each
scenario exactly what it gives alone, and the steady rule is the one written out below."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseflow.impact import (
    Delivery,
    DeliverySchedule,
    EfficacyMode,
    RateRollout,
    Scenario,
    VaccineProfile,
)
from doseflow.impact.model import compile_batch
from doseflow.impact.rollout import rate_daily_doses

AZ = VaccineProfile("AZ", 0.7, 0.95, EfficacyMode.ALL_OR_NOTHING, doses_per_course=2)
J1 = VaccineProfile("J1", 0.5, 0.85, EfficacyMode.LEAKY, doses_per_course=1)
TRIPLE = VaccineProfile("TR", 0.6, 0.9, doses_per_course=3)


def _steady(share: float, supply: float, start: int, population: float, horizon: int) -> np.ndarray:
    """The steady rollout rule as first written, one rollout at a time (the oracle)."""
    days = np.arange(horizon, dtype=np.float64)
    rate = share * population
    total = supply * population
    given_before = np.clip((days - start) * rate, 0.0, total)
    given_after = np.clip((days + 1 - start) * rate, 0.0, total)
    return given_after - given_before


@settings(max_examples=60, deadline=None)
@given(
    share=st.one_of(st.just(0.0), st.floats(1e-6, 1.0)),
    supply=st.one_of(st.just(0.0), st.floats(1e-6, 3.0)),
    start=st.integers(0, 420),
    population=st.floats(1.0, 2e9),
    horizon=st.integers(1, 400),
)
def test_steady_rollout_follows_the_rule(
    share: float, supply: float, start: int, population: float, horizon: int
) -> None:
    doses = RateRollout(share, supply, start_day=start).daily_doses(population, horizon)["vaccine"]
    np.testing.assert_array_equal(doses, _steady(share, supply, start, population, horizon))


@pytest.mark.parametrize(("n", "horizon"), [(301, 1), (301, 7), (301, 365), (25, 40_000)])
def test_many_rollouts_at_once_equal_each_alone(n: int, horizon: int) -> None:
    """Rows in several blocks (a partial last one; one row a block for a long horizon)
    against the oracle, row by row."""
    rng = np.random.default_rng(7)
    share = rng.uniform(0.0, 0.02, n)
    supply = rng.uniform(0.0, 1.0, n)
    start = rng.integers(0, horizon + 10, n)
    population = rng.uniform(1e4, 1e9, n)
    share[:5], supply[5:10], start[10:15] = 0.0, 0.0, horizon  # nothing given
    supply[15:20] = share[15:20] * 3  # exhausted on a day boundary
    doses = rate_daily_doses(share * population, supply * population, start, horizon)
    assert doses.shape == (n, horizon)
    for j in range(n):
        want = _steady(share[j], supply[j], int(start[j]), population[j], horizon)
        np.testing.assert_array_equal(doses[j], want)
    assert doses.sum() > 0


def _per_scenario(scenarios: list[Scenario], n_products: int) -> np.ndarray:
    out = np.zeros((len(scenarios), n_products, scenarios[0].horizon_days))
    for j, sc in enumerate(scenarios):
        daily = sc.daily_courses()
        out[j, : daily.shape[0]] = daily
    return out


def _variants(base: Scenario, n: int, seed: int, product: str = "vaccine") -> list[Scenario]:
    """``n`` steady rollouts of ``product``: random speeds, supplies (some none) and start
    days (some after the horizon)."""
    rng = np.random.default_rng(seed)
    h = base.horizon_days
    return [
        replace(
            base,
            rollout=RateRollout(
                float(rng.choice([0.0, rng.uniform(0.0005, 0.02)], p=[0.05, 0.95])),
                float(rng.choice([0.0, rng.uniform(0.0, 1.2)], p=[0.1, 0.9])),
                product,
                start_day=int(rng.integers(0, h + 20)),
            ),
        )
        for _ in range(n)
    ]


def test_batch_of_steady_rollouts_gives_each_scenarios_courses(nga: Scenario) -> None:
    """One vaccine set and product for the whole batch (the usual sweep), more rows than one
    block: every scenario's courses as ``daily_courses`` gives them."""
    batch = _variants(nga, 400, seed=3)
    batch[0] = replace(nga, rollout=RateRollout(0.01, 0.0))  # no supply
    batch[1] = replace(nga, rollout=RateRollout(0.01, 0.35, start_day=20))  # ends mid-horizon
    batch[2] = replace(nga, rollout=RateRollout(0.01, 0.5, start_day=nga.horizon_days))
    courses = compile_batch(batch).courses
    np.testing.assert_array_equal(courses, _per_scenario(batch, 1))
    assert courses[0].sum() == courses[2].sum() == 0.0
    exhausted = courses[1, 0]
    assert exhausted[:20].sum() == 0 < exhausted[20]
    assert exhausted[-1] == 0 < exhausted.sum()
    assert exhausted.sum() == pytest.approx(0.35 * nga.total_population / 2)


def test_mixed_batch_gives_each_scenarios_courses(nga: Scenario, prk: Scenario) -> None:
    """Steady rollouts of different products and vaccine sets (a product that is not the
    first vaccine, a set with fewer products than the batch), no rollout, delivery schedules,
    two populations, shared and separately built rollouts."""
    population = nga.total_population
    schedule = DeliverySchedule(
        (
            Delivery(-3, "AZ", int(0.02 * population)),
            Delivery(5, "AZ", int(0.06 * population)),
            Delivery(20, "J1", int(0.05 * population)),
        ),
        capacity_share=0.004,
    )
    two = replace(nga, vaccines=(AZ, J1), rollout=None)
    three = replace(prk, vaccines=(J1, TRIPLE, AZ), rollout=None)
    shared = RateRollout(0.006, 0.3, "J1", start_day=12)
    batch = [
        *_variants(two, 30, seed=1, product="J1"),
        replace(two, rollout=None),
        *_variants(two, 30, seed=2, product="AZ"),
        replace(two, rollout=schedule),
        *_variants(nga, 30, seed=4),
        replace(two, rollout=shared),
        replace(three, rollout=shared),
        replace(three, rollout=RateRollout(0.006, 0.3, "J1", start_day=12)),
        *_variants(three, 30, seed=5, product="TR"),
        replace(three, rollout=schedule.scaled(0.5)),
        replace(three, rollout=schedule),  # the same schedule, another population and set
        replace(prk, vaccines=two.vaccines, rollout=schedule),  # another population only
        replace(nga, rollout=DeliverySchedule((Delivery(0, "vaccine", 10_000),), None)),
        replace(two, rollout=schedule),
    ]
    compiled = compile_batch(batch)
    assert compiled.courses.shape == (len(batch), 3, nga.horizon_days)
    np.testing.assert_array_equal(compiled.courses, _per_scenario(batch, 3))
    by_product = compiled.courses.sum(axis=2)
    assert by_product[:30, 1].sum() > 0  # J1 is the second vaccine of the set
    assert by_product[:30, [0, 2]].sum() == 0
    assert by_product[31:61, 0].sum() > 0
    assert by_product[31:61, 1:].sum() == 0
    assert by_product[-1, :2].min() > 0  # the schedule's two products


def test_steady_rollouts_in_two_groups(nga: Scenario) -> None:
    """Every scenario steady but in two (vaccine set, product) groups, interleaved: the
    scattering path rather than the whole-batch one."""
    two = replace(nga, vaccines=(J1, AZ), rollout=None)
    first, second = _variants(nga, 40, seed=8), _variants(two, 40, seed=9, product="AZ")
    batch = [sc for pair in zip(first, second, strict=True) for sc in pair]
    np.testing.assert_array_equal(compile_batch(batch).courses, _per_scenario(batch, 2))
