"""Dashboard pages for allocation: coverage after a round (ranked bars), the allocation table
with each line's explanation, declines and where the doses went; forms to run and publish a
round (analysts) and to decline an allocation (participants). Same store calls as the API."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from doseflow.allocation import Decline, Redirect
from doseflow.domain.errors import DoseflowError
from doseflow.domain.limits import MAX_NAME_LENGTH
from doseflow.service.allocation_views import DeclineView, decline_view
from doseflow.service.context import engine_of
from doseflow.service.dashboard.paging import OffsetParam, page_rows, table_page
from doseflow.service.dashboard.render import (
    NavItem,
    add_nav,
    form_int,
    page_access,
    read_form,
    render,
)
from doseflow.service.dashboard.svg_charts import INK, Axis, Series, bar_chart
from doseflow.service.permissions import PERMISSIONS
from doseflow.store.allocation import AllocationStore, RoundStatus

ScenarioParam = Annotated[str | None, Query(min_length=1, max_length=100)]
DoneParam = Annotated[str | None, Query(max_length=MAX_NAME_LENGTH)]

router = APIRouter(prefix="/dashboard", include_in_schema=False)
add_nav(NavItem("/dashboard/allocation", "Allocation", "rounds.read"))
add_nav(NavItem("/dashboard/declines", "Declines", "declines.read"))


def _scenario(store: AllocationStore, requested: str | None) -> str | None:
    names = [s.name for s in store.scenarios()]
    if requested and requested in names:
        return requested
    return names[0] if names else None


def _may(request: Request, action: str) -> bool:
    principal = page_access(request, "participants.read").principal
    return principal.role in PERMISSIONS[action].roles


def coverage_chart(rows: list[Any], round_name: str) -> Markup:
    """Ranked bars of doses per 100 people, lying down (highest first)."""
    ranked = sorted(rows, key=lambda c: c.doses_per_100, reverse=True)
    return bar_chart(
        chart_id="coverage-chart",
        title=f"Doses per 100 people after {round_name}",
        description=f"Ranked bar chart of doses per 100 people by participant after {round_name};"
        " the same figures are in the table below.",
        categories=[c.iso3 for c in ranked],
        series=[
            Series("doses per 100 people", tuple(round(c.doses_per_100, 2) for c in ranked), INK)
        ],
        axis=Axis("doses per 100 people", unit="doses per 100", decimals=2),
        horizontal=True,
    )


@router.get("/allocation")
def allocation_page(
    request: Request,
    scenario: ScenarioParam = None,
    round: Annotated[int | None, Query(ge=1, le=1000)] = None,
    done: DoneParam = None,
    lines_offset: OffsetParam = 0,
) -> Response:
    access = page_access(request, "rounds.read")
    store = AllocationStore(engine_of(request))
    name = _scenario(store, scenario)
    context: dict[str, Any] = {
        "scenarios": [s.name for s in store.scenarios()],
        "scenario": name,
        "done": done,
        "may_run": _may(request, "rounds.run"),
        "may_publish": _may(request, "rounds.publish"),
        "may_decline": _may(request, "declines.create"),
        "own_iso3": access.own_iso3,
        "rounds": [],
        "round": None,
        "lines": [],
        "lines_page": None,
        "coverage": [],
        "chart": None,
    }
    if name is not None:
        rounds = store.rounds(name)
        if access.own_iso3 is not None:
            rounds = [r for r in rounds if r.status == RoundStatus.PUBLISHED.value]
        context["rounds"] = rounds
        chosen = next((r for r in rounds if r.number == round), rounds[-1] if rounds else None)
        if chosen is not None:
            context["round"] = chosen
            lines = store.lines(name, chosen.number, access.own_iso3)
            coverage = store.coverage(name, chosen.number)
            if access.own_iso3 is not None:
                coverage = [c for c in coverage if c.iso3 == access.own_iso3]
            lines.sort(key=lambda x: (x.pool, -x.doses, x.iso3))
            context["lines"], context["lines_page"] = page_rows(
                request, "lines_offset", lines_offset, lines
            )
            context["coverage"] = sorted(coverage, key=lambda c: c.doses_per_100, reverse=True)
            context["chart"] = coverage_chart(coverage, f"round {chosen.number}")
    return render(request, "allocation.html", title="Allocation rounds", **context)


def _back(path: str, **params: Any) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return RedirectResponse(f"{path}?{query}", status_code=303)


@router.post("/allocation/run")
async def run_form(request: Request) -> Response:
    access = page_access(request, "rounds.run")
    form = await read_form(request)
    name = form.get("scenario", "")
    store = AllocationStore(engine_of(request))
    store.run(name)
    access.audit(f"scenario {name}")
    return _back("/dashboard/allocation", scenario=name, done=f"Ran every round of {name}.")


@router.post("/allocation/publish")
async def publish_form(request: Request) -> Response:
    access = page_access(request, "rounds.publish")
    form = await read_form(request)
    name = form.get("scenario", "")
    number = form_int(form.get("round"), "round")
    AllocationStore(engine_of(request)).publish(name, number)
    access.audit(f"scenario {name} round {number}")
    return _back(
        "/dashboard/allocation",
        scenario=name,
        round=number,
        done=f"Round {number} is published to participants.",
    )


@router.post("/allocation/decline")
async def decline_form(request: Request) -> Response:
    access = page_access(request, "declines.create")
    form = await read_form(request)
    name = form.get("scenario", "")
    iso3 = form.get("iso3", "").upper()
    access.check_iso3(iso3)
    number = form_int(form.get("round"), "round")
    store = AllocationStore(engine_of(request))
    if access.own_iso3 is not None and number not in {
        r.number for r in store.rounds(name) if r.status == RoundStatus.PUBLISHED.value
    }:
        raise DoseflowError(
            "SERVICE_ROUND_NOT_PUBLISHED",
            f"round {number} of {name} has not been published to participants yet",
            field="round",
            expected="a published round",
            value=number,
        )
    decline = Decline(
        round=number,
        product=form.get("product", ""),
        iso3=iso3,
        reason=form.get("reason", "")[:500],
        redirect=Redirect.SAME_RULES,
        pool=form.get("pool") or None,
    )
    store.record_decline(name, decline, recorded_by=f"via the dashboard by {access.principal.user}")
    access.audit(f"scenario {name} round {number} {decline.product} {iso3}")
    return _back(
        "/dashboard/declines",
        scenario=name,
        done=f"{iso3} declined its {decline.product} allocation in round {number}; "
        "the doses were redistributed.",
    )


@router.get("/declines")
def declines_page(
    request: Request,
    scenario: ScenarioParam = None,
    done: DoneParam = None,
    declines_offset: OffsetParam = 0,
) -> Response:
    access = page_access(request, "declines.read")
    store = AllocationStore(engine_of(request))
    name = _scenario(store, scenario)
    declines: list[DeclineView] = []
    declines_nav = table_page(request, "declines_offset", 0, 0, 0)
    if name is not None:
        published = {
            r.number for r in store.rounds(name) if r.status == RoundStatus.PUBLISHED.value
        }
        shown = [
            d
            for d in store.declines(name)
            if access.own_iso3 is None or (d.iso3 == access.own_iso3 and d.round in published)
        ]
        # where the doses went is computed per decline: only for the page's
        page, declines_nav = page_rows(request, "declines_offset", declines_offset, shown)
        declines = [decline_view(store, name, d) for d in page]
    return render(
        request,
        "declines.html",
        title="Declines and where the doses went",
        scenarios=[s.name for s in store.scenarios()],
        scenario=name,
        declines=declines,
        declines_page=declines_nav,
        done=done,
    )
