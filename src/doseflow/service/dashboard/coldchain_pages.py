"""Dashboard page for the cold chain: can each product reach each store (✓/✗, with the
reason in words for every pair that cannot), and the storage a set of shipments needs at each
node and band against what is there (table and chart). On the bundled example network; a
participant sees its own country's stores only (same rule as the API)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from doseflow.domain.errors import DoseflowError, ErrorDetail
from doseflow.logistics import Objective
from doseflow.service.coldchain_views import (
    CapacityGapOut,
    FeasibilityOut,
    ShipmentPlanOut,
    bundled_network,
    check_destinations,
    destination_country,
    feasibility_rows,
    gap_rows,
    plan_out,
    requests_from_specs,
    shipment_plan,
)
from doseflow.service.dashboard.render import NavItem, add_nav, page_access, render
from doseflow.service.dashboard.svg_charts import GREY, INK, RED, Axis, Series, bar_chart
from doseflow.service.dashboard.tables import (
    Column,
    PageData,
    PageTables,
    TableSpec,
    add_download,
    whole,
)

#: The shipments typed on the page, one per line: a few hundred lines at most.
MAX_SHIP_TEXT = 20_000

router = APIRouter(prefix="/dashboard", include_in_schema=False)
add_nav(NavItem("/dashboard/coldchain", "Cold chain", "coldchain.read"))

#: Shipments the page plans when none are entered: DPR Korea's first AstraZeneca/SII
#: forecast (COVAX, February 2021) and Pfizer doses that cannot keep their cold chain there.
DEFAULT_SHIPMENTS = ("AZ-SII=PRK-NS:1992000", "PFIZER-BNT=PRK-NS:117000")


def _specs(text: str) -> list[str]:
    """One shipment per line (doses may be written with thousands separators)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def matrix_grid(
    rows: list[FeasibilityOut],
) -> tuple[list[str], list[tuple[str, str]], dict[Any, FeasibilityOut]]:
    """Products (rows), destinations (columns, code and name) and the verdict of each pair."""
    products = list(dict.fromkeys(r.product_name for r in rows))
    destinations = list(dict.fromkeys((r.destination, r.destination_name) for r in rows))
    cells = {(r.product_name, r.destination): r for r in rows}
    return products, destinations, cells


def capacity_chart(gaps: list[CapacityGapOut]) -> Markup:
    """Storage available and needed at peak, side by side for each node and band, lying
    down so the long labels read; a need beyond what is there in red."""
    return bar_chart(
        chart_id="capacity-chart",
        title="Storage needed vs available, litres (red: short)",
        description="Bar chart of storage needed at peak and available at each node and band,"
        " in litres; the same figures are in the table below.",
        categories=[f"{g.name} · {g.band_words}" for g in gaps],
        series=[
            Series("available", tuple(g.available_litres for g in gaps), GREY),
            Series(
                "needed (peak)",
                tuple(g.needed_litres for g in gaps),
                INK,
                colours=tuple(RED if g.short else INK for g in gaps),
            ),
        ],
        axis=Axis("litres", unit="L"),
        horizontal=True,
    )


ROUTE_COLUMNS = (
    Column("product", "Product", lambda r: r.product_name),
    Column("store", "Store", lambda r: r.destination_name),
    Column("route", "Route", lambda r: r.route.path if r.route else "", sortable=False),
    Column("days", "Days", lambda r: r.route.transit_days if r.route else None, numeric=True),
    Column("kept_in", "Kept in", lambda r: r.kept_in),
    Column("text", "In words", lambda r: r.text, sortable=False),
)
REQUEST_COLUMNS = (
    Column("number", "#", lambda q: q.number, numeric=True),
    Column("product", "Product", lambda q: q.product),
    Column("store", "Store", lambda q: q.destination),
    Column("asked", "Asked", lambda q: q.doses, numeric=True),
    Column("planned", "Planned", lambda q: q.delivered, numeric=True),
    Column("missing", "Not delivered", lambda q: q.missing, numeric=True),
)
PLAN_COLUMNS = (
    Column("request", "#", lambda s: s.request, numeric=True),
    Column("product", "Product", lambda s: s.product),
    Column("doses", "Doses", lambda s: s.doses, numeric=True),
    Column("packs", "Packs", lambda s: s.packs, numeric=True),
    Column("route", "Route", lambda s: s.route.path, sortable=False),
    Column("arrives", "Arrives (day)", lambda s: s.route.arrival_day, numeric=True),
    Column("cost", "$ per dose", lambda s: s.route.cost_per_dose, numeric=True),
)
GAP_COLUMNS = (
    Column("node", "Node", lambda g: g.name),
    Column("country", "Country", lambda g: g.country),
    Column("band", "Band", lambda g: g.band_words),
    Column("needed", "Needed", lambda g: g.needed_litres, numeric=True),
    Column("available", "Available", lambda g: g.available_litres, numeric=True),
    Column("gap", "Gap", lambda g: g.gap_litres, numeric=True),
    Column("use", "Use", lambda g: g.utilisation, numeric=True),
)
COLDCHAIN_TABLES = PageTables(
    "/dashboard/coldchain",
    (
        TableSpec("routes", ROUTE_COLUMNS, "product", "coldchain-routes"),
        TableSpec("requests", REQUEST_COLUMNS, "number", "coldchain-requests"),
        TableSpec("planned", PLAN_COLUMNS, "request", "coldchain-shipments"),
        TableSpec("capacity", GAP_COLUMNS, "gap", "coldchain-capacity", True),
    ),
)
Filter = Annotated[str | None, Query(max_length=100)]


