"""reporting: data values, submissions, period locks and their audit, requirements.

Revision ID: reporting_0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "reporting_0001"
down_revision = None
branch_labels = ("reporting",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_data_values",
        sa.Column("participant", sa.String(32), nullable=False),
        sa.Column("org_unit", sa.String(64), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("data_element", sa.String(64), nullable=False),
        sa.Column("category", sa.String(200), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("stored_by", sa.String(100), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "participant",
            "org_unit",
            "period",
            "data_element",
            "category",
            name="pk_report_data_values",
        ),
        sqlite_with_rowid=False,  # rows live in the key's b-tree: one b-tree per insert
    )
    op.create_table(
        "report_submissions",
        sa.Column("participant", sa.String(32), nullable=False),
        sa.Column("report", sa.String(64), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("first_submitted_at", sa.DateTime(), nullable=False),
        sa.Column("last_submitted_at", sa.DateTime(), nullable=False),
        sa.Column("submission_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("participant", "report", "period", name="pk_report_submissions"),
    )
    op.create_table(
        "report_period_locks",
        sa.Column("participant", sa.String(32), nullable=False),
        sa.Column("report", sa.String(64), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("locked_at", sa.DateTime(), nullable=False),
        sa.Column("locked_by", sa.String(100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("participant", "report", "period", name="pk_report_period_locks"),
    )
    op.create_table(
        "report_lock_audit",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("participant", sa.String(32), nullable=False),
        sa.Column("report", sa.String(64), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_report_lock_audit"),
    )
    op.create_index(
        "ix_report_lock_audit_participant",
        "report_lock_audit",
        ["participant", "report", "period"],
    )
    op.create_table(
        "report_requirements",
        sa.Column("participant", sa.String(32), nullable=False),
        sa.Column("report", sa.String(64), nullable=False),
        sa.Column("frequency", sa.String(16), nullable=False),
        sa.Column("due_days", sa.Integer(), nullable=False),
        sa.Column("first_period", sa.String(16), nullable=False),
        sa.Column("last_period", sa.String(16), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("participant", "report", name="pk_report_requirements"),
    )


def downgrade() -> None:
    op.drop_table("report_requirements")
    op.drop_index("ix_report_lock_audit_participant", table_name="report_lock_audit")
    op.drop_table("report_lock_audit")
    op.drop_table("report_period_locks")
    op.drop_table("report_submissions")
    op.drop_table("report_data_values")
