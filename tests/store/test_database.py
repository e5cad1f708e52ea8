from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from doseflow.domain.errors import DoseflowError
from doseflow.store.database import default_url, normalise_url, open_database


def test_open_database_migrates_and_is_idempotent(db_url: str) -> None:
    engine = open_database(db_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    again = open_database(db_url)
    assert set(inspect(again).get_table_names()) == tables
    if again.dialect.name == "sqlite":
        with again.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    again.dispose()


def test_plain_path_is_sqlite_and_postgres_uses_psycopg() -> None:
    assert normalise_url("data/x.sqlite") == "sqlite:///data/x.sqlite"
    assert normalise_url("postgresql://u@h/db").startswith("postgresql+psycopg://")


def test_default_url_honours_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOSEFLOW_DB", raising=False)
    assert default_url() == "sqlite:///doseflow.sqlite"
    monkeypatch.setenv("DOSEFLOW_DB", "postgresql://x@y/z")
    assert default_url() == "postgresql://x@y/z"


def test_unsupported_backend_is_refused() -> None:
    with pytest.raises(DoseflowError) as exc:
        normalise_url("mysql://root@localhost/test")
    assert exc.value.code == "STORE_UNSUPPORTED_BACKEND"
    assert exc.value.detail.value == "mysql://root@localhost/test"
