"""Published age-prioritisation results reproduced with doseflow (issue 13).

Bubar et al. (2021, Science 371:916): the best strategy for deaths (of under-20, 20-49, 60+,
20+ and all ages) at every supply from 1% to 50%, USA by R0 and nine countries, as saved by
the authors' code; and % deaths averted in Fig. 3B-C, both efficacy variants, as the
authors' code computes it (``tests/impact/published/bubar2021.json`` records where each
number comes from). The parameters and set-up are the paper's code's; see
``tests/impact/reproductions.py``. Every comparison is held to the issue's 0.5 points.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.impact.reproductions import (
    RankingComparison,
    bubar_scenario,
    bubar_vaccinated,
    compare_bubar,
    compare_bubar_fig3,
)

#: The issue's tolerance on % deaths averted (points).
TOLERANCE = 0.5


@pytest.fixture(scope="module")
def countries() -> RankingComparison:
    return compare_bubar("countries")


@pytest.fixture(scope="module")
def r0_continuous() -> RankingComparison:
    return compare_bubar("r0-continuous")


@pytest.fixture(scope="module")
def r0_anticipatory() -> RankingComparison:
    return compare_bubar("r0-anticipatory")


def test_r0_is_the_papers_next_generation_eigenvalue() -> None:
    """The paper's R0 is the dominant eigenvalue of diag(u) C / gamma; doseflow scales beta
    the same way, so the same R0 means the same epidemic."""
    from doseflow.impact.model import next_generation_beta

    sc = bubar_scenario("USA", 1.5, "continuous")
    beta = next_generation_beta(sc.contacts, sc.susceptibility, sc.r0, sc.infectious_days)
    ngm = beta * sc.infectious_days * sc.susceptibility[:, None] * sc.contacts
    assert max(abs(np.linalg.eigvals(ngm))) == pytest.approx(1.5, rel=1e-12)
    assert (sc.latent_days, sc.infectious_days, sc.refusal) == (3.0, 5.0, 0.3)


def test_countries_best_strategy_is_the_published_one(countries: RankingComparison) -> None:
    """Nine countries, R0 1.15, 0.1%/day: 450 cells, the published best in every one
    (60+ in India, Zimbabwe, South Africa and most of Brazil; 20-49 elsewhere)."""
    ours = countries.result.best()
    wrong = [
        (country, j + 1, ours[i][j], countries.published[i][j])
        for i, (country, _) in enumerate(countries.result.cases)
        for j in range(50)
        if ours[i][j] != countries.published[i][j]
    ]
    assert wrong == []
    assert {row[0] for row in countries.published} == {"20-49", "60+"}  # a real contrast


def test_r0_continuous_best_strategy_is_the_published_one(
    r0_continuous: RankingComparison,
) -> None:
    """USA, R0 1.10-2.00, 0.1%/day: 950 cells, the published best in every one (the switch
    from 20-49 to 60+ as R0 rises included)."""
    assert r0_continuous.agreement() == 1.0
    switch = {row[0] for row in r0_continuous.published}
    assert switch == {"20-49", "60+"}


def test_r0_anticipatory_best_strategy_within_tolerance(
    r0_anticipatory: RankingComparison,
) -> None:
    """USA, anticipatory rollout (whole supply at day 0), R0 1.10-2.00: 950 cells; in every
    one the published best strategy averts within 0.5 points of the best here. They differ
    in one cell only (R0 1.10, 24%: 20+ and 20-49 both stop the epidemic and tie)."""
    assert r0_anticipatory.result.cases[-1] == ("USA", 2.0)
    assert float(r0_anticipatory.shortfall().max()) <= TOLERANCE
    assert r0_anticipatory.agreement() >= 0.99


def test_anticipatory_supply_is_vaccinated_at_day_0_as_the_authors_split_it() -> None:
    """The anticipatory supply fills the strategy's bands in proportion to their willing
    susceptible people (all fill together), the excess going to every other band the same
    way; none is left in a rollout."""
    base = bubar_scenario("USA", 1.5, "anticipatory")
    sc = bubar_vaccinated(base, "60+", "anticipatory", 30, 0.0)
    assert sc.rollout is None
    vaccinated = sc.initial_counts()[3]
    willing = (sc.population - 2.0) * 0.7
    assert vaccinated.sum() == pytest.approx(0.3 * sc.total_population)
    assert np.allclose(vaccinated[6:], willing[6:])  # 60+ all vaccinated (they are < 30%)
    share = vaccinated[:6] / willing[:6]
    assert np.allclose(share, share[0])
    assert 0 < share[0] < 1


@pytest.mark.parametrize("age_dependent", [False, True], ids=["constant", "age-dependent"])
def test_fig3_percent_deaths_averted_within_tolerance(age_dependent: bool) -> None:
    """Fig. 3B-C (USA, R0 1.15 and 1.5, 0.2%/day), supply 5-50%, solid lines (90% at every
    age) and dashed (90% to 59, then down to 50% at 80+): % deaths averted within 0.5 points
    of the authors' code in all 100 cells of each, and the five strategies in the same order
    in all 20 (20-49 first at R0 1.15, 60+ at 1.5).

    Ours is 0.01-0.37 points lower in every cell (measured; asserted below, so the docs'
    figures stay true): the authors give each day's doses as a pulse at its start, doseflow
    spreads them over the day (next test)."""
    fig3 = compare_bubar_fig3(age_dependent=age_dependent)
    ours, theirs = fig3.rankings()
    assert ours == theirs
    assert {order[0] for order in theirs[0]} == {"20-49"}  # R0 1.15
    assert {order[0] for order in theirs[1]} == {"60+"}  # R0 1.5
    difference = fig3.difference()
    assert float(np.abs(difference).max()) <= TOLERANCE
    assert float(difference.max()) < 0.0  # ours lower in every cell
    assert float(difference.min()) > -0.38


@pytest.mark.parametrize("age_dependent", [False, True], ids=["constant", "age-dependent"])
def test_fig3_remaining_gap_is_the_daily_pulse(age_dependent: bool) -> None:
    """The authors' code with each day's doses given as 32 pulses over the day (spread, as
    doseflow gives them) instead of one at its start agrees with ours within 0.07 points in
    all 100 cells, against up to 0.37 with the single pulse: the gap above is the timing of
    a day's doses, a rollout feature doseflow lacks, not the model.

    The last 0.07 (measured: at most 0.061, 60+ at 15% and all ages at R0 1.5) is the
    other rollout difference: they split a day's doses over a group's bands by eligible
    people at day 0, doseflow by eligible people now. Their code with both changes
    (``fig3_spread.R ... 32 out.csv current``, recorded) agrees with ours within 0.015 in
    all 100 cells (measured 0.012: what 32 pulses still differ from an even spread)."""
    spread = compare_bubar_fig3(age_dependent=age_dependent, doses_spread_over_day=True)
    assert float(np.abs(spread.difference()).max()) <= 0.07
    both = compare_bubar_fig3(
        age_dependent=age_dependent, doses_spread_over_day=True, split_by_current_eligible=True
    )
    assert float(np.abs(both.difference()).max()) <= 0.015
    pulse = compare_bubar_fig3(age_dependent=age_dependent)
    assert float(np.abs(pulse.difference()).max()) > 0.3  # the check has teeth
