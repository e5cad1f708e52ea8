"""Tables of the reporting area (Alembic branch ``reporting``).

``report_data_values`` holds one row per value key (participant, org unit, period, data
element, category, attribute option combo): re-submitting replaces the row, so the table is
the latest figure for every key. Its timestamps are whole seconds since 1970 UTC (integers,
fast to write in bulk on both backends). Locks, their audit trail, requirements and the
first-submission times used by compliance sit beside it, the complete data set
registrations (DHIS2's way of marking a report as submitted) that compliance prefers when
there are any, the hierarchy files loaded with `doseflow report hierarchy load` and the
DHIS2 mapping files loaded with `doseflow report mapping load` (for each, the latest is in
force).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from doseflow.store.base import Base

metadata = Base.metadata

data_values = Table(
    "report_data_values",
    metadata,
    Column("participant", String(32), nullable=False),
    Column("org_unit", String(64), nullable=False),
    Column("period", String(16), nullable=False),
    Column("data_element", String(64), nullable=False),
    Column("category", String(200), nullable=False),
    Column("attribute", String(200), nullable=False, server_default="default"),
    Column("value", Float(precision=53), nullable=False),
    Column("comment", Text, nullable=True),
    Column("period_start", Date, nullable=False),
    Column("stored_by", String(100), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    PrimaryKeyConstraint(
        "participant",
        "org_unit",
        "period",
        "data_element",
        "category",
        "attribute",
        name="pk_report_data_values",
    ),
    sqlite_with_rowid=False,
)

submissions = Table(
    "report_submissions",
    metadata,
    Column("participant", String(32), nullable=False),
    Column("report", String(64), nullable=False),
    Column("period", String(16), nullable=False),
    Column("first_submitted_at", DateTime, nullable=False),
    Column("last_submitted_at", DateTime, nullable=False),
    Column("submission_count", Integer, nullable=False),
    PrimaryKeyConstraint("participant", "report", "period", name="pk_report_submissions"),
)

period_locks = Table(
    "report_period_locks",
    metadata,
    Column("participant", String(32), nullable=False),
    Column("report", String(64), nullable=False),
    Column("period", String(16), nullable=False),
    Column("locked_at", DateTime, nullable=False),
    Column("locked_by", String(100), nullable=False),
    Column("note", Text, nullable=True),
    PrimaryKeyConstraint("participant", "report", "period", name="pk_report_period_locks"),
)

lock_audit = Table(
    "report_lock_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("participant", String(32), nullable=False),
    Column("report", String(64), nullable=False),
    Column("period", String(16), nullable=False),
    Column("action", String(16), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("reason", Text, nullable=True),
    Column("at", DateTime, nullable=False),
    Index("ix_report_lock_audit_participant", "participant", "report", "period"),
)

requirements = Table(
    "report_requirements",
    metadata,
    Column("participant", String(32), nullable=False),
    Column("report", String(64), nullable=False),
    Column("frequency", String(16), nullable=False),
    Column("due_days", Integer, nullable=False),
    Column("first_period", String(16), nullable=False),
    Column("last_period", String(16), nullable=True),
    Column("updated_at", DateTime, nullable=False),
    PrimaryKeyConstraint("participant", "report", name="pk_report_requirements"),
)


def _stored_documents(name: str) -> Table:
    """A table of documents loaded once and kept as given, the latest in force (see
    :mod:`doseflow.store.stored_documents`)."""
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("source", String(1000), nullable=False),
        Column("document", Text, nullable=False),
        Column("sha256", String(64), nullable=False),
        Column("loaded_by", String(100), nullable=True),
        Column("loaded_at", DateTime, nullable=False),
    )


hierarchies = _stored_documents("report_hierarchies")
dhis2_mappings = _stored_documents("report_dhis2_mappings")


complete_registrations = Table(
    "report_complete_registrations",
    metadata,
    Column("participant", String(32), nullable=False),
    Column("org_unit", String(64), nullable=False),
    Column("report", String(64), nullable=False),
    Column("period", String(16), nullable=False),
    Column("attribute", String(200), nullable=False),
    Column("completed", Date, nullable=False),
    Column("stored_by", String(100), nullable=True),
    Column("stored_at", DateTime, nullable=False),
    PrimaryKeyConstraint(
        "participant",
        "org_unit",
        "report",
        "period",
        "attribute",
        name="pk_report_complete_registrations",
    ),
)
