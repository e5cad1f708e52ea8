"""Impact runs as background jobs: compare allocation rules for a scenario's round.

Starting a run answers at once (202) with a job id; the comparison
(:func:`doseflow.impact.global_comparison.compare_allocations` on the stored scenario's rounds)
runs on the service's job runner, and ``GET /api/impact-runs/{job_id}`` reports its status and,
once done, deaths and years of life averted per rule and per participant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from doseflow.data.fields import Number, Quantity
from doseflow.domain.limits import MAX_ROUND_NUMBER
from doseflow.impact.global_comparison import DEFAULT_LEVELS, compare_allocations
from doseflow.service.auth import Access, authorize
from doseflow.service.bodies import WriteBody
from doseflow.service.context import engine_of, jobs_of
from doseflow.service.errors import ERROR_RESPONSES
from doseflow.service.queries import PAGED_RESPONSES, Page, paged
from doseflow.store.allocation import AllocationStore
from doseflow.store.service_jobs import Job, count_jobs, get_job, list_jobs

router = APIRouter(prefix="/api", tags=["impact"], responses=ERROR_RESPONSES)

KIND = "impact-comparison"


class ImpactRunIn(WriteBody):
    round: Quantity | None = Field(
        default=None, ge=1, le=MAX_ROUND_NUMBER, description="default: every round"
    )
    r0: Number = Field(default=2.5, gt=0.5, le=10.0, description="basic reproduction number")
    horizon_days: Quantity = Field(default=365, ge=30, le=1095)
    levels: Quantity = Field(
        default=DEFAULT_LEVELS,
        ge=2,
        le=100,
        description="points on each participant's curve of deaths against doses "
        "(the impact-maximising rule's resolution)",
    )


class JobOut(BaseModel):
    id: str
    kind: str
    status: str
    submitted_by: str | None
    submitted_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    params: dict[str, Any]
    result: Any = None
    errors: list[dict[str, Any]] | None = None


def _job(job: Job, *, with_result: bool = True) -> JobOut:
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status.value,
        submitted_by=job.submitted_by,
        submitted_at=job.submitted_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        params=dict(job.params),
        result=job.result if with_result else None,
        errors=[dict(e) for e in job.errors] if job.errors else None,
    )


def comparison_job(engine: Engine, scenario: str, body: ImpactRunIn) -> dict[str, Any]:
    """The work of one impact run (on the job runner's thread)."""
    run = AllocationStore(engine).compute(scenario)
    source = run.round(body.round) if body.round is not None else run
    comparison = compare_allocations(
        source, r0=body.r0, horizon_days=body.horizon_days, levels=body.levels
    )
    return {
        "scenario": scenario,
        "round": body.round,
        "start": comparison.start.isoformat(),
        "totals": comparison.totals().to_dict(orient="records"),
        "participants": comparison.participants.to_dict(orient="records"),
        "skipped": [{"iso3": iso3, "reason": reason} for iso3, reason in comparison.skipped],
    }


@router.post(
    "/scenarios/{name}/impact-runs",
    status_code=202,
    summary="Start an impact comparison of allocation rules (a background job)",
)
def post_impact_run(
    request: Request,
    name: Annotated[str, Path(min_length=1, max_length=100)],
    body: ImpactRunIn,
    access: Annotated[Access, Depends(authorize("impact.run"))],
) -> JobOut:
    engine = engine_of(request)
    AllocationStore(engine).scenario(name)  # an unknown scenario is refused now, not later
    params = {"scenario": name, **body.model_dump()}
    job = jobs_of(request).submit(
        KIND,
        params,
        lambda: comparison_job(engine, name, body),
        submitted_by=access.principal.user,
    )
    access.audit(f"job {job.id}", scenario=name)
    return _job(job)


@router.get(
    "/impact-runs",
    summary="Impact runs, newest first, and their status (paged)",
    responses=PAGED_RESPONSES,
)
def get_impact_runs(
    request: Request,
    response: Response,
    _access: Annotated[Access, Depends(authorize("impact.read"))],
    page: Page,
) -> list[JobOut]:
    engine = engine_of(request)
    jobs = list_jobs(engine, kind=KIND, limit=page.limit, offset=page.offset)
    rows = [_job(j, with_result=False) for j in jobs]
    return paged(request, response, page, rows, count_jobs(engine, kind=KIND))


@router.get("/impact-runs/{job_id}", summary="One impact run: status, then results")
def get_impact_run(
    request: Request,
    job_id: Annotated[str, Path(min_length=1, max_length=36)],
    _access: Annotated[Access, Depends(authorize("impact.read"))],
) -> JobOut:
    return _job(get_job(engine_of(request), job_id))
