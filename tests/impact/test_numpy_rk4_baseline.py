"""The impact benchmark's batched NumPy RK4 reproduces the compiled kernel (tiny sizes).

The benchmark's ratio against this baseline only means something if both integrate the same
equations with the same inputs and step: every feature the kernel has (products of both
efficacy modes, per-band efficacies, transmission efficacy, waning, refusal, deliveries,
spill-over between priority groups, exposed people vaccinated or deferred, the living
denominator, seeded initial conditions, the symptomatic counter, several steps a day, no
vaccination) is checked here, scenario by scenario and day by day."""

from __future__ import annotations

import importlib.util
import multiprocessing
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from doseflow.impact import (
    DEFAULT_VACCINE,
    AgeBands,
    Delivery,
    DeliverySchedule,
    EfficacyMode,
    Eligibility,
    ForceDenominator,
    Scenario,
    Strategy,
    VaccineProfile,
    custom_scenario,
)
from doseflow.impact.initial import InitialConditions
from doseflow.impact.model import FIRST_PRODUCT_STRATUM, compile_batch, integrate

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def baseline() -> ModuleType:
    return _load("impact_numpy_rk4")


def _assert_same(baseline: ModuleType, scenarios: list[Scenario], steps_per_day: int) -> None:
    batch = compile_batch(scenarios)
    kernel = integrate(batch, steps_per_day, by_age=False, threads=1)
    ours = baseline.integrate_numpy(batch, steps_per_day)
    tol = baseline.RELATIVE_TOLERANCE
    for name in ("daily_infections", "daily_deaths", "daily_vaccinated", "daily_symptomatic"):
        np.testing.assert_allclose(getattr(ours, name), getattr(kernel, name), rtol=tol, atol=0)
    scale = np.abs(kernel.final_state).max()
    np.testing.assert_allclose(ours.final_state, kernel.final_state, rtol=0, atol=tol * scale)
    two = baseline.integrate_numpy(batch, steps_per_day, threads=2)
    np.testing.assert_array_equal(two.daily_deaths, ours.daily_deaths)  # slices independent
    np.testing.assert_array_equal(two.daily_symptomatic, ours.daily_symptomatic)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        apart = baseline.integrate_numpy_processes(batch, pool, 2, steps_per_day)
    np.testing.assert_array_equal(apart.daily_infections, ours.daily_infections)
    np.testing.assert_array_equal(apart.daily_symptomatic, ours.daily_symptomatic)
    np.testing.assert_array_equal(apart.final_state, ours.final_state)


def test_baseline_reproduces_the_kernel_on_the_benchmark_batch(baseline: ModuleType) -> None:
    bench = _load("impact_model")
    scenarios = bench.make_batch(9, horizon=60)
    _assert_same(baseline, scenarios, steps_per_day=1)
    result = baseline.integrate_numpy(compile_batch(scenarios))
    assert (result.daily_vaccinated[:, -1] > 0).sum() >= 8  # vaccination is exercised
    assert (result.daily_deaths[:, -1] > 0).all()
    assert (result.daily_symptomatic[:, -1] > 0).all()


def _every_feature(nga: Scenario) -> list[Scenario]:
    """Scenarios that between them use every term of the kernel: both efficacy modes, per-band
    efficacies against infection, symptoms and death, transmission efficacy, waning into a
    residual protection, refusal, deliveries, spill-over between priority groups, exposed
    people vaccinated or deferred, the initial or the living denominator, seeded initial
    conditions (exposed, infectious, recovered and vaccinated at day 0), a clinical fraction
    by band, and no vaccination."""
    population = nga.total_population
    n = len(nga.bands)
    by_band = tuple(np.linspace(0.75, 0.55, n))  # efficacy falling with age
    leaky = VaccineProfile(
        "AZ",
        by_band,
        tuple(np.linspace(0.97, 0.9, n)),
        EfficacyMode.LEAKY,
        doses_per_course=2,
        efficacy_symptomatic=tuple(np.linspace(0.85, 0.7, n)),
        efficacy_transmission=0.3,
        protection_days=120.0,
        residual_protection=0.4,
    )
    aon = VaccineProfile(
        "J1",
        0.5,
        0.85,
        EfficacyMode.ALL_OR_NOTHING,
        doses_per_course=1,
        efficacy_symptomatic=0.6,
        efficacy_transmission=tuple(np.linspace(0.1, 0.4, n)),
        protection_days=200.0,
    )
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
        vaccines=(leaky, aon),
        rollout=schedule,
        strategy=Strategy.parse("ordered:60+,40-59,20-39"),
        initial=InitialConditions(
            exposed=0.001,
            infectious=tuple(np.linspace(0.0005, 0.0015, n)),
            recovered=0.05,
            vaccinated=tuple(np.linspace(0.0, 0.04, n)),
            vaccinated_product="J1",
        ),
        symptomatic_fraction=np.linspace(0.25, 0.7, n),
    )
    return [
        sc,
        replace(sc, strategy=Strategy.parse("proportional"), denominator=ForceDenominator.LIVING),
        replace(
            sc,
            strategy=Strategy.parse("younger-first"),
            eligibility=Eligibility.SUSCEPTIBLE_RECOVERED,
        ),
        replace(sc.without_vaccination(), denominator=ForceDenominator.LIVING),
    ]


