from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from doseflow import __version__
from doseflow.cli.app import run


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_unknown_command_is_a_usage_error() -> None:
    assert run(["no-such-command"]) == 2


def test_the_command_table_matches_every_area_s_own_commands() -> None:
    """`doseflow --help` shows the table without importing the areas: it must list every
    command the areas define, each with the command's own one-line help."""
    from doseflow.cli.app import AREA_COMMANDS, area_commands

    listed = {name: (module, text) for name, module, text in AREA_COMMANDS}
    modules = {module for module, _ in listed.values()}
    defined = {}
    for module in modules:
        for name, command in area_commands(module).commands.items():
            defined[name] = (module, (command.short_help or command.help or "").strip())
    assert defined == listed


def test_help_and_version_import_no_area(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from doseflow.cli.app import run\n"
        "assert run(['--help']) == 0 and run(['version']) == 0\n"
        "heavy = [m for m in sys.modules if m.startswith(('doseflow.cli.', 'sqlalchemy', "
        "'scipy', 'pandas', 'numpy')) and m not in ('doseflow.cli.app', 'doseflow.cli.console')]\n"
        "print(heavy)\n"
        "assert heavy == [], heavy\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_area_command_runs_through_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["allocate", "--help"]) == 0
    assert "validate" in capsys.readouterr().out


def test_errors_print_what_the_user_wrote_and_at_most_the_reported_maximum(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from doseflow.cli.console import print_error
    from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation

    monkeypatch.setattr("doseflow.cli.console.MAX_REPORTED_ERRORS", 2)
    details = [
        ErrorDetail("X_BAD", f"bad {i}", ErrorLocation(source="p.xlsx[Sheet]", field="[bold]x"))
        for i in range(5)
    ]
    print_error(DoseflowError.from_details(details))
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "error [X_BAD] p.xlsx[Sheet], field '[bold]x': bad 0",
        "error [X_BAD] p.xlsx[Sheet], field '[bold]x': bad 1",
        "... and 3 more problems",
    ]
