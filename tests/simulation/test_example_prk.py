"""The bundled DPRK what-if (issue 16) comes to the figures worked out by hand.

The example (``data/examples/simulation_prk.yaml`` and ``simulation_prk_start.yaml``):
100,000 AstraZeneca doses of lot PRK-AZ-1, usable to 2021-08-31, on hand at Dalian (DLC)
on 2021-06-01 (day 0; day d is 2021-06-01 + d, so 2021-07-16 is day 45, 2021-08-31 day 91
and the write-off day 2021-09-01 day 92). DLC -> PRK-NS takes 2 days, at most 10,000 doses
a day; PRK-NS -> PRK-PY 1 day, unlimited. Imports are held 21 days at PRK-NS; PRK-PY asks
2,000 doses a day. The run lasts 100 days (days 0-99).

By the rules of docs/simulation.md:

* **Border reopens 2021-07-16 (the file's own policy: ship when open).** DLC sends 10,000
  a day on days 45-54, arriving at PRK-NS on days 47-56, held until days 68-77, then sent
  on the day of release and received at PRK-PY on days 69-78. PRK-PY gives 2,000 a day on
  days 69-91 (23 days: 46,000; stock never runs short), the other 54,000 expire there on
  day 92. Unmet: days 0-68 and 92-99, 77 days x 2,000 = 154,000.
* **Stockpile at DLC until 2021-07-31 (day 60).** DLC sends on days 61-70, arriving at
  PRK-NS on days 63-72, held until days 84-93. Releases on days 84-91 reach PRK-PY on days
  85-92; PRK-PY gives 2,000 a day on days 85-91 (14,000) and writes off 56,000 left plus
  the 10,000 arriving on day 92 (66,000). The releases of days 92 and 93 (20,000) are
  received and written off at PRK-NS on day 92. Expired 86,000; unmet 200,000 - 14,000.
* **Border closed past expiry (to 2021-09-30).** Nothing leaves DLC: all 100,000 expire at
  Dalian on day 92; the 200,000 doses asked at PRK-PY go unmet.

Reopening on 2021-07-16 and shipping at once saves 46,000 doses compared to a border
closed past expiry; stockpiling at the hub until August saves 14,000.
"""

from __future__ import annotations

import pytest

from doseflow.simulation.engine import run
from doseflow.simulation.scenario_file import read_scenario_file
from doseflow.simulation.start_file import read_start_file
from doseflow.simulation.summary import NodeTotals, network_totals, node_totals
from tests.reporting.test_files import example

#: (node, administered, expired, VVM-discarded, unmet, stock at end), worked out above
BY_HAND = {
    None: [
        ("DLC", 0, 0, 0, 0, 0),
        ("PRK-NS", 0, 0, 0, 0, 0),
        ("PRK-PY", 46_000, 54_000, 0, 154_000, 0),
    ],
    "stockpile-to-august": [
        ("DLC", 0, 0, 0, 0, 0),
        ("PRK-NS", 0, 20_000, 0, 0, 0),
        ("PRK-PY", 14_000, 66_000, 0, 186_000, 0),
    ],
    "closed-past-expiry": [
        ("DLC", 0, 100_000, 0, 0, 0),
        ("PRK-NS", 0, 0, 0, 0, 0),
        ("PRK-PY", 0, 0, 0, 200_000, 0),
    ],
}


@pytest.mark.parametrize("variant", list(BY_HAND), ids=str)
def test_the_example_comes_to_the_hand_worked_figures(variant: str | None) -> None:
    scenario = read_scenario_file(example("simulation_prk.yaml")).variant(variant)
    start = read_start_file(example("simulation_prk_start.yaml"))
    assert start.notes == ()
    result = run(start.state, scenario, seed=1, days=100)
    lines = node_totals(result)
    assert lines == tuple(NodeTotals(*row) for row in BY_HAND[variant])
    total = network_totals(lines)
    # every dose of the lot is given or written off, none left on the road
    assert total.administered + total.expired == 100_000
    assert result.in_transit_end == 0


def test_the_figures_do_not_depend_on_the_seed() -> None:
    """Fixed lead times and no random outages: the example is seed-free by design."""
    scenario = read_scenario_file(example("simulation_prk.yaml")).scenario
    state = read_start_file(example("simulation_prk_start.yaml")).state
    runs = {node_totals(run(state, scenario, seed=s, days=100)) for s in (1, 2, 99)}
    assert len(runs) == 1