def test_baseline_reproduces_the_kernel_with_every_feature_on(
    baseline: ModuleType, nga: Scenario
) -> None:
    scenarios = _every_feature(nga)
    sc = scenarios[0]
    batch = compile_batch(scenarios)
    # every term is in play
    assert batch.responders_per_product == 2  # the non-responder strata
    assert (batch.waning > 0).any()  # waned strata
    assert batch.n_strata == FIRST_PRODUCT_STRATUM + 2 * 2 + 2
    assert list(batch.living) == [0, 1, 0, 1]
    assert list(batch.exposed) == [1.0, 1.0, 0.0, 1.0]
    assert (batch.initial[:, 3] > 0).any()  # vaccinated at day 0
    assert len(np.unique(batch.sigma[0, FIRST_PRODUCT_STRATUM])) == len(sc.bands)  # by band
    assert len(np.unique(batch.symptomatic[0, FIRST_PRODUCT_STRATUM])) == len(sc.bands)
    assert (batch.infectiousness < 1.0).any()  # transmission efficacy
    _assert_same(baseline, scenarios, steps_per_day=2)
    result = baseline.integrate_numpy(batch, 2)
    assert result.daily_vaccinated[3, -1] == 0.0
    assert (result.daily_symptomatic[:, -1] > 0).all()
    assert (result.daily_symptomatic[:, -1] < result.daily_infections[:, -1]).all()
    k = batch.n_strata
    vaccinated = result.final_state[0, 4 * k + 1]
    # the first group (60+) was served, and doses spilled over to 40-59
    assert vaccinated[6:].sum() > 0.5 * sc.population[6:].sum() * (1 - sc.refusal)
    assert vaccinated[4:6].sum() > 0.05 * vaccinated.sum()
    # people waned: the waned strata hold some of the vaccinated by the end
    waned = result.final_state[0, FIRST_PRODUCT_STRATUM + 4 : k].sum()
    assert waned > 0.01 * vaccinated.sum()


def test_flop_count_counts_the_new_terms(baseline: ModuleType, nga: Scenario) -> None:
    """The count follows the kernel: waning adds strata and flows; the denominator's rescaling
    and the exposed people's factor are evaluated whatever their setting, so neither changes
    the count; a band more costs more."""
    count = baseline.flops_per_scenario_day
    base = count(compile_batch([nga]))
    waning = replace(nga, vaccines=(replace(DEFAULT_VACCINE, protection_days=100.0),))
    assert compile_batch([waning]).n_strata > compile_batch([nga]).n_strata
    assert count(compile_batch([waning])) > base
    assert count(compile_batch([replace(nga, denominator=ForceDenominator.LIVING)])) == base
    deferred = replace(nga, eligibility=Eligibility.SUSCEPTIBLE_RECOVERED)
    assert count(compile_batch([deferred])) == base
    five = AgeBands((0, 20, 40, 60, 80))
    fewer = custom_scenario("five", five, [1e6] * 5, np.ones((5, 5)).tolist())
    assert count(compile_batch([fewer])) < base


def test_flop_count_grows_with_steps_and_strata(baseline: ModuleType, nga: Scenario) -> None:
    """The machine-limit estimate's count: a step's share doubles with two steps a day, and
    more strata cost more."""
    one = compile_batch([nga])
    per_step = baseline.flops_per_scenario_day(one, 2) - baseline.flops_per_scenario_day(one, 1)
    assert per_step > 0
    assert (
        baseline.flops_per_scenario_day(one, 3)
        == baseline.flops_per_scenario_day(one, 1) + 2 * per_step
    )
    aon = VaccineProfile("AZ", 0.7, 0.95, EfficacyMode.ALL_OR_NOTHING)
    more = compile_batch([replace(nga, vaccines=(aon,), rollout=None)])
    assert more.n_strata > one.n_strata
    assert baseline.flops_per_scenario_day(more) > baseline.flops_per_scenario_day(one)


def test_benchmark_doc_quotes_the_flop_count_and_tolerance(baseline: ModuleType) -> None:
    """docs/benchmarks.md's machine-limit figure is the count for the benchmark's batch, and
    the tolerance it states is the one the benchmark checks."""
    doc = (BENCHMARKS.parent / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    section = doc[doc.index("### Against a batched NumPy RK4") :]
    quoted = re.search(r"\*\*([0-9.]+) MFLOP\s+per\s+scenario-year\*\*", section)
    assert quoted is not None
    batch = compile_batch(_load("impact_model").make_batch(12))
    per_year = baseline.flops_per_scenario_day(batch) * 365 / 1e6
    assert quoted.group(1) == f"{per_year:.2f}"
    tolerance = re.search(r"agree within a relative\s+\*\*([0-9e.-]+)\*\*", section)
    assert tolerance is not None
    assert float(tolerance.group(1)) == baseline.RELATIVE_TOLERANCE
