"""Reporting schema migration reporting_0002 (the stored hierarchy): a database at
reporting_0001 with a stored value upgrades with its rows intact, stores a hierarchy,
downgrades and upgrades again; the migrated schema is the one the code's tables describe.
Both backends."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from doseflow.store.base import Base
from doseflow.store.database import alembic_config, make_engine, migrate
from doseflow.store.reporting_hierarchy import save_hierarchy, stored_hierarchy

HIERARCHY = "participants:\n  - {code: PRK, neighbours: [KOR]}\n  - {code: KOR}\n"


def test_reporting_0001_upgrades_downgrades_and_upgrades_again(db_url: str) -> None:
    engine = make_engine(db_url)
    config = alembic_config(engine)
    command.upgrade(config, "reporting_0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO report_data_values (participant, org_unit, period, data_element, "
                "category, value, period_start, created_at, updated_at) VALUES ('PRK', 'PRK', "
                "'2021W38', 'people_tested', 'default', 667, '2021-09-20', 0, 0)"
            )
        )
    assert "report_hierarchies" not in inspect(engine).get_table_names()

    command.upgrade(config, "reporting_0002")
    assert "report_hierarchies" in inspect(engine).get_table_names()
    save_hierarchy(engine, HIERARCHY, "h.yaml", by="who")
    stored = stored_hierarchy(engine)
    assert stored is not None
    assert stored.hierarchy.neighbours_of("PRK") == ("KOR",)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM report_data_values")).scalar() == 667

    command.downgrade(config, "reporting_0001")
    assert "report_hierarchies" not in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM report_data_values")).scalar() == 1

    migrate(engine)  # every head again
    assert stored_hierarchy(engine) is None
    save_hierarchy(engine, HIERARCHY, "h.yaml")
    assert stored_hierarchy(engine) is not None
    engine.dispose()


def test_migrated_schema_is_the_one_the_tables_describe(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diffs if "report_hierarchies" in repr(d)]
    assert ours == []
    engine.dispose()
