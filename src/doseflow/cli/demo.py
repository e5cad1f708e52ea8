"""``doseflow demo``: the main job on the bundled example, into the embedded database.

The demo is a list of steps (:data:`STEPS`), each a small function taking the shared
:class:`DemoContext`: it calls engines and the store, prints a short Rich summary and may
leave results in ``ctx.results`` for later steps. Every step must be idempotent: running
``doseflow demo`` twice on the same database works and stores nothing twice.

To add a step (ledger, logistics, deployment, impact): write ``def <area>_step(ctx:
DemoContext) -> None`` in this module and append ``("<title>", <area>_step)`` to STEPS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.rule import Rule
from rich.table import Table

from doseflow.cli.console import console
from doseflow.cli.options import db_option

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from doseflow.allocation import AllocationRun


@dataclass
class DemoContext:
    """What every demo step shares: the database, the output folder, the console and the
    results of earlier steps (e.g. ``results["allocation"]`` is the :class:`AllocationRun`)."""

    engine: Engine
    db: str
    out: Path
    console: Console
    results: dict[str, Any] = field(default_factory=dict)


DemoStep = Callable[[DemoContext], None]


def example_path(name: str) -> Path:
    """A bundled example file (``src/doseflow/data/examples/<name>``)."""
    return Path(str(resources.files("doseflow.data").joinpath("examples", name)))


def allocation_step(ctx: DemoContext) -> None:
    """Run the 2021 example rounds (with PRK's Sinovac decline redistributed), export them."""
    from doseflow.allocation import load_scenario
    from doseflow.store.allocation import AllocationStore

    scenario = load_scenario(example_path("covax_2021.yaml"))
    store = AllocationStore(ctx.engine)
    store.save_scenario(scenario)
    run: AllocationRun = store.run(scenario.name)
    # Rounds 1-3 were communicated to participants; the demand-driven round stays "run"
    # (awaiting publication), so participants signing in to the dashboard see both states.
    for info in store.rounds(scenario.name)[:-1]:
        store.publish(scenario.name, info.number)
    ctx.results["allocation"] = run
    ctx.results["allocation_scenario"] = scenario.name

    table = Table(title=f"Scenario '{scenario.name}': {len(scenario.participants)} participants")
    for col in ("round", "pool", "mode", "supply", "allocated", "buffer", "held", "recipients"):
        table.add_column(col, justify="left" if col in ("pool", "mode") else "right")
    for r in run.rounds:
        for pr in r.pools:
            if pr.pool.new_doses == 0:
                continue
            table.add_row(
                str(r.number),
                pr.pool.id,
                pr.mode.value,
                f"{pr.supply:,}",
                f"{pr.allocated:,}",
                f"{pr.buffer:,}",
                f"{pr.held:,}",
                str(int((pr.doses > 0).sum())),
            )
    ctx.console.print(table)

    for r in run.rounds:
        for pr in r.pools:
            for rec in pr.declines:
                top = sorted(rec.given, key=lambda g: -g[1])[:5]
                names = ", ".join(f"{r.context.table.participants[i].iso3} {q:,}" for i, q in top)
                ctx.console.print(
                    f"Round {r.number}: {rec.decline.iso3} declined {rec.declined:,} doses of "
                    f"{pr.product.code} ({rec.decline.reason}); redistributed at once to "
                    f"{len(rec.given)} participants by {rec.decline.redirect_text} "
                    f"(largest: {names}); held: {rec.held:,}.",
                    highlight=False,
                    markup=False,
                    emoji=False,
                )
    prk = next((c for c in run.coverage() if c.iso3 == "PRK"), None)
    nga = next((c for c in run.coverage() if c.iso3 == "NGA"), None)
    for c in (prk, nga):
        if c is not None:
            ctx.console.print(
                f"{c.iso3} {c.name}: {c.doses:,} pooled doses = {c.doses_per_100:.1f} per 100 "
                f"people, {c.fully_covered:.1%} fully covered.",
                highlight=False,
            )
    lines = run.lines()
    ctx.out.mkdir(parents=True, exist_ok=True)
    import pandas as pd

    frame = pd.DataFrame(
        [
            {
                "round": ln.round,
                "pool": ln.pool,
                "product": ln.product,
                "iso3": ln.iso3,
                "doses": ln.doses,
                "packs": ln.packs,
                "mode": ln.explanation.mode,
                "binding": ln.explanation.binding,
                "coverage_after": ln.explanation.coverage_after,
            }
            for ln in lines
        ]
    )
    path = ctx.out / "allocation_lines.csv"
    frame.to_csv(path, index=False)
    ctx.console.print(
        f"{len(lines):,} allocation lines stored in {ctx.db} and written to {path}; "
        "try `doseflow explain --participant PRK` or `doseflow allocate show covax-2021`."
    )


def logistics_step(ctx: DemoContext) -> None:
    """Cold-chain feasibility (Pfizer cannot reach Pyongyang), routes via Dalian, capacity."""
    from doseflow.allocation import load_scenario
    from doseflow.cli.logistics import demo_coldchain

    products = load_scenario(example_path("covax_2021.yaml")).products
    ctx.results["routes"] = demo_coldchain(
        ctx.out, ctx.console, ctx.results.get("allocation"), products
    )


def ledger_step(ctx: DemoContext) -> None:
    """Round 1's shipments via the Dalian hub and the UNICEF deliveries, in the ledger."""
    from doseflow.cli.ledger import demo_ledger

    demo_ledger(ctx.engine, ctx.console, ctx.results.get("allocation_scenario"))


def deployment_step(ctx: DemoContext) -> None:
    """Deploy PRK's AstraZeneca doses from the demo round across its provinces."""
    from doseflow.cli.deployment import demo_deployment

    plan = demo_deployment(ctx.engine, ctx.db, ctx.out, ctx.console, ctx.results.get("allocation"))
    ctx.results["deployment"] = plan


def reporting_step(ctx: DemoContext) -> None:
    """The bundled reporting examples: the hierarchy (so plausibility has neighbours), the
    requirements (so compliance has rows) and PRK's weekly surveillance with its neighbours'
    figures, imported as ``doseflow report import`` does (docs/reporting.md)."""
    from doseflow.cli.reporting import demo_reporting

    demo_reporting(ctx.engine, ctx.console, example_path)


def impact_step(ctx: DemoContext) -> None:
    """Deaths averted: the example rounds against other allocation rules (stored as an impact
    run for the dashboard and the API); strategies in PRK."""
    from doseflow.cli.impact import demo_impact

    demo_impact(ctx.results.get("allocation"), ctx.out, engine=ctx.engine)


def simulation_step(ctx: DemoContext) -> None:
    """The DPRK what-if (issue 16): how many doses each policy saves from expiry."""
    from doseflow.cli.simulate import demo_simulation

    demo_simulation(ctx.console, example_path)


#: The demo's steps, in order. Other areas append theirs (one line each).
STEPS: list[tuple[str, DemoStep]] = [
    ("Allocation rounds", allocation_step),
    ("Cold chain and routes", logistics_step),
    ("Shipments and stock ledger", ledger_step),
    ("Deployment in PRK", deployment_step),
    ("Reporting: hierarchy, requirements, PRK surveillance", reporting_step),
    ("Impact: deaths averted", impact_step),
    ("What-if: DPRK border, quarantine and expiry", simulation_step),
]


def demo(
    db: str | None = db_option(),
    out: Path = typer.Option(Path("doseflow-out"), "--out", help="Folder for exports/charts."),
) -> None:
    """Run the main job on the bundled 2021 example (idempotent)."""
    from doseflow.cli.progress import step as progress_step
    from doseflow.store.database import default_url, open_database

    url = db or default_url()
    ctx = DemoContext(engine=open_database(url), db=url, out=out, console=console)
    for number, (title, run_step) in enumerate(STEPS, start=1):
        console.print(Rule(title))
        with progress_step(console, number, len(STEPS), title):
            run_step(ctx)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
