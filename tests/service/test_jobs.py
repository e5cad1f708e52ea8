"""The job queue shared by server processes: submission with bounds, claims, heartbeats,
recovery of jobs whose worker died, conditional finishes; on SQLite and PostgreSQL.

Several runners on one database stand for several server processes: each has its own
worker name, threads and connections, exactly as a process would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from doseflow.domain.errors import DoseflowError
from doseflow.service.jobs import JobKind, JobRunner, JobSettings
from doseflow.store.database import open_database
from doseflow.store.service_jobs import (
    JobQueueFull,
    JobRow,
    JobStatus,
    QueueLimits,
    beat,
    claim_next_job,
    count_active_jobs,
    finish_job,
    get_job,
    list_jobs,
    recover_stale_jobs,
    submit_job,
)

FAST = JobSettings(poll_seconds=0.05, heartbeat_seconds=0.1, stale_seconds=0.6)


def _checked(_engine: Engine, params: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(params.get("n"), int):
        raise DoseflowError("TEST_BAD_N", "n must be a whole number", field="n", value=params)
    return {"n": params["n"]}


def _echo(_engine: Engine, params: Mapping[str, Any]) -> Any:
    time.sleep(float(params.get("sleep", 0)))
    if params["n"] == -1:
        raise DoseflowError("TEST_BAD_THING", "it went wrong", value=3)
    if params["n"] == -2:
        raise RuntimeError("boom")
    return {"doubled": 2 * params["n"]}


def _sleepy(_engine: Engine, params: Mapping[str, Any]) -> dict[str, Any]:
    return {"n": params["n"], "sleep": params.get("sleep", 0)}


KINDS = {
    "echo": JobKind("echo", _checked, _echo),
    "slow-echo": JobKind("slow-echo", _sleepy, _echo),
}


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    the_engine = open_database(db_url)
    yield the_engine
    the_engine.dispose()


@pytest.fixture
def runners(engine: Engine) -> Iterator[list[JobRunner]]:
    made: list[JobRunner] = []
    yield made
    for runner in made:
        runner.shutdown()


def _runner(made: list[JobRunner], engine: Engine, settings: JobSettings = FAST) -> JobRunner:
    runner = JobRunner(engine, KINDS, settings)
    made.append(runner)
    return runner


def _age(engine: Engine, job_id: str, seconds: float) -> None:
    """Make a running job's last heartbeat ``seconds`` old (its worker went silent)."""
    with Session(engine) as session, session.begin():
        session.execute(
            update(JobRow)
            .where(JobRow.id == job_id)
            .values(heartbeat_at=datetime.now(UTC) - timedelta(seconds=seconds))
        )


def test_a_job_runs_and_its_result_is_stored(engine: Engine, runners: list[JobRunner]) -> None:
    runner = _runner(runners, engine)
    job = runner.submit("echo", {"n": 21}, submitted_by="a")
    assert job.status is JobStatus.QUEUED
    done = runner.wait(job.id, timeout=20)
    assert done.status is JobStatus.SUCCEEDED
    assert done.result == {"doubled": 42}
    assert done.errors is None
    assert done.params == {"n": 21}
    assert done.attempts == 1
    assert done.claimed_by == runner.worker
    assert done.started_at is not None
    assert done.finished_at is not None


def test_a_failing_job_keeps_its_error_code(engine: Engine, runners: list[JobRunner]) -> None:
    runner = _runner(runners, engine)
    first = runner.submit("echo", {"n": -1}, submitted_by=None)
    second = runner.submit("echo", {"n": -2}, submitted_by=None)
    failed = runner.wait(first.id, timeout=20)
    assert failed.status is JobStatus.FAILED
    assert failed.errors is not None
    assert failed.errors[0]["code"] == "TEST_BAD_THING"
    assert failed.result is None
    crashed = runner.wait(second.id, timeout=20)
    assert crashed.errors is not None
    assert crashed.errors[0]["code"] == "SERVICE_JOB_CRASHED"
    assert "RuntimeError: boom" in crashed.errors[0]["message"]
    assert [j.id for j in list_jobs(engine, kind="echo")] == [second.id, first.id]


