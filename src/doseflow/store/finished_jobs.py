"""Jobs stored already finished: work done outside the service's queue (``doseflow demo``'s
impact run) recorded as the job the service would have run, so the dashboard and
``GET /api/impact-runs`` show it like any other.

The job's id is derived from its kind and parameters, so recording the same work again
finds the row already there and stores nothing twice.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from doseflow.store.service_jobs import Job, JobRow, JobStatus, get_job

#: Namespace of the ids of jobs recorded here (uuid5 of kind and parameters).
_NAMESPACE = uuid.UUID("5f0c1c3e-6d1a-4f43-9d8e-6f73656a6f62")


def finished_job_id(kind: str, params: Mapping[str, Any]) -> str:
    """The id a finished job of ``kind`` with ``params`` is stored under (always the same)."""
    key = json.dumps({"kind": kind, "params": dict(params)}, default=str, sort_keys=True)
    return str(uuid.uuid5(_NAMESPACE, key))


def store_finished_job(
    engine: Engine,
    *,
    kind: str,
    params: Mapping[str, Any],
    result: Any,
    submitted_by: str,
) -> tuple[Job, bool]:
    """Store a succeeded job of ``kind`` with ``params`` and ``result``, unless it is stored
    already; returns the job and whether it was stored now."""
    job_id = finished_job_id(kind, params)
    with Session(engine) as session, session.begin():
        if session.get(JobRow, job_id) is None:
            now = datetime.now(UTC)
            session.add(
                JobRow(
                    id=job_id,
                    kind=kind,
                    status=JobStatus.SUCCEEDED.value,
                    submitted_by=submitted_by,
                    submitted_at=now,
                    started_at=now,
                    finished_at=now,
                    params=json.dumps(dict(params), default=str, sort_keys=True),
                    result=json.dumps(result, default=str),
                    attempts=1,
                )
            )
            created = True
        else:
            created = False
    return get_job(engine, job_id), created
