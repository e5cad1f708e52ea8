"""Dashboard page for the cold chain: can each product reach each store (✓/✗, with the
reason in words for every pair that cannot), and the storage a set of shipments needs at each
node and band against what is there (table and chart). On the bundled example network; a
participant sees its own country's stores only (same rule as the API)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
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


@router.get("/coldchain")
def coldchain_page(
    request: Request,
    ship: Annotated[str | None, Query(max_length=MAX_SHIP_TEXT)] = None,
    objective: Objective = Objective.FASTEST,
) -> Response:
    access = page_access(request, "coldchain.read")
    net = bundled_network()
    rows = feasibility_rows(access, net)
    products, destinations, cells = matrix_grid(rows)
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
    return render(
        request,
        "coldchain.html",
        title="Cold chain",
        rows=rows,
        products=products,
        destinations=destinations,
        cells=cells,
        infeasible=[r for r in rows if not r.feasible],
        feasible=[r for r in rows if r.feasible],
        ship_text="\n".join(wanted),
        objective=objective.value,
        objectives=[o.value for o in Objective],
        plan=plan,
        gaps=gaps,
        chart=capacity_chart(gaps) if gaps else None,
        problems=problems,
        source=net.source,
    )
