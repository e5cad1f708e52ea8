"""The background job queue (impact runs): jobs, their inputs, status and results, in the
database that every server process shares.

A job is stored with everything needed to run it (its kind and validated parameters, as
JSON), so whichever process has a free worker can run it, not only the one that accepted
it. Its life is a sequence of conditional updates, each one statement, so two processes can
never both believe they own a job:

- ``queued``: accepted, waiting (:func:`submit_job`, refused past the queue's bounds);
- ``running``: claimed by one worker (:func:`claim_next_job`: ``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL, so claimers pass over each other's rows instead of waiting; on SQLite the claim
  is one ``UPDATE`` and SQLite lets one writer at a time in). The claim records the worker
  (``claimed_by``: host, process id and a random tag) and starts ``attempts`` counting; the
  worker refreshes ``heartbeat_at`` while the job runs (:func:`beat`);
- ``succeeded`` or ``failed``: finished by the worker that holds the claim
  (:func:`finish_job`), and only by it: the update names the worker and the attempt, so a
  worker whose job was taken away cannot overwrite the new owner's outcome, and a finished
  job is never changed again. A success carries its result and no errors, a failure its
  errors and no result.

While it runs, a job may report its progress (:func:`set_progress`: the fraction done, 0 to
1, and a short message saying what it is doing), under the same condition as its end: only
the worker holding the claim writes it. A job that reports nothing has no progress (null);
a job re-queued or given back starts again from none.

A job whose heartbeat is older than the stale timeout lost its worker (the process died or
hung): :func:`recover_stale_jobs` puts it back in the queue once for another worker, and
marks it ``failed`` with ``SERVICE_JOB_ABANDONED`` if it is lost a second time. Only the
heartbeat decides: a job another live process is running keeps beating and is never
touched. Times are the database server's clock on PostgreSQL (processes on several hosts
agree on it) and the host's on SQLite (every process sharing a SQLite file is on one host).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    String,
    Text,
    and_,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from doseflow.domain.errors import DoseflowError
from doseflow.domain.limits import MAX_ACTIVE_JOBS, MAX_ACTIVE_JOBS_PER_USER
from doseflow.store.base import Base
from doseflow.store.service import _aware

#: Runs a job may start: the first, and one more after its worker died. A job that loses
#: its worker twice is more likely the cause (memory, a crash in native code) than the
#: victim, so it is failed rather than handed to a third process.
MAX_ATTEMPTS = 2

#: PostgreSQL advisory lock key held while a submission counts the queue and adds to it, so
#: two processes cannot both take the last place (``hash('doseflow.service_jobs')``, fixed).
_SUBMIT_LOCK_KEY = 0x646F_7365_6A6F_6273 & 0x7FFF_FFFF_FFFF_FFFF

ABANDONED = "SERVICE_JOB_ABANDONED"

#: The longest progress message stored (longer ones are cut, with an ellipsis).
PROGRESS_MESSAGE_LENGTH = 200


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


class JobRow(Base):
    __tablename__ = "service_jobs"
    __table_args__ = (Index("ix_service_jobs_status_submitted_at", "status", "submitted_at"),)

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
    claimed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    progress: Mapped[float | None] = mapped_column(Float, nullable=True)
    progress_message: Mapped[str | None] = mapped_column(
        String(PROGRESS_MESSAGE_LENGTH), nullable=True
    )


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
    claimed_by: str | None = None
    heartbeat_at: datetime | None = None
    attempts: int = 0
    #: Fraction done (0 to 1) as the job last reported it; ``None`` if it reported nothing.
    progress: float | None = None
    #: What the job said it was doing when it last reported progress.
    progress_message: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)


@dataclass(frozen=True)
class Claim:
    """One worker's hold on one run of a job: the job, who holds it and which attempt."""

    job: Job
    worker: str

    @property
    def attempt(self) -> int:
        return self.job.attempts


@dataclass(frozen=True)
class QueueLimits:
    """How many jobs may be queued or running at once: per submitting user, and in all."""

    per_user: int = MAX_ACTIVE_JOBS_PER_USER
    total: int = MAX_ACTIVE_JOBS
    #: What a refused submitter is told to wait before trying again (``Retry-After``).
    retry_after_seconds: int = 30


