"""Dashboard page for in-country deployment: the plan of a bundled example (PRK) with the
reason for every region's amount, the priority groups, the stock held back, the shipments in
packs and projected coverage over time (chart and table). Logistics officers and
administrators record its shipments in the ledger as planned events (idempotent). A
participant sees its own country's plan only."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from doseflow.deployment import Strategy
from doseflow.domain.errors import DoseflowError
from doseflow.domain.limits import MAX_NAME_LENGTH
from doseflow.service.auth import Access
from doseflow.service.context import engine_of
from doseflow.service.dashboard.render import NavItem, add_nav, page_access, read_form, render
from doseflow.service.dashboard.svg_charts import PALETTE, Axis, Series, line_chart
from doseflow.service.dashboard.tables import (
    Column,
    PageData,
    PageTables,
    TableSpec,
    add_download,
    whole,
)
from doseflow.service.deployment_views import (
    CoverageOut,
    example,
    example_input,
    examples,
    plan_for,
    plan_out,
    record_plan,
    with_overrides,
)
from doseflow.service.permissions import PERMISSIONS

router = APIRouter(prefix="/dashboard", include_in_schema=False)
add_nav(NavItem("/dashboard/deployment", "Deployment", "deployment.read"))

COVERAGE_STEP_DAYS = 7
TABLE_STEP = 2  # the coverage table shows every other chart point (fortnightly)


def coverage_chart(coverage: CoverageOut, title: str) -> Markup:
    """Lines of each group's coverage over time: first dose solid, full course dashed."""
    series: list[Series] = []
    for i, group in enumerate(coverage.by_group):
        colour = PALETTE[i % len(PALETTE)]
        for kind, values, dashed in (
            ("first dose", group.first_dose, False),
            ("full course", group.full_course, True),
        ):
            series.append(
                Series(
                    f"{group.name}: {kind}",
                    tuple(round(v * 100, 1) for v in values),
                    colour,
                    dashed=dashed,
                )
            )
    return line_chart(
        chart_id="deployment-chart",
        title=title,
        description="Line chart of each priority group's projected coverage over time, first"
        " dose (solid) and full course (dashed); the same figures are in the table below.",
        x_labels=[d.isoformat() for d in coverage.dates],
        series=series,
        axis=Axis("% of the group's target population", unit="%", decimals=1, maximum=100),
    )


def _strategy(text: str | None) -> Strategy | None:
    """A strategy from a form field ("" or absent: the file's own)."""
    if not text:
        return None
    if text not in {s.value for s in Strategy}:
        raise DoseflowError(
            "SERVICE_BAD_FORM",
            "unknown deployment strategy",
            field="strategy",
            expected="one of " + ", ".join(s.value for s in Strategy),
            value=text,
        )
    return Strategy(text)


REGION_COLUMNS = (
    Column("region", "Region", lambda r: r.region_name),
    Column("product", "Product", lambda r: r.product),
    Column("packs", "Packs", lambda r: r.packs, numeric=True),
    Column("doses", "Doses", lambda r: r.doses, numeric=True),
    Column("people_started", "People started", lambda r: r.people_started, numeric=True),
    Column("full_courses", "Full courses", lambda r: r.full_courses, numeric=True),
    Column("decided_by", "Decided by", lambda r: r.decided_by),
    Column("why", "Why", lambda r: r.explanation, sortable=False),
)
GROUP_COLUMNS = (
    Column("group", "Group", lambda g: g.name),
    Column("priority", "Priority", lambda g: g.priority, numeric=True),
    Column("target", "Target population", lambda g: g.target_population, numeric=True),
    Column("to_vaccinate", "To vaccinate", lambda g: g.to_vaccinate, numeric=True),
    Column("planned", "Planned", lambda g: g.planned_people, numeric=True),
    Column("share", "Share of target", lambda g: g.share_of_target, numeric=True),
    Column("how_sized", "How sized", lambda g: g.how_sized, sortable=False),
)
HELD_COLUMNS = (
    Column("product", "Product", lambda h: h.product),
    Column("lot", "Lot", lambda h: h.lot),
    Column("doses", "Doses", lambda h: h.doses, numeric=True),
    Column("reason", "Reason", lambda h: h.reason),
)


SHIPMENT_COLUMNS = (
    Column("region", "Region", lambda s: s.region),
    Column("product", "Product", lambda s: s.product),
    Column("lot", "Lot", lambda s: s.lot),
    Column("expiry", "Expiry", lambda s: s.expiry),
    Column("packs", "Packs", lambda s: s.packs, numeric=True),
    Column("doses", "Doses", lambda s: s.doses, numeric=True),
    Column("dispatch", "Dispatch", lambda s: s.dispatch),
    Column("arrival", "Arrival", lambda s: s.arrival),
)
DEPLOYMENT_TABLES = PageTables(
    "/dashboard/deployment",
    (
        TableSpec("regions", REGION_COLUMNS, "region", "deployment-regions"),
        TableSpec("groups", GROUP_COLUMNS, "priority", "deployment-groups"),
        TableSpec("held", HELD_COLUMNS, "product", "deployment-held"),
        TableSpec("shipments", SHIPMENT_COLUMNS, "dispatch", "deployment-shipments"),
    ),
)
Filter = Annotated[str | None, Query(max_length=100)]


