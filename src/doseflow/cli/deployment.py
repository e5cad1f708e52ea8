"""``doseflow deploy plan``: split national stock across regions and priority groups.

Reads a deployment file (``docs/deployment.md``), prints the plan (regions, groups, stock
held back and why), writes the shipments, regional lines and weekly coverage as CSV and the
projected coverage as PNG and self-contained HTML, and with ``--record`` stores the
shipments as planned events in the ledger. The logic lives in :mod:`doseflow.deployment`.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from doseflow.cli.console import console
from doseflow.cli.context import CONTEXT_SETTINGS
from doseflow.cli.options import db_option
from doseflow.cli.output import print_table
from doseflow.cli.vocabulary import VocabularyTyper
from doseflow.deployment import Strategy
from doseflow.domain.product import Product
from doseflow.domain.units import Unit, express

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from doseflow.deployment import DeploymentPlan, StockLot

deploy_app = VocabularyTyper(
    context_settings=CONTEXT_SETTINGS, help="In-country deployment plans.", no_args_is_help=True
)


def print_plan(plan: DeploymentPlan, out: Console) -> None:
    """Readable tables of a plan: regions, groups, stock held back."""
    inp = plan.input
    regions = Table(
        title=f"Deployment plan {inp.country} from {inp.start.isoformat()} "
        f"({inp.strategy.value}, {inp.horizon_days} days)"
    )
    for col in (
        "region",
        "product",
        "packs",
        "doses",
        "people started",
        "full courses",
        "spare doses",
        "decided by",
    ):
        regions.add_column(
            col, justify="left" if col in ("region", "product", "decided by") else "right"
        )
    names = {r.code: r.name for r in inp.regions}
    for line in plan.region_lines():
        regions.add_row(
            f"{names[line.region]} ({line.region})",
            line.product,
            f"{line.packs:,}",
            f"{line.doses:,}",
            f"{line.people_started:,}",
            f"{line.courses_reserved:,}",
            f"{line.buffer_doses:,}",
            line.limit.value,
        )
    print_table(regions, out)
    groups = Table(title="Priority groups")
    for col in (
        "group",
        "priority",
        "target population",
        "to vaccinate",
        "planned",
        "share of target",
        "how sized",
    ):
        groups.add_column(col, justify="left" if col in ("group", "how sized") else "right")
    people = plan.people_by_cell.sum(axis=0)
    demand = plan.demand.sum(axis=0)
    for g, group in enumerate(inp.groups):
        target = group.target_population
        groups.add_row(
            group.name,
            str(group.priority),
            f"{target:,}",
            f"{int(demand[g]):,}",
            f"{int(people[g]):,}",
            f"{int(people[g]) / max(target, 1):.1%}",
            group.note,
        )
    print_table(groups, out)
    held = plan.held()
    if held:
        table = Table(title="Held at the national store")
        for col in ("product", "lot", "doses", "reason"):
            table.add_column(col, justify="right" if col == "doses" else "left")
        for h in held:
            table.add_row(h.product, h.lot, f"{h.doses:,}", h.reason)
        print_table(table, out)
    for pp in plan.products:
        planned = int(pp.doses.sum())
        out.print(
            f"{pp.product.code}: {express(pp.product, planned, Unit.PACK)} = {planned:,} of "
            f"{pp.available_doses:,} doses planned to {int((pp.packs > 0).sum())} regions.",
            highlight=False,
        )


def write_outputs(plan: DeploymentPlan, folder: Path, stem: str = "deployment") -> list[Path]:
    """CSV files (shipments, regional lines, weekly coverage) and the coverage charts."""
    from doseflow.deployment import project_coverage
    from doseflow.deployment.charts import coverage_html, coverage_png

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    ship = folder / f"{stem}_shipments.csv"
    with ship.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "region",
                "destination",
                "product",
                "lot",
                "expiry",
                "packs",
                "doses",
                "dispatch",
                "arrival",
            ]
        )
        for s in plan.shipments():
            w.writerow(
                [
                    s.region,
                    s.destination,
                    s.product,
                    s.lot,
                    s.expiry.isoformat() if s.expiry else "",
                    s.packs,
                    s.doses,
                    s.dispatch.isoformat(),
                    s.arrival.isoformat(),
                ]
            )
    paths.append(ship)
    lines = folder / f"{stem}_regions.csv"
    with lines.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "region",
                "product",
                "packs",
                "doses",
                "people_started",
                "full_courses",
                "spare_doses",
                "decided_by",
                "explanation",
            ]
        )
        for ln in plan.region_lines():
            w.writerow(
                [
                    ln.region,
                    ln.product,
                    ln.packs,
                    ln.doses,
                    ln.people_started,
                    ln.courses_reserved,
                    ln.buffer_doses,
                    ln.limit.value,
                    plan.explain(ln.region, ln.product),
                ]
            )
    paths.append(lines)
    projection = project_coverage(plan)
    weekly = folder / f"{stem}_coverage_weekly.csv"
    with weekly.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "region", "group", "first_dose_share", "full_course_share"])
        for day, region, group, first, full in projection.rows(step=7):
            w.writerow([day.isoformat(), region, group, f"{first:.4f}", f"{full:.4f}"])
    paths.append(weekly)
    title = f"Projected coverage, {plan.input.country}, from {plan.input.start.isoformat()}"
    png = folder / f"{stem}_coverage.png"
    png.write_bytes(coverage_png(projection, title))
    html = folder / f"{stem}_coverage.html"
    html.write_text(coverage_html(projection, title), encoding="utf-8")
    paths += [png, html]
    return paths


def print_coverage(plan: DeploymentPlan, out: Console, step: int = 14) -> None:
    """National coverage of each group's target population, every ``step`` days."""
    from doseflow.deployment import project_coverage

    projection = project_coverage(plan)
    started = projection.by_group()
    done = projection.by_group(complete=True)
    table = Table(title="Projected coverage of target population (first dose / full course)")
    table.add_column("date")
    for name in projection.group_names:
        table.add_column(name, justify="right")
    for d, day in zip(range(0, projection.days, step), projection.dates(step), strict=True):
        table.add_row(
            day.isoformat(),
            *(
                f"{started[g, d]:.0%} / {done[g, d]:.0%}"
                for g in range(len(projection.group_names))
            ),
        )
    print_table(table, out)
    owed = projection.second_doses_unplanned
    if owed.any():
        out.print(
            f"Later doses falling due that this plan does not hold: {int(owed[-1]):,} "
            "(to come from the next supply).",
            highlight=False,
        )


