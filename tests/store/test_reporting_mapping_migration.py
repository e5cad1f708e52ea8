"""Reporting schema migration reporting_0004 (the stored DHIS2 mapping): a database at
reporting_0003 with a stored value upgrades with its rows intact, stores a mapping,
downgrades and upgrades again; the migrated schema is the one the code's tables describe.
Both backends."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from doseflow.domain.errors import DoseflowError
from doseflow.reporting.dhis2_mapping import IdKind, IdScheme
from doseflow.store.base import Base
from doseflow.store.database import alembic_config, make_engine, migrate
from doseflow.store.reporting_mapping import save_mapping, stored_mapping

MAPPING = "org_units:\n  PRK: {id: OuDPRKorea1, code: PRK}\n"


def test_reporting_0003_upgrades_downgrades_and_upgrades_again(db_url: str) -> None:
    engine = make_engine(db_url)
    config = alembic_config(engine)
    command.upgrade(config, "reporting_0003")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO report_data_values (participant, org_unit, period, data_element, "
                "category, attribute, value, period_start, created_at, updated_at) VALUES "
                "('PRK', 'PRK', '2021W38', 'people_tested', 'default', 'default', 667, "
                "'2021-09-20', 0, 0)"
            )
        )
    assert "report_dhis2_mappings" not in inspect(engine).get_table_names()

    command.upgrade(config, "reporting_0004")
    assert "report_dhis2_mappings" in inspect(engine).get_table_names()
    save_mapping(engine, MAPPING, "m.yaml", by="who")
    stored = stored_mapping(engine)
    assert stored is not None
    assert stored.loaded_by == "who"
    assert stored.mapping.identifier_out(IdKind.ORG_UNIT, "PRK", IdScheme.UID) == "OuDPRKorea1"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM report_data_values")).scalar() == 667

    command.downgrade(config, "reporting_0003")
    assert "report_dhis2_mappings" not in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM report_data_values")).scalar() == 1

    migrate(engine)  # every head again
    assert stored_mapping(engine) is None
    engine.dispose()


def test_the_latest_valid_mapping_is_in_force(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    first = save_mapping(engine, MAPPING, "a.yaml")
    second = save_mapping(engine, "org_units:\n  PRK: {id: OuDPRKorea2}\n", "b.yaml")
    with pytest.raises(DoseflowError) as err:
        save_mapping(engine, "org_units:\n  PRK: {id: not-a-uid}\n", "bad.yaml")
    assert err.value.code == "REPORT_MAPPING_INVALID"
    assert err.value.details[0].location.source == "bad.yaml"
    stored = stored_mapping(engine)
    assert stored is not None
    assert (stored.id, stored.source) == (second.id, "b.yaml")
    assert stored.id > first.id
    assert stored.mapping.identifier_out(IdKind.ORG_UNIT, "PRK", IdScheme.UID) == "OuDPRKorea2"
    engine.dispose()


def test_migrated_schema_is_the_one_the_tables_describe(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diffs if "report_dhis2_mappings" in repr(d)]
    assert ours == []
    engine.dispose()
