"""Dashboard page for impact: start a comparison of allocation rules, see runs and the chart
of deaths averted per rule for the latest finished run."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from doseflow.domain.limits import MAX_NAME_LENGTH
from doseflow.service.context import engine_of, jobs_of
from doseflow.service.dashboard.render import (
    NavItem,
    add_nav,
    form_int,
    page_access,
    read_form,
    render,
)
from doseflow.service.impact_job import KIND, ImpactRunIn
from doseflow.service.permissions import PERMISSIONS
from doseflow.store.allocation import AllocationStore
from doseflow.store.service_jobs import JobStatus, list_jobs

router = APIRouter(prefix="/dashboard", include_in_schema=False)
add_nav(NavItem("/dashboard/impact", "Impact", "impact.read"))


def impact_chart(totals: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "data": [
            {
                "type": "bar",
                "x": [t["rule"] for t in totals],
                "y": [round(float(t["deaths_averted"])) for t in totals],
                "marker": {"color": "#1d6b35"},
                "hovertemplate": "%{x}: %{y:,} deaths averted<extra></extra>",
            }
        ],
        "layout": {
            "title": {"text": "Deaths averted by allocation rule (same supply)"},
            "height": 420,
            "margin": {"l": 80, "r": 20, "t": 50, "b": 60},
            "yaxis": {"title": {"text": "deaths averted"}},
        },
    }


@router.get("/impact")
def impact_page(
    request: Request, done: Annotated[str | None, Query(max_length=MAX_NAME_LENGTH)] = None
) -> Response:
    access = page_access(request, "impact.read")
    engine = engine_of(request)
    jobs = list_jobs(engine, kind=KIND, limit=20)
    latest = next((j for j in jobs if j.status is JobStatus.SUCCEEDED), None)
    totals: list[dict[str, Any]] = list(latest.result["totals"]) if latest else []
    return render(
        request,
        "impact.html",
        title="Impact of allocation rules",
        jobs=jobs,
        latest=latest,
        totals=totals,
        chart=impact_chart(totals) if totals else None,
        scenarios=[s.name for s in AllocationStore(engine).scenarios()],
        may_run=access.principal.role in PERMISSIONS["impact.run"].roles,
        done=done,
    )


@router.post("/impact/run")
async def impact_run_form(request: Request) -> Response:
    access = page_access(request, "impact.run")
    form = await read_form(request)
    name = form.get("scenario", "")
    body = ImpactRunIn(round=form_int(form["round"], "round") if form.get("round") else None)
    job = jobs_of(request).submit(
        KIND, {"scenario": name, **body.model_dump()}, submitted_by=access.principal.user
    )
    access.audit(f"job {job.id}", scenario=name)
    query = urlencode({"done": f"Impact run {job.id[:8]} started; reload to see its status."})
    return RedirectResponse(f"/dashboard/impact?{query}", status_code=303)
