"""Initial conditions per band and compartment (issue 13): exposed and infectious seeds,
prior immunity (serostatus), people vaccinated before day 0; shares or counts."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.impact import EfficacyMode, RateRollout, Scenario, VaccineProfile, simulate
from doseflow.impact.initial import InitialConditions
from doseflow.impact.reference import reference_solution


def test_default_seed_is_initial_infected_infectious(nga: Scenario) -> None:
    counts = nga.initial_counts()
    np.testing.assert_allclose(counts[1], nga.initial_infected * nga.population)
    assert counts[[0, 2, 3]].sum() == 0.0
    same = replace(nga, initial=InitialConditions.seeded(nga.initial_infected))
    a, b = simulate([nga, same]).deaths
    assert a == b


def test_initial_state_and_conservation(nga: Scenario) -> None:
    """Shares of each band: everyone is placed, refusal splits the unvaccinated, the day-0
    vaccinated are not courses of the rollout, and infections exclude those infected before."""
    init = InitialConditions(
        exposed=0.0025, infectious=0.0025, recovered=tuple(0.1 + 0.01 * a for a in range(9)),
        vaccinated=0.05,
    )  # fmt: skip
    sc = replace(nga, initial=init, rollout=None)
    result = simulate([sc])
    state = result.final_state[0]
    np.testing.assert_allclose(state.sum(axis=0) - state[-1], sc.population, rtol=1e-9)
    assert result.vaccinated[0] == 0.0
    counts = sc.initial_counts()
    np.testing.assert_allclose(counts[2], sc.population * (0.1 + 0.01 * np.arange(9)))
    assert result.daily_infections[0, 0].sum() == pytest.approx(0.0, abs=1e-6)


def test_prior_immunity_and_exposed_seed_change_the_epidemic(nga: Scenario) -> None:
    base = replace(nga, rollout=None)
    immune = replace(base, initial=InitialConditions(infectious=1e-4, recovered=0.3))
    exposed = replace(base, initial=InitialConditions(exposed=1e-4, infectious=1e-4))
    plain, with_immunity, with_exposed = simulate([base, immune, exposed]).deaths
    assert with_immunity < 0.8 * plain
    assert with_exposed > plain  # twice the seed, sooner and bigger by the horizon


def test_kernel_agrees_with_reference_with_initial_conditions(nga: Scenario) -> None:
    aon = VaccineProfile("AZ", 0.7, 0.95, EfficacyMode.ALL_OR_NOTHING, doses_per_course=2)
    pop = nga.population
    init = InitialConditions(
        exposed=tuple(0.002 * pop), infectious=tuple(0.002 * pop), recovered=tuple(0.2 * pop),
        vaccinated=tuple(0.05 * pop), as_counts=True,
    )  # fmt: skip
    sc = replace(
        nga, vaccines=(aon,), initial=init, refusal=0.2, rollout=RateRollout(0.01, 0.3, "AZ")
    )
    result = simulate([sc])
    ref = reference_solution(sc)
    np.testing.assert_allclose(result.deaths_by_age[0], ref.daily_deaths[-1], rtol=1e-3)
    np.testing.assert_allclose(result.infections_by_age[0], ref.daily_infections[-1], rtol=1e-3)


def test_shares_over_one_in_a_band_are_located(nga: Scenario) -> None:
    with pytest.raises(DoseflowError) as err:
        replace(nga, initial=InitialConditions(recovered=(0.5,) * 8 + (0.6,), vaccinated=0.45))
    assert err.value.code == "IMPACT_BAD_INITIAL"
    assert err.value.detail.location.field == "initial[8]"
    assert "80+" in str(err.value)


def test_counts_above_the_population_are_located(nga: Scenario) -> None:
    counts = tuple(float(p) for p in nga.population)
    too_many = (*counts[:2], counts[2] + 1, *counts[3:])
    with pytest.raises(DoseflowError) as err:
        replace(nga, initial=InitialConditions(infectious=too_many, as_counts=True))
    assert err.value.code == "IMPACT_BAD_INITIAL"
    assert err.value.detail.location.field == "initial.infectious[2]"


def test_susceptible_must_be_the_rest(nga: Scenario) -> None:
    ok = InitialConditions(infectious=0.01, recovered=0.2, susceptible=0.79)
    replace(nga, initial=ok)
    with pytest.raises(DoseflowError) as err:
        replace(nga, initial=InitialConditions(infectious=0.01, susceptible=0.9))
    assert err.value.code == "IMPACT_BAD_INITIAL"
    assert err.value.detail.location.field == "initial.susceptible[0]"


def test_wrong_number_of_values(nga: Scenario) -> None:
    with pytest.raises(DoseflowError) as err:
        replace(nga, initial=InitialConditions(exposed=(0.1, 0.2)))
    assert err.value.code == "IMPACT_SHAPE_MISMATCH"
    assert err.value.detail.location.field == "initial.exposed"


def test_conditions_given_as_arrays_stay_hashable() -> None:
    init = InitialConditions(recovered=np.array([0.1, 0.2]), exposed=[0.01, 0.02])
    assert init.recovered == (0.1, 0.2)
    assert hash(init) == hash(InitialConditions(recovered=(0.1, 0.2), exposed=(0.01, 0.02)))
