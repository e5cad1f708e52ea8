"""Background jobs: long computations (impact runs) run off the request, through the queue in
the database (:mod:`doseflow.store.service_jobs`) that every server process shares.

A request submits a job: its kind checks the parameters first (an unknown scenario or round
is refused there, with its code, never accepted and crashed later), the queue's bounds are
applied, and the job is stored with its kind and parameters and answered 202 at once. Each
server process has a :class:`JobRunner`: ``threads`` worker threads that claim queued jobs
of the kinds it knows (whichever process accepted them) and run them, and one keeper
thread that refreshes the heartbeat of the jobs this process is running and recovers jobs
whose worker died (heartbeat older than ``stale_seconds``: re-queued once, then failed with
``SERVICE_JOB_ABANDONED``). A job kind is a :class:`JobKind`: a name, a function checking
parameters at submission and a function running them; the kinds the service offers are in
:mod:`doseflow.service.job_kinds`. Jobs must be safe to run again (impact runs compute and
store nothing), because a job whose worker died is run again by another.

A running job reports how far it has got by calling :func:`report_progress` (fraction done
and a message) from its worker thread; the runner stores it with the job (at most every
``PROGRESS_INTERVAL_SECONDS``, and always the first and the last report) so the status
endpoint and the dashboard show it while the job runs. Outside a job the call does nothing,
so the same code runs from the command line.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from doseflow.domain.errors import DoseflowError
from doseflow.domain.progress import Progress
from doseflow.store.job_settings import JobSettings
from doseflow.store.service_jobs import (
    Claim,
    Job,
    beat,
    claim_next_job,
    finish_job,
    get_job,
    recover_stale_jobs,
    release_job,
    set_progress,
    submit_job,
)

log = logging.getLogger(__name__)

__all__ = ["JobKind", "JobRunner", "JobSettings", "report_progress", "worker_name"]

#: Progress reports closer together than this are not stored (the first and last always are).
PROGRESS_INTERVAL_SECONDS = 0.5

_current = threading.local()

#: Checks and normalises a job's parameters at submission (raises ``DoseflowError``); what
#: it returns is stored and later given to the run function, in any process.
Prepare = Callable[[Engine, Mapping[str, Any]], dict[str, Any]]
#: Runs a job: its parameters in, a JSON-ready result out (a ``DoseflowError`` fails it).
Run = Callable[[Engine, Mapping[str, Any]], Any]


@dataclass(frozen=True)
class JobKind:
    """One kind of background work: checked when submitted, run by any process."""

    name: str
    prepare: Prepare
    run: Run


def report_progress(fraction: float, message: str) -> None:
    """Tell whoever watches the job running on this thread how far it has got (``fraction``
    of the work done, 0 to 1, and what it is doing); nothing if no job runs on this thread."""
    reporter: Progress | None = getattr(_current, "reporter", None)
    if reporter is not None:
        reporter(fraction, message)


class _Reporter:
    """Stores one claimed run's progress, at most every ``PROGRESS_INTERVAL_SECONDS``."""

    def __init__(self, engine: Engine, claim: Claim) -> None:
        self.engine = engine
        self.claim = claim
        self.last: float | None = None

    def __call__(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        due = self.last is None or now - self.last >= PROGRESS_INTERVAL_SECONDS
        if not due and fraction < 1.0:
            return
        self.last = now
        try:
            set_progress(self.engine, self.claim, fraction, message)
        except Exception:  # progress is for show: a failed write must not fail the job
            log.exception("recording the progress of job %s failed", self.claim.job.id)


def worker_name() -> str:
    """Who claims a job: host, process id and a random tag (a restarted process, or one in
    a container where every process id is 1, is still told apart)."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobRunner:
    """This process's part in the shared queue: submits jobs, and runs queued ones."""

    def __init__(
        self,
        engine: Engine,
        kinds: Mapping[str, JobKind],
        settings: JobSettings | None = None,
    ) -> None:
        self.engine = engine
        self.kinds = dict(kinds)
        self.settings = settings or JobSettings()
        self.worker = worker_name()
        self._running: dict[str, Claim] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- submitting -------------------------------------------------------------------------

    def submit(self, kind: str, params: Mapping[str, Any], *, submitted_by: str | None) -> Job:
        """Check ``params`` with the kind's own checks, apply the queue's bounds and queue
        the job; raises ``DoseflowError`` (nothing queued) if any of that refuses it."""
        the_kind = self.kinds.get(kind)
        if the_kind is None:
            raise DoseflowError(
                "SERVICE_JOB_UNKNOWN_KIND",
                f"there is no kind of job called {kind!r}",
                field="kind",
                expected="one of " + ", ".join(sorted(self.kinds)),
                value=kind,
            )
        prepared = the_kind.prepare(self.engine, params)
        job = submit_job(
            self.engine,
            kind=kind,
            params=prepared,
            submitted_by=submitted_by,
            limits=self.settings.limits,
        )
        self.start()
        self._wake.set()
        return job

    def wait(self, job_id: str, timeout: float = 60.0) -> Job:
        """Block until ``job_id`` has finished, whichever process runs it (tests, CLI)."""
        deadline = time.monotonic() + timeout
        while True:
            job = get_job(self.engine, job_id)
            if job.finished:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is still {job.status.value} after {timeout} s")
            time.sleep(0.05)

    # --- running ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker and keeper threads (once; the app's startup calls this, and so
        does the first submission if the app was never started)."""
        with self._lock:
            if self._threads or self._stop.is_set():
                return
            for n in range(self.settings.threads):
                self._threads.append(
                    threading.Thread(target=self._work, name=f"doseflow-job-{n}", daemon=True)
                )
            self._threads.append(
                threading.Thread(target=self._keep, name="doseflow-job-keeper", daemon=True)
            )
            for thread in self._threads:
                thread.start()

    def running(self) -> list[Claim]:
        with self._lock:
            return list(self._running.values())

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                claim = claim_next_job(self.engine, self.worker, self.kinds)
            except Exception:  # the database may be away for a moment; keep serving
                log.exception("claiming a job failed; trying again")
                self._stop.wait(self.settings.poll_seconds)
                continue
            if claim is None:
                if self._wake.wait(self.settings.poll_seconds):
                    self._wake.clear()
                continue
            self._run(claim)

    def _run(self, claim: Claim) -> None:
        job = claim.job
        with self._lock:
            self._running[job.id] = claim
        outcome: dict[str, Any]
        _current.reporter = _Reporter(self.engine, claim)
        try:
            result = self.kinds[job.kind].run(self.engine, job.params)
        except DoseflowError as err:
            outcome = {"errors": [d.to_dict() for d in err.details]}
        except Exception as exc:  # a crash must still end the job, not leave it "running"
            log.exception("job %s crashed", job.id)
            message = f"{type(exc).__name__}: {exc}"
            outcome = {"errors": [{"code": "SERVICE_JOB_CRASHED", "message": message}]}
        else:
            outcome = {"result": result}
        finally:
            _current.reporter = None
        try:
            if not finish_job(self.engine, claim, **outcome):
                log.warning(
                    "job %s (run %d) was recovered by another worker while this one ran "
                    "it; this run's outcome is dropped",
                    job.id,
                    claim.attempt,
                )
        except Exception:
            log.exception("recording the end of job %s failed", job.id)
        finally:
            with self._lock:
                self._running.pop(job.id, None)

    def _keep(self) -> None:
        """Heartbeats for this process's jobs, and recovery of other processes' dead ones."""
        stale = timedelta(seconds=self.settings.stale_seconds)
        while not self._stop.wait(self.settings.heartbeat_seconds):
            try:
                for claim in beat(self.engine, self.running()):
                    log.warning("job %s was recovered by another worker", claim.job.id)
                recovered = recover_stale_jobs(self.engine, stale)
            except Exception:
                log.exception("job heartbeat failed; trying again")
                continue
            if recovered.requeued or recovered.failed:
                log.warning(
                    "jobs whose worker stopped: re-queued %s, failed %s",
                    list(recovered.requeued),
                    list(recovered.failed),
                )
                self._wake.set()

    def shutdown(self) -> None:
        """Stop claiming; give running jobs the grace period, then hand the unfinished ones
        back to the queue (another process runs them at once, not after the timeout)."""
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + self.settings.shutdown_grace_seconds
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        for claim in self.running():
            try:
                release_job(self.engine, claim)
            except Exception:
                log.exception("giving job %s back to the queue failed", claim.job.id)
