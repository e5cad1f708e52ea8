"""The figures docs/reporting.md quotes are the ones the documented commands print.

The test reads the doc itself: it runs the commands of the North Korea section's ``bash``
block through the CLI (``$EX`` is the bundled examples folder; a fresh database), then
compares every blockquote of the section with a flag's explanation, every figure of the
indented formula block with the positivity flag, and the figures the prose derives (the
pooled binomial, the 0.034 % threshold, the calendar of ISO week 2021W38) with their
computation. The DHIS2 export example is checked against an export of the same data with
the bundled mapping. When the engine changes, refresh the doc; this test says where.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from doseflow.cli.app import run
from doseflow.cli.console import console, err_console
from doseflow.reporting import parse_period

from .test_files import example

DOC = Path(__file__).resolve().parents[2] / "docs" / "reporting.md"


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    for con in (console, err_console):
        monkeypatch.setattr(con, "width", 250)


def _section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(title)
    level = title.split(" ")[0]
    end = text.find(f"\n{level} ", start + 1)
    nxt = text.find("\n## ", start + 1)
    ends = [e for e in (end, nxt) if e != -1]
    return text[start : min(ends) if ends else None]


def _flat(text: str) -> str:
    return " ".join(text.split())


def _fenced(section: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", section, flags=re.S)


def _quotes(section: str) -> list[str]:
    """Consecutive ``> `` lines, each quote joined into one line."""
    quotes: list[list[str]] = []
    previous = False
    for line in section.splitlines():
        if line.startswith(">"):
            if not previous:
                quotes.append([])
            quotes[-1].append(line[1:].strip())
            previous = True
        else:
            previous = False
    return [_flat(" ".join(q)) for q in quotes]


def _indented(section: str) -> str:
    return "\n".join(line for line in section.splitlines() if line.startswith("    "))


def _documented_commands(section: str, db: str) -> list[list[str]]:
    (block,) = _fenced(section, "bash")
    ex = str(example("reporting_hierarchy.yaml").parent)
    commands: list[list[str]] = []
    for line in block.splitlines():
        if line.startswith("doseflow "):
            args = shlex.split(line.replace("$EX", ex))[1:]
            commands.append([*args, "--db", db])
    return commands


@pytest.fixture
def north_korea(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """The section's text and the flags its commands print (the plausibility command run
    again with ``--json`` to read them)."""
    section = _section("### The North Korea case")
    commands = _documented_commands(section, str(tmp_path / "doc.sqlite"))
    assert [c[:2] for c in commands] == [["report", "import"], ["report", "plausibility"]]
    for args in commands:
        assert run(args) == 0, args
    printed = capsys.readouterr().out
    assert run([*commands[-1], "--json"]) == 0
    flags = json.loads(capsys.readouterr().out)
    return {"section": section, "flags": flags, "printed": printed}


def _positivity(flags: list[dict[str, Any]]) -> dict[str, Any]:
    (flag,) = [f for f in flags if f["method"] == "beta_binomial_positivity"]
    return flag


def test_every_quoted_explanation_is_printed_word_for_word(north_korea: dict[str, Any]) -> None:
    quotes = _quotes(north_korea["section"])
    assert len(quotes) == 2
    explanations = {_flat(f["explanation"]) for f in north_korea["flags"]}
    for quote in quotes:
        assert quote in explanations, f"docs/reporting.md quotes:\n{quote}\nprinted:\n" + (
            "\n".join(sorted(explanations))
        )
    # the table the command prints holds the same words (cells fold, so compare words)
    words = set(north_korea["printed"].split())
    assert {"1.8e-24", "(10^-23.74).", "16.4308,", "1508.47"} <= words


def test_the_formula_block_gives_the_flags_figures(north_korea: dict[str, Any]) -> None:
    flag = _positivity(north_korea["flags"])
    block = _indented(north_korea["section"])
    figures = re.findall(r"10\^-?[\d.]+|\d[\d,]*(?:\.\d+)?(?:e-?\d+)?%?", block)
    assert len(figures) >= 7, block
    for figure in figures:
        assert figure in flag["explanation"], figure
    f = flag["figures"]
    a, b = re.search(r"α = ([\d.]+), β = ([\d.]+)", block).groups()  # type: ignore[union-attr]
    assert float(a) == pytest.approx(f["alpha"], rel=1e-5)
    assert float(b) == pytest.approx(f["beta"], rel=1e-5)
    # the hand computation the doc gives, with the printed (rounded) α and β
    from scipy.special import betaln

    by_hand = (betaln(float(a), float(b) + 40_700) - betaln(float(a), float(b))) / math.log(10)
    (log10_p,) = re.findall(r"\(10\^(-[\d.]+)\)", block)
    assert by_hand == pytest.approx(float(log10_p), abs=0.005)


def test_the_prose_figures_follow_from_the_flag(north_korea: dict[str, Any]) -> None:
    section = _flat(north_korea["section"])
    f = _positivity(north_korea["flags"])["figures"]
    n = int(f["tests"])
    # the pooled binomial the doc contrasts: (1 − p)^n ≈ 10^x
    p, tests, power = re.search(  # type: ignore[union-attr]
        r"\(1 − ([\d.]+)\)\^([\d,]+) ≈ 10\^(-\d+)", section
    ).groups()
    assert float(p) == round(f["neighbour_positivity"], 4)
    assert int(tests.replace(",", "")) == n
    assert round(n * math.log10(1 - f["neighbour_positivity"])) == int(power)
    # the positivity above which that binomial says P < 10^-6 for n tests
    (threshold,) = re.findall(r"exceeded ([\d.]+) %", section)
    assert float(threshold) == round(100 * -math.expm1(-6 * math.log(10) / n), 3)
    # "Thursday 23 September 2021 (in ISO week 2021W38, which runs from Monday 20 to
    # Sunday 26 September)"
    day, week, first, last = re.search(  # type: ignore[union-attr]
        r"Thursday (\d+) September 2021 \(in ISO week (\w+), which runs from Monday (\d+) "
        r"to Sunday (\d+) September\)",
        section,
    ).groups()
    period = parse_period(week)
    assert date(2021, 9, int(day)).weekday() == 3  # Thursday
    assert date(2021, 9, int(day)).isocalendar()[:2] == (2021, 38)
    assert (period.start, period.end) == (date(2021, 9, int(first)), date(2021, 9, int(last)))


def test_the_dhis2_export_example_is_what_the_export_gives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    section = _section("### dataValueSets JSON")
    block = _fenced(section, "json")[0]  # the export example; the second shows a completion
    (quoted,) = json.loads(block)["dataValues"]
    db = str(tmp_path / "x.sqlite")
    src = str(example("reporting_prk_surveillance.json"))
    hierarchy = str(example("reporting_hierarchy.yaml"))
    assert run(["report", "import", src, "--hierarchy", hierarchy, "--as-of", "2021-09-27",
                "--db", db]) == 0  # fmt: skip
    capsys.readouterr()
    mapping = str(example("reporting_dhis2_mapping.yaml"))
    out = tmp_path / "out.json"
    args = ["report", "export", "--format", "dhis2-json", "--mapping", mapping]
    scope = ["--participant", "PRK", "--period", quoted["period"]]
    assert run([*args, *scope, "--out", str(out), "--db", db]) == 0
    assert quoted in json.loads(out.read_text())["dataValues"]


def test_stored_mapping_lines_are_what_the_commands_print(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The two commands of "The stored mapping" print the lines the doc quotes under them
    (the load date being today's, UTC)."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index("**The stored mapping.**")
    (block,) = _fenced(text[start : start + 3000], "bash")[:1]
    lines = block.strip().splitlines()
    db = str(tmp_path / "m.sqlite")
    for command, quoted in zip(lines[::2], lines[1::2], strict=True):
        argv = shlex.split(command)
        assert argv[:3] == ["doseflow", "report", "mapping"]
        argv = [a if a != "reporting_dhis2_mapping.yaml" else str(example(a)) for a in argv[1:]]
        assert run([*argv, "--db", db]) == 0
        printed = capsys.readouterr().out.strip()
        printed = printed.replace(
            str(example("reporting_dhis2_mapping.yaml")), "reporting_dhis2_mapping.yaml"
        )
        expected = quoted.removeprefix("# ")
        today = f"loaded {datetime.now(UTC):%Y-%m-%d}"
        expected = re.sub(r"loaded \d{4}-\d\d-\d\d", today, expected)
        assert printed == expected
