"""Every write is audited (who, what, when), refused ones included; reads are not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from doseflow.service.auth import WRITE_METHODS
from doseflow.service.introspect import endpoints
from doseflow.store.service import audit_log
from tests.service.conftest import Service
from tests.service.endpoints import fill


def test_every_write_endpoint_leaves_an_audit_entry(service: Service) -> None:
    writes = [ep for ep in endpoints(service.app) if ep.method in WRITE_METHODS]
    assert writes
    for ep in writes:
        before = datetime.now(UTC) - timedelta(seconds=1)
        path = fill(ep.path, None)
        response = service.request(ep.method, path, "administrator", json={})
        entry = audit_log(service.engine, limit=1)[0]
        where = f"{ep.method} {ep.path}"
        assert entry.path == path, where
        assert entry.method == ep.method, where
        assert entry.actor == "administrator", where
        assert entry.role == "administrator", where
        assert entry.action == ep.action, where
        assert entry.status == response.status_code, where
        assert entry.outcome != "started", where
        assert entry.at >= before, where


def test_a_successful_write_records_what_it_touched(service: Service) -> None:
    made = service.post("/api/tokens", "administrator", json={"role": "viewer", "user": "board"})
    assert made.status_code == 201
    entry = audit_log(service.engine, limit=1)[0]
    assert entry.outcome == "ok"
    assert entry.target == f"token {made.json()['token_id']}"
    assert entry.detail == {"iso3": None, "role": "viewer", "user": "board"}


def test_refused_writes_are_audited_as_denied(service: Service) -> None:
    service.post("/api/tokens", "participant-KEN", json={"role": "administrator"})
    entry = audit_log(service.engine, limit=1)[0]
    assert (entry.status, entry.outcome) == (403, "denied")
    assert entry.actor == "participant-KEN"
    assert entry.iso3 == "KEN"
    anonymous = service.post("/api/tokens", None, json={})
    assert anonymous.status_code == 401
    entry = audit_log(service.engine, limit=1)[0]  # counted in the window's summary row
    assert entry.actor is None
    assert (entry.action, entry.outcome) == ("refused.summary", "summary")
    assert entry.detail is not None
    assert entry.detail["status"] == {"401": 1}
    assert entry.detail["user"] == {"(anonymous)": 1}


def test_reads_are_not_audited(service: Service) -> None:
    service.get("/api/tokens", "administrator")
    service.get("/api/whoami", "viewer")
    assert audit_log(service.engine) == []


def test_the_audit_log_is_served_to_administrators_only(service: Service) -> None:
    service.post("/api/tokens", "administrator", json={"role": "viewer", "user": "x1"})
    service.post("/api/tokens", "administrator", json={"role": "viewer", "user": "x2"})
    entries = service.get("/api/audit", "administrator", params={"limit": 1}).json()
    assert len(entries) == 1
    older = service.get(
        "/api/audit", "administrator", params={"before_id": entries[0]["id"]}
    ).json()
    assert [e["id"] for e in older] == [entries[0]["id"] - 1]
    assert service.get("/api/audit", "viewer").status_code == 403