def record_plan(plan: DeploymentPlan, engine: Engine, reference: str) -> tuple[int, int]:
    """Store the plan's shipments as planned events; (events appended, already there)."""
    from doseflow.store.deployment import record_deployment_plan

    done = record_deployment_plan(engine, plan, reference=reference, recorded_by="doseflow deploy")
    return done.appended, done.already_recorded


@deploy_app.command("plan")
def plan_command(
    file: Path = typer.Argument(..., help="Deployment file (YAML)."),
    strategy: Strategy | None = typer.Option(None, help="Override the file's strategy."),
    horizon: int | None = typer.Option(None, min=1, help="Override the horizon (days)."),
    out: Path = typer.Option(Path("doseflow-out"), "--out", help="Folder for CSV and charts."),
    explain: list[str] = typer.Option([], "--explain", help="Explain a region's amount."),
    record: bool = typer.Option(False, "--record", help="Store planned shipments in the ledger."),
    db: str | None = db_option(),
    reference: str | None = typer.Option(None, help="Plan reference for ledger event ids."),
) -> None:
    """Plan shipments to regions and priority groups, with coverage over time."""
    import numpy as np

    from doseflow.deployment import load_deployment, plan_deployment
    from doseflow.store.database import default_url, open_database

    inp = load_deployment(file)
    if strategy is not None:
        inp = replace(inp, strategy=strategy)
    if horizon is not None:
        inp = replace(inp, horizon_days=horizon)
    plan = plan_deployment(inp)
    for code in explain:
        plan.region_index(code)  # an unknown region is an error before anything prints
    print_plan(plan, console)
    print_coverage(plan, console)
    for code in explain:
        for pp in plan.products:
            console.print(plan.explain(code, pp.product.code), highlight=False)
    for path in write_outputs(plan, out):
        console.print(f"wrote {path}", highlight=False)
    if record:
        ref = reference or f"{file.stem}-{inp.start.isoformat()}"
        url = db or default_url()
        new, known = record_plan(plan, open_database(url), ref)
        console.print(
            f"ledger {url}: {new} planned shipment events recorded, {known} already "
            f"there (reference {ref}).",
            highlight=False,
        )
    total = int(np.sum([int(p.doses.sum()) for p in plan.products]))
    console.print(f"{total:,} doses planned in whole packs.", highlight=False)


def register(app: typer.Typer) -> None:
    """Attach ``doseflow deploy``."""
    app.add_typer(deploy_app, name="deploy")


def demo_deployment(
    engine: Engine, db: str, folder: Path, out: Console, allocation: object | None
) -> DeploymentPlan:
    """The demo's deployment step: PRK's AstraZeneca doses from the demo allocation round
    (the bundled file's lots if the round gave none) across the provinces, recorded in the
    ledger as planned shipments (a re-run records nothing new)."""
    from importlib import resources

    from doseflow.deployment import load_deployment, plan_deployment, stock_from_allocation

    path = Path(str(resources.files("doseflow.data").joinpath("examples", "deployment_prk.yaml")))
    products: dict[str, Product] = {}
    stock: tuple[StockLot, ...] = ()
    if allocation is not None:
        from doseflow.allocation import AllocationRun

        assert isinstance(allocation, AllocationRun)
        products = {pr.product.code: pr.product for r in allocation.rounds for pr in r.pools}
        expiry = {pr.pool.id: pr.pool.expiry for r in allocation.rounds for pr in r.pools}
        first = allocation.rounds[0].date
        stock = stock_from_allocation(allocation.lines(), "PRK", products, first, expiry)
    inp = load_deployment(path, products)
    wanted = {p.product.code for p in inp.products}
    from_round = tuple(s for s in stock if s.product in wanted)
    if from_round:
        inp = replace(inp, stock=from_round)
    plan = plan_deployment(inp)
    print_plan(plan, out)
    out.print(plan.explain("RG", inp.products[0].product.code), highlight=False)
    paths = write_outputs(plan, folder)
    new, known = record_plan(plan, engine, "demo-prk-deployment")
    source = "the demo round" if from_round else "the bundled example lots"
    out.print(
        f"Deployment of {plan.available_doses():,} doses from {source}: "
        f"{plan.planned_doses():,} planned in whole packs to {len(inp.regions)} provinces; "
        f"{new} planned shipment events recorded in {db} ({known} already there); "
        f"charts and CSV in {folder} ({', '.join(p.name for p in paths[-2:])}).",
        highlight=False,
    )
    return plan
