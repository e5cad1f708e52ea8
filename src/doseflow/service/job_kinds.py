"""The kinds of background job the service offers: the registry every server process
builds its :class:`~doseflow.service.jobs.JobRunner` from, so any process can run a job
another accepted (a job is stored as its kind's name and parameters, never as code)."""

from __future__ import annotations

from doseflow.service.impact_job import IMPACT_JOB
from doseflow.service.jobs import JobKind


def builtin_kinds() -> dict[str, JobKind]:
    """Kind name -> kind, for every job the API and dashboard submit."""
    return {kind.name: kind for kind in (IMPACT_JOB,)}
