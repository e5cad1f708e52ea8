"""reporting: attribute option combos in the value key; complete data set registrations.

- ``report_data_values`` gains ``attribute`` (the attribute option combo key, ``default`` for
  every existing row) as the last column of its primary key, so two values differing only by
  attribute option combo are two rows. PostgreSQL alters the table in place; SQLite rebuilds
  it (a ``WITHOUT ROWID`` table cannot change its primary key), copying every row.
- ``report_complete_registrations``: one row per participant, org unit, report, period and
  attribute option combo marked complete (DHIS2's complete data set registration), with the
  completion date and who stored it when.

Downgrading drops the registrations and refuses while values with an attribute option combo
other than ``default`` exist (the old key could not hold them; delete them first).

Revision ID: reporting_0003
Revises: reporting_0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "reporting_0003"
down_revision = "reporting_0002"
branch_labels = None
depends_on = None

_TABLE = "report_data_values"
_OLD_KEY = ["participant", "org_unit", "period", "data_element", "category"]
_COLUMNS = (
    "participant, org_unit, period, data_element, category, value, comment, period_start, "
    "stored_by, created_at, updated_at"
)


def _value_columns(with_attribute: bool) -> list[sa.Column[object]]:
    cols: list[sa.Column[object]] = [
        sa.Column("participant", sa.String(32), nullable=False),
        sa.Column("org_unit", sa.String(64), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("data_element", sa.String(64), nullable=False),
        sa.Column("category", sa.String(200), nullable=False),
    ]
    if with_attribute:
        cols.append(
            sa.Column("attribute", sa.String(200), nullable=False, server_default="default")
        )
    cols += [
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("stored_by", sa.String(100), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    ]
    return cols


def _rebuild_sqlite(with_attribute: bool) -> None:
    """SQLite: a new table with the new key, every row copied, then renamed into place."""
    key = [*_OLD_KEY, "attribute"] if with_attribute else _OLD_KEY
    op.create_table(
        f"{_TABLE}_new",
        *_value_columns(with_attribute),
        sa.PrimaryKeyConstraint(*key, name="pk_report_data_values"),
        sqlite_with_rowid=False,
    )
    op.execute(f"INSERT INTO {_TABLE}_new ({_COLUMNS}) SELECT {_COLUMNS} FROM {_TABLE}")
    op.drop_table(_TABLE)
    op.rename_table(f"{_TABLE}_new", _TABLE)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(with_attribute=True)
    else:
        op.add_column(
            _TABLE,
            sa.Column("attribute", sa.String(200), nullable=False, server_default="default"),
        )
        op.drop_constraint("pk_report_data_values", _TABLE, type_="primary")
        op.create_primary_key("pk_report_data_values", _TABLE, [*_OLD_KEY, "attribute"])
    op.create_table(
        "report_complete_registrations",
        sa.Column("participant", sa.String(32), nullable=False),
        sa.Column("org_unit", sa.String(64), nullable=False),
        sa.Column("report", sa.String(64), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("attribute", sa.String(200), nullable=False),
        sa.Column("completed", sa.Date(), nullable=False),
        sa.Column("stored_by", sa.String(100), nullable=True),
        sa.Column("stored_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "participant",
            "org_unit",
            "report",
            "period",
            "attribute",
            name="pk_report_complete_registrations",
        ),
    )


def downgrade() -> None:
    bind = op.get_bind()
    others = bind.execute(
        sa.text(f"SELECT count(*) FROM {_TABLE} WHERE attribute <> 'default'")
    ).scalar()
    if others:
        raise RuntimeError(
            f"cannot downgrade below reporting_0003: {others} stored values have an attribute "
            "option combo other than 'default', which the old key cannot hold; delete them first"
        )
    op.drop_table("report_complete_registrations")
    if bind.dialect.name == "sqlite":
        _rebuild_sqlite(with_attribute=False)
    else:
        op.drop_constraint("pk_report_data_values", _TABLE, type_="primary")
        op.create_primary_key("pk_report_data_values", _TABLE, _OLD_KEY)
        op.drop_column(_TABLE, "attribute")
