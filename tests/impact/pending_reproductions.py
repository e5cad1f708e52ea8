"""Published results doseflow does NOT yet reproduce: fails today, on purpose.

Not collected by a plain ``pytest`` (the name does not start with ``test_``); run it by path:
``pytest tests/impact/pending_reproductions.py``. Each test names the features it waits for;
when they land, switch the set-up in ``tests/impact/reproductions.py`` to them and move the
test into ``test_reproductions.py``.
"""

from __future__ import annotations

import numpy as np

from tests.impact.reproductions import compare_bubar, compare_bubar_fig3

TOLERANCE = 0.5


def test_r0_anticipatory_all_r0_within_tolerance() -> None:
    """USA, anticipatory rollout, R0 1.10-2.00 (950 cells): the published best strategy
    within 0.5 points of the best here in every cell.

    Fails today in 5 cells at R0 1.55-2.00 (supply 6-24%), each where the 20-49 strategy
    just reaches the herd-immunity threshold and % averted jumps; there 20-49's result moves
    by 10-20 points with the seeding and the speed of the rollout (measured). Waits for:

    * the whole supply vaccinated at day 0 (the paper moves people into the vaccinated
      compartments before t = 0): today a fast steady rollout (2%/day) stands in, because a
      priority group absorbs at most its eligible people per day (``REACH_DAYS``) and the
      rest spills over; needs helper B's spill policy (fill a group completely before
      spilling) with all doses on day 0, or initial vaccinated shares per band;
    * seeds per band as counts (the paper: 1 infectious willing + 1 refusing person in each
      band): helper B's initial conditions per band and compartment;
    * force of infection over N - D (helper A's denominator option).
    """
    comparison = compare_bubar("r0-anticipatory")
    short = comparison.shortfall()
    failing = [
        (comparison.result.cases[i][1], j + 1, round(float(short[i, j]), 2))
        for i in range(short.shape[0])
        for j in range(short.shape[1])
        if short[i, j] > TOLERANCE
    ]
    assert failing == []


def test_fig3_percent_deaths_averted_within_tolerance() -> None:
    """Fig. 3B-C, constant 90% efficacy (solid lines), supply 5-50%, R0 1.15 and 1.5: % deaths
    averted within 0.5 points of the authors' code in all 100 cells.

    Today: ranking identical everywhere, values 0.0-1.1 points low (largest at high supply).
    % averted moves by several points with the seed size (0.25% vs 0.5% infectious), so the
    seeding is the first suspect. Waits for:

    * 0.25% of each band seeded in E and 0.25% in I (helper B: initial conditions per band
      and compartment); today all 0.5% start infectious;
    * vaccination of exposed people (helper A; the paper gives doses to E, wasted);
    * force of infection over N - D (helper A's denominator option);
    * doses split by eligible people at day 0 (helper B's spill policy), and given as one
      pulse at the start of each day (today spread over the day).
    """
    difference = np.abs(compare_bubar_fig3().difference())
    assert float(difference.max()) <= TOLERANCE


def test_fig3_age_dependent_efficacy_within_tolerance() -> None:
    """Fig. 3B-C dashed lines: efficacy 90% up to 59, then linearly down to 50% at 80+.
    Waits for efficacy per age band (helper A), then as the test above."""
    difference = np.abs(compare_bubar_fig3(age_dependent=True).difference())
    assert float(difference.max()) <= TOLERANCE
