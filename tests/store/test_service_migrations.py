"""Service schema migrations: a database written by the service_0001 schema upgrades to the
shared job queue with its jobs intact (queued ones runnable, running ones recoverable, a
success's stale error dropped), downgrades again, and matches the tables the code
describes; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from doseflow.store.base import Base
from doseflow.store.database import alembic_config, make_engine, migrate
from doseflow.store.service_jobs import (
    JobStatus,
    claim_next_job,
    get_job,
    recover_stale_jobs,
)

_ABANDONED = json.dumps([{"code": "SERVICE_JOB_ABANDONED", "message": "stopped"}])
_LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def _old_service(url: str) -> Engine:
    """A database at service_0001 holding one job in each state, the succeeded one with the
    error the earlier code left on it (issue 11)."""
    engine = make_engine(url)
    command.upgrade(alembic_config(engine), "service_0001")
    rows = [
        ("q", "queued", None, None, None),
        ("r", "running", _LONG_AGO, None, None),
        ("s", "succeeded", _LONG_AGO, '{"ok": 1}', _ABANDONED),
        ("f", "failed", _LONG_AGO, None, _ABANDONED),
    ]
    with engine.begin() as conn:
        for job_id, status, started, result, errors in rows:
            conn.execute(
                text(
                    "INSERT INTO service_jobs (id, kind, status, submitted_by, submitted_at, "
                    "started_at, finished_at, params, result, errors) VALUES (:id, 'impact', "
                    ":status, 'ana', :at, :started, NULL, '{\"round\": 1}', :result, :errors)"
                ),
                {
                    "id": job_id,
                    "status": status,
                    "at": _LONG_AGO,
                    "started": started,
                    "result": result,
                    "errors": errors,
                },
            )
    return engine


def test_upgrade_from_0001_keeps_jobs_and_makes_them_workable(db_url: str) -> None:
    engine = _old_service(db_url)
    migrate(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("service_jobs")}
    assert {"claimed_by", "heartbeat_at", "attempts"} <= columns
    succeeded = get_job(engine, "s")
    assert (succeeded.status, succeeded.result, succeeded.errors) == (
        JobStatus.SUCCEEDED,
        {"ok": 1},
        None,
    )
    failed = get_job(engine, "f")
    assert failed.errors is not None
    assert failed.errors[0]["code"] == "SERVICE_JOB_ABANDONED"
    running = get_job(engine, "r")
    assert (running.attempts, running.heartbeat_at) == (1, _LONG_AGO)
    # the running job's server is gone: it is stale, so it goes back to the queue
    assert recover_stale_jobs(engine, timedelta(seconds=60)).requeued == ("r",)
    first = claim_next_job(engine, "w", {"impact"})
    second = claim_next_job(engine, "w", {"impact"})
    assert first is not None
    assert second is not None
    assert {first.job.id, second.job.id} == {"q", "r"}
    assert first.job.params == {"round": 1}
    assert sorted([first.attempt, second.attempt]) == [1, 2]
    engine.dispose()


def test_downgrade_and_upgrade_again(db_url: str) -> None:
    engine = _old_service(db_url)
    migrate(engine)
    command.downgrade(alembic_config(engine), "service_0001")
    columns = {c["name"] for c in inspect(engine).get_columns("service_jobs")}
    assert not {"claimed_by", "heartbeat_at", "attempts"} & columns
    indexes = {i["name"] for i in inspect(engine).get_indexes("service_jobs")}
    assert "ix_service_jobs_status_submitted_at" not in indexes
    with engine.connect() as conn:
        statuses = dict(conn.execute(text("SELECT id, status FROM service_jobs")).all())
    assert statuses == {"q": "queued", "r": "running", "s": "succeeded", "f": "failed"}
    migrate(engine)
    assert get_job(engine, "q").attempts == 0
    engine.dispose()


def test_migrated_service_jobs_table_is_the_one_the_code_describes(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diffs if "service_jobs" in repr(d)]
    assert ours == []
    engine.dispose()
