from __future__ import annotations

import re
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
        "'scipy', 'pandas', 'numpy')) and m not in ('doseflow.cli.app', 'doseflow.cli.console', "
        "'doseflow.cli.context')]\n"
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


def test_dash_dash_version_prints_what_the_version_command_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["version"]) == 0
    expected = capsys.readouterr().out
    assert run(["--version"]) == 0
    assert capsys.readouterr().out == expected == f"doseflow {__version__}\n"


def test_dash_dash_version_runs_before_any_command(capsys: pytest.CaptureFixture[str]) -> None:
    """Eager: ``--version`` answers even when followed by a command that would fail."""
    assert run(["--version", "no-such-command"]) == 0
    assert capsys.readouterr().out == f"doseflow {__version__}\n"


def _every_command_path() -> list[list[str]]:
    """Every group and command reachable from the root, as the words that name it."""
    from typing import Any

    from doseflow.cli.app import AREA_COMMANDS, area_commands

    paths: list[list[str]] = [[], ["version"]]

    def walk(command: Any, path: list[str]) -> None:
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():  # a group's commands
            walk(sub, [*path, name])

    for name, module, _ in AREA_COMMANDS:
        walk(area_commands(module).commands[name], [name])
    return paths


def test_dash_h_is_help_on_the_app_and_every_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths = _every_command_path()
    assert len(paths) > 40  # the walk reaches the sub-commands, not only the areas
    for path in paths:
        assert run([*path, "--help"]) == 0, path
        long = capsys.readouterr().out
        assert run([*path, "-h"]) == 0, path
        short = capsys.readouterr().out
        assert short == long, path
        assert "Usage:" in short, path
        assert re.search(r"--help\s+-h\s", short), path


def test_every_typer_app_of_the_cli_takes_dash_h() -> None:
    """Each area's Typer app, invoked on its own (as a test or another program may), takes -h."""
    import importlib

    import typer
    from typer.testing import CliRunner

    from doseflow.cli.app import AREA_COMMANDS

    apps = []
    for module in sorted({module for _, module, _ in AREA_COMMANDS} | {"allocation_revisions"}):
        loaded = importlib.import_module(f"doseflow.cli.{module}")
        apps += [value for value in vars(loaded).values() if isinstance(value, typer.Typer)]
    assert len(apps) >= 9
    for sub in apps:
        result = CliRunner().invoke(sub, ["-h"])
        assert result.exit_code == 0, (sub.info.name, result.output)
        assert "Usage:" in result.output, (sub.info.name, result.output)
