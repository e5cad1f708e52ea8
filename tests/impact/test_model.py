"""The model's invariants: conservation, counterfactual, final size, monotonicity, accuracy."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from doseflow.domain.errors import DoseflowError
from doseflow.impact import (
    AgeBands,
    Delivery,
    DeliverySchedule,
    EfficacyMode,
    RateRollout,
    Scenario,
    Strategy,
    VaccineProfile,
    country_scenario,
    custom_scenario,
    reference_deaths,
    simulate,
)
from doseflow.impact.model import compile_batch, integrate
from doseflow.impact.reference import reference_solution

STRATEGIES = ["older-first", "younger-first", "proportional", "weights:0,1,1,1,1,2,2,3,3"]


def _conserved(result_state: np.ndarray, scenarios: list[Scenario]) -> None:
    # every compartment (S, E, I, R of every stratum, and D) but the counters of courses and
    # symptomatic cases, the last two rows
    people = result_state[:, :-2, :].sum(axis=1)
    expected = np.stack([sc.population for sc in scenarios])
    np.testing.assert_allclose(people, expected, rtol=1e-9)
    assert result_state[:, :-2, :].min() >= -1e-6 * expected.max()


@settings(max_examples=12, deadline=None)
@given(
    r0=st.floats(1.1, 5.0),
    refusal=st.floats(0.0, 1.0),
    supply=st.floats(0.0, 1.5),
    speed=st.floats(0.0, 0.05),
    strategy=st.sampled_from(STRATEGIES),
    mode=st.sampled_from(list(EfficacyMode)),
    e_inf=st.floats(0.0, 1.0),
)
def test_population_is_conserved_in_every_run(
    nga: Scenario,
    r0: float,
    refusal: float,
    supply: float,
    speed: float,
    strategy: str,
    mode: EfficacyMode,
    e_inf: float,
) -> None:
    vaccine = VaccineProfile("vaccine", e_inf, max(e_inf, 0.9), mode)
    sc = replace(
        nga,
        r0=r0,
        refusal=refusal,
        vaccines=(vaccine,),
        rollout=RateRollout(speed, supply),
        strategy=Strategy.parse(strategy),
    )
    runs = [sc, sc.without_vaccination()]
    result = simulate(runs)
    _conserved(result.final_state, runs)
    assert result.vaccinated[0] <= supply * sc.total_population / 2 * (1 + 1e-9) + 1e-6


def test_no_vaccination_reproduces_the_unvaccinated_epidemic(nga: Scenario) -> None:
    useless = VaccineProfile("vaccine", 0.0, 0.0)
    runs = [
        nga.without_vaccination(),
        replace(nga, rollout=RateRollout(0.01, 0.0)),  # no supply
        replace(nga, refusal=1.0),  # everybody refuses
        replace(nga, vaccines=(useless,)),  # a vaccine that does nothing
        replace(nga, rollout=RateRollout(0.01, 0.5, start_day=nga.horizon_days)),  # too late
    ]
    result = simulate(runs)
    for j in range(1, len(runs)):
        np.testing.assert_allclose(
            result.daily_deaths[j], result.daily_deaths[0], rtol=1e-9, atol=1e-9
        )
        np.testing.assert_allclose(
            result.daily_infections[j], result.daily_infections[0], rtol=1e-9, atol=1e-6
        )
    assert result.vaccinated[3] > 0  # the useless vaccine was given, and changed nothing


def _final_size(r0: float) -> float:
    return float(brentq(lambda z: z - (1 - math.exp(-r0 * z)), 1e-9, 1.0))


@settings(max_examples=6, deadline=None)
@given(r0=st.floats(1.3, 4.0))
def test_r0_scaling_gives_the_final_size_of_the_homogeneous_case(r0: float) -> None:
    one_group = custom_scenario(
        "one group",
        AgeBands((0,)),
        [1e6],
        [[7.3]],
        r0=r0,
        initial_infected=1e-7,
        horizon_days=1500,
        rollout=None,
    )
    # three bands mixing in proportion to their size: homogeneous, so the same final size
    pop = np.array([2e6, 5e6, 3e6])
    mixing = np.tile(12.0 * pop / pop.sum(), (3, 1))
    three = custom_scenario(
        "proportionate",
        AgeBands((0, 20, 60)),
        pop,
        mixing,
        r0=r0,
        initial_infected=1e-7,
        horizon_days=1500,
        ifr=[0, 0, 0],
    )
    z = _final_size(r0)
    assert simulate([one_group]).infections[0] / 1e6 == pytest.approx(z, abs=2e-4)
    assert simulate([three]).infections[0] / pop.sum() == pytest.approx(z, abs=2e-4)


@settings(max_examples=12, deadline=None)
@given(
    low=st.floats(0.0, 0.8),
    extra=st.floats(0.01, 0.8),
    speed=st.floats(0.001, 0.03),
    r0=st.floats(1.2, 4.0),
    strategy=st.sampled_from(STRATEGIES),
    mode=st.sampled_from(list(EfficacyMode)),
)
def test_more_doses_never_increase_deaths(
    nga: Scenario,
    low: float,
    extra: float,
    speed: float,
    r0: float,
    strategy: str,
    mode: EfficacyMode,
) -> None:
    base = replace(
        nga,
        r0=r0,
        strategy=Strategy.parse(strategy),
        vaccines=(VaccineProfile("vaccine", 0.6, 0.9, mode),),
    )
    runs = [
        replace(base, rollout=RateRollout(speed, low)),
        replace(base, rollout=RateRollout(speed, low + extra)),
    ]
    result = simulate(runs)
    assert result.deaths[1] <= result.deaths[0] * (1 + 1e-9)


@pytest.mark.parametrize(
    ("strategy", "mode", "r0"),
    [
        ("older-first", EfficacyMode.LEAKY, 2.5),
        ("proportional", EfficacyMode.ALL_OR_NOTHING, 3.5),
        ("weights:0,1,1,1,1,2,2,3,3", EfficacyMode.LEAKY, 1.4),
    ],
)
def test_agrees_with_solve_ivp_lsoda(
    nga: Scenario, strategy: str, mode: EfficacyMode, r0: float
) -> None:
    sc = replace(
        nga,
        r0=r0,
        strategy=Strategy.parse(strategy),
        vaccines=(VaccineProfile("vaccine", 0.7, 0.95, mode),),
    )
    fast = simulate([sc]).deaths[0]
    assert fast == pytest.approx(reference_deaths(sc), rel=1e-3)


def test_agrees_with_solve_ivp_lsoda_when_bands_are_not_a_multiple_of_eight() -> None:
    """The kernel sums the transmission matrix eight columns at a time, then column by column:
    14 bands take both paths (the other tests use 9 and 16 bands)."""
    bands = AgeBands((0, 5, 10, 15, 20, 25, 30, 40, 50, 55, 60, 65, 70, 75))
    sc = country_scenario(
        "IND",
        bands=bands,
        horizon_days=200,
        r0=2.4,
        rollout=RateRollout(0.008, 0.5),
        strategy=Strategy.parse("older-first"),
    )
    result = simulate([sc])
    assert result.deaths[0] == pytest.approx(reference_deaths(sc), rel=1e-3)
    _conserved(result.final_state, [sc])


def test_batch_parameters_are_each_scenarios_own(nga: Scenario, prk: Scenario) -> None:
    """compile_batch works out shared parts once and gathers them: every scenario's arrays in
    a mixed batch equal those of the scenario compiled alone (equal parts built separately
    are merged by value, shared ones by identity)."""
    rebuilt = replace(
        nga,
        vaccines=(VaccineProfile("vaccine", 0.6, 0.9),),  # equal to nga's, another object
        strategy=Strategy.parse("older-first"),
        rollout=RateRollout(0.01, 0.4),
    )
    batch = [
        nga,
        replace(prk, strategy=Strategy.parse("proportional"), r0=3.1),
        replace(nga, rollout=None),
        rebuilt,
        replace(nga, strategy=Strategy.parse("ordered:60+,20-59"), rollout=RateRollout(0.004, 0.2)),
        prk,
    ]
    together = compile_batch(batch)
    for j, sc in enumerate(batch):
        alone = compile_batch([sc])
        groups = int(alone.n_groups[0])
        assert together.n_groups[j] == groups
        for name in ("population", "transmission", "kappa", "gamma", "sigma", "death_rate",
                     "courses", "split", "weights", "refusal", "seeds", "group_bands"):  # fmt: skip
            np.testing.assert_array_equal(getattr(together, name)[j], getattr(alone, name)[0])
        np.testing.assert_array_equal(
            together.group_start[j, : groups + 1], alone.group_start[0, : groups + 1]
        )
    assert together.courses[2].sum() == 0.0 < together.courses[0].sum()


def test_kernel_agrees_with_the_independent_reference_with_every_feature_on(
    nga: Scenario,
) -> None:
    """Two products (all-or-nothing and leaky), refusal, deliveries of both, an ordered
    strategy whose first group runs out (spill-over): the compiled kernel against the NumPy
    equations of the reference solved by LSODA, by day and by age."""
    population = nga.total_population
    aon = VaccineProfile("AZ", 0.7, 0.95, EfficacyMode.ALL_OR_NOTHING, doses_per_course=2)
    leaky = VaccineProfile("J1", 0.5, 0.85, EfficacyMode.LEAKY, doses_per_course=1)
    schedule = DeliverySchedule(
        (
            Delivery(5, "AZ", int(0.06 * population)),
            Delivery(20, "J1", int(0.05 * population)),
            Delivery(45, "AZ", int(0.08 * population)),
        ),
        capacity_share=0.004,
    )
    sc = replace(
        nga,
        r0=2.8,
        refusal=0.25,
        vaccines=(aon, leaky),
        rollout=schedule,
        strategy=Strategy.parse("ordered:60+,40-59,20-39"),
    )
    result = simulate([sc, replace(sc, strategy=Strategy.parse("proportional"))], threads=2)
    ref = reference_solution(sc)
    vaccinated = result.vaccinated_by_age[0]
    oldest = sc.population[6:].sum() * (1 - sc.refusal)
    assert vaccinated[6:].sum() > 0.5 * oldest  # the first group was served...
    assert vaccinated[4:6].sum() > 0.05 * vaccinated.sum()  # ...and doses spilled over
    # unvaccinated, refusing (or vaccinated after infection), two strata for each product;
    # then deaths, courses and symptomatic cases
    assert result.final_state[0, :, :].shape[0] == 4 * (2 + 2 * 2) + 3
    deaths, ref_deaths = result.daily_deaths[0].sum(axis=1), ref.daily_deaths.sum(axis=1)
    np.testing.assert_allclose(deaths[1:], ref_deaths[1:], rtol=1e-3)
    np.testing.assert_allclose(result.deaths_by_age[0], ref.daily_deaths[-1], rtol=1e-3)
    np.testing.assert_allclose(
        result.daily_vaccinated[0], ref.daily_vaccinated, rtol=1e-3, atol=1e-3 * oldest
    )
    np.testing.assert_allclose(result.infections_by_age[0], ref.daily_infections[-1], rtol=1e-3)
    assert abs(result.deaths[1] - result.deaths[0]) > 1e-3 * result.deaths[0]  # strategy matters


def test_threads_do_not_change_results(nga: Scenario) -> None:
    # 48 scenarios: cut into more slices than threads, taken by whichever thread is free
    runs = [replace(nga, r0=1.5 + 0.05 * j) for j in range(48)]
    one = simulate(runs, threads=1)
    for threads in (2, 3):
        many = simulate(runs, threads=threads)
        np.testing.assert_array_equal(one.final_state, many.final_state)
        np.testing.assert_array_equal(one.daily_deaths, many.daily_deaths)
        np.testing.assert_array_equal(one.daily_infections, many.daily_infections)


def test_a_scenario_gives_the_same_result_alone_or_in_a_batch(nga: Scenario, prk: Scenario) -> None:
    alone = simulate([prk])
    together = simulate([nga, replace(nga, r0=3.0), prk])
    np.testing.assert_allclose(together.deaths_by_age[2], alone.deaths_by_age[0], rtol=1e-12)


def test_older_first_vaccinates_the_oldest_band_first_then_spills_over(nga: Scenario) -> None:
    oldest = nga.population[-1] * (1 - nga.refusal)
    small = replace(nga, rollout=RateRollout(0.001, 0.5 * oldest / nga.total_population * 2))
    large = replace(nga, rollout=RateRollout(0.001, 1.5 * oldest / nga.total_population * 2))
    result = simulate([small, large])
    assert result.vaccinated_by_age[0, :-1].sum() < 1e-3 * result.vaccinated_by_age[0, -1]
    assert result.vaccinated_by_age[1, -2] > 0.1 * oldest
    assert result.vaccinated_by_age[1, :-2].sum() < 1e-3 * result.vaccinated[1]


def test_full_efficacy_is_the_same_leaky_or_all_or_nothing(nga: Scenario) -> None:
    runs = [
        replace(nga, vaccines=(VaccineProfile("vaccine", 1.0, 1.0, mode),)) for mode in EfficacyMode
    ]
    result = simulate(runs)
    assert result.deaths[0] == pytest.approx(result.deaths[1], rel=1e-9)


def test_yll_weights_deaths_by_remaining_life_expectancy(nga: Scenario) -> None:
    result = simulate([nga])
    assert result.yll[0] == pytest.approx(float(result.deaths_by_age[0] @ nga.life_expectancy))


def test_empty_batch_error() -> None:
    with pytest.raises(DoseflowError) as err:
        simulate([])
    assert err.value.code == "IMPACT_EMPTY_BATCH"
    assert "no scenarios" in str(err.value)
    assert err.value.detail.value == 0


def test_batch_mismatch_error(nga: Scenario) -> None:
    with pytest.raises(DoseflowError) as err:
        simulate([nga, replace(nga, horizon_days=100, name="short")])
    assert err.value.code == "IMPACT_BATCH_MISMATCH"
    assert "the batch has" in str(err.value)
    assert err.value.detail.value == "short"


def test_bad_parameter_error(nga: Scenario) -> None:
    with pytest.raises(DoseflowError) as err:
        replace(nga, r0=-1.0)
    assert err.value.code == "IMPACT_BAD_PARAMETER"
    assert "r0 is out of range" in str(err.value)
    assert err.value.detail.value == -1.0
    with pytest.raises(DoseflowError) as err2:
        integrate(compile_batch([nga]), steps_per_day=0)
    assert err2.value.detail.value == 0


def test_shape_mismatch_error() -> None:
    with pytest.raises(DoseflowError) as err:
        custom_scenario("x", AgeBands((0, 50)), [1e6, 1e6], [[1.0, 2.0]])
    assert err.value.code == "IMPACT_SHAPE_MISMATCH"
    assert "contacts has shape" in str(err.value)
    assert err.value.detail.value == (1, 2)


def test_unknown_product_error(nga: Scenario) -> None:
    with pytest.raises(DoseflowError) as err:
        replace(nga, rollout=RateRollout(0.01, 0.2, product="PFZ"))
    assert err.value.code == "IMPACT_UNKNOWN_PRODUCT"
    assert "delivers 'PFZ'" in str(err.value)
    assert err.value.detail.value == "PFZ"
