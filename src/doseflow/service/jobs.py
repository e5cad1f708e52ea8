"""Background jobs: long computations (impact runs) run off the request, their status stored.

A request submits a job and gets its id at once (202); the work runs on a small worker pool
in this process and its status, result or errors go to the ``service_jobs`` table, where any
request can read them. One worker by default: the machines this runs on are small and an
impact run already uses the cores it needs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine

from doseflow.domain.errors import DoseflowError
from doseflow.store.service_jobs import (
    Job,
    fail_abandoned_jobs,
    mark_failed,
    mark_running,
    mark_succeeded,
    submit_job,
)

log = logging.getLogger(__name__)


class JobRunner:
    """Runs submitted work on a thread pool and records each job's fate in the store."""

    def __init__(self, engine: Engine, workers: int = 1) -> None:
        self.engine = engine
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="doseflow-job")
        self.futures: dict[str, Future[None]] = {}
        fail_abandoned_jobs(engine)

    def submit(
        self,
        kind: str,
        params: Mapping[str, Any],
        work: Callable[[], Any],
        *,
        submitted_by: str | None,
    ) -> Job:
        """Queue ``work`` (returns a JSON-ready result) and return the queued job."""
        job = submit_job(self.engine, kind=kind, params=params, submitted_by=submitted_by)
        self.futures[job.id] = self._pool.submit(self._run, job.id, work)
        return job

    def _run(self, job_id: str, work: Callable[[], Any]) -> None:
        mark_running(self.engine, job_id)
        try:
            result = work()
        except DoseflowError as err:
            mark_failed(self.engine, job_id, [d.to_dict() for d in err.details])
        except Exception as exc:  # a crash must still end the job, not leave it "running"
            log.exception("job %s crashed", job_id)
            mark_failed(
                self.engine,
                job_id,
                [{"code": "SERVICE_JOB_CRASHED", "message": f"{type(exc).__name__}: {exc}"}],
            )
        else:
            mark_succeeded(self.engine, job_id, result)
        finally:
            self.futures.pop(job_id, None)

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Block until ``job_id`` has finished (tests and the CLI use this)."""
        future = self.futures.get(job_id)
        if future is not None:
            future.result(timeout=timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
