"""allocation: revisions of a round's supply, kept append-only with who made them, when,
what they changed and the round as each left it.

Revision ID: allocation_0004
Revises: allocation_0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "allocation_0004"
down_revision = "allocation_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alloc_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("round_number", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("scenario_hash", sa.String(64), nullable=False),
        sa.Column("tranches", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("supply", sa.BigInteger(), nullable=False),
        sa.Column("allocated", sa.BigInteger(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(300), nullable=False, server_default=""),
        sa.ForeignKeyConstraint(
            ["scenario_id"],
            ["alloc_scenarios.id"],
            name=op.f("fk_alloc_revisions_scenario_id_alloc_scenarios"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alloc_revisions")),
        sa.UniqueConstraint(
            "scenario_id", "round_number", "revision", name="uq_alloc_revisions_number"
        ),
    )
    op.create_index(op.f("ix_alloc_revisions_scenario_id"), "alloc_revisions", ["scenario_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_alloc_revisions_scenario_id"), table_name="alloc_revisions")
    op.drop_table("alloc_revisions")
