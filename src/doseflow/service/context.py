"""What every endpoint needs from the application: the database engine and the job runner."""

from __future__ import annotations

from sqlalchemy import Engine
from starlette.requests import HTTPConnection

from doseflow.service.jobs import JobRunner


def engine_of(request: HTTPConnection) -> Engine:
    """The engine the app was created on (``create_app(database_url)``)."""
    engine = request.app.state.engine
    assert isinstance(engine, Engine)
    return engine


def jobs_of(request: HTTPConnection) -> JobRunner:
    runner = request.app.state.jobs
    assert isinstance(runner, JobRunner)
    return runner
