"""Background jobs started through the service (impact runs): their status, inputs and results.

Kept in the database, not in memory, so a job's outcome survives the worker that ran it and
any process serving the same database can report it. A job left ``queued`` or ``running`` by
a process that stopped is marked ``failed`` when the next service starts
(:func:`fail_abandoned_jobs`), so no job claims to be running forever.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CursorResult, DateTime, Engine, String, Text, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from doseflow.domain.errors import DoseflowError
from doseflow.store.base import Base


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobRow(Base):
    __tablename__ = "service_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    submitted_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    params: Mapped[str] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
    errors: Mapped[str | None] = mapped_column(Text, nullable=True)


@dataclass(frozen=True)
class Job:
    """A job as reported to its submitter."""

    id: str
    kind: str
    status: JobStatus
    submitted_by: str | None
    submitted_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    params: Mapping[str, Any]
    result: Any
    errors: Sequence[Mapping[str, Any]] | None


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _job(row: JobRow) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        status=JobStatus(row.status),
        submitted_by=row.submitted_by,
        submitted_at=_aware(row.submitted_at) or row.submitted_at,
        started_at=_aware(row.started_at),
        finished_at=_aware(row.finished_at),
        params=json.loads(row.params),
        result=json.loads(row.result) if row.result else None,
        errors=json.loads(row.errors) if row.errors else None,
    )


def submit_job(
    engine: Engine, *, kind: str, params: Mapping[str, Any], submitted_by: str | None
) -> Job:
    """Record a new job as queued and return it (the caller hands it to a worker)."""
    row = JobRow(
        id=str(uuid.uuid4()),
        kind=kind,
        status=JobStatus.QUEUED.value,
        submitted_by=submitted_by,
        submitted_at=_now(),
        params=json.dumps(dict(params), default=str, sort_keys=True),
    )
    with Session(engine, expire_on_commit=False) as session, session.begin():
        session.add(row)
    return _job(row)


def _set(engine: Engine, job_id: str, **values: Any) -> None:
    with Session(engine) as session, session.begin():
        session.execute(update(JobRow).where(JobRow.id == job_id).values(**values))


def mark_running(engine: Engine, job_id: str) -> None:
    _set(engine, job_id, status=JobStatus.RUNNING.value, started_at=_now())


def mark_succeeded(engine: Engine, job_id: str, result: Any) -> None:
    _set(
        engine,
        job_id,
        status=JobStatus.SUCCEEDED.value,
        finished_at=_now(),
        result=json.dumps(result, default=str),
    )


def mark_failed(engine: Engine, job_id: str, errors: Sequence[Mapping[str, Any]]) -> None:
    _set(
        engine,
        job_id,
        status=JobStatus.FAILED.value,
        finished_at=_now(),
        errors=json.dumps(list(errors), default=str),
    )


def get_job(engine: Engine, job_id: str) -> Job:
    """The job ``job_id``, or ``SERVICE_JOB_NOT_FOUND``."""
    with Session(engine) as session:
        row = session.get(JobRow, job_id)
        if row is None:
            raise DoseflowError(
                "SERVICE_JOB_NOT_FOUND",
                f"there is no job with id {job_id!r}",
                field="job_id",
                expected="the id returned when the job was submitted",
                value=job_id,
            )
        return _job(row)


def list_jobs(
    engine: Engine, *, kind: str | None = None, limit: int = 50, offset: int = 0
) -> list[Job]:
    """The most recent jobs, newest first (``limit`` after ``offset``)."""
    query = (
        select(JobRow)
        .order_by(JobRow.submitted_at.desc(), JobRow.id.desc())
        .offset(offset)
        .limit(max(1, min(limit, 1000)))
    )
    if kind:
        query = query.where(JobRow.kind == kind)
    with Session(engine) as session:
        return [_job(row) for row in session.scalars(query).all()]


def count_jobs(engine: Engine, *, kind: str | None = None) -> int:
    query = select(func.count()).select_from(JobRow)
    if kind:
        query = query.where(JobRow.kind == kind)
    with Session(engine) as session:
        return int(session.scalar(query) or 0)


def fail_abandoned_jobs(engine: Engine) -> int:
    """Mark jobs a stopped process left queued or running as failed; return how many."""
    abandoned = [
        {"code": "SERVICE_JOB_ABANDONED", "message": "the service stopped before the job finished"}
    ]
    with Session(engine) as session, session.begin():
        result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            update(JobRow)
            .where(JobRow.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]))
            .values(status=JobStatus.FAILED.value, finished_at=_now(), errors=json.dumps(abandoned))
        )
        return int(result.rowcount or 0)