def test_bad_parameters_and_unknown_kinds_are_refused_before_anything_is_queued(
    engine: Engine, runners: list[JobRunner]
) -> None:
    runner = _runner(runners, engine)
    with pytest.raises(DoseflowError) as bad:
        runner.submit("echo", {"n": "twelve"}, submitted_by="a")
    assert bad.value.code == "TEST_BAD_N"
    with pytest.raises(DoseflowError) as unknown:
        runner.submit("no-such-kind", {}, submitted_by="a")
    assert unknown.value.code == "SERVICE_JOB_UNKNOWN_KIND"
    assert unknown.value.detail.expected == "one of echo, slow-echo"
    assert list_jobs(engine) == []


def test_jobs_are_claimed_oldest_first_once_and_only_of_known_kinds(engine: Engine) -> None:
    ids = [submit_job(engine, kind="echo", params={"n": n}, submitted_by=None).id for n in (1, 2)]
    other = submit_job(engine, kind="other", params={}, submitted_by=None)
    a = claim_next_job(engine, "worker-a", {"echo"})
    b = claim_next_job(engine, "worker-b", {"echo"})
    assert a is not None
    assert b is not None
    assert [a.job.id, b.job.id] == ids
    assert (a.job.status, a.job.claimed_by, a.attempt) == (JobStatus.RUNNING, "worker-a", 1)
    assert a.job.heartbeat_at is not None
    assert claim_next_job(engine, "worker-c", {"echo"}) is None
    assert claim_next_job(engine, "worker-c", set()) is None
    assert get_job(engine, other.id).status is JobStatus.QUEUED


def test_concurrent_claimers_never_take_a_job_twice(engine: Engine) -> None:
    roomy = QueueLimits(total=100)
    ids = {
        submit_job(engine, kind="echo", params={}, submitted_by=None, limits=roomy).id
        for _ in range(24)
    }
    taken: dict[str, list[str]] = {}
    start = threading.Barrier(4)

    def claimer(name: str) -> None:
        start.wait()
        mine = taken.setdefault(name, [])
        while (claim := claim_next_job(engine, name, {"echo"})) is not None:
            mine.append(claim.job.id)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    claimed = [job_id for jobs in taken.values() for job_id in jobs]
    assert sorted(claimed) == sorted(ids)  # every job once, none twice
    for name, jobs in taken.items():
        for job_id in jobs:
            assert get_job(engine, job_id).claimed_by == name


def test_a_finished_job_is_never_changed_again(engine: Engine) -> None:
    job = submit_job(engine, kind="echo", params={}, submitted_by=None)
    claim = claim_next_job(engine, "w", {"echo"})
    assert claim is not None
    assert finish_job(engine, claim, errors=[{"code": "X", "message": "no"}])
    # the same worker (or a confused one) cannot turn the failure into a success
    assert not finish_job(engine, claim, result={"ok": True})
    failed = get_job(engine, job.id)
    assert failed.status is JobStatus.FAILED
    assert failed.result is None
    assert failed.errors == [{"code": "X", "message": "no"}]
    assert recover_stale_jobs(engine, timedelta(seconds=0)).requeued == ()


