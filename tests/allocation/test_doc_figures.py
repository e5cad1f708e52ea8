"""The figures docs/allocation.md quotes about the bundled 2021 example are the ones the
example gives: the test runs it and compares, so the docs cannot drift from the engine."""

from __future__ import annotations

import re
from pathlib import Path

from doseflow.allocation import load_scenario, run_rounds
from doseflow.cli.demo import example_path

DOC = Path(__file__).resolve().parents[2] / "docs" / "allocation.md"


def _section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_the_north_korea_section_quotes_what_the_example_gives() -> None:
    scenario = load_scenario(example_path("covax_2021.yaml"))
    run = run_rounds(scenario)
    section = " ".join(_section("The North Korea decline").split())

    round_1 = {e.pool: e for e in run.rounds[0].explain("PRK")}
    az = round_1["AZ-SII"].doses + round_1["AZ-SKB"].doses
    assert f"{az:,} doses" in section
    assert f"{round_1['AZ-SII'].coverage_after:.2%}" in section
    assert f"draws its {round_1['AZ-SII'].doses:,} doses from the SII pool" in section
    pfizer = round_1["PFIZER"]
    assert (pfizer.doses, pfizer.eligible) == (0, False)
    assert "NO_COLD_CHAIN" in pfizer.exclusions

    (sinovac,) = [e for e in run.rounds[2].explain("PRK") if e.pool == "SINOVAC"]
    assert (sinovac.doses, sinovac.binding) == (0, "declined")
    assert f"{sinovac.rule_doses:,} doses" in section

    count = len(scenario.participants)
    assert re.search(rf"\b{count} participants in the example\b", section)
    # the docs once said PRK got no AstraZeneca in round 1 for want of indemnification
    assert "without an indemnification agreement" not in section
