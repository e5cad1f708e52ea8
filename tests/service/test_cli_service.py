"""``doseflow token ...`` and ``doseflow serve`` (without actually listening)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from doseflow.cli.app import run
from doseflow.domain.errors import DoseflowError
from doseflow.store.database import ENV_VAR, open_database, require_shareable
from doseflow.store.service import authenticate


def test_token_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "t.sqlite")
    assert run(["token", "create", "--role", "participant", "--iso3", "KEN", "--db", db]) == 0
    out = capsys.readouterr().out
    token = out.strip().splitlines()[-1]
    assert token.startswith("dft_")
    assert "participant for KEN" in out
    engine = open_database(db)
    principal = authenticate(engine, token)
    assert principal is not None
    assert principal.iso3 == "KEN"
    assert run(["token", "list", "--db", db]) == 0
    listed = capsys.readouterr().out
    assert "participant-KEN" in listed
    assert token not in listed
    assert run(["token", "list", "--db", db, "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["id"], row["role"], row["iso3"]) == (1, "participant", "KEN")
    assert row["status"] == "active"
    assert token.startswith(row["starts_with"])
    assert token != row["starts_with"]
    assert run(["token", "revoke", "1", "--db", db]) == 0
    assert authenticate(engine, token) is None


def test_token_create_refuses_an_unknown_role(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["token", "create", "--role", "boss", "--db", str(tmp_path / "t.sqlite")])
    assert code == 2
    assert "SERVICE_UNKNOWN_ROLE" in capsys.readouterr().err


def test_serve_binds_to_this_machine_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    seen: dict[str, Any] = {}

    def fake_run(app: str, **kwargs: Any) -> None:
        seen.update(kwargs, app=app, db=os.environ[ENV_VAR])

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.delenv(ENV_VAR, raising=False)
    db = tmp_path / "served.sqlite"
    assert run(["serve", "--db", str(db), "--port", "8123"]) == 0
    assert seen["host"] == "127.0.0.1"
    assert seen["port"] == 8123
    assert seen["factory"] is True
    assert seen["app"] == "doseflow.service.app:app_from_environment"
    assert seen["db"] == f"sqlite:///{db}"
    assert db.exists()  # migrated before serving
    from doseflow.service.app import app_from_environment

    app = app_from_environment()
    assert app.title == "doseflow"
    app.state.jobs.shutdown()


def test_serve_runs_several_workers_on_a_shareable_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    seen: dict[str, Any] = {}

    def fake_run(app: str, **kwargs: Any) -> None:
        seen.update(kwargs, threads=os.environ["DOSEFLOW_JOB_THREADS"])

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("DOSEFLOW_JOB_THREADS", "1")  # restored afterwards: serve sets it
    db = str(tmp_path / "shared.sqlite")
    args = ["serve", "--db", db, "--workers", "3", "--job-threads", "2"]
    assert run([*args, "--forwarded-allow-ips", "10.0.0.5"]) == 0
    assert (seen["workers"], seen["threads"]) == (3, "2")
    assert seen["proxy_headers"] is True
    assert seen["forwarded_allow_ips"] == "10.0.0.5"
    # one process per in-memory database: several workers would each see their own
    seen.clear()
    assert run(["serve", "--db", "sqlite://", "--workers", "2"]) == 2
    assert "STORE_NOT_SHAREABLE" in capsys.readouterr().err
    assert seen == {}
    monkeypatch.setenv("DOSEFLOW_JOB_STALE_SECONDS", "soon")
    assert run(["serve", "--db", db]) == 2
    assert "SERVICE_BAD_SETTING" in capsys.readouterr().err
    assert seen == {}
    # a bad security setting too: one coded line before any worker starts, not a traceback
    monkeypatch.delenv("DOSEFLOW_JOB_STALE_SECONDS")
    monkeypatch.setenv("DOSEFLOW_SESSION_HOURS", "0")
    assert run(["serve", "--db", db]) == 2
    err = capsys.readouterr().err
    assert "SERVICE_BAD_SETTING" in err
    assert "DOSEFLOW_SESSION_HOURS" in err
    assert "Traceback" not in err
    assert seen == {}


def test_a_sqlite_file_not_in_wal_mode_is_not_shared(tmp_path: Path) -> None:
    engine = open_database(str(tmp_path / "wal.sqlite"))
    require_shareable(engine)  # WAL on a local disk: fine
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=DELETE")
    single = create_engine(f"sqlite:///{tmp_path / 'wal.sqlite'}", poolclass=StaticPool)
    with pytest.raises(DoseflowError) as caught:
        require_shareable(single)
    assert caught.value.code == "STORE_NOT_SHAREABLE"
    assert "not WAL" in caught.value.detail.message
