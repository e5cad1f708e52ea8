"""Background jobs: status recorded in the store, failures kept with their error codes."""

from __future__ import annotations

import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.service.jobs import JobRunner
from doseflow.store.database import open_database
from doseflow.store.service_jobs import (
    JobStatus,
    fail_abandoned_jobs,
    get_job,
    list_jobs,
    submit_job,
)


def test_a_job_runs_and_its_result_is_stored(fresh_sqlite: str) -> None:
    engine = open_database(fresh_sqlite)
    runner = JobRunner(engine)
    job = runner.submit("impact", {"days": 3}, lambda: {"averted": 12}, submitted_by="a")
    runner.wait(job.id, timeout=10)
    done = get_job(engine, job.id)
    assert done.status is JobStatus.SUCCEEDED
    assert done.result == {"averted": 12}
    assert done.params == {"days": 3}
    assert done.started_at is not None
    assert done.finished_at is not None
    runner.shutdown()


def test_a_failing_job_keeps_its_error_code(fresh_sqlite: str) -> None:
    engine = open_database(fresh_sqlite)
    runner = JobRunner(engine)

    def bad() -> None:
        raise DoseflowError("IMPACT_BAD_THING", "it went wrong", value=3)

    def crash() -> None:
        raise RuntimeError("boom")

    first = runner.submit("impact", {}, bad, submitted_by=None)
    second = runner.submit("impact", {}, crash, submitted_by=None)
    runner.wait(first.id, timeout=10)
    runner.wait(second.id, timeout=10)
    failed = get_job(engine, first.id)
    assert failed.status is JobStatus.FAILED
    assert failed.errors is not None
    assert failed.errors[0]["code"] == "IMPACT_BAD_THING"
    crashed = get_job(engine, second.id)
    assert crashed.errors is not None
    assert crashed.errors[0]["code"] == "SERVICE_JOB_CRASHED"
    assert [j.id for j in list_jobs(engine, kind="impact")] == [second.id, first.id]
    runner.shutdown()


def test_jobs_left_running_by_a_stopped_service_are_failed(fresh_sqlite: str) -> None:
    engine = open_database(fresh_sqlite)
    job = submit_job(engine, kind="impact", params={}, submitted_by=None)
    assert fail_abandoned_jobs(engine) == 1
    abandoned = get_job(engine, job.id)
    assert abandoned.status is JobStatus.FAILED
    assert abandoned.errors is not None
    assert abandoned.errors[0]["code"] == "SERVICE_JOB_ABANDONED"


def test_unknown_job() -> None:
    engine = open_database("sqlite://")
    with pytest.raises(DoseflowError) as caught:
        get_job(engine, "nope")
    assert caught.value.code == "SERVICE_JOB_NOT_FOUND"
    assert "no job with id 'nope'" in caught.value.detail.message
    assert caught.value.detail.value == "nope"