def test_a_stale_job_is_requeued_once_then_failed_and_the_lost_worker_cannot_finish_it(
    engine: Engine,
) -> None:
    job = submit_job(engine, kind="echo", params={}, submitted_by=None)
    live = submit_job(engine, kind="echo", params={}, submitted_by=None)
    first = claim_next_job(engine, "dead-worker", {"echo"})
    alive = claim_next_job(engine, "live-worker", {"echo"})
    assert first is not None
    assert alive is not None
    assert (first.job.id, alive.job.id) == (job.id, live.id)
    _age(engine, job.id, 120)
    recovered = recover_stale_jobs(engine, timedelta(seconds=60))
    assert recovered.requeued == (job.id,)
    assert recovered.failed == ()
    requeued = get_job(engine, job.id)
    assert (requeued.status, requeued.claimed_by, requeued.attempts) == (JobStatus.QUEUED, None, 1)
    assert get_job(engine, live.id).status is JobStatus.RUNNING  # its heartbeat is fresh
    # the silent worker comes back: it has lost the job and cannot record an outcome
    assert beat(engine, [first]) == [first]
    assert not finish_job(engine, first, result={"stale": True})
    second = claim_next_job(engine, "second-worker", {"echo"})
    assert second is not None
    assert (second.job.id, second.attempt) == (job.id, 2)
    assert beat(engine, [second, alive]) == []
    _age(engine, job.id, 120)
    recovered = recover_stale_jobs(engine, timedelta(seconds=60))
    assert (recovered.requeued, recovered.failed) == ((), (job.id,))
    abandoned = get_job(engine, job.id)
    assert abandoned.status is JobStatus.FAILED
    assert abandoned.errors is not None
    assert abandoned.errors[0]["code"] == "SERVICE_JOB_ABANDONED"
    assert not finish_job(engine, second, result={"late": True})
    assert get_job(engine, job.id).status is JobStatus.FAILED
    assert finish_job(engine, alive, result={"fine": True})
    assert get_job(engine, live.id).errors is None


def test_a_long_job_with_a_live_worker_is_never_taken_from_it(
    engine: Engine, runners: list[JobRunner]
) -> None:
    """The job runs for several stale timeouts while another process recovers stale jobs
    every heartbeat: its heartbeats keep it, it runs once and succeeds."""
    worker = _runner(runners, engine)
    other = _runner(
        runners, engine, JobSettings(threads=0, heartbeat_seconds=0.1, stale_seconds=0.6)
    )
    other.start()
    job = worker.submit("slow-echo", {"n": 5, "sleep": 2.0}, submitted_by=None)
    done = worker.wait(job.id, timeout=30)
    assert done.status is JobStatus.SUCCEEDED
    assert done.attempts == 1
    assert done.claimed_by == worker.worker
    assert done.errors is None


def test_a_job_whose_worker_died_is_run_by_another(
    engine: Engine, runners: list[JobRunner]
) -> None:
    job = submit_job(engine, kind="echo", params={"n": 4}, submitted_by="a")
    dead = claim_next_job(engine, "dead-worker", {"echo"})
    assert dead is not None
    survivor = _runner(runners, engine)
    survivor.start()
    time.sleep(0.2)
    assert get_job(engine, job.id).claimed_by == "dead-worker"  # not stale yet: left alone
    done = survivor.wait(job.id, timeout=30)
    assert done.status is JobStatus.SUCCEEDED
    assert done.result == {"doubled": 8}
    assert done.attempts == 2
    assert done.claimed_by == survivor.worker


def test_the_queue_is_bounded_per_user_and_in_all(engine: Engine) -> None:
    limits = QueueLimits(per_user=2, total=3, retry_after_seconds=17)
    for user in ("ana", "ana", "ben"):
        submit_job(engine, kind="echo", params={}, submitted_by=user, limits=limits)
    with pytest.raises(JobQueueFull) as mine:
        submit_job(engine, kind="echo", params={}, submitted_by="ana", limits=limits)
    assert mine.value.code == "SERVICE_JOB_LIMIT_REACHED"
    assert mine.value.retry_after_seconds == 17
    with pytest.raises(JobQueueFull) as full:
        submit_job(engine, kind="echo", params={}, submitted_by="cyd", limits=limits)
    assert full.value.code == "SERVICE_JOB_QUEUE_FULL"
    assert "3 jobs queued or running" in full.value.detail.message
    assert count_active_jobs(engine) == 3  # the refused ones left nothing behind
    assert count_active_jobs(engine, "ana") == 2
    claim = claim_next_job(engine, "w", {"echo"})
    assert claim is not None
    assert finish_job(engine, claim, result=None)  # a finished job frees its place
    submit_job(engine, kind="echo", params={}, submitted_by="cyd", limits=limits)
    assert count_active_jobs(engine) == 3


