"""Issue 13, model core: who is vaccinated, efficacy per band against infection, symptoms,
death and transmission, waning, symptomatic cases, the force's denominator; each checked for
conservation, against the unvaccinated epidemic and against the independent LSODA reference."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseflow.domain.errors import DoseflowError
from doseflow.impact import (
    EfficacyMode,
    RateRollout,
    Scenario,
    SimulationResult,
    Strategy,
    VaccineProfile,
    averted,
    simulate,
)
from doseflow.impact.epidemiology import (
    DAVIES_CLINICAL_FRACTION,
    ForceDenominator,
    clinical_fraction,
)
from doseflow.impact.model import COUNTERS, FIRST_PRODUCT_STRATUM, compile_batch
from doseflow.impact.reference import reference_solution
from doseflow.impact.vaccine import Eligibility

SER = Eligibility.SUSCEPTIBLE_EXPOSED_RECOVERED
SR = Eligibility.SUSCEPTIBLE_RECOVERED
N_BANDS = 9  # the conftest scenarios' ten-year bands


def _people(result: SimulationResult) -> np.ndarray:
    """(S, rows, A): S, E, I, R of every stratum and D (the counters left out)."""
    return result.final_state[:, : -len(COUNTERS) + 1, :]


def _stratum(result: SimulationResult, name: str) -> np.ndarray:
    """(S, 4, A): S, E, I, R of the stratum called ``name``."""
    rows = [result.compartments.index(f"{c}[{name}]") for c in "SEIR"]
    return result.final_state[:, rows, :]


def _assert_conserved(result: SimulationResult) -> None:
    people = _people(result)
    assert result.compartments[people.shape[1] - 1] == "D"
    expected = np.stack([sc.population for sc in result.scenarios])
    np.testing.assert_allclose(people.sum(axis=1), expected, rtol=1e-9)
    assert result.final_state.min() >= -1e-6 * expected.max()  # no compartment negative
    for series in (
        result.daily_infections,
        result.daily_deaths,
        result.daily_vaccinated,
        result.daily_symptomatic,
    ):  # cumulative counts never decrease
        assert np.diff(series, axis=1).min() >= -1e-6 * expected.max()


efficacy = st.floats(0.0, 1.0)


@settings(max_examples=15, deadline=None)
@given(
    e_inf=st.lists(efficacy, min_size=N_BANDS, max_size=N_BANDS),
    extra_sym=efficacy,
    extra_death=efficacy,
    e_trans=efficacy,
    mode=st.sampled_from(list(EfficacyMode)),
    protection_days=st.one_of(st.none(), st.floats(10.0, 1000.0)),
    residual=efficacy,
    eligibility=st.sampled_from(list(Eligibility)),
    denominator=st.sampled_from(list(ForceDenominator)),
    supply=st.floats(0.0, 1.2),
    r0=st.floats(1.1, 4.0),
)
def test_every_compartment_is_conserved_with_every_feature(
    nga: Scenario,
    e_inf: list[float],
    extra_sym: float,
    extra_death: float,
    e_trans: float,
    mode: EfficacyMode,
    protection_days: float | None,
    residual: float,
    eligibility: Eligibility,
    denominator: ForceDenominator,
    supply: float,
    r0: float,
) -> None:
    inf = np.array(e_inf)
    vaccine = VaccineProfile(
        "vaccine",
        tuple(inf),
        tuple(inf + extra_death * (1 - inf)),
        mode,
        efficacy_symptomatic=tuple(inf + extra_sym * (1 - inf)),
        efficacy_transmission=e_trans,
        protection_days=protection_days,
        residual_protection=residual,
    )
    sc = replace(
        nga,
        r0=r0,
        vaccines=(vaccine,),
        rollout=RateRollout(0.01, supply),
        eligibility=eligibility,
        denominator=denominator,
    )
    result = simulate([sc, sc.without_vaccination()])
    _assert_conserved(result)
    assert result.vaccinated[0] <= supply * sc.total_population / 2 * (1 + 1e-9) + 1e-6
    assert result.symptomatic[0] <= result.infections[0] * (1 + 1e-9)


def test_a_vaccine_with_no_effect_reproduces_the_unvaccinated_epidemic(nga: Scenario) -> None:
    """Whoever it is given to (exposed and recovered people included), with waning on and
    either denominator, a vaccine that protects against nothing changes nothing but the
    course counter."""
    useless = VaccineProfile("vaccine", 0.0, 0.0, protection_days=30.0)
    for denominator in ForceDenominator:
        base = replace(nga, denominator=denominator)
        runs = [base.without_vaccination()] + [
            replace(base, vaccines=(useless,), eligibility=e) for e in Eligibility
        ]
        result = simulate(runs)
        for j in (1, 2):
            assert result.vaccinated[j] > 0.1 * nga.total_population
            for series in ("daily_deaths", "daily_infections", "daily_symptomatic"):
                np.testing.assert_allclose(
                    getattr(result, series)[j], getattr(result, series)[0], rtol=1e-9, atol=1e-6
                )


def test_doses_given_to_exposed_or_recovered_people_are_used_and_change_no_course(
    nga: Scenario,
) -> None:
    """With no deaths (IFR 0) and no refusal every course given is a person in a vaccinated
    stratum. Exposed and recovered people vaccinated go to stratum 1 (shared with refusers,
    none here), whose susceptibility, fatality, symptoms and infectiousness are those of the
    unvaccinated and who are not vaccinated again."""
    late = replace(
        nga,
        ifr=np.zeros(N_BANDS),
        refusal=0.0,
        rollout=RateRollout(0.01, 0.8, start_day=40),  # in the thick of the epidemic
        strategy=Strategy.parse("proportional"),
    )
    runs = [replace(late, eligibility=e) for e in (SER, SR)]
    result = simulate(runs)
    batch = compile_batch(runs)
    vaccinated_strata = result.final_state[:, : 4 * batch.n_strata].reshape(2, 4, -1, N_BANDS)[
        :, :, 1:
    ]  # S, E, I, R of every stratum but the unvaccinated
    np.testing.assert_allclose(
        vaccinated_strata.sum(axis=(1, 2)), result.vaccinated_by_age, rtol=1e-9
    )
    after = _stratum(result, "refusing or vaccinated after infection")
    assert after[:, 0].max() == 0.0  # nobody susceptible gets there
    assert after[0].sum() > after[1].sum() > 0  # recovered both ways, exposed only by default
    for name in ("sigma", "death_rate", "infectiousness", "symptomatic"):
        arr = getattr(batch, name)
        np.testing.assert_array_equal(arr[:, 1], arr[:, 0])
    assert batch.waning[:, 1].max() == 0.0
    # exposed people are eligible by default: the same doses reach fewer susceptible people
    assert result.vaccinated[0] == pytest.approx(result.vaccinated[1], rel=1e-9)
    assert result.infections[0] > result.infections[1]
    # the reference keeps them in a stratum of their own: the same epidemic
    ref = reference_solution(runs[0])
    np.testing.assert_allclose(result.infections_by_age[0], ref.daily_infections[-1], rtol=1e-3)
    k = ref.n_strata
    own = ref.states[-1, [2, k + 2, 2 * k + 2, 3 * k + 2]].sum()  # its S, E, I, R
    assert own == pytest.approx(after[0].sum(), rel=1e-3)


def test_the_default_eligibility_costs_a_little(nga: Scenario, prk: Scenario) -> None:
    """Doses landing on incubating people protect nobody: deaths rise, by well under 1%
    (the figure docs/impact.md quotes)."""
    for sc in (nga, prk, replace(nga, strategy=Strategy.parse("proportional"), r0=3.0)):
        result = simulate([replace(sc, eligibility=e) for e in (SER, SR)])
        assert result.deaths[1] < result.deaths[0] < 1.01 * result.deaths[1]


@pytest.mark.parametrize(
    "features",
    [
        "per-band all-or-nothing, transmission, waning with residual, living, exposed",
        "leaky, waning, susceptible-recovered",
        "two products, one waning, symptoms",
    ],
)
def test_kernel_agrees_with_the_reference_on_every_new_feature(
    nga: Scenario, features: str
) -> None:
    """Daily deaths, infections (the kernel's E+I+R+D less the seed against the reference's
    counter of entries into E: the definition), symptomatic cases and courses by band."""
    ramp = tuple(np.linspace(0.3, 0.8, N_BANDS))
    if features.startswith("per-band"):
        vaccines: tuple[VaccineProfile, ...] = (
            VaccineProfile(
                "vaccine",
                ramp,
                tuple(np.minimum(np.array(ramp) + 0.15, 1.0)),
                EfficacyMode.ALL_OR_NOTHING,
                efficacy_symptomatic=0.85,
                efficacy_transmission=tuple(np.linspace(0.1, 0.5, N_BANDS)),
                protection_days=120.0,
                residual_protection=0.3,
            ),
        )
        extra: dict[str, object] = {"denominator": ForceDenominator.LIVING, "eligibility": SER}
    elif features.startswith("leaky"):
        vaccines = (VaccineProfile("vaccine", 0.7, 0.9, protection_days=60.0),)
        extra = {"eligibility": SR}
    else:
        vaccines = (
            VaccineProfile("vaccine", 0.6, 0.9, efficacy_symptomatic=0.7, protection_days=90.0),
            VaccineProfile("B", 0.5, 0.95, EfficacyMode.ALL_OR_NOTHING, efficacy_transmission=0.4),
        )
        extra = {}
    sc = replace(nga, r0=2.6, refusal=0.2, vaccines=vaccines, **extra)  # type: ignore[arg-type]
    result = simulate([sc])
    ref = reference_solution(sc)
    np.testing.assert_allclose(
        result.daily_deaths[0, 1:].sum(axis=1), ref.daily_deaths[1:].sum(axis=1), rtol=1e-3
    )
    for ours, theirs in (
        (result.deaths_by_age[0], ref.daily_deaths[-1]),
        (result.infections_by_age[0], ref.daily_infections[-1]),
        (result.symptomatic_by_age[0], ref.daily_symptomatic[-1]),
    ):
        np.testing.assert_allclose(ours, theirs, rtol=1e-3)
    np.testing.assert_allclose(
        result.daily_infections[0, 1:].sum(axis=1),
        ref.daily_infections[1:].sum(axis=1),
        rtol=1e-3,
    )
    np.testing.assert_allclose(
        result.vaccinated_by_age[0], ref.daily_vaccinated[-1], rtol=1e-3, atol=1.0
    )


def test_infections_are_everyone_who_entered_exposed_including_those_still_infected(
    nga: Scenario,
) -> None:
    """Stopped mid-epidemic, infections count people still exposed or infectious."""
    short = replace(nga, horizon_days=40, rollout=None)
    result = simulate([short])
    k = compile_batch([short]).n_strata
    still = result.final_state[0, k : 3 * k].sum()  # E and I of every stratum
    assert still > 0.05 * result.infections[0]
    ref = reference_solution(short)  # entries into E, counted as they happen
    assert result.infections[0] == pytest.approx(ref.daily_infections[-1].sum(), rel=1e-4)


def test_symptomatic_cases_are_the_clinical_fraction_of_infections(nga: Scenario) -> None:
    """Unvaccinated, or vaccinated with no protection against symptoms beyond protection
    from infection: symptomatic = clinical fraction x infections, band by band. More
    protection against symptoms: fewer symptomatic cases, the same infections."""
    base = replace(nga, vaccines=(VaccineProfile("vaccine", 0.6, 0.9),))
    runs = [
        nga.without_vaccination(),
        base,
        replace(base, vaccines=(VaccineProfile("vaccine", 0.6, 0.9, efficacy_symptomatic=0.8),)),
    ]
    result = simulate(runs)
    clinical = np.asarray(nga.symptomatic_fraction)
    for j in (0, 1):
        np.testing.assert_allclose(
            result.symptomatic_by_age[j], clinical * result.infections_by_age[j], rtol=1e-7
        )
    np.testing.assert_allclose(result.infections[2], result.infections[1], rtol=1e-12)
    assert result.symptomatic[2] < result.symptomatic[1]
    # the default is Davies et al. (2020) by ten-year band; ten-year bands hold it exactly
    # up to 70 (70-79 and 80+ are both 70+)
    np.testing.assert_allclose(clinical[:8], DAVIES_CLINICAL_FRACTION, rtol=1e-12)
    assert clinical_fraction(95.0)[()] == DAVIES_CLINICAL_FRACTION[-1]


def test_averted_in_number_and_share(nga: Scenario) -> None:
    result = simulate([nga, nga.without_vaccination()])
    avert = averted(result, result, [1, 1])
    for name in ("deaths", "infections", "symptomatic", "yll"):
        base = getattr(result, name)[1]
        number = getattr(avert, name)[0]
        assert number == pytest.approx(base - getattr(result, name)[0])
        assert getattr(avert, f"{name}_share")[0] == pytest.approx(number / base)
        assert 0 < getattr(avert, f"{name}_share")[0] < 1
    assert avert.deaths_share[1] == 0.0


def test_efficacy_per_band_equal_to_a_number_gives_identical_results(nga: Scenario) -> None:
    scalar = VaccineProfile("vaccine", 0.6, 0.9, EfficacyMode.ALL_OR_NOTHING)
    banded = VaccineProfile(
        "vaccine", (0.6,) * N_BANDS, (0.9,) * N_BANDS, EfficacyMode.ALL_OR_NOTHING
    )
    result = simulate([replace(nga, vaccines=(v,)) for v in (scalar, banded)])
    np.testing.assert_array_equal(result.final_state[0], result.final_state[1])


def test_protection_of_the_old_only_protects_the_old_bands(nga: Scenario) -> None:
    """Efficacy 0 below 60 and 0.9 from 60 on, everyone vaccinated: deaths under 60 are those
    of a useless vaccine (up to indirect effects, none here: no effect on transmission and
    the old get infected anyway at 0% for infection)."""
    old_only = (0.0,) * 6 + (0.9,) * 3
    vaccines = [
        VaccineProfile("vaccine", 0.0, old_only),
        VaccineProfile("vaccine", 0.0, 0.0),
    ]
    runs = [replace(nga, vaccines=(v,), strategy=Strategy.parse("proportional")) for v in vaccines]
    result = simulate(runs)
    np.testing.assert_allclose(result.deaths_by_age[0, :6], result.deaths_by_age[1, :6], rtol=1e-9)
    assert (result.deaths_by_age[0, 6:] < 0.95 * result.deaths_by_age[1, 6:]).all()


def test_transmission_efficacy_protects_the_unvaccinated_too(nga: Scenario) -> None:
    runs = [
        replace(nga, vaccines=(VaccineProfile("vaccine", 0.6, 0.9, efficacy_transmission=t),))
        for t in (0.0, 0.5)
    ]
    result = simulate(runs)
    refusing = [
        _stratum(result, "refusing or vaccinated after infection")[j, 0].sum() for j in (0, 1)
    ]
    assert refusing[1] > refusing[0]  # more refusers still susceptible at the end
    assert result.deaths[1] < result.deaths[0]


def test_waning(nga: Scenario) -> None:
    """Faster waning, more deaths; full residual protection (leaky) is no waning at all."""
    profiles = [
        VaccineProfile("vaccine", 0.7, 0.9),
        VaccineProfile("vaccine", 0.7, 0.9, protection_days=200.0),
        VaccineProfile("vaccine", 0.7, 0.9, protection_days=30.0),
        VaccineProfile("vaccine", 0.7, 0.9, protection_days=30.0, residual_protection=1.0),
    ]
    result = simulate([replace(nga, vaccines=(v,)) for v in profiles])
    assert result.deaths[0] < result.deaths[1] < result.deaths[2]
    assert result.deaths[3] == pytest.approx(result.deaths[0], rel=1e-9)
    waned = _stratum(result, "vaccine (waned)")
    assert waned[2].sum() > waned[1].sum() > 0


def test_living_denominator(nga: Scenario) -> None:
    """Without deaths the two denominators are the same; with deaths, contacts spread over the
    living give a little more transmission."""
    no_deaths = replace(nga, ifr=np.zeros(N_BANDS))
    deadly = replace(nga, ifr=np.full(N_BANDS, 0.05))
    runs = [replace(sc, denominator=d) for sc in (no_deaths, deadly) for d in ForceDenominator]
    result = simulate(runs)
    np.testing.assert_array_equal(result.final_state[0], result.final_state[1])
    assert result.infections[3] > result.infections[2]


def test_new_features_are_deterministic_across_batch_splits(nga: Scenario) -> None:
    banded = tuple(np.linspace(0.4, 0.8, N_BANDS))
    kinds = [
        VaccineProfile("vaccine", banded, 0.9, efficacy_transmission=0.3),
        VaccineProfile("vaccine", 0.6, 0.9, EfficacyMode.ALL_OR_NOTHING, protection_days=90.0),
    ]
    runs = [
        replace(
            nga,
            r0=1.5 + 0.05 * j,
            vaccines=(kinds[j % 2],),
            eligibility=list(Eligibility)[j % 2],
            denominator=list(ForceDenominator)[(j // 2) % 2],
        )
        for j in range(40)
    ]
    one = simulate(runs, threads=1)
    many = simulate(runs, threads=3)
    np.testing.assert_array_equal(one.final_state, many.final_state)
    np.testing.assert_array_equal(one.daily_symptomatic, many.daily_symptomatic)
    alone = simulate([runs[7]])  # all-or-nothing and waning: the batch's strata
    np.testing.assert_array_equal(one.final_state[7], alone.final_state[0])


def test_efficacy_errors_name_the_field(nga: Scenario) -> None:
    with pytest.raises(DoseflowError) as err:
        replace(nga, vaccines=(VaccineProfile("vaccine", (0.5, 0.6, 0.7), 0.9),))
    assert err.value.code == "IMPACT_SHAPE_MISMATCH"
    assert err.value.detail.location.field == "vaccines[vaccine].efficacy_infection"
    assert "3 values for 9 age bands" in str(err.value)
    with pytest.raises(DoseflowError) as err:
        VaccineProfile("AZ", 0.6, 0.9, efficacy_symptomatic=0.5)
    assert err.value.code == "IMPACT_BAD_EFFICACY"
    assert err.value.detail.location.field == "efficacy_symptomatic"
    with pytest.raises(DoseflowError) as err:
        VaccineProfile("AZ", 0.6, 0.9, efficacy_transmission=(0.2, 1.5))
    assert err.value.code == "IMPACT_BAD_EFFICACY"
    assert err.value.detail.location.field == "efficacy_transmission"
    with pytest.raises(DoseflowError) as err:
        VaccineProfile("AZ", (0.5, 0.6), (0.9, 0.9, 0.9))
    assert err.value.code == "IMPACT_SHAPE_MISMATCH"
    for field, kwargs in (
        ("protection_days", {"protection_days": 0.0}),
        ("residual_protection", {"residual_protection": 1.5}),
    ):
        with pytest.raises(DoseflowError) as err:
            VaccineProfile("AZ", 0.6, 0.9, **kwargs)  # type: ignore[arg-type]
        assert err.value.code == "IMPACT_BAD_PARAMETER"
        assert err.value.detail.location.field == field


def test_defaults_are_stated(nga: Scenario) -> None:
    v = VaccineProfile("vaccine")
    assert (v.efficacy_infection, v.efficacy_death, v.efficacy_transmission) == (0.6, 0.9, 0.0)
    assert v.efficacy_symptomatic is None
    assert not v.wanes
    assert v.residual_protection == 0.0
    assert nga.eligibility is SER
    assert nga.denominator is ForceDenominator.INITIAL
    assert compile_batch([nga]).n_strata == FIRST_PRODUCT_STRATUM + 1  # no waned stratum
