"""The service as uvicorn's factory for multi-process tests: the real app (database from
``$DOSEFLOW_DB``, job settings from ``$DOSEFLOW_JOB_*``) plus a cheap job kind, *probe*, that
sleeps for the seconds it is given and logs its start and end (with its process id) to the
file ``$DOSEFLOW_TEST_PROBE_LOG``, so a test can count how often each job really ran."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from doseflow.domain.errors import DoseflowError
from doseflow.service import create_app
from doseflow.service.auth import Access, authorize
from doseflow.service.context import jobs_of
from doseflow.service.job_kinds import builtin_kinds
from doseflow.service.jobs import JobKind, JobSettings
from doseflow.store.database import default_url

LOG_VAR = "DOSEFLOW_TEST_PROBE_LOG"


class ProbeIn(BaseModel):
    tag: str = Field(min_length=1, max_length=40)
    seconds: float = Field(ge=0, le=30)


def _log(event: str, tag: str) -> None:
    with open(os.environ[LOG_VAR], "a", encoding="utf-8") as log:
        log.write(f"{event} {tag} {os.getpid()}\n")


def _prepare(_engine: Engine, params: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(params.get("tag"), str):
        raise DoseflowError("TEST_PROBE_TAG", "a probe needs a tag", field="tag")
    return ProbeIn.model_validate(dict(params)).model_dump()


def _run(_engine: Engine, params: Mapping[str, Any]) -> dict[str, Any]:
    _log("start", params["tag"])
    time.sleep(float(params["seconds"]))
    _log("end", params["tag"])
    return {"tag": params["tag"], "pid": os.getpid()}


PROBE = JobKind("probe", _prepare, _run)

router = APIRouter()


@router.post("/api/test/probes", status_code=202)
def post_probe(
    request: Request,
    body: ProbeIn,
    access: Annotated[Access, Depends(authorize("impact.run"))],
) -> dict[str, str]:
    job = jobs_of(request).submit(PROBE.name, body.model_dump(), submitted_by=access.principal.user)
    return {"id": job.id}


def app_from_environment() -> FastAPI:
    app = create_app(
        default_url(),
        job_settings=JobSettings.from_environment(),
        job_kinds={**builtin_kinds(), PROBE.name: PROBE},
    )
    app.include_router(router)
    return app
