"""``doseflow coldchain feasibility``, ``doseflow routes`` and ``doseflow capacity``.

Readable Rich tables, with ``--png`` and ``--html`` charts. The network defaults to the
bundled example (``doseflow/data/examples/network.yaml``); the logic lives in
``doseflow.logistics``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from doseflow.cli.console import console
from doseflow.cli.context import CONTEXT_SETTINGS
from doseflow.cli.options import product_option
from doseflow.cli.output import OutputFormat, Shown, emit, format_option, note, print_table
from doseflow.cli.output import col as column
from doseflow.cli.vocabulary import VocabularyTyper
from doseflow.domain.errors import DoseflowError
from doseflow.domain.network import NodeKind
from doseflow.domain.product import Product
from doseflow.logistics.route_search import Objective
from doseflow.logistics.routing import DEFAULT_HORIZON_DAYS

if TYPE_CHECKING:
    from doseflow.allocation import AllocationRun
    from doseflow.logistics.capacity import CapacityGap
    from doseflow.logistics.network_file import NetworkFile
    from doseflow.logistics.routing import ShipmentPlan

coldchain_app = VocabularyTyper(
    context_settings=CONTEXT_SETTINGS,
    help="Cold-chain checks: can each product reach each store?",
    no_args_is_help=True,
)

NETWORK_HELP = (
    "Network file: .yaml, a nodes .csv (with lanes.csv beside it) or a folder with nodes.csv "
    "and lanes.csv. Default: the bundled example."
)
SHIP_HELP = "A shipment PRODUCT=DESTINATION:DOSES[@ORIGIN], e.g. AZ=PRK-NS:480000. Repeatable."
REQUESTS_HELP = "CSV of shipment requests (product,destination,doses[,origin,ready_day,...])."


def _load(network: Path | None) -> NetworkFile:
    from doseflow.logistics.network_file import example_network_path, load_network_file

    return load_network_file(network or example_network_path())


def _days(value: float) -> str:
    from doseflow.logistics.storage_profiles import format_days

    return "∞" if math.isinf(value) else format_days(value)


@coldchain_app.command("feasibility")
def feasibility(
    network: Path = typer.Option(None, "--network", "-n", help=NETWORK_HELP),
    product: list[str] = product_option(
        None, "Product code, alias or name (default: every supplied one).", "-p"
    ),
    destination: list[str] = typer.Option(
        None, "--destination", "-d", help="Destination node code (default: every store)."
    ),
    origin: list[str] = typer.Option(
        None, "--origin", "-o", help="Origin node code (default: the product's suppliers)."
    ),
    use_days: float = typer.Option(
        None, "--use-days", min=0, help="Planned use at the destination (default: the node's)."
    ),
    objective: Objective = typer.Option(Objective.FASTEST, help="fastest or cheapest."),
    png: Path = typer.Option(None, help="Write a feasibility grid chart (PNG)."),
    html: Path = typer.Option(None, help="Write a feasibility grid chart (HTML, works offline)."),
    fmt: OutputFormat = format_option(),
) -> None:
    """Check every product against every destination; explain what is infeasible."""
    from doseflow.logistics import charts
    from doseflow.logistics.feasibility import feasibility_matrix
    from doseflow.logistics.storage_profiles import band_words, format_days

    net = _load(network)
    results = feasibility_matrix(
        net,
        product or (),
        destination or (),
        origins=origin or (),
        use_days=use_days,
        objective=objective,
    )
    nodes = net.network.nodes
    reasons: list[str] = []
    rows: list[tuple[object, ...]] = []
    for profile, verdict in results:
        dest = nodes[verdict.destination].name
        route = verdict.route
        if route is None:
            assert verdict.reason is not None
            reasons.append(verdict.reason.render())
            rows.append(
                (profile.short, dest, Shown(False, "[red]✗[/]"), None, None, None, None, None)
            )
            continue
        path = " → ".join(nodes[c].name for c in route.nodes)
        kept = band_words(route.arrival_band)
        if route.changes:
            last = route.changes[-1]
            kept += f" (thawed at {nodes[last.node].name})"
        rows.append(
            (
                profile.short,
                dest,
                Shown(True, "[green]✓[/]"),
                path,
                Shown(route.transit_days, format_days(route.transit_days)),
                kept,
                Shown(route.days_left, _days(route.days_left)),
                Shown(verdict.use_days, format_days(verdict.use_days)),
            )
        )
    emit(
        [
            column("product"),
            column("destination"),
            column("ok"),
            column("route"),
            column("days", True),
            column("kept in"),
            column("days left", True),
            column("use days", True),
        ],
        rows,
        fmt,
        title=f"Cold-chain feasibility ({net.source})",
    )
    for text in reasons:
        note(f"[red]✗[/] {text}", fmt, markup=True)
    feasible = sum(1 for _, v in results if v.feasible)
    note(f"{feasible} of {len(results)} product-destination pairs are feasible.", fmt)
    verdicts = [v for _, v in results]
    if png:
        charts.feasibility_png(verdicts, net.network, png)
        console.print(f"chart: {png}")
    if html:
        charts.feasibility_html(verdicts, net.network, html)
        console.print(f"chart: {html}")


def _plan(
    network: Path | None,
    ship: list[str] | None,
    requests: Path | None,
    objective: Objective,
    horizon: float,
) -> tuple[NetworkFile, ShipmentPlan]:
    from doseflow.logistics.request_file import load_requests, parse_request_specs
    from doseflow.logistics.routing import plan_shipments

    net = _load(network)
    wanted = []
    if requests is not None:
        wanted += load_requests(requests, net)
    if ship:
        wanted += parse_request_specs(ship, net)
    if not wanted:
        raise DoseflowError(
            "LOGISTICS_BAD_REQUEST",
            "no shipments to plan",
            field="ship",
            expected="--ship PRODUCT=DESTINATION:DOSES or --requests FILE.csv",
        )
    plan = plan_shipments(
        net.network,
        wanted,
        objective=objective,
        profiles=net.profile_table(),
        horizon_days=horizon,
        planned_use_days=net.planned_use_days,
    )
    return net, plan


def print_plan(plan: ShipmentPlan, fmt: OutputFormat = OutputFormat.TABLE) -> None:
    """The shipments, then what cannot be delivered and why (CSV and JSON: the shipments,
    days as numbers; what is not delivered goes to stderr)."""
    from doseflow.logistics.storage_profiles import band_words

    nodes = plan.network.nodes
    rows = []
    for s in plan.shipments:
        route = s.route
        path = nodes[route.origin].name
        for leg in route.legs:
            trip = "" if leg.trip is None else f" #{leg.trip + 1}"
            path += f" ={leg.lane.mode.value}{trip}=> {nodes[leg.lane.destination].name}"
        leaves = route.legs[0].depart_day if route.legs else None
        rows.append(
            (
                s.request_index + 1,
                s.product.name,
                s.doses,
                s.packs,
                path,
                Shown(leaves, f"day {leaves:g}" if leaves is not None else "-"),
                Shown(route.arrival_day, f"day {route.arrival_day:g}"),
                band_words(route.arrival_band),
                Shown(route.cost_per_dose, f"{route.cost_per_dose:.3f}"),
            )
        )
    emit(
        [
            column("#", True, key="request"),
            column("product"),
            column("doses", True),
            column("packs", True),
            column("route"),
            column("leaves", key="leaves_day"),
            column("arrives", key="arrives_day"),
            column("as"),
            column("$/dose", True, key="cost_per_dose"),
        ],
        rows,
        fmt,
        title=f"Shipments ({plan.objective.value} routes, {plan.horizon_days:g}-day horizon)",
    )
    if fmt is not OutputFormat.TABLE:
        for u in plan.undelivered:
            note(
                f"not delivered: request {u.request_index + 1}, {u.doses:,} doses of "
                f"{u.product.name} to {nodes[u.destination].name}: {u.reason.render()}",
                fmt,
            )
        return
    if plan.undelivered:
        missing = Table(title="Not delivered")
        for col in ("#", "product", "destination", "doses", "why"):
            missing.add_column(col, justify="right" if col in {"#", "doses"} else "left")
        for u in plan.undelivered:
            missing.add_row(
                str(u.request_index + 1),
                u.product.name,
                nodes[u.destination].name,
                f"{u.doses:,}",
                u.reason.render(),
            )
        print_table(missing)
    asked = sum(r.doses for r in plan.requests)
    sent = sum(s.doses for s in plan.shipments)
    console.print(
        f"{sent:,} of {asked:,} doses planned in {len(plan.shipments)} shipments; "
        f"{asked - sent:,} not delivered."
    )


def print_plan_summary(plan: ShipmentPlan, con: Console = console) -> None:
    """One row per request: doses planned, shipments, arrival window, doses not delivered."""
    nodes = plan.network.nodes
    table = Table(title=f"Shipments by request ({plan.objective.value} routes)")
    for col in ("#", "product", "to", "asked", "planned", "shipments", "arrive", "via"):
        table.add_column(
            col, justify="right" if col in {"#", "asked", "planned", "shipments"} else "left"
        )
    for index, request in enumerate(plan.requests):
        mine = [s for s in plan.shipments if s.request_index == index]
        arrive = "-"
        via = "-"
        if mine:
            first = min(s.route.arrival_day for s in mine)
            last = max(s.route.arrival_day for s in mine)
            arrive = f"day {first:g}" + ("" if first == last else f"-{last:g}")
            hubs = dict.fromkeys(n for s in mine for n in s.route.nodes[1:-1])
            via = ", ".join(nodes[h].name for h in hubs) or "direct"
        table.add_row(
            str(index + 1),
            request.product.code,
            nodes[request.destination].name,
            f"{request.doses:,}",
            f"{plan.delivered(index):,}",
            str(len(mine)),
            arrive,
            via,
        )
    print_table(table, con)
    for u in plan.undelivered:
        con.print(
            f"[red]✗[/] {u.doses:,} doses not delivered: {u.reason.render()}", highlight=False
        )


def routes(
    network: Path = typer.Option(None, "--network", "-n", help=NETWORK_HELP),
    ship: list[str] = typer.Option(None, "--ship", "-s", help=SHIP_HELP),
    requests: Path = typer.Option(None, "--requests", "-r", help=REQUESTS_HELP),
    objective: Objective = typer.Option(Objective.FASTEST, help="fastest or cheapest."),
    horizon: float = typer.Option(
        DEFAULT_HORIZON_DAYS, min=1, help="Plan departures up to this day."
    ),
    png: Path = typer.Option(None, help="Write a shipment timeline (PNG)."),
    html: Path = typer.Option(None, help="Write a shipment timeline (HTML, works offline)."),
    fmt: OutputFormat = format_option(),
) -> None:
    """Plan shipments along the fastest or cheapest feasible routes, within lane capacity."""
    from doseflow.logistics import charts

    _, plan = _plan(network, ship, requests, objective, horizon)
    print_plan(plan, fmt)
    if png:
        charts.routes_png(plan, png)
        console.print(f"chart: {png}")
    if html:
        charts.routes_html(plan, html)
        console.print(f"chart: {html}")


def print_gaps(gaps: tuple[CapacityGap, ...], fmt: OutputFormat = OutputFormat.TABLE) -> None:
    """Litres needed and available per node and band; CSV and JSON give the litres unrounded
    and the use as a share (empty where the node has no storage in the band)."""
    from doseflow.logistics.storage_profiles import band_words

    rows = []
    for g in gaps:
        gap = f"[red]+{g.gap_litres:,.0f}[/]" if g.short else f"{g.gap_litres:,.0f}"
        use = "no storage" if math.isinf(g.utilisation) else f"{g.utilisation:.0%}"
        rows.append(
            (
                g.name,
                g.country or "",
                band_words(g.band),
                Shown(g.needed_litres, f"{g.needed_litres:,.0f}"),
                Shown(g.available_litres, f"{g.available_litres:,.0f}"),
                Shown(g.gap_litres, gap),
                Shown(None if math.isinf(g.utilisation) else g.utilisation, use),
            )
        )
    emit(
        [
            column("node"),
            column("country"),
            column("band"),
            column("needed", True, key="needed_litres"),
            column("available", True, key="available_litres"),
            column("gap", True, key="gap_litres"),
            column("use", True),
        ],
        rows,
        fmt,
        title="Storage needed vs available (peak, litres)",
    )
    short = [g for g in gaps if g.short]
    note(
        f"{len(short)} node-band(s) short of storage"
        + (": " + ", ".join(f"{g.name} {band_words(g.band)}" for g in short) if short else "."),
        fmt,
    )


def capacity(
    network: Path = typer.Option(None, "--network", "-n", help=NETWORK_HELP),
    ship: list[str] = typer.Option(None, "--ship", "-s", help=SHIP_HELP),
    requests: Path = typer.Option(None, "--requests", "-r", help=REQUESTS_HELP),
    objective: Objective = typer.Option(Objective.FASTEST, help="fastest or cheapest."),
    horizon: float = typer.Option(DEFAULT_HORIZON_DAYS, min=1, help="Planning horizon (days)."),
    all_nodes: bool = typer.Option(False, "--all", help="Show stores with nothing planned too."),
    png: Path = typer.Option(None, help="Write a needed-vs-available chart (PNG)."),
    html: Path = typer.Option(None, help="Write a needed-vs-available chart (HTML, offline)."),
    fmt: OutputFormat = format_option(),
) -> None:
    """Capacity gaps: peak storage a shipment plan needs at each node and band."""
    from doseflow.logistics import charts
    from doseflow.logistics.capacity import plan_capacity_gaps

    net, plan = _plan(network, ship, requests, objective, horizon)
    gaps = plan_capacity_gaps(plan, profiles=net.profile_table(), include_idle=all_nodes)
    print_gaps(gaps, fmt)
    if png:
        charts.capacity_png(gaps, png)
        console.print(f"chart: {png}")
    if html:
        charts.capacity_html(gaps, html)
        console.print(f"chart: {html}")


def register(app: typer.Typer) -> None:
    """Attach the logistics commands to the ``doseflow`` command."""
    app.add_typer(coldchain_app, name="coldchain")
    app.command("routes")(routes)
    app.command("capacity")(capacity)


#: Illustrative requests shown in the demo besides the allocation's own lines: DPR Korea's
#: 1,992,000 AstraZeneca/SII doses of COVAX's first forecast (February 2021), and Pfizer
#: doses that cannot reach Pyongyang within the cold chain.
DEMO_EXTRA = (("AZ-SII", "PRK", 1_992_000), ("PFIZER", "PRK", 117_000))


def demo_coldchain(
    out: Path, con: Console, allocation: AllocationRun | None, products: Mapping[str, Product]
) -> ShipmentPlan:
    """The demo step: feasibility of every scenario product for the example network's stores,
    routes for the allocated doses (plus DEMO_EXTRA) and capacity gaps, with charts in
    ``out``. Writes no database rows, so running it again changes nothing."""
    from doseflow.logistics import charts
    from doseflow.logistics.allocation_requests import requests_for_allocations
    from doseflow.logistics.capacity import plan_capacity_gaps
    from doseflow.logistics.feasibility import feasibility_matrix
    from doseflow.logistics.network_file import example_network_path, load_network_file
    from doseflow.logistics.routing import plan_shipments

    net = load_network_file(example_network_path())
    table = net.profile_table()
    profiles = list(
        {table.for_product(p).product: table.for_product(p) for p in products.values()}.values()
    )
    results = feasibility_matrix(
        net,
        [p.product for p in profiles],
        [c for c, n in net.network.nodes.items() if n.kind is NodeKind.NATIONAL_STORE],
    )
    nodes = net.network.nodes
    grid = Table(title="Cold-chain feasibility to national stores (✓ / ✗)")
    grid.add_column("product")
    dests = list(dict.fromkeys(v.destination for _, v in results))
    for d in dests:
        grid.add_column(nodes[d].name, justify="center")
    for profile in profiles:
        marks = {v.destination: v.feasible for p, v in results if p.product == profile.product}
        grid.add_row(profile.short, *("[green]✓[/]" if marks[d] else "[red]✗[/]" for d in dests))
    print_table(grid, con)
    for _, verdict in results:
        if verdict.reason is not None:
            con.print(f"[red]✗[/] {verdict.reason.render()}", highlight=False)
    lines: list[tuple[Product, str, int]] = []
    for ln in allocation.lines() if allocation is not None else []:
        if ln.product in products:
            lines.append((products[ln.product], ln.iso3, ln.doses))
    lines += [(products[c], iso3, d) for c, iso3, d in DEMO_EXTRA if c in products]
    requests, unplaced = requests_for_allocations(net, lines)
    plan = plan_shipments(
        net.network,
        requests,
        profiles=table,
        planned_use_days=net.planned_use_days,
    )
    print_plan_summary(plan, con)
    if unplaced:
        countries = sorted({u.iso3 for u in unplaced})
        con.print(
            f"{sum(u.doses for u in unplaced):,} allocated doses for {len(countries)} countries "
            "outside the example network are not routed."
        )
    gaps = plan_capacity_gaps(plan, profiles=table)
    print_gaps(gaps)
    out.mkdir(parents=True, exist_ok=True)
    verdicts = [v for _, v in results]
    charts.feasibility_png(verdicts, net.network, out / "coldchain_feasibility.png")
    charts.feasibility_html(verdicts, net.network, out / "coldchain_feasibility.html")
    charts.routes_png(plan, out / "routes.png")
    charts.routes_html(plan, out / "routes.html")
    charts.capacity_png(gaps, out / "capacity.png")
    charts.capacity_html(gaps, out / "capacity.html")
    con.print(
        f"Charts in {out}: coldchain_feasibility, routes, capacity (.png and .html); try "
        "`doseflow coldchain feasibility` or `doseflow routes -s AZ=PRK-NS:1992000`."
    )
    return plan
