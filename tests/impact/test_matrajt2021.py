"""Matrajt et al. (2021, Science Advances 7:eabf1374) reproduced with doseflow (issue 13).

% deaths averted by three allocations (pro-rata, older first, adults 20-49 first) at 10-80%
coverage and vaccine efficacy 0.3, 0.5 and 0.9, against the authors' own code run on their
public data (``tests/impact/published/matrajt2021.json`` records how). Their model has more
infectious stages than doseflow's; the set-up (``tests/impact/matrajt.py``) matches its
next-generation matrix, which fixes the final size. Held to the issue's 0.5 points.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.impact.matrajt import (
    INFECTIOUS_DAYS,
    STRATEGIES,
    MatrajtModel,
    authors_results,
    group_doses,
    ranking,
    run_matrajt,
    vaccinated_at_start,
)

#: The issue's tolerance on % deaths averted (points).
TOLERANCE = 0.5
EFFICACIES = (0.3, 0.5, 0.9)

Results = dict[float, dict[str, np.ndarray]]


@pytest.fixture(scope="module")
def ours() -> Results:
    return {ve: run_matrajt(ve) for ve in EFFICACIES}


@pytest.fixture(scope="module")
def ours_long() -> Results:
    return {ve: run_matrajt(ve, horizon_days=3650) for ve in EFFICACIES}


def _largest_gap(ours: Results, horizon: int) -> float:
    gaps = [
        np.abs(ours[ve][s] - authors_results(ve, horizon)[s]).max()
        for ve in EFFICACIES
        for s in STRATEGIES
    ]
    return float(max(gaps))


def test_their_next_generation_matrix_is_ours() -> None:
    """R0 as their ``findBetaNewModel_eqs2_withHosp4`` defines it (F V^-1 over E, A, P, I,
    H, written out here) equals doseflow's definition on the folded contacts: the fold
    preserves the next-generation matrix, not just its dominant eigenvalue."""
    m = MatrajtModel.read()
    n = len(m.bands)
    d, r, f, h = m.days, m.infectiousness, m.fraction_symptomatic, m.hospitalised
    c1 = m.susceptibility[:, None] * m.contacts * m.population[:, None] / m.population[None, :]
    z, eye = np.zeros((n, n)), np.eye(n)
    top = np.hstack(
        [z, r["asymptomatic"] * c1, r["presymptomatic"] * c1, c1, r["hospitalised"] * c1]
    )
    big_f = np.vstack([top, np.zeros((4 * n, 5 * n))])
    ge, ga, gp, gi = (
        1 / d[k] for k in ("exposed", "asymptomatic", "presymptomatic", "symptomatic")
    )
    v = np.block(
        [
            [ge * eye, z, z, z, z],
            [-(1 - f) * ge * eye, ga * eye, z, z, z],
            [-f * ge * eye, z, gp * eye, z, z],
            [z, z, -np.diag(1 - h) * gp, gi * eye, z],
            [z, z, -np.diag(h) * gp, z, gi * eye],
        ]
    )
    theirs = np.linalg.eigvals(big_f @ np.linalg.inv(v))
    folded = m.contacts * m.infectiousness_days()[None, :] / INFECTIOUS_DAYS
    ngm = m.susceptibility[:, None] * folded * INFECTIOUS_DAYS
    assert np.max(theirs.real) == pytest.approx(np.max(np.linalg.eigvals(ngm).real), rel=1e-9)


def test_unvaccinated_deaths_are_theirs(ours: Results) -> None:
    """Their 31,384 deaths (rounded) without vaccine; ours within 0.01%."""
    for ve in EFFICACIES:
        theirs = float(authors_results(ve)["no vaccine"][0])
        assert ours[ve]["no vaccine"][0] == pytest.approx(theirs, rel=1e-4)


def test_deaths_averted_within_half_a_point(ours: Results) -> None:
    """All 72 cells (3 strategies x 8 coverages x 3 efficacies) at their 365 days; largest
    gap measured 0.360 (VE 0.9, pro-rata, 50%), then 0.113 (VE 0.5, pro-rata, 80%), the
    rest <= 0.028: the two are epidemics still running at day 365 (3650-day test)."""
    assert _largest_gap(ours, 365) <= TOLERANCE


def test_ranking_at_365_days_differs_only_where_the_horizon_cuts_the_epidemic(
    ours: Results,
) -> None:
    """The authors' ranking in 23 of 24 cells; in the other (VE 0.9, 50%: pro-rata and older
    first within 0.16 points in theirs) the epidemic is still running at day 365 and the
    two models' different timing decides the order (next test)."""
    m = MatrajtModel.read()
    differing = {
        (ve, m.coverage_percent[j])
        for ve in EFFICACIES
        for j, (a, b) in enumerate(
            zip(ranking(ours[ve]), ranking(authors_results(ve)), strict=True)
        )
        if a != b
    }
    assert differing == {(0.9, 50)}


def test_run_to_the_end_ranking_and_values_agree_everywhere(ours_long: Results) -> None:
    """Both models run for 3650 days (the authors' code with only its horizon changed,
    recorded in the JSON): the same ranking in all 24 cells and all 72 values within 0.03
    points (measured 0.030), so the 365-day gaps are the truncation of slow epidemics, not
    the model."""
    for ve in EFFICACIES:
        assert ranking(ours_long[ve]) == ranking(authors_results(ve, 3650))
    assert _largest_gap(ours_long, 3650) <= 0.035


def test_vaccinated_are_susceptible_and_never_exceed_the_doses() -> None:
    """The day-0 split: only susceptible people are protected (doses on asymptomatic
    infected or recovered people wasted, as in their ``runVaccination``), never more than
    the doses or the band's susceptible people."""
    m = MatrajtModel.read()
    total = float(m.population.sum())
    seeds = m.seeds()
    susceptible = (1 - m.recovered) * (m.population - seeds)
    for strategy in STRATEGIES:
        doses = group_doses(m, strategy, 0.5 * total)
        assert doses.sum() == pytest.approx(0.5 * total)
        vaccinated = vaccinated_at_start(m, doses)
        assert np.all(vaccinated <= susceptible + 1e-9)
        assert 0.7 * 0.5 * total < vaccinated.sum() < 0.5 * total


def test_the_papers_finding_holds_for_these_strategies(ours_long: Results) -> None:
    """The paper (abstract): to minimise deaths with a vaccine of low effectiveness, older
    groups first whatever the coverage; with high effectiveness and high coverage, a switch
    towards the high-transmission (younger) groups. Among these fixed allocations, in the
    authors' code and here alike: at VE 0.3 older first is best (or tied) at every coverage,
    at VE 0.9 it is best up to 50% and pro-rata (which reaches the younger groups) beats it
    from 60%. Run to the end (3650 days): at 365 days ours switches at 50% already, the one
    cell the horizon decides (above). Their optimal allocations themselves are published as
    figures only."""
    m = MatrajtModel.read()
    for results in (ours_long, {ve: authors_results(ve, 3650) for ve in EFFICACIES}):
        for j, _ in enumerate(m.coverage_percent):
            best = max(float(results[0.3][s][j]) for s in STRATEGIES)
            assert results[0.3]["older-first"][j] > best - 0.05
        for j, pct in enumerate(m.coverage_percent):
            gap = results[0.9]["pro-rata"][j] - results[0.9]["older-first"][j]
            assert (gap > 0) == (pct >= 60)
