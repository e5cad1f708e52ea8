"""Background jobs report their progress (fraction done and a message) while they run: it is
stored with the job, shown by the status endpoint and by the dashboard's status fragment that
the impact page polls, and only the worker holding the job may write it."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from doseflow.service import create_app
from doseflow.service.dashboard import pages
from doseflow.service.impact_job import KIND
from doseflow.service.jobs import JobKind, JobRunner, JobSettings, report_progress
from doseflow.store.database import open_database
from doseflow.store.service import Role, issue_token
from doseflow.store.service_jobs import (
    PROGRESS_MESSAGE_LENGTH,
    Claim,
    Job,
    JobStatus,
    claim_next_job,
    get_job,
    release_job,
    set_progress,
    submit_job,
)
from tests.service.conftest import dashboard_sign_in

FAST = JobSettings(poll_seconds=0.05, heartbeat_seconds=0.1, stale_seconds=30)


class Steps:
    """A job kind (under the impact kind's name) that reports half way, then waits."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def run(self, _engine: Engine, params: Mapping[str, Any]) -> Any:
        report_progress(0.5, "half way")
        self.release.wait(30)
        return {"totals": [], "scenario": params["scenario"]}


def _until(engine: Engine, job_id: str, done: Any, timeout: float = 30) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        job = get_job(engine, job_id)
        if done(job):
            return job
        assert time.monotonic() < deadline, f"job {job_id} stuck: {job}"
        time.sleep(0.02)


@pytest.fixture
def steps() -> Steps:
    return Steps()


@pytest.fixture
def app_client(
    fresh_sqlite: str, steps: Steps
) -> Iterator[tuple[TestClient, str, Engine, JobRunner]]:
    kind = JobKind(KIND, lambda _e, p: dict(p), steps.run)
    app = create_app(fresh_sqlite, job_kinds={KIND: kind}, job_settings=FAST)
    engine: Engine = app.state.engine
    token = issue_token(engine, role=Role.ADMINISTRATOR, user="admin").token
    with TestClient(app) as client:
        yield client, token, engine, app.state.jobs
        steps.release.set()
    engine.dispose()


def test_a_running_job_shows_its_progress_in_the_api_and_the_dashboard(
    app_client: tuple[TestClient, str, Engine, JobRunner], steps: Steps
) -> None:
    client, token, engine, runner = app_client
    job = runner.submit(KIND, {"scenario": "s", "round": None}, submitted_by="admin")
    _until(engine, job.id, lambda j: j.progress is not None)
    api = client.get(f"/api/impact-runs/{job.id}", headers={"Authorization": f"Bearer {token}"})
    body = api.json()
    assert (body["status"], body["progress"], body["progress_message"]) == (
        "running",
        0.5,
        "half way",
    )

    assert dashboard_sign_in(client, token).status_code == 303
    page = client.get("/dashboard/impact").text
    status_url = f"/dashboard/impact/runs/{job.id}/status"
    assert f'data-job-status="{status_url}"' in page
    assert re.search(r'<progress max="1" value="0.5" data-job-field="bar"', page)
    assert "half way" in page
    assert '<script src="/static/dashboard.js"' in page
    running = client.get(status_url).json()
    assert running == {
        "id": job.id,
        "status": "running",
        "finished": False,
        "progress": 0.5,
        "message": "half way",
        "error": None,
        "result_url": None,
    }

    steps.release.set()
    _until(engine, job.id, lambda j: j.finished)
    done = client.get(status_url).json()
    assert (done["status"], done["finished"], done["progress"]) == ("succeeded", True, 1.0)
    assert done["result_url"] == "/dashboard/impact"
    assert "data-job-status" not in client.get("/dashboard/impact").text


def test_the_status_fragment_refuses_unknown_runs_and_strangers(
    app_client: tuple[TestClient, str, Engine, JobRunner],
) -> None:
    client, token, _engine, _runner = app_client
    anonymous = client.get("/dashboard/impact/runs/whatever/status", follow_redirects=False)
    assert anonymous.status_code in {303, 401}
    assert dashboard_sign_in(client, token).status_code == 303
    unknown = client.get("/dashboard/impact/runs/no-such-job/status")
    assert unknown.status_code == 404


def test_the_dashboard_script_polls_job_status_without_inline_code() -> None:
    """The page's polling is in the bundled script (the policy allows no inline script)."""
    script = (pages.STATIC_DIR / "dashboard.js").read_text()
    assert "data-job-status" in script
    assert "window.fetch(" in script


@pytest.fixture
def store(db_url: str) -> Iterator[Engine]:
    engine = open_database(db_url)
    yield engine
    engine.dispose()


def _claimed(engine: Engine) -> Claim:
    submit_job(engine, kind="k", params={}, submitted_by=None)
    claim = claim_next_job(engine, "worker-a", ["k"])
    assert claim is not None
    return claim


def test_only_the_worker_holding_a_job_writes_its_progress(store: Engine) -> None:
    claim = _claimed(store)
    assert get_job(store, claim.job.id).progress is None
    assert set_progress(store, claim, 1.7, "x" * (PROGRESS_MESSAGE_LENGTH + 10))
    stored = get_job(store, claim.job.id)
    assert stored.progress == 1.0
    assert stored.progress_message is not None
    assert len(stored.progress_message) == PROGRESS_MESSAGE_LENGTH
    assert stored.progress_message.endswith("\u2026")
    stranger = Claim(claim.job, "worker-b")
    assert not set_progress(store, stranger, 0.2, "not mine")
    assert get_job(store, claim.job.id).progress == 1.0
    # given back to the queue, the job starts again from no progress
    assert release_job(store, claim)
    requeued = get_job(store, claim.job.id)
    assert requeued.status is JobStatus.QUEUED
    assert (requeued.progress, requeued.progress_message) == (None, None)
