"""Dashboard page for impact: start a comparison of allocation rules, see runs and the chart
of deaths averted per rule for the latest finished run.

A run still queued or running carries the address of its status (``/dashboard/impact/runs/
<id>/status``, JSON, read with the dashboard session like the page); ``dashboard.js`` polls it
and updates the row's status and progress bar in place until the run ends, then offers the
link to its result, so nobody has to reload the page to follow a run."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from markupsafe import Markup

from doseflow.domain.errors import DoseflowError
from doseflow.domain.limits import MAX_NAME_LENGTH
from doseflow.service.auth import Access
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
from doseflow.service.dashboard.tables import (
    Column,
    PageData,
    PageTables,
    Rows,
    TableSpec,
    TableView,
    add_download,
    whole,
)
from doseflow.service.impact_job import KIND, ImpactRunIn
from doseflow.service.permissions import PERMISSIONS
from doseflow.store.allocation import AllocationStore
from doseflow.store.service_jobs import JobStatus, count_jobs, get_job, list_jobs

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


def _total(name: str) -> Callable[[Mapping[str, Any]], object]:
    """A rule's total as a whole number (as the page shows it), empty if the run has none."""

    def value(t: Mapping[str, Any]) -> object:
        found = t.get(name)
        return None if found is None else round(float(found))

    return value


JOB_COLUMNS = (
    Column("job", "Job", lambda j: j.id[:8], sortable=False),
    Column("scenario", "Scenario", lambda j: j.params.get("scenario"), sortable=False),
    Column("submitted", "Submitted", lambda j: j.submitted_at),
    Column("by", "By", lambda j: j.submitted_by),
    Column("status", "Status", lambda j: j.status.value),
)
RESULT_COLUMNS = (
    Column("rule", "Rule", lambda t: t.get("rule")),
    Column("doses", "Doses", _total("doses"), numeric=True),
    Column("deaths", "Deaths", _total("deaths"), numeric=True),
    Column("deaths_averted", "Deaths averted", _total("deaths_averted"), numeric=True),
    Column(
        "symptomatic_averted",
        "Symptomatic cases averted",
        _total("symptomatic_averted"),
        numeric=True,
    ),
    Column("yll_averted", "Years of life averted", _total("yll_averted"), numeric=True),
)
IMPACT_TABLES = PageTables(
    "/dashboard/impact",
    (
        TableSpec("results", RESULT_COLUMNS, "deaths_averted", "impact-results", True),
        TableSpec("jobs", JOB_COLUMNS, "submitted", "impact-runs", True),
    ),
)
StatusFilter = Annotated[JobStatus | None, Query(description="run status")]
ByFilter = Annotated[str | None, Query(max_length=100)]


def impact_setup(request: Request, status: StatusFilter = None, by: ByFilter = None) -> PageData:
    """The Impact page's setup, shared by the page and its downloads: the runs (filtered
    by status and by who submitted them, sorted and cut by the database) and the rules'
    totals of the latest finished run."""
    access = page_access(request, "impact.read")
    engine = engine_of(request)
    finished = list_jobs(engine, kind=KIND, limit=1, status=JobStatus.SUCCEEDED)
    latest = finished[0] if finished else None
    totals: list[dict[str, Any]] = list(latest.result["totals"]) if latest else []

    def jobs(view: TableView, everything: bool) -> Rows:
        found = list_jobs(
            engine,
            kind=KIND,
            limit=None if everything else view.size,
            offset=0 if everything else view.offset,
            status=status,
            submitted_by=by or None,
            sort=view.sort,
            descending=view.descending,
        )
        return found, len(found) if everything else count_jobs(
            engine, kind=KIND, status=status, submitted_by=by or None
        )

    context = {"access": access, "engine": engine, "latest": latest, "totals": totals}
    context["filters"] = {"status": status, "by": by or ""}
    return PageData({"jobs": jobs, "results": whole(totals)}, context)


@router.get("/impact")
def impact_page(
    request: Request,
    data: Annotated[PageData, Depends(impact_setup)],
    done: Annotated[str | None, Query(max_length=MAX_NAME_LENGTH)] = None,
) -> Response:
    access: Access = data.context["access"]
    totals = data.context["totals"]
    return render(
        request,
        "impact.html",
        title="Impact of allocation rules",
        latest=data.context["latest"],
        chart=impact_chart(totals) if totals else None,
        scenarios=[s.name for s in AllocationStore(data.context["engine"]).scenarios()],
        may_run=access.principal.role in PERMISSIONS["impact.run"].roles,
        done=done,
        filters=data.context["filters"],
        statuses=list(JobStatus),
        **IMPACT_TABLES.build(request, data),
    )


add_download(router, IMPACT_TABLES, impact_setup)


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
