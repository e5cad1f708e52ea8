"""Impact runs as background jobs: compare allocation rules for a scenario's round.

Starting a run checks it (scenario, round, settings) and answers at once (202) with a job id,
or refuses it with a code (an unknown round: 422; the queue at its bound: 429 with
``Retry-After``); the comparison (:mod:`doseflow.service.impact_job`) runs on whichever server
process claims it from the shared queue, and ``GET /api/impact-runs/{job_id}`` reports its
status and, once done, deaths and years of life averted per rule and per participant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from doseflow.service.auth import Access, authorize
from doseflow.service.context import engine_of, jobs_of
from doseflow.service.errors import ERROR_RESPONSES, ErrorBody
from doseflow.service.impact_job import KIND, ImpactRunIn
from doseflow.service.queries import PAGED_RESPONSES, Page, paged
from doseflow.store.service_jobs import Job, count_jobs, get_job, list_jobs

router = APIRouter(prefix="/api", tags=["impact"], responses=ERROR_RESPONSES)

__all__ = ["KIND", "ImpactRunIn", "router"]


class JobOut(BaseModel):
    id: str
    kind: str
    status: str
    submitted_by: str | None
    submitted_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    params: dict[str, Any]
    attempts: int = 0
    progress: float | None = Field(
        default=None, description="fraction done (0 to 1) as the job last reported it"
    )
    progress_message: str | None = Field(
        default=None, description="what the job was doing when it last reported progress"
    )
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
        attempts=job.attempts,
        progress=job.progress,
        progress_message=job.progress_message,
        result=job.result if with_result else None,
        errors=[dict(e) for e in job.errors] if job.errors else None,
    )


@router.post(
    "/scenarios/{name}/impact-runs",
    status_code=202,
    summary="Start an impact comparison of allocation rules (a background job)",
    responses={
        429: {
            "model": ErrorBody,
            "description": "too many jobs queued or running, yours or in all "
            "(SERVICE_JOB_LIMIT_REACHED, SERVICE_JOB_QUEUE_FULL); see Retry-After",
        }
    },
)
def post_impact_run(
    request: Request,
    name: Annotated[str, Path(min_length=1, max_length=100)],
    body: ImpactRunIn,
    access: Annotated[Access, Depends(authorize("impact.run"))],
) -> JobOut:
    job = jobs_of(request).submit(
        KIND, {"scenario": name, **body.model_dump()}, submitted_by=access.principal.user
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
