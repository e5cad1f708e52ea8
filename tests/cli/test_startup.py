"""Start-up stays light: ``doseflow --help``, ``version`` and each area's ``--help`` import
none of the heavy libraries; an area's commands import them when they run.

Each case runs in a fresh interpreter, since this test session has imported everything.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from doseflow.cli.app import AREA_COMMANDS

#: Libraries the command modules import inside their commands, never at start.
LAZY = (
    "sqlalchemy",
    "alembic",
    "pandas",
    "scipy",
    "numba",
    "fhir",
    "matplotlib",
    "plotly",
    "openpyxl",
)

_AREAS = sorted({name for name, _, _ in AREA_COMMANDS})
_CASES = [["--help"], ["version"], ["--version"]] + [[area, "--help"] for area in _AREAS]


@pytest.mark.parametrize("argv", _CASES, ids=lambda argv: " ".join(argv))
def test_start_imports_no_heavy_library(argv: list[str], tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from doseflow.cli.app import run\n"
        f"code = run({argv!r})\n"
        f"heavy = sorted({{m for m in sys.modules if m.split('.')[0] in {LAZY!r}}})\n"
        "print('HEAVY', code, heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last == "HEAVY 0 []", last


def test_the_check_sees_a_heavy_import(tmp_path: Path) -> None:
    """The same probe reports a library when a command does import it (the test can fail)."""
    code = (
        "import sys\n"
        "import doseflow.store.database\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({LAZY!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert "sqlalchemy" in done.stdout, done.stdout + done.stderr


def test_impact_global_s_spelt_out_defaults_are_the_model_s() -> None:
    from doseflow.cli.impact import DEFAULT_DENOMINATOR, DEFAULT_ELIGIBILITY
    from doseflow.impact import Eligibility, ForceDenominator

    assert Eligibility(DEFAULT_ELIGIBILITY) is Eligibility.SUSCEPTIBLE_EXPOSED_RECOVERED
    assert ForceDenominator(DEFAULT_DENOMINATOR) is ForceDenominator.INITIAL
