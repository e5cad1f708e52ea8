"""The audit row of a write commits in the write's own transaction, so the log can neither
claim a write that did not happen nor miss one that did; refusals without an accountable
user are summarised, so anonymous requests cannot grow the log without limit. Both backends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, event, func, select, text
from sqlalchemy.orm import Session

from doseflow.service.audit_summary import RefusalSummary
from doseflow.store import ledger as ledger_module
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from doseflow.store.service import ApiToken, AuditRow, audit_log
from doseflow.store.service_audit import (
    AuditFacts,
    PendingAudit,
    auditing,
    install_audit_hook,
)
from tests.ledger.factory import NODES, planned
from tests.service.conftest import Service


def _count(engine: Engine, model: type[ApiToken] | type[AuditRow]) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@contextmanager
def failing_commit(engine: Engine) -> Iterator[None]:
    """The next COMMIT on ``engine`` that carries an audit row fails (after the audit hook
    has added its row to the transaction); later ones go through."""
    failed: list[bool] = []

    def refuse(conn: Connection) -> None:
        carries = conn.exec_driver_sql(
            "SELECT count(*) FROM service_audit WHERE request_id IS NOT NULL"
        ).scalar()
        if carries and not failed:
            failed.append(True)
            raise RuntimeError("the database went away at COMMIT")

    event.listen(engine, "commit", refuse)
    try:
        yield
    finally:
        event.remove(engine, "commit", refuse)


def test_a_committed_write_has_its_row_inside_its_own_transaction(
    service_any_db: Service,
) -> None:
    service = service_any_db
    seen_in_transaction: list[int] = []

    def look(conn: Connection) -> None:  # runs after the audit hook, before COMMIT
        rows = conn.exec_driver_sql(
            "SELECT count(*) FROM service_audit WHERE outcome = 'ok' AND path = '/api/tokens'"
        ).scalar()
        seen_in_transaction.append(int(rows or 0))

    event.listen(service.engine, "commit", look)
    try:
        made = service.post("/api/tokens", "administrator", json={"role": "viewer", "user": "v2"})
    finally:
        event.remove(service.engine, "commit", look)
    assert made.status_code == 201
    assert 1 in seen_in_transaction  # the row was part of the transaction being committed
    entry = audit_log(service.engine, limit=1)[0]
    assert (entry.outcome, entry.status, entry.writes) == ("ok", 201, 1)
    assert entry.actor == "administrator"
    assert entry.target == f"token {made.json()['token_id']}"


def test_a_write_whose_commit_fails_leaves_no_ok_row_and_no_write(
    service_any_db: Service,
) -> None:
    service = service_any_db
    tokens_before = _count(service.engine, ApiToken)
    client = TestClient(service.app, raise_server_exceptions=False)
    with failing_commit(service.engine):
        failed = client.post(
            "/api/tokens",
            headers=service.headers("administrator"),
            json={"role": "viewer", "user": "never-stored"},
        )
    assert failed.status_code == 500
    assert _count(service.engine, ApiToken) == tokens_before  # the write did not happen
    entries = audit_log(service.engine, limit=5)
    assert all(e.outcome != "ok" for e in entries if e.path == "/api/tokens")
    entry = entries[0]
    assert (entry.path, entry.status, entry.outcome, entry.writes) == (
        "/api/tokens",
        500,
        "failed",
        None,
    )
    assert entry.actor == "administrator"


def test_a_write_that_fails_half_way_leaves_no_ok_row(service_any_db: Service) -> None:
    """A ledger batch with a bad event is rolled back whole: a refusal, not an ``ok``."""
    service = service_any_db
    bad = service.post(
        "/api/ledger/events",
        "logistics-officer",
        json={"events": [{"kind": "no-such-kind", "id": "x"}]},
    )
    assert 400 <= bad.status_code < 500
    entry = audit_log(service.engine, limit=1)[0]
    assert entry.outcome == "rejected"
    assert entry.writes is None


def test_a_request_that_commits_nothing_is_not_recorded_as_a_write(
    service_any_db: Service,
) -> None:
    service = service_any_db
    planned_only = service.post("/api/deployment/plan", "logistics-officer", json={})
    assert planned_only.status_code == 200, planned_only.text
    entry = audit_log(service.engine, limit=1)[0]
    assert (entry.path, entry.outcome, entry.status, entry.writes) == (
        "/api/deployment/plan",
        "unchanged",
        200,
        None,
    )


def test_a_large_append_in_the_sqlite_writer_process_carries_its_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'writer.sqlite'}")
    install_audit_hook(engine)
    monkeypatch.setattr(ledger_module, "WRITER_PROCESS_EVENTS", 1)  # every batch, here
    store = LedgerStore(engine)
    store.register_nodes(NODES)
    pending = PendingAudit("f" * 32, "POST", "/api/ledger/events", lambda: AuditFacts(None, "x"))
    with auditing(pending):
        store.append_events([planned("E1", 1, 100)])
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT outcome, writes FROM service_audit WHERE request_id = :r"),
            {"r": "f" * 32},
        ).one()
    assert tuple(row) == ("ok", 1)
    engine.dispose()


def test_a_thousand_anonymous_posts_do_not_add_a_thousand_rows(service_any_db: Service) -> None:
    service = service_any_db
    before = _count(service.engine, AuditRow)
    for i in range(1000):
        path = "/api/tokens" if i % 2 else "/api/ledger/events"
        assert service.client.post(path, json={}).status_code == 401
    added = _count(service.engine, AuditRow) - before
    assert 1 <= added <= 2  # one summary row per minute-long window
    # counts are brought up to date at most every few seconds, and at the window's end
    _summary_of(service).flush()
    assert _count(service.engine, AuditRow) - before == added
    summary = audit_log(service.engine, limit=1)[0]
    assert (summary.action, summary.outcome, summary.actor) == ("refused.summary", "summary", None)
    assert summary.detail is not None
    assert summary.detail["count"] == 1000
    assert summary.detail["path"] == {"/api/tokens": 500, "/api/ledger/events": 500}


def test_the_summary_row_counts_every_refusal_once_flushed(service: Service) -> None:
    for _ in range(25):
        service.client.post("/api/tokens", json={})
    service.client.post("/api/tokens", headers={"Authorization": "Bearer dft_forged"}, json={})
    _summary_of(service).flush()
    entry = audit_log(service.engine, limit=1)[0]
    assert entry.detail is not None
    assert entry.detail["count"] == 26
    assert entry.detail["status"] == {"401": 26}
    assert entry.detail["user"] == {"(anonymous)": 26}
    assert entry.detail["address"] == {"testclient": 26}


def _summary_of(service: Service) -> RefusalSummary:
    """The refusal summary the app's request middleware writes to."""
    for middleware in service.app.user_middleware:
        summary = middleware.kwargs.get("summary")
        if isinstance(summary, RefusalSummary):
            return summary
    raise AssertionError("no refusal summary installed")


def test_the_summary_writes_one_row_per_window_and_few_updates(service: Service) -> None:
    now = [0.0]
    summary = RefusalSummary(service.engine, window_seconds=60, clock=lambda: now[0])
    writes: list[int] = []
    original = summary._write

    def counted() -> None:
        writes.append(1)
        original()

    summary._write = counted  # type: ignore[method-assign]
    before = _count(service.engine, AuditRow)
    for step in range(3000):  # 3,000 refusals over 150 s: three windows
        now[0] = step * 0.05
        summary.add(status=401, path="/api/x", address=f"10.0.0.{step % 250}", user=None)
    summary.flush()
    assert _count(service.engine, AuditRow) - before == 3
    assert len(writes) <= 3 * (60 / 10 + 2)
    entries = audit_log(service.engine, limit=3)
    assert sum(e.detail["count"] for e in entries if e.detail) == 3000
    for entry in entries:
        assert entry.detail is not None
        assert len(entry.detail["address"]) <= 21  # 20 addresses and "other"
