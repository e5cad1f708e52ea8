"""Impact runs: queued at once, run in the background, status and results read back."""

from __future__ import annotations

from doseflow.store.service import audit_log
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
