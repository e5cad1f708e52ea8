"""Published age-prioritisation results reproduced with doseflow (issue 13): passing today.

Bubar et al. (2021, Science 371:916), USA and eight other countries: the best strategy for
deaths (of under-20, 20-49, 60+, 20+ and all ages) at every supply from 1% to 50%, as saved
by the authors' code (``tests/impact/published/bubar2021.json`` records where). The
parameters are the paper's; see ``tests/impact/reproductions.py`` for the set-up and the
approximations today's API needs. The cells that do not yet agree are asserted in
``tests/impact/pending_reproductions.py`` (run it by path), which names the features they
wait for.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.impact.reproductions import (
    RankingComparison,
    bubar_scenario,
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


def test_r0_anticipatory_up_to_1_5_within_tolerance(r0_anticipatory: RankingComparison) -> None:
    """USA, anticipatory rollout, R0 1.10-1.50: in every cell the published best strategy
    averts within 0.5 points of the best here (where they differ, the strategies tie: all
    near 100%, or 20-49 and 20+ equal once both stop the epidemic)."""
    cases = r0_anticipatory.result.cases
    rows = [i for i, (_, r0) in enumerate(cases) if r0 <= 1.5 + 1e-9]
    assert len(rows) == 9
    assert float(r0_anticipatory.shortfall()[rows].max()) <= TOLERANCE


def test_r0_anticipatory_beyond_1_5_at_most_five_cells_off(
    r0_anticipatory: RankingComparison,
) -> None:
    """R0 1.55-2.00: at most the 5 threshold cells documented in docs/impact-reproductions.md
    are more than 0.5 points off (``pending_reproductions.py`` asserts none)."""
    assert int((r0_anticipatory.shortfall() > TOLERANCE).sum()) <= 5


def test_fig3_ranking_of_strategies_is_the_authors() -> None:
    """Fig. 3B-C (R0 1.15 and 1.5, 0.2%/day, 90% at every age), supply 5-50%: the five
    strategies in the same order, by deaths averted, as the authors' code gives, in all 20
    cells; and % deaths averted within 1.1 points (0.5 awaits the E seeds and vaccination of
    exposed people, see pending_reproductions.py)."""
    fig3 = compare_bubar_fig3()
    ours, theirs = fig3.rankings()
    assert ours == theirs
    assert {order[0] for order in theirs[0]} == {"20-49"}  # R0 1.15
    assert {order[0] for order in theirs[1]} == {"60+"}  # R0 1.5
    assert float(np.abs(fig3.difference()).max()) <= 1.1