class JobQueueFull(DoseflowError):
    """A submission past the queue's bounds; says when to try again."""

    def __init__(self, code: str, message: str, *, limit: int, retry_after_seconds: int) -> None:
        super().__init__(
            code,
            message,
            field="job",
            expected=f"at most {limit} jobs queued or running; try again later",
            value=limit,
        )
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class Recovered:
    """What :func:`recover_stale_jobs` did: jobs put back in the queue, jobs failed."""

    requeued: tuple[str, ...]
    failed: tuple[str, ...]


def _now(session: Session) -> datetime:
    """The queue's clock: the database server's on PostgreSQL, the host's on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        moment = session.scalar(select(func.clock_timestamp()))
        assert isinstance(moment, datetime)
        return _aware(moment) or moment
    return datetime.now(UTC)


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
        claimed_by=row.claimed_by,
        heartbeat_at=_aware(row.heartbeat_at),
        attempts=int(row.attempts or 0),
        progress=row.progress,
        progress_message=row.progress_message,
    )


def _count_active(session: Session, submitted_by: str | None = None) -> int:
    query = select(func.count()).select_from(JobRow).where(JobRow.status.in_(ACTIVE))
    if submitted_by is not None:
        query = query.where(JobRow.submitted_by == submitted_by)
    return int(session.scalar(query) or 0)


def submit_job(
    engine: Engine,
    *,
    kind: str,
    params: Mapping[str, Any],
    submitted_by: str | None,
    limits: QueueLimits | None = None,
) -> Job:
    """Queue a job (``params`` already validated by its kind) and return it, or refuse it
    with :class:`JobQueueFull` when the submitter or the whole queue is at its bound.

    The count and the insert are one transaction that no other submission can interleave
    with: on SQLite the insert comes first and takes the single writer's lock; on PostgreSQL
    an advisory lock serialises submissions (claims and heartbeats do not wait for it)."""
    bounds = limits or QueueLimits()
    with Session(engine, expire_on_commit=False) as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SUBMIT_LOCK_KEY})
        row = JobRow(
            id=str(uuid.uuid4()),
            kind=kind,
            status=JobStatus.QUEUED.value,
            submitted_by=submitted_by,
            submitted_at=_now(session),
            params=json.dumps(dict(params), default=str, sort_keys=True),
            attempts=0,
        )
        session.add(row)
        session.flush()
        if submitted_by is not None and _count_active(session, submitted_by) > bounds.per_user:
            raise JobQueueFull(
                "SERVICE_JOB_LIMIT_REACHED",
                f"{submitted_by} already has {bounds.per_user} jobs queued or running; "
                "wait for one to finish",
                limit=bounds.per_user,
                retry_after_seconds=bounds.retry_after_seconds,
            )
        if _count_active(session) > bounds.total:
            raise JobQueueFull(
                "SERVICE_JOB_QUEUE_FULL",
                f"the job queue is full ({bounds.total} jobs queued or running); try again later",
                limit=bounds.total,
                retry_after_seconds=bounds.retry_after_seconds,
            )
    return _job(row)


def claim_next_job(engine: Engine, worker: str, kinds: Collection[str]) -> Claim | None:
    """Take the oldest queued job of one of ``kinds`` for ``worker``, or ``None``.

    One conditional ``UPDATE``: on PostgreSQL its subquery locks the chosen row ``FOR
    UPDATE SKIP LOCKED`` (a row another claimer holds is passed over, not waited for); on
    SQLite the statement holds the writer's lock from start to end. Either way the row is
    still ``queued`` when it is taken, so no job is claimed twice."""
    if not kinds:
        return None
    waiting = (
        select(JobRow.id)
        .where(JobRow.status == JobStatus.QUEUED.value, JobRow.kind.in_(list(kinds)))
        .limit(1)
    )
    with Session(engine) as session:
        # a plain read first: an idle worker polling an empty queue takes no write lock
        # (on SQLite that would stall behind, and hold up, every other writer)
        if session.scalar(waiting) is None:
            return None
    with Session(engine, expire_on_commit=False) as session, session.begin():
        now = _now(session)
        oldest = (
            select(JobRow.id)
            .where(JobRow.status == JobStatus.QUEUED.value, JobRow.kind.in_(list(kinds)))
            .order_by(JobRow.submitted_at, JobRow.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        claimed = session.execute(
            update(JobRow)
            .where(JobRow.id == oldest, JobRow.status == JobStatus.QUEUED.value)
            .values(
                status=JobStatus.RUNNING.value,
                claimed_by=worker,
                started_at=now,
                heartbeat_at=now,
                attempts=JobRow.attempts + 1,
            )
            .returning(JobRow.id)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if claimed is None:
            return None
        row = session.get(JobRow, claimed, populate_existing=True)
        assert row is not None
        return Claim(_job(row), worker)


def _held(claim: Claim) -> Any:
    """The condition that ``claim`` still holds its job: running, by this worker, this run."""
    return and_(
        JobRow.id == claim.job.id,
        JobRow.status == JobStatus.RUNNING.value,
        JobRow.claimed_by == claim.worker,
        JobRow.attempts == claim.attempt,
    )


def beat(engine: Engine, claims: Sequence[Claim]) -> list[Claim]:
    """Refresh the heartbeat of each claim; returns the claims that were lost (their job
    was recovered by another process after a stall, and will be run or failed there)."""
    lost: list[Claim] = []
    if not claims:
        return lost
    with Session(engine) as session, session.begin():
        now = _now(session)
        for claim in claims:
            done = session.execute(
                update(JobRow)
                .where(_held(claim))
                .values(heartbeat_at=now)
                .execution_options(synchronize_session=False)
            )
            if not done.rowcount:  # type: ignore[attr-defined]
                lost.append(claim)
    return lost


def finish_job(
    engine: Engine,
    claim: Claim,
    *,
    result: Any = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
) -> bool:
    """End the claimed run: ``succeeded`` with ``result``, or ``failed`` with ``errors``.
    Returns ``False`` (and changes nothing) if the claim no longer holds the job."""
    failed = errors is not None
    with Session(engine) as session, session.begin():
        now = _now(session)
        done = session.execute(
            update(JobRow)
            .where(_held(claim))
            .values(
                status=(JobStatus.FAILED if failed else JobStatus.SUCCEEDED).value,
                finished_at=now,
                heartbeat_at=now,
                result=None if failed else json.dumps(result, default=str),
                errors=json.dumps(list(errors), default=str) if errors is not None else None,
                **({} if failed else {"progress": 1.0}),
            )
            .execution_options(synchronize_session=False)
        )
        return bool(done.rowcount)  # type: ignore[attr-defined]


def set_progress(engine: Engine, claim: Claim, fraction: float, message: str) -> bool:
    """Record how far the claimed run has got: ``fraction`` (clamped to 0..1) and
    ``message``. Returns ``False`` (and changes nothing) if the claim no longer holds the
    job, so a worker that lost its job cannot report over the new owner."""
    done_fraction = min(1.0, max(0.0, float(fraction)))
    if len(message) > PROGRESS_MESSAGE_LENGTH:
        message = message[: PROGRESS_MESSAGE_LENGTH - 1] + "\u2026"
    with Session(engine) as session, session.begin():
        done = session.execute(
            update(JobRow)
            .where(_held(claim))
            .values(progress=done_fraction, progress_message=message)
            .execution_options(synchronize_session=False)
        )
        return bool(done.rowcount)  # type: ignore[attr-defined]


def release_job(engine: Engine, claim: Claim) -> bool:
    """Give a job back to the queue unfinished (this process is stopping): another worker
    takes it at once, and the run given back does not count as an attempt."""
    with Session(engine) as session, session.begin():
        done = session.execute(
            update(JobRow)
            .where(_held(claim))
            .values(
                status=JobStatus.QUEUED.value,
                claimed_by=None,
                heartbeat_at=None,
                started_at=None,
                attempts=JobRow.attempts - 1,
                progress=None,
                progress_message=None,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(done.rowcount)  # type: ignore[attr-defined]


def recover_stale_jobs(
    engine: Engine, stale_after: timedelta, *, max_attempts: int = MAX_ATTEMPTS
) -> Recovered:
    """Jobs ``running`` whose heartbeat is older than ``stale_after`` lost their worker: put
    back in the queue those with attempts left, fail the others (``SERVICE_JOB_ABANDONED``).
    Any process may call this at any time; each update re-checks the job's state."""
    abandoned = json.dumps(
        [
            {
                "code": ABANDONED,
                "message": f"the worker running this job stopped sending heartbeats "
                f"(for more than {stale_after.total_seconds():g} s) {max_attempts} times",
            }
        ]
    )
    with Session(engine) as session, session.begin():
        now = _now(session)
        stale = and_(
            JobRow.status == JobStatus.RUNNING.value,
            JobRow.heartbeat_at < now - stale_after,
        )
        if session.scalar(select(JobRow.id).where(stale).limit(1)) is None:
            return Recovered((), ())  # the usual case: read only, no write lock taken
        requeued = session.scalars(
            update(JobRow)
            .where(stale, JobRow.attempts < max_attempts)
            .values(
                status=JobStatus.QUEUED.value,
                claimed_by=None,
                heartbeat_at=None,
                started_at=None,
                progress=None,
                progress_message=None,
            )
            .returning(JobRow.id)
            .execution_options(synchronize_session=False)
        ).all()
        failed = session.scalars(
            update(JobRow)
            .where(stale, JobRow.attempts >= max_attempts)
            .values(status=JobStatus.FAILED.value, finished_at=now, result=None, errors=abandoned)
            .returning(JobRow.id)
            .execution_options(synchronize_session=False)
        ).all()
    return Recovered(tuple(requeued), tuple(failed))


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