def deployment_setup(
    request: Request,
    iso3: Annotated[str | None, Query(pattern="^[A-Za-z]{3}$")] = None,
    strategy: Annotated[str | None, Query(max_length=32)] = None,
    product: Filter = None,
    region: Filter = None,
) -> PageData:
    """The Deployment page's setup, shared by the page and its downloads: the country's
    plan (a participant: its own), worked out whole from the bundled example, and the
    filters (product; region, by code or name) on its tables."""
    access = page_access(request, "deployment.read")
    chosen_strategy = _strategy(strategy)
    visible = [e for e in examples().values() if access.may_see(e.iso3)]
    chosen = iso3.upper() if iso3 else (visible[0].iso3 if visible else None)
    context: dict[str, Any] = {"plan": None, "chart": None, "names": {}}
    tables: dict[str, list[Any]] = {"regions": [], "groups": [], "held": [], "shipments": []}
    if chosen is not None:
        access.check_iso3(chosen)
        found = example(chosen)
        inp = with_overrides(example_input(found.iso3), chosen_strategy, None)
        plan = plan_out(plan_for(inp), f"bundled example {found.path.name}", COVERAGE_STEP_DAYS)
        title = f"Projected coverage by priority group, {plan.country}, from {plan.start}"
        names = {r.region: r.region_name for r in plan.regions}
        context = {
            "plan": plan,
            "chart": coverage_chart(plan.coverage, title),
            "reference": found.reference
            + (
                ""
                if inp.strategy is example_input(found.iso3).strategy
                else f"-{inp.strategy.value}"
            ),
            "names": names,
        }

        def kept(item: Any, code: str | None = None) -> bool:
            return (not product or item.product == product) and (
                not region or code is None or region in (code, names.get(code))
            )

        tables = {
            "regions": [r for r in plan.regions if kept(r, r.region)],
            "groups": list(plan.groups),
            "held": [h for h in plan.held if kept(h)],
            "shipments": [s for s in plan.shipments if kept(s, s.region)],
        }
    context |= {
        "access": access,
        "visible": visible,
        "chosen": chosen,
        "strategy": chosen_strategy.value if chosen_strategy else None,
        "filters": {"product": product or "", "region": region or ""},
    }
    return PageData({k: whole(v) for k, v in tables.items()}, context)


@router.get("/deployment")
def deployment_page(
    request: Request,
    data: Annotated[PageData, Depends(deployment_setup)],
    done: Annotated[str | None, Query(max_length=MAX_NAME_LENGTH)] = None,
) -> Response:
    access: Access = data.context["access"]
    context = {k: v for k, v in data.context.items() if k not in ("access", "visible", "chosen")}
    return render(
        request,
        "deployment.html",
        title="Deployment",
        examples=data.context["visible"],
        chosen=data.context["chosen"],
        strategies=[s.value for s in Strategy],
        may_record=access.principal.role in PERMISSIONS["deployment.record"].roles,
        table_step=TABLE_STEP,
        done=done,
        **context,
        **DEPLOYMENT_TABLES.build(request, data),
    )


add_download(router, DEPLOYMENT_TABLES, deployment_setup)


@router.post("/deployment/record")
async def deployment_record_form(request: Request) -> Response:
    access = page_access(request, "deployment.record")
    form = await read_form(request)
    found = example(form.get("iso3", ""))
    access.check_iso3(found.iso3)
    base = example_input(found.iso3)
    inp = with_overrides(base, _strategy(form.get("strategy")), None)
    reference = found.reference
    if inp.strategy is not base.strategy:  # another plan than the file's: its own reference
        reference += f"-{inp.strategy.value}"
    ledger = record_plan(engine_of(request), plan_for(inp), reference, access.principal.user)
    access.audit(
        f"deployment {ledger.reference}",
        country=found.iso3,
        appended=ledger.appended,
        already_recorded=ledger.already_recorded,
    )
    message = (
        f"Recorded {ledger.appended} planned shipments in the ledger under {ledger.reference}"
        f" ({ledger.already_recorded} were already recorded)."
    )
    query = urlencode({"iso3": found.iso3, "strategy": inp.strategy.value, "done": message})
    return RedirectResponse(f"/dashboard/deployment?{query}", status_code=303)
