from __future__ import annotations

import pytest

from doseflow import __version__
from doseflow.cli.app import run


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_unknown_command_is_a_usage_error() -> None:
    assert run(["no-such-command"]) == 2