def coldchain_setup(
    request: Request,
    ship: Annotated[str | None, Query(max_length=MAX_SHIP_TEXT)] = None,
    objective: Objective = Objective.FASTEST,
    product: Filter = None,
    store: Filter = None,
) -> PageData:
    """The Cold chain page's setup, shared by the page and its downloads: what the user may
    see of the bundled network, the shipments planned (a refusal is shown on the page, not
    raised), and the filters (product and store, by code or name) on its tables."""
    access = page_access(request, "coldchain.read")
    net = bundled_network()
    rows = feasibility_rows(access, net)
    if ship is None:
        wanted = [
            spec
            for spec in DEFAULT_SHIPMENTS
            if access.may_see(destination_country(net, spec.split("=")[1].split(":")[0]))
        ]
    else:
        wanted = _specs(ship)
    plan: ShipmentPlanOut | None = None
    gaps: list[CapacityGapOut] = []
    problems: tuple[ErrorDetail, ...] = ()
    if wanted:
        try:
            requests = requests_from_specs(wanted, net)
            check_destinations(access, net, [r.destination for r in requests])
            planned = shipment_plan(net, requests, objective)
            plan = plan_out(planned, "bundled example network")
            gaps = gap_rows(access, net, planned)
        except DoseflowError as err:
            problems = err.details

    def named(value: str | None, *names: str | None) -> bool:
        return not value or value in names

    feasible = [r for r in rows if r.feasible]
    tables: dict[str, list[Any]] = {
        "routes": [
            r
            for r in feasible
            if named(product, r.product, r.product_name)
            and named(store, r.destination, r.destination_name)
        ],
        "requests": [
            q
            for q in (plan.requests if plan else [])
            if named(product, q.product) and named(store, q.destination)
        ],
        "planned": [
            s
            for s in (plan.shipments if plan else [])
            if named(product, s.product) and named(store, s.destination)
        ],
        "capacity": [g for g in gaps if named(store, g.node, g.name)],
    }
    context = {
        "rows": rows,
        "feasible": feasible,
        "ship_text": "\n".join(wanted),
        "objective": objective.value,
        "plan": plan,
        "gaps": gaps,
        "problems": problems,
        "source": net.source,
        "filters": {"product": product or "", "store": store or ""},
    }
    return PageData({k: whole(v) for k, v in tables.items()}, context)


@router.get("/coldchain")
def coldchain_page(
    request: Request, data: Annotated[PageData, Depends(coldchain_setup)]
) -> Response:
    rows: list[FeasibilityOut] = data.context["rows"]
    gaps: list[CapacityGapOut] = data.context["gaps"]
    products, destinations, cells = matrix_grid(rows)
    return render(
        request,
        "coldchain.html",
        title="Cold chain",
        products=products,
        destinations=destinations,
        cells=cells,
        infeasible=[r for r in rows if not r.feasible],
        objectives=[o.value for o in Objective],
        chart=capacity_chart(gaps) if gaps else None,
        **data.context,
        **COLDCHAIN_TABLES.build(request, data),
    )


add_download(router, COLDCHAIN_TABLES, coldchain_setup)
