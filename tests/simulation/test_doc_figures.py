"""The figures docs/simulation.md quotes for the DPRK example are the ones its documented
commands print.

The test reads the doc: it runs every command of the "Running a simulation" section's
``bash`` block through the CLI (``$EX`` is the bundled examples folder) with ``--format
json``, and compares each run's ``total`` line with the row of the section's table in the
same order. When the engine changes, refresh the doc; this test says where.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from doseflow.cli.app import run
from tests.reporting.test_files import example

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulation.md"


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Running a simulation")
    return text[start : text.index("\n## ", start + 1)]


def _commands(section: str) -> list[list[str]]:
    (block,) = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    ex = str(example("simulation_prk.yaml").parent)
    commands = []
    for line in block.splitlines():
        argv = shlex.split(line.replace("$EX", ex))
        assert argv[0] == "doseflow", line
        commands.append(argv[1:])
    return commands


def _table(section: str) -> list[tuple[int, int, int]]:
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and all(re.fullmatch(r"[\d,]+", c) for c in cells[1:]):
            administered, expired, unmet = (int(c.replace(",", "")) for c in cells[1:])
            rows.append((administered, expired, unmet))
    return rows


def test_the_documented_commands_print_the_documented_totals(
    capsys: pytest.CaptureFixture[str],
) -> None:
    section = _section()
    commands = _commands(section)
    table = _table(section)
    assert len(commands) == len(table) == 3
    for argv, quoted in zip(commands, table, strict=True):
        capsys.readouterr()
        assert run([*argv, "--format", "json"]) == 0, argv
        (total,) = [r for r in json.loads(capsys.readouterr().out) if r["node"] == "total"]
        assert (total["administered"], total["expired"], total["unmet_demand"]) == quoted, argv


def test_the_figures_the_prose_derives() -> None:
    """Saved by reopening at once (46,000) and lost of those by stockpiling (32,000): the
    differences of the table's rows."""
    text = " ".join(_section().split())
    (at_once, stockpiled, closed) = _table(_section())
    assert f"saves {at_once[0] - closed[0]:,} doses" in text
    assert f"loses {at_once[0] - stockpiled[0]:,} of those" in text