def test_concurrent_submissions_never_pass_the_bound(engine: Engine) -> None:
    limits = QueueLimits(per_user=100, total=5)
    start = threading.Barrier(10)
    outcomes: list[str] = []

    def submitter(n: int) -> None:
        start.wait()
        try:
            submit_job(engine, kind="echo", params={}, submitted_by=f"u{n}", limits=limits)
            outcomes.append("queued")
        except JobQueueFull as err:
            outcomes.append(err.code)

    threads = [threading.Thread(target=submitter, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["SERVICE_JOB_QUEUE_FULL"] * 5 + ["queued"] * 5
    assert count_active_jobs(engine) == 5


def test_shutdown_gives_unfinished_jobs_back_to_the_queue(
    engine: Engine, runners: list[JobRunner]
) -> None:
    settings = JobSettings(
        poll_seconds=0.05, heartbeat_seconds=0.1, stale_seconds=0.6, shutdown_grace_seconds=0.2
    )
    runner = JobRunner(engine, KINDS, settings)
    job = runner.submit("slow-echo", {"n": 1, "sleep": 1.5}, submitted_by=None)
    deadline = time.monotonic() + 10
    while get_job(engine, job.id).status is not JobStatus.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    runner.shutdown()
    released = get_job(engine, job.id)
    assert (released.status, released.claimed_by, released.attempts) == (
        JobStatus.QUEUED,
        None,
        0,
    )
    other = _runner(runners, engine)
    other.start()
    finished = other.wait(job.id, timeout=30)
    assert finished.status is JobStatus.SUCCEEDED
    assert finished.attempts == 1
    time.sleep(1.6)  # the first runner's thread ends its run: its outcome is dropped
    assert get_job(engine, job.id).claimed_by == other.worker


def test_settings_come_from_the_environment_and_bad_ones_are_refused() -> None:
    settings = JobSettings.from_environment(
        {
            "DOSEFLOW_JOB_THREADS": "3",
            "DOSEFLOW_JOB_HEARTBEAT_SECONDS": "2",
            "DOSEFLOW_JOB_STALE_SECONDS": "6.5",
            "DOSEFLOW_JOB_MAX_PER_USER": "4",
            "DOSEFLOW_JOB_SHUTDOWN_GRACE_SECONDS": "12",
        }
    )
    assert (settings.threads, settings.heartbeat_seconds, settings.stale_seconds) == (3, 2, 6.5)
    assert settings.shutdown_grace_seconds == 12
    assert (settings.limits.per_user, settings.limits.total) == (4, 20)
    assert JobSettings.from_environment({}) == JobSettings()
    with pytest.raises(DoseflowError) as word:
        JobSettings.from_environment({"DOSEFLOW_JOB_THREADS": "many"})
    assert word.value.code == "SERVICE_BAD_SETTING"
    assert word.value.detail.location.field == "DOSEFLOW_JOB_THREADS"
    with pytest.raises(DoseflowError) as close:
        JobSettings(heartbeat_seconds=10, stale_seconds=15)
    assert close.value.code == "SERVICE_BAD_SETTING"
    assert close.value.detail.location.field == "stale_seconds"


def test_unknown_job() -> None:
    engine = open_database("sqlite://")
    with pytest.raises(DoseflowError) as caught:
        get_job(engine, "nope")
    assert caught.value.code == "SERVICE_JOB_NOT_FOUND"
    assert "no job with id 'nope'" in caught.value.detail.message
    assert caught.value.detail.value == "nope"
