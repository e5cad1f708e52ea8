"""Service schema migration service_0004 (job progress): a database at service_0003 with a
finished job upgrades with the job intact and no progress, downgrades and upgrades again;
the migrated ``service_jobs`` is the one the code's table describes. Both backends."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from doseflow.store.base import Base
from doseflow.store.database import alembic_config, make_engine, migrate
from doseflow.store.service_jobs import get_job

REVISION = "service_0004"


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("service_jobs")}


def test_service_0003_upgrades_downgrades_and_upgrades_again(db_url: str) -> None:
    engine = make_engine(db_url)
    config = alembic_config(engine)
    command.upgrade(config, "service_0003")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO service_jobs (id, kind, status, submitted_at, params, result, "
                "attempts) VALUES ('j1', 'impact-comparison', 'succeeded', :at, '{}', '1', 1)"
            ),
            {"at": datetime(2026, 1, 2, tzinfo=UTC)},
        )
    assert "progress" not in _columns(engine)

    command.upgrade(config, REVISION)
    assert {"progress", "progress_message"} <= _columns(engine)
    kept = get_job(engine, "j1")
    assert (kept.status.value, kept.result, kept.progress, kept.progress_message) == (
        "succeeded",
        1,
        None,
        None,
    )

    command.downgrade(config, "service_0003")
    assert "progress" not in _columns(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM service_jobs")).scalar() == 1
    migrate(engine)
    assert "progress_message" in _columns(engine)
    engine.dispose()


def test_migrated_jobs_table_is_the_one_the_code_describes(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diffs if "service_jobs" in repr(d)]
    assert ours == []
    engine.dispose()
