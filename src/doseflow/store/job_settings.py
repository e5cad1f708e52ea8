"""How a server process takes part in the shared job queue: its worker threads, how often
it looks for work and beats, when a silent job counts as lost, and the queue's bounds.

Kept in the store with the queue whose behaviour it sets, so both interfaces read it: the
command line checks ``doseflow serve``'s options and ``DOSEFLOW_JOB_*`` before starting
uvicorn, and each worker process (uvicorn's factory) reads the same variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from doseflow.domain.errors import DoseflowError
from doseflow.domain.limits import MAX_ACTIVE_JOBS, MAX_ACTIVE_JOBS_PER_USER
from doseflow.store.service_jobs import QueueLimits


@dataclass(frozen=True)
class JobSettings:
    """How a server process takes part in the queue (``doseflow serve`` options and
    ``DOSEFLOW_JOB_*`` environment variables; docs/service.md)."""

    #: Worker threads claiming jobs in this process (0: this process accepts jobs but runs
    #: none, leaving them to other processes).
    threads: int = 1
    #: How often an idle worker looks for jobs queued by other processes (jobs submitted to
    #: this process wake it at once).
    poll_seconds: float = 2.0
    #: How often a running job's heartbeat is refreshed.
    heartbeat_seconds: float = 10.0
    #: A running job whose heartbeat is older than this lost its worker.
    stale_seconds: float = 60.0
    #: On shutdown, how long running jobs may take to finish before they are given back to
    #: the queue for another process.
    shutdown_grace_seconds: float = 5.0
    limits: QueueLimits = field(default_factory=QueueLimits)

    def __post_init__(self) -> None:
        problems: list[tuple[str, object, str]] = []
        if not 0 <= self.threads <= 64:
            problems.append(("threads", self.threads, "a whole number from 0 to 64"))
        for name in ("poll_seconds", "heartbeat_seconds", "shutdown_grace_seconds"):
            value = getattr(self, name)
            if not 0 < value <= 3600:
                problems.append((name, value, "more than 0 and at most 3600 seconds"))
        if not self.stale_seconds >= 3 * self.heartbeat_seconds:
            problems.append(
                ("stale_seconds", self.stale_seconds, "at least three heartbeat intervals")
            )
        if self.limits.per_user < 1 or self.limits.total < 1:
            problems.append(("limits", self.limits, "at least one job per user and in all"))
        if problems:
            name, value, expected = problems[0]
            raise DoseflowError(
                "SERVICE_BAD_SETTING",
                f"job setting {name} is {value}; expected {expected}",
                field=name,
                expected=expected,
                value=value,
            )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> JobSettings:
        """Settings from ``DOSEFLOW_JOB_*`` variables (how ``doseflow serve`` hands its
        options to uvicorn's worker processes); unset ones keep their defaults."""
        env = os.environ if environ is None else environ

        def number(name: str, default: float, kind: type[int] | type[float]) -> Any:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                return kind(raw)
            except ValueError:
                raise DoseflowError(
                    "SERVICE_BAD_SETTING",
                    f"{name} is {raw!r}, not a number",
                    field=name,
                    expected="a whole number" if kind is int else "a number of seconds",
                    value=raw,
                ) from None

        defaults = cls()
        return cls(
            threads=number("DOSEFLOW_JOB_THREADS", defaults.threads, int),
            poll_seconds=number("DOSEFLOW_JOB_POLL_SECONDS", defaults.poll_seconds, float),
            heartbeat_seconds=number(
                "DOSEFLOW_JOB_HEARTBEAT_SECONDS", defaults.heartbeat_seconds, float
            ),
            stale_seconds=number("DOSEFLOW_JOB_STALE_SECONDS", defaults.stale_seconds, float),
            shutdown_grace_seconds=number(
                "DOSEFLOW_JOB_SHUTDOWN_GRACE_SECONDS", defaults.shutdown_grace_seconds, float
            ),
            limits=QueueLimits(
                per_user=number("DOSEFLOW_JOB_MAX_PER_USER", MAX_ACTIVE_JOBS_PER_USER, int),
                total=number("DOSEFLOW_JOB_MAX_TOTAL", MAX_ACTIVE_JOBS, int),
            ),
        )
