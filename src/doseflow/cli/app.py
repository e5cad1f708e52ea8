"""Entry point of the ``doseflow`` command.

Each area registers its commands from its own module (``doseflow.cli.<area>``). Those
modules import their engines (SciPy, pandas, SQLAlchemy...), so they are imported only when
one of their commands runs: ``doseflow --help`` and ``doseflow version`` read the command
table below and start in a fraction of a second. ``run`` turns a :class:`DoseflowError` into
a readable message and exit code 2, so no traceback reaches a user for a problem they can fix.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from doseflow import __version__
from doseflow.cli.console import console, print_error
from doseflow.cli.context import CONTEXT_SETTINGS
from doseflow.domain.errors import DoseflowError

#: Every command an area module defines: name, module under ``doseflow.cli`` (which has
#: ``register(app: typer.Typer) -> None``), and the one-line help ``doseflow --help`` shows
#: without importing the module (tests/cli/test_app.py holds it to the command's own help).
#: In the order ``doseflow --help`` lists them.
AREA_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("demo", "demo", "Run the main job on the bundled 2021 example (idempotent)."),
    (
        "explain",
        "allocation",
        "Why a participant received what it did: pool, eligibility, coverage, floor/cap,\n"
        "rounding, declines given and received.",
    ),
    (
        "routes",
        "logistics",
        "Plan shipments along the fastest or cheapest feasible routes, within lane capacity.",
    ),
    (
        "capacity",
        "logistics",
        "Capacity gaps: peak storage a shipment plan needs at each node and band.",
    ),
    (
        "serve",
        "service",
        "Serve the REST API (/api, docs at /api/docs) and the dashboard (/dashboard).",
    ),
    (
        "allocate",
        "allocation",
        "Allocation rounds: run a scenario, decline, publish, show, export.",
    ),
    ("ledger", "ledger", "The stock ledger: import, stock, cards, transit, checks."),
    ("ship", "ledger", "Shipments: plan from an allocation round, record their progress."),
    ("coldchain", "logistics", "Cold-chain checks: can each product reach each store?"),
    ("deploy", "deployment", "In-country deployment plans."),
    (
        "report",
        "reporting",
        "Reports: submit, import/export (DHIS2, ADX, FHIR), templates, locks, compliance, "
        "plausibility.",
    ),
    (
        "impact",
        "impact",
        "Impact modelling: deaths averted by vaccination strategies and allocation rules.",
    ),
    (
        "simulate",
        "simulate",
        "What-if simulation: run a scenario file from a start file or the ledger.",
    ),
    ("token", "service", "Issue, list and revoke API tokens for the service."),
)

_AREA_OF = {name: (module, text) for name, module, text in AREA_COMMANDS}
_loaded: dict[str, TyperGroup] = {}


def area_commands(module: str) -> TyperGroup:
    """The click commands ``doseflow.cli.<module>`` registers (imported on first use)."""
    if module not in _loaded:
        from doseflow.cli.vocabulary import VocabularyTyper

        area = VocabularyTyper(add_completion=False, context_settings=CONTEXT_SETTINGS)
        area.callback()(lambda: None)  # a group, even for an area with one command
        importlib.import_module(f"doseflow.cli.{module}").register(area)
        group = typer.main.get_command(area)
        assert isinstance(group, TyperGroup)
        _loaded[module] = group
    return _loaded[module]


class _AreaCommand(TyperCommand):
    """A command listed by its help text alone; its module is imported when it runs."""

    def __init__(self, name: str, module: str, help_text: str) -> None:
        super().__init__(name=name, help=help_text)
        self.module = module

    def real(self) -> Any:
        assert self.name is not None
        return area_commands(self.module).commands[self.name]

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Any = None,
        **extra: Any,
    ) -> Any:
        # the context (and so the invocation) is the real command's
        return self.real().make_context(info_name, args, parent=parent, **extra)


class _LazyGroup(TyperGroup):
    """The root group: its own commands, then every area's, loaded only when run."""

    def list_commands(self, ctx: Any) -> list[str]:
        own = [name for name in super().list_commands(ctx) if name not in _AREA_OF]
        return [name for name, _, _ in AREA_COMMANDS] + own

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in _AREA_OF:
            module, text = _AREA_OF[cmd_name]
            return _AreaCommand(cmd_name, module, text)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    name="doseflow",
    help="Follow every dose from pooled supply to arm.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings=CONTEXT_SETTINGS,
    cls=_LazyGroup,
)


def _print_version() -> None:
    console.print(f"doseflow {__version__}")


def _version_option(value: bool) -> None:
    """``--version``: eager, so it answers before any command is looked up or run."""
    if value:
        _print_version()
        raise typer.Exit()


@app.callback()
def _root(
    _version: bool = typer.Option(
        False,
        "--version",
        help="Print the doseflow version and exit.",
        callback=_version_option,
        is_eager=True,
    ),
) -> None:
    """Follow every dose from pooled supply to arm."""


@app.command()
def version() -> None:
    """Print the doseflow version."""
    _print_version()


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` and return the exit code (0 ok, 2 user error)."""
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
