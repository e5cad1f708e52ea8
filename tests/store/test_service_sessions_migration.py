"""Service schema migration service_0003 (sessions): a database at service_0001 (a user, a
token, an audit row) upgrades to dashboard sessions and request-keyed audit rows with its rows
intact, downgrades and upgrades again; the migrated schema is the one the code's tables
describe. Both backends."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from doseflow.store.base import Base
from doseflow.store.database import alembic_config, make_engine, migrate
from doseflow.store.service import authenticate, issue_token

_TABLES = {"service_users", "service_tokens", "service_audit", "service_sessions"}
REVISION = "service_0003"


def _names(diff: object) -> set[str]:
    items = diff if isinstance(diff, list) else [diff]
    out: set[str] = set()
    for item in items:
        for part in item if isinstance(item, tuple) else (item,):
            table = getattr(part, "table", None)
            name = getattr(table, "name", None) or getattr(part, "name", None)
            if isinstance(name, str):
                out.add(name)
    return out


def test_service_0001_upgrades_downgrades_and_upgrades_again(db_url: str) -> None:
    engine = make_engine(db_url)
    config = alembic_config(engine)
    command.upgrade(config, "service_0001")
    now = datetime(2026, 1, 2, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO service_audit (at, action, method, path, status, outcome) "
                "VALUES (:at, 'POST /api/x', 'POST', '/api/x', 201, 'ok')"
            ),
            {"at": now},
        )
    assert "service_sessions" not in inspect(engine).get_table_names()

    command.upgrade(config, REVISION)
    assert "service_sessions" in inspect(engine).get_table_names()
    columns = {c["name"] for c in inspect(engine).get_columns("service_audit")}
    assert {"request_id", "writes"} <= columns
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT outcome, request_id FROM service_audit")).all()
    assert [tuple(r) for r in kept] == [("ok", None)]

    command.downgrade(config, "service_0001")
    assert "service_sessions" not in inspect(engine).get_table_names()
    columns = {c["name"] for c in inspect(engine).get_columns("service_audit")}
    assert "request_id" not in columns
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM service_audit")).scalar() == 1

    migrate(engine)  # every head again
    issued = issue_token(engine, role="viewer", user="after-upgrade")
    assert authenticate(engine, issued.token) is not None
    engine.dispose()


def test_migrated_schema_is_the_one_the_tables_describe(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diffs if _TABLES & _names(d)]
    assert ours == []
    engine.dispose()
