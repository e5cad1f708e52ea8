"""The impact benchmark's batched NumPy RK4 reproduces the compiled kernel (tiny sizes).

The benchmark's ratio against this baseline only means something if both integrate the same
equations with the same inputs and step: every feature the kernel has (products of both
efficacy modes, refusal, deliveries, spill-over between priority groups, several steps a day,
no vaccination) is checked here, scenario by scenario and day by day."""

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
    Delivery,
    DeliverySchedule,
    EfficacyMode,
    Scenario,
    Strategy,
    VaccineProfile,
)
from doseflow.impact.model import compile_batch, integrate

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
    for name in ("daily_infections", "daily_deaths", "daily_vaccinated"):
        np.testing.assert_allclose(getattr(ours, name), getattr(kernel, name), rtol=tol, atol=0)
    scale = np.abs(kernel.final_state).max()
    np.testing.assert_allclose(ours.final_state, kernel.final_state, rtol=0, atol=tol * scale)
    two = baseline.integrate_numpy(batch, steps_per_day, threads=2)
    np.testing.assert_array_equal(two.daily_deaths, ours.daily_deaths)  # slices independent
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        apart = baseline.integrate_numpy_processes(batch, pool, 2, steps_per_day)
    np.testing.assert_array_equal(apart.daily_infections, ours.daily_infections)
    np.testing.assert_array_equal(apart.final_state, ours.final_state)


def test_baseline_reproduces_the_kernel_on_the_benchmark_batch(baseline: ModuleType) -> None:
    bench = _load("impact_model")
    scenarios = bench.make_batch(9, horizon=60)
    _assert_same(baseline, scenarios, steps_per_day=1)
    result = baseline.integrate_numpy(compile_batch(scenarios))
    assert (result.daily_vaccinated[:, -1] > 0).sum() >= 8  # vaccination is exercised
    assert (result.daily_deaths[:, -1] > 0).all()


def test_baseline_reproduces_the_kernel_with_every_feature_on(
    baseline: ModuleType, nga: Scenario
) -> None:
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
    scenarios = [
        sc,
        replace(sc, strategy=Strategy.parse("proportional")),
        replace(sc, strategy=Strategy.parse("younger-first")),
        sc.without_vaccination(),
    ]
    batch = compile_batch(scenarios)
    assert batch.responders_per_product == 2  # the non-responder strata are in play
    _assert_same(baseline, scenarios, steps_per_day=2)
    result = baseline.integrate_numpy(batch, 2)
    assert result.daily_vaccinated[3, -1] == 0.0
    vaccinated = result.final_state[0, -1]
    # the first group (60+) was served, and doses spilled over to 40-59
    assert vaccinated[6:].sum() > 0.5 * sc.population[6:].sum() * (1 - sc.refusal)
    assert vaccinated[4:6].sum() > 0.05 * vaccinated.sum()


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
