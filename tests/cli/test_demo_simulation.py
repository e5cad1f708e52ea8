"""``doseflow demo`` ends with the DPRK what-if (issue 16): every policy of the bundled
scenario file, with the doses each saves from expiry against the worst of them."""

from __future__ import annotations

import io
import re

from rich.console import Console

from doseflow.cli.demo import STEPS, example_path


def test_the_demo_shows_how_many_doses_each_policy_saves_from_expiry() -> None:
    from doseflow.cli.simulate import demo_simulation

    out = Console(file=io.StringIO(), width=300)
    demo_simulation(out, example_path)
    shown = re.sub("[│┃]", " ", out.file.getvalue())  # type: ignore[attr-defined]
    text = " ".join(shown.split())
    # the example's figures, worked by hand in docs/simulation.md (Running a simulation)
    assert "ship at once when the border reopens 46,000 54,000 46,000" in text
    assert "stockpile-to-august 14,000 86,000 14,000" in text
    assert "closed-past-expiry 0 100,000 0" in text
    assert "Holding at Dalian until August loses 32,000 doses" in text


def test_the_simulation_is_a_step_of_the_demo() -> None:
    assert any("What-if" in title for title, _ in STEPS)
