"""Reporting schema migration reporting_0003 (attribute option combos in the value key,
complete data set registrations): a database at reporting_0001 with values upgrades with its
rows intact (attribute ``default``), takes two values differing only by attribute option
combo, downgrades (refusing while such values exist) and upgrades again; the migrated schema
is the one the code's tables describe. Both backends."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from doseflow.reporting import SubmittedValue, national_hierarchy
from doseflow.store import reporting as store
from doseflow.store import reporting_tables as t
from doseflow.store.database import alembic_config, make_engine, migrate

_TABLES = {
    "report_data_values",
    "report_submissions",
    "report_period_locks",
    "report_lock_audit",
    "report_requirements",
    "report_complete_registrations",
}

_OLD_ROW = (
    "INSERT INTO report_data_values (participant, org_unit, period, data_element, category, "
    "value, comment, period_start, stored_by, created_at, updated_at) VALUES "
    "('PRK', 'PRK', :period, 'deaths', 'default', :value, :comment, :start, 'moph', 1, 2)"
)


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


def _key_columns(engine: Engine) -> list[str]:
    pk = inspect(engine).get_pk_constraint("report_data_values")
    return list(pk["constrained_columns"])


def test_reporting_0001_upgrades_downgrades_and_upgrades_again(db_url: str) -> None:
    engine = make_engine(db_url)
    config = alembic_config(engine)
    command.upgrade(config, "reporting_0001")
    with engine.begin() as conn:
        conn.execute(
            text(_OLD_ROW),
            {"period": "2021W37", "value": 1.0, "comment": None, "start": "2021-09-13"},
        )
        conn.execute(
            text(_OLD_ROW),
            {"period": "2021W38", "value": 2.0, "comment": "kept", "start": "2021-09-20"},
        )
    assert "report_complete_registrations" not in inspect(engine).get_table_names()

    migrate(engine)
    assert "report_complete_registrations" in inspect(engine).get_table_names()
    assert _key_columns(engine)[-1] == "attribute"
    kept = store.load_values(engine)
    assert [(v.period, v.value, v.comment, v.attribute) for v in kept] == [
        ("2021W37", 1.0, None, "default"),
        ("2021W38", 2.0, "kept", "default"),
    ]
    with engine.connect() as conn:
        stamps = conn.execute(
            text("SELECT stored_by, created_at, updated_at FROM report_data_values")
        ).all()
    assert {tuple(r) for r in stamps} == {("moph", 1, 2)}
    # the new key takes a second value differing only by attribute option combo
    summary = store.submit(
        engine,
        [SubmittedValue("deaths", "2021W38", "PRK", 4, attribute="funder=gavi")],
        hierarchy=national_hierarchy(),
    )
    assert summary.counts["accepted"] == 1
    assert store.count_values(engine) == 3

    with pytest.raises(RuntimeError, match="1 stored values have an attribute option combo"):
        command.downgrade(config, "reporting_0001")
    store.delete_values(
        engine, [v.key for v in store.load_values(engine) if v.attribute != "default"]
    )
    command.downgrade(config, "reporting_0001")
    assert "report_complete_registrations" not in inspect(engine).get_table_names()
    assert "attribute" not in {c["name"] for c in inspect(engine).get_columns("report_data_values")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM report_data_values")).scalar() == 2

    migrate(engine)
    assert [v.value for v in store.load_values(engine)] == [1.0, 2.0]
    engine.dispose()


def test_migrated_reporting_schema_is_the_one_the_tables_describe(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), t.metadata)
    assert [d for d in diffs if _TABLES & _names(d)] == []
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            ddl = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'report_data_values'")
            ).scalar()
        assert "WITHOUT ROWID" in str(ddl)  # the rebuild keeps the row in the key's b-tree
    engine.dispose()
