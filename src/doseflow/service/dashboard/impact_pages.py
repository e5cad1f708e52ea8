"""Dashboard page for impact: start a comparison of allocation rules, see runs and the chart
of deaths averted per rule for the latest finished run.

A run still queued or running carries the address of its status (``/dashboard/impact/runs/
<id>/status``, JSON, read with the dashboard session like the page); ``dashboard.js`` polls it
and updates the row's status and progress bar in place until the run ends, then offers the
link to its result, so nobody has to reload the page to follow a run."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from markupsafe import Markup

from doseflow.domain.errors import DoseflowError
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
from doseflow.service.dashboard.svg_charts import GREEN, Axis, Series, bar_chart
from doseflow.service.impact_job import KIND, ImpactRunIn
from doseflow.service.permissions import PERMISSIONS
from doseflow.store.allocation import AllocationStore
from doseflow.store.service_jobs import JobStatus, get_job, list_jobs

router = APIRouter(prefix="/dashboard", include_in_schema=False)
add_nav(NavItem("/dashboard/impact", "Impact", "impact.read"))


def impact_chart(totals: list[dict[str, Any]]) -> Markup:
    """Upright bars of deaths averted, one per allocation rule, in the table's order."""
    return bar_chart(
        chart_id="impact-chart",
        title="Deaths averted by allocation rule (same supply)",
        description="Bar chart of deaths averted by each allocation rule;"
        " the same figures are in the table below.",
        categories=[str(t["rule"]) for t in totals],
        series=[
            Series(
                "deaths averted",
                tuple(float(round(float(t["deaths_averted"]))) for t in totals),
                GREEN,
            )
        ],
        axis=Axis("deaths averted", unit="deaths averted"),
    )


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
    query = urlencode(
        {"done": f"Impact run {job.id[:8]} started; its status below updates by itself."}
    )
    return RedirectResponse(f"/dashboard/impact?{query}", status_code=303)


@router.get("/impact/runs/{job_id}/status")
def impact_run_status(
    request: Request, job_id: Annotated[str, Path(min_length=1, max_length=36)]
) -> Response:
    """One run's status and progress for the page's script (``SERVICE_JOB_NOT_FOUND`` for
    an unknown id, or a job of another kind)."""
    page_access(request, "impact.read")
    job = get_job(engine_of(request), job_id)
    if job.kind != KIND:
        raise DoseflowError(
            "SERVICE_JOB_NOT_FOUND",
            f"there is no impact run with id {job_id!r}",
            field="job_id",
            expected="the id of an impact run",
            value=job_id,
        )
    return JSONResponse(
        {
            "id": job.id,
            "status": job.status.value,
            "finished": job.finished,
            "progress": job.progress,
            "message": job.progress_message,
            "error": (
                f"{job.errors[0]['code']}: {job.errors[0]['message']}" if job.errors else None
            ),
            "result_url": "/dashboard/impact" if job.status is JobStatus.SUCCEEDED else None,
        }
    )