#: Columns a list of jobs can be sorted by (then by submission and id, the same way).
JOB_SORTS = ("submitted", "status", "by")


def _jobs_where(
    query: Any, kind: str | None, status: JobStatus | None, submitted_by: str | None
) -> Any:
    if kind:
        query = query.where(JobRow.kind == kind)
    if status is not None:
        query = query.where(JobRow.status == status.value)
    if submitted_by:
        query = query.where(JobRow.submitted_by == submitted_by)
    return query


def list_jobs(
    engine: Engine,
    *,
    kind: str | None = None,
    limit: int | None = 50,
    offset: int = 0,
    status: JobStatus | None = None,
    submitted_by: str | None = None,
    sort: str = "submitted",
    descending: bool = True,
) -> list[Job]:
    """The jobs of ``kind`` (and ``status``, ``submitted_by``) newest first, or by one of
    :data:`JOB_SORTS` (``descending`` or not): ``limit`` (1 to 1,000; None: every one)
    after ``offset``, filtered, sorted and cut by the database."""
    first = {
        "submitted": JobRow.submitted_at,
        "status": JobRow.status,
        "by": JobRow.submitted_by,
    }[sort]
    order = [first, JobRow.submitted_at, JobRow.id]
    query = select(JobRow).order_by(*(c.desc() if descending else c for c in order))
    query = _jobs_where(query, kind, status, submitted_by).offset(offset)
    if limit is not None:
        query = query.limit(max(1, min(limit, 1000)))
    with Session(engine) as session:
        return [_job(row) for row in session.scalars(query).all()]


def count_jobs(
    engine: Engine,
    *,
    kind: str | None = None,
    status: JobStatus | None = None,
    submitted_by: str | None = None,
) -> int:
    """How many jobs :func:`list_jobs` pages through (of ``kind``, ``status``,
    ``submitted_by``, or all)."""
    query = _jobs_where(select(func.count()).select_from(JobRow), kind, status, submitted_by)
    with Session(engine) as session:
        return int(session.scalar(query) or 0)


def count_active_jobs(engine: Engine, submitted_by: str | None = None) -> int:
    """Jobs queued or running (of ``submitted_by``, or everyone's)."""
    with Session(engine) as session:
        return _count_active(session, submitted_by)
