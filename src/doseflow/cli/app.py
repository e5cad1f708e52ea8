"""Entry point of the ``doseflow`` command.

Each area registers its commands from its own module (``doseflow.cli.<area>``) in
:func:`_register`; ``run`` turns a :class:`DoseflowError` into a readable message and exit
code 2, so no traceback reaches a user for a problem they can fix.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from doseflow import __version__
from doseflow.cli.console import console, print_error
from doseflow.domain.errors import DoseflowError

app = typer.Typer(
    name="doseflow",
    help="Follow every dose from pooled supply to arm.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Follow every dose from pooled supply to arm."""


def _register() -> None:
    """Attach every area's commands. Imported here, not at module top, to keep start-up lean."""
    import importlib

    for module in _COMMAND_MODULES:
        importlib.import_module(f"doseflow.cli.{module}").register(app)
    app.command()(version)


def version() -> None:
    """Print the doseflow version."""
    console.print(f"doseflow {__version__}")


#: Modules under ``doseflow.cli`` that define ``register(app: typer.Typer) -> None``.
#: Listed in the order a dose travels, which is the order ``doseflow --help`` shows them.
_COMMAND_MODULES: list[str] = [
    "demo",
    "allocation",
    "ledger",
    "logistics",
    "deployment",
    "reporting",
    "impact",
    "service",
]

_registered = False


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` and return the exit code (0 ok, 2 user error)."""
    global _registered
    if not _registered:
        _register()
        _registered = True
    try:
        app(args=list(argv) if argv is not None else None, prog_name="doseflow")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except DoseflowError as err:
        print_error(err)
        return 2
    return 0


def main() -> None:
    sys.exit(run())
