"""Impact runs: queued at once, run in the background, status and results read back."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from doseflow.domain.errors import DoseflowError
from doseflow.domain.limits import MAX_ACTIVE_JOBS_PER_USER
from doseflow.service import create_app
from doseflow.service.impact_job import KIND
from doseflow.service.jobs import JobKind, JobSettings
from doseflow.store.service import audit_log
from doseflow.store.service_jobs import JobStatus, get_job
from tests.service.conftest import Service
from tests.service.scenario import NAME, scenario_document


def test_an_impact_run_is_a_background_job(service: Service) -> None:
    service.post("/api/scenarios", "allocation-analyst", json=scenario_document())
    started = service.post(
        f"/api/scenarios/{NAME}/impact-runs",
        "allocation-analyst",
        json={"round": 2, "horizon_days": 60, "levels": 2},
    )
    assert started.status_code == 202
    job = started.json()
    assert job["status"] in {"queued", "running"}
    assert job["params"]["scenario"] == NAME
    service.app.state.jobs.wait(job["id"], timeout=120)
    done = service.get(f"/api/impact-runs/{job['id']}", "viewer").json()
    assert done["status"] == "succeeded", done
    # the comparison reported its progress to the job as it went, its last word stored
    assert (done["progress"], done["progress_message"]) == (1.0, "comparison done")
    rules = {row["rule"] for row in done["result"]["totals"]}
    assert rules == {"round", "population", "threat-vulnerability", "impact-maximising"}
    assert all(row["deaths_averted"] >= 0 for row in done["result"]["totals"])
    listed = service.get("/api/impact-runs", "logistics-officer").json()
    assert [j["id"] for j in listed] == [job["id"]]
    entry = audit_log(service.engine, limit=1)[0]
    assert entry.action == "impact.run"
    assert entry.target == f"job {job['id']}"


def test_impact_run_errors(service: Service) -> None:
    unknown = service.post(f"/api/scenarios/{NAME}/impact-runs", "administrator", json={})
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "ALLOC_UNKNOWN_SCENARIO"
    missing = service.get("/api/impact-runs/no-such-job", "viewer")
    assert missing.status_code == 404
    assert missing.json()["code"] == "SERVICE_JOB_NOT_FOUND"
    assert service.get("/api/impact-runs", "participant-KEN").status_code == 403
    refused = service.post(f"/api/scenarios/{NAME}/impact-runs", "viewer", json={})
    assert refused.status_code == 403


def test_a_run_that_cannot_start_is_refused_at_submission_not_crashed_later(
    service: Service,
) -> None:
    """Issue 11: a run for round 99 was accepted (202) and then crashed with KeyError."""
    service.post("/api/scenarios", "allocation-analyst", json=scenario_document())
    no_round = service.post(
        f"/api/scenarios/{NAME}/impact-runs", "allocation-analyst", json={"round": 99}
    )
    assert no_round.status_code == 422
    body = no_round.json()
    assert body["code"] == "ALLOC_UNKNOWN_ROUND"
    assert body["errors"][0]["field"] == "round"
    assert body["errors"][0]["value"] == "99"
    unknown_field = service.post(
        f"/api/scenarios/{NAME}/impact-runs", "allocation-analyst", json={"rounds": 2}
    )
    assert unknown_field.status_code == 422
    assert unknown_field.json()["code"] == "SERVICE_BAD_REQUEST"
    out_of_range = service.post(
        f"/api/scenarios/{NAME}/impact-runs", "allocation-analyst", json={"levels": 1}
    )
    assert out_of_range.status_code == 422
    assert service.get("/api/impact-runs", "viewer").json() == []


def test_the_queue_refuses_past_its_bounds_with_429_and_retry_after(service: Service) -> None:
    """Issue 11: 34 impact runs were queued at once. Past the bounds the answer is 429."""
    service.post("/api/scenarios", "allocation-analyst", json=scenario_document())
    service.app.state.jobs.shutdown()  # this server's workers stop: every job stays queued
    url = f"/api/scenarios/{NAME}/impact-runs"
    for _ in range(MAX_ACTIVE_JOBS_PER_USER):
        assert service.post(url, "allocation-analyst", json={"round": 1}).status_code == 202
    mine = service.post(url, "allocation-analyst", json={"round": 1})
    assert mine.status_code == 429
    assert mine.json()["code"] == "SERVICE_JOB_LIMIT_REACHED"
    assert int(mine.headers["Retry-After"]) > 0
    for _ in range(MAX_ACTIVE_JOBS_PER_USER):
        assert service.post(url, "administrator", json={"round": 1}).status_code == 202
    assert len(service.get("/api/impact-runs", "viewer").json()) == 2 * MAX_ACTIVE_JOBS_PER_USER


def test_a_second_server_on_the_database_leaves_the_first_ones_job_alone(
    fresh_sqlite: str,
) -> None:
    """Issue 11: starting a second server marked the first one's running job failed
    (SERVICE_JOB_ABANDONED), and the job then turned succeeded with the error attached."""
    release = threading.Event()

    def waits(_engine: Engine, params: Mapping[str, Any]) -> Any:
        release.wait(30)
        return {"done": params["n"]}

    kinds = {"wait": JobKind("wait", lambda _e, p: dict(p), waits)}
    fast = JobSettings(poll_seconds=0.05, heartbeat_seconds=0.1, stale_seconds=0.5)
    first = create_app(fresh_sqlite, job_kinds=kinds, job_settings=fast)
    with TestClient(first):
        job = first.state.jobs.submit("wait", {"n": 1}, submitted_by="a")
        while get_job(first.state.engine, job.id).status is not JobStatus.RUNNING:
            time.sleep(0.02)
        second = create_app(fresh_sqlite, job_kinds=kinds, job_settings=fast)
        with TestClient(second):
            time.sleep(1.0)  # two stale timeouts: the first server's heartbeats keep its job
            running = get_job(second.state.engine, job.id)
            assert running.status is JobStatus.RUNNING
            assert running.errors is None
            release.set()
            done = second.state.jobs.wait(job.id, timeout=20)
    assert done.status is JobStatus.SUCCEEDED
    assert done.errors is None
    assert done.attempts == 1
    assert done.claimed_by == first.state.jobs.worker
    first.state.engine.dispose()
    second.state.engine.dispose()


def test_the_impact_kind_checks_parameters_whoever_submits(service: Service) -> None:
    """The kind's own check, not only the endpoint's: what is stored is always runnable."""
    service.post("/api/scenarios", "allocation-analyst", json=scenario_document())
    runner = service.app.state.jobs
    with pytest.raises(DoseflowError) as caught:
        runner.submit(KIND, {"scenario": NAME, "levels": 1, "colour": "red"}, submitted_by="a")
    fields = {d.location.field for d in caught.value.details}
    assert caught.value.code == "SERVICE_JOB_BAD_PARAMS"
    assert fields == {"levels", "colour"}
    with pytest.raises(DoseflowError) as nameless:
        runner.submit(KIND, {"round": 1}, submitted_by="a")
    assert nameless.value.detail.location.field == "scenario"
    with pytest.raises(DoseflowError) as no_round:
        runner.submit(KIND, {"scenario": NAME, "round": 7}, submitted_by="a")
    assert no_round.value.code == "ALLOC_UNKNOWN_ROUND"
    assert service.get("/api/impact-runs", "viewer").json() == []


def test_an_impact_run_takes_a_strategy_written_as_everywhere_else(service: Service) -> None:
    service.post("/api/scenarios", "allocation-analyst", json=scenario_document())
    bad = service.post(
        f"/api/scenarios/{NAME}/impact-runs",
        "allocation-analyst",
        json={"strategy": "ordered:[60+"},
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "IMPACT_UNKNOWN_STRATEGY"
    strategy = "ordered:[0-19,60+],rest;spill=everyone"
    started = service.post(
        f"/api/scenarios/{NAME}/impact-runs",
        "allocation-analyst",
        json={"round": 2, "horizon_days": 60, "levels": 2, "strategy": strategy},
    )
    assert started.status_code == 202
    job = started.json()
    service.app.state.jobs.wait(job["id"], timeout=120)
    done = service.get(f"/api/impact-runs/{job['id']}", "viewer").json()
    assert done["status"] == "succeeded", done
    assert done["result"]["strategy"] == strategy
    assert done["params"]["strategy"] == strategy


def test_an_impact_run_reports_every_outcome_and_takes_eligibility(service: Service) -> None:
    """Issue 13: infections (with the definition used), symptomatic cases, deaths and YLL,
    each averted in number and in %; eligibility and denominator as in scenario files."""
    service.post("/api/scenarios", "allocation-analyst", json=scenario_document())
    url = f"/api/scenarios/{NAME}/impact-runs"
    body = {"round": 2, "horizon_days": 60, "levels": 2}
    started = service.post(
        url, "allocation-analyst", json={**body, "eligibility": "susceptible-recovered",
                                          "denominator": "living"}
    )  # fmt: skip
    assert started.status_code == 202, started.json()
    service.app.state.jobs.wait(started.json()["id"], timeout=120)
    result = service.get(f"/api/impact-runs/{started.json()['id']}", "viewer").json()["result"]
    assert result["eligibility"] == "susceptible-recovered"
    assert result["denominator"] == "living"
    assert "exposed" in result["infections_definition"]
    for rows in (result["totals"], result["participants"]):
        for row in rows:
            for outcome in ("deaths", "infections", "symptomatic", "yll"):
                assert row[f"{outcome}_averted"] == pytest.approx(
                    row[f"{outcome}_no_vaccine"] - row[outcome], abs=1e-6
                )
                assert 0 <= row[f"{outcome}_averted_share"] <= 1
    refused = service.post(url, "allocation-analyst", json={**body, "eligibility": "everyone"})
    assert refused.status_code == 422
