"""Published results doseflow does NOT yet reproduce: fails today, on purpose.

Not collected by a plain ``pytest`` (the name does not start with ``test_``); run it by path:
``pytest tests/impact/pending_reproductions.py``. Each test names the features it waits for;
when they land, switch the set-up in ``tests/impact/reproductions.py`` to them and move the
test into ``test_reproductions.py``.
"""

from __future__ import annotations

from tests.impact.reproductions import compare_bubar

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
