"""``doseflow simulate run``: a what-if run of a scenario file from a start.

The start is a start file (a hypothetical network) or the live ledger at a date; the
scenario (and a named variant of it) a scenario file (``docs/simulation.md``). The command
prints what the run comes to per node and for the network: doses administered, expired,
discarded for their VVM, demand unmet and stock left at the end. The logic lives in
:mod:`doseflow.simulation`; the engine is imported only when the command runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import typer

from doseflow.cli.context import CONTEXT_SETTINGS
from doseflow.cli.options import as_of_option, db_option
from doseflow.cli.output import OutputFormat, col, emit, format_option, note
from doseflow.cli.vocabulary import VocabularyTyper
from doseflow.domain.errors import DoseflowError

simulate_app = VocabularyTyper(
    context_settings=CONTEXT_SETTINGS,
    help="What-if simulation: run a scenario file from a start file or the ledger.",
    no_args_is_help=True,
)

BAD_OPTION = "SIMULATION_BAD_OPTION"

_COLUMNS = (
    col("node"),
    col("administered", numeric=True),
    col("expired", numeric=True),
    col("VVM discarded", numeric=True),
    col("unmet demand", numeric=True),
    col("stock at end", numeric=True),
)


def _start_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DoseflowError(
            BAD_OPTION,
            f"'{text}' is not a date",
            field="--as-of",
            expected="YYYY-MM-DD",
            value=text,
        ) from None


@simulate_app.command("run")
def run_command(
    scenario: Path = typer.Option(..., "--scenario", help="The scenario file (YAML)."),
    start: Path | None = typer.Option(
        None, "--start-file", help="A start file (YAML, or CSV/Excel with --as-of)."
    ),
    db: str | None = db_option(
        "Start from this ledger (SQLite file or URL, or a PostgreSQL URL) at --as-of, "
        "instead of a start file; given explicitly, never taken from $DOSEFLOW_DB."
    ),
    as_of: str | None = as_of_option(
        None, "Day 0 of the run: the ledger's start of that day (with --db), or a table's day."
    ),
    variant: str | None = typer.Option(
        None, "--variant", help="A named variant of the scenario file (its policy/closures)."
    ),
    seed: int = typer.Option(1, "--seed", help="Seed of the random streams (same seed, same run)."),
    days: int = typer.Option(..., "--days", min=1, help="Days to simulate."),
    fmt: OutputFormat = format_option(),
) -> None:
    """Run a scenario and print doses administered, expired, VVM-discarded, unmet demand and
    stock at the end, per node and in total."""
    from doseflow.simulation.engine import run
    from doseflow.simulation.scenario_file import read_scenario_file
    from doseflow.simulation.start import StartState
    from doseflow.simulation.start_file import read_start_file
    from doseflow.simulation.summary import network_totals, node_totals

    day = None if as_of is None else _start_day(as_of)
    if (start is None) == (db is None):
        raise DoseflowError(
            BAD_OPTION,
            "give the run's start: --start-file FILE, or --db DB with --as-of DATE (not both)",
            field="--start-file",
            expected="--start-file FILE | --db DB --as-of DATE",
        )
    state: StartState
    if start is not None:
        read = read_start_file(start, as_of=day)
        for detail in read.notes:
            note(detail.render(), fmt)
        state = read.state
    else:
        if day is None:
            raise DoseflowError(
                BAD_OPTION,
                "a start read from the ledger needs its day",
                field="--as-of",
                expected="--as-of YYYY-MM-DD",
            )
        from doseflow.store.database import open_database
        from doseflow.store.simulation_start import read_start_state

        state = read_start_state(open_database(db), day)
    the_scenario = read_scenario_file(scenario).variant(variant, str(scenario))
    result = run(state, the_scenario, seed=seed, days=days)
    lines = node_totals(result)
    total = network_totals(lines)
    rows = [
        (t.node, t.administered, t.expired, t.vvm_discarded, t.unmet, t.stock_end)
        for t in (*lines, total)
    ]
    emit(
        _COLUMNS,
        rows,
        fmt,
        title=f"Simulation {scenario.name}{f' ({variant})' if variant else ''}: "
        f"{days} days from {state.as_of}, seed {seed}",
    )
    if result.in_transit_end:
        note(f"{result.in_transit_end} doses still on the road or in quarantine at the end", fmt)


#: The bundled DPRK what-if (docs/simulation.md, "Running a simulation"): its files, days, seed.
EXAMPLE_SCENARIO = "simulation_prk.yaml"
EXAMPLE_START = "simulation_prk_start.yaml"
EXAMPLE_DAYS = 100
EXAMPLE_SEED = 1
#: How the demo names the scenario file's own policy (its variants go by their names).
EXAMPLE_BASE_POLICY = "ship at once when the border reopens"


def demo_simulation(console: object, example_path: Callable[[str], Path]) -> None:
    """The demo's what-if step: AstraZeneca stockpiled at Dalian, the border closed, imports
    quarantined; each policy of the example run once, with the doses it saves from expiry
    against the worst of them (what the README's main command shows)."""
    from rich.console import Console
    from rich.table import Table

    from doseflow.cli.output import print_table
    from doseflow.simulation.engine import run
    from doseflow.simulation.scenario_file import read_scenario_file
    from doseflow.simulation.start_file import read_start_file
    from doseflow.simulation.summary import network_totals, node_totals

    con = console if isinstance(console, Console) else Console()
    state = read_start_file(example_path(EXAMPLE_START)).state
    scenarios = read_scenario_file(example_path(EXAMPLE_SCENARIO))
    policies = [(EXAMPLE_BASE_POLICY, scenarios.scenario), *sorted(scenarios.variants.items())]
    totals = {
        name: network_totals(node_totals(run(state, s, seed=EXAMPLE_SEED, days=EXAMPLE_DAYS)))
        for name, s in policies
    }
    worst = max(t.expired for t in totals.values())
    table = Table(
        title=f"DPRK what-if: {state.total_doses():,} doses from {state.as_of}, {EXAMPLE_DAYS} "
        "days (doses)"
    )
    for name in ("policy", "administered", "expired", "saved from expiry"):
        table.add_column(name, justify="left" if name == "policy" else "right")
    for name, t in totals.items():
        table.add_row(name, f"{t.administered:,}", f"{t.expired:,}", f"{worst - t.expired:,}")
    print_table(table, con)
    held = totals.get("stockpile-to-august")
    if held is not None:
        lost = held.expired - totals[EXAMPLE_BASE_POLICY].expired
        con.print(
            f"Holding at Dalian until August loses {lost:,} doses to expiry against shipping at "
            "once when the border reopens (docs/simulation.md).",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Attach ``doseflow simulate``."""
    app.add_typer(simulate_app, name="simulate")
