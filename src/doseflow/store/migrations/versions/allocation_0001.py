"""allocation: scenarios, rounds (preview/run/published), pools, lines with explanations,
coverage and declines.

Revision ID: allocation_0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "allocation_0001"
down_revision = None
branch_labels = ("allocation",)
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "alloc_scenarios",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source", sa.String(1000), nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alloc_scenarios")),
        sa.UniqueConstraint("name", name=op.f("uq_alloc_scenarios_name")),
    )
    op.create_table(
        "alloc_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("supply", sa.BigInteger(), nullable=False),
        sa.Column("allocated", sa.BigInteger(), nullable=False),
        sa.Column("buffer", sa.BigInteger(), nullable=False),
        sa.Column("held", sa.BigInteger(), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alloc_rounds")),
        _fk("alloc_rounds", "scenario_id", "alloc_scenarios"),
        sa.UniqueConstraint("scenario_id", "number", name="uq_alloc_rounds_number"),
    )
    op.create_index(op.f("ix_alloc_rounds_scenario_id"), "alloc_rounds", ["scenario_id"])
    op.create_table(
        "alloc_pools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("pool", sa.String(300), nullable=False),
        sa.Column("product", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("donor", sa.String(200), nullable=True),
        sa.Column("mode", sa.String(32), nullable=False),
        sa.Column("level", sa.Float(), nullable=True),
        sa.Column("supply", sa.BigInteger(), nullable=False),
        sa.Column("carried_in", sa.BigInteger(), nullable=False),
        sa.Column("buffer", sa.BigInteger(), nullable=False),
        sa.Column("allocated", sa.BigInteger(), nullable=False),
        sa.Column("held", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alloc_pools")),
        _fk("alloc_pools", "round_id", "alloc_rounds"),
    )
    op.create_index(op.f("ix_alloc_pools_round_id"), "alloc_pools", ["round_id"])
    op.create_table(
        "alloc_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("pool", sa.String(300), nullable=False),
        sa.Column("product", sa.String(64), nullable=False),
        sa.Column("iso3", sa.String(3), nullable=False),
        sa.Column("doses", sa.BigInteger(), nullable=False),
        sa.Column("packs", sa.BigInteger(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alloc_lines")),
        _fk("alloc_lines", "round_id", "alloc_rounds"),
    )
    op.create_index(op.f("ix_alloc_lines_round_id"), "alloc_lines", ["round_id"])
    op.create_index(op.f("ix_alloc_lines_iso3"), "alloc_lines", ["iso3"])
    op.create_table(
        "alloc_coverage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("iso3", sa.String(3), nullable=False),
        sa.Column("population", sa.BigInteger(), nullable=False),
        sa.Column("doses", sa.BigInteger(), nullable=False),
        sa.Column("doses_per_100", sa.Float(), nullable=False),
        sa.Column("fully_covered", sa.Float(), nullable=False),
        sa.Column("coverage", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alloc_coverage")),
        _fk("alloc_coverage", "round_id", "alloc_rounds"),
    )
    op.create_index(op.f("ix_alloc_coverage_round_id"), "alloc_coverage", ["round_id"])
    op.create_table(
        "alloc_declines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("round_number", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(64), nullable=False),
        sa.Column("iso3", sa.String(3), nullable=False),
        sa.Column("pool", sa.String(300), nullable=False),
        sa.Column("doses", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("redirect", sa.String(32), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alloc_declines")),
        _fk("alloc_declines", "scenario_id", "alloc_scenarios"),
        sa.UniqueConstraint(
            "scenario_id", "round_number", "product", "iso3", "pool", name="uq_alloc_declines_key"
        ),
    )
    op.create_index(op.f("ix_alloc_declines_scenario_id"), "alloc_declines", ["scenario_id"])


def downgrade() -> None:
    for table in (
        "alloc_declines",
        "alloc_coverage",
        "alloc_lines",
        "alloc_pools",
        "alloc_rounds",
        "alloc_scenarios",
    ):
        op.drop_table(table)
