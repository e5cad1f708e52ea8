"""reporting: the stored hierarchy (``doseflow report hierarchy load``).

Each load adds a row with the file's text; the latest row is the hierarchy in force for
every reporting command and endpoint not given one. Earlier rows stay as the record of what
was in force when.

Revision ID: reporting_0002
Revises: reporting_0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "reporting_0002"
down_revision = "reporting_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_hierarchies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(1000), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("loaded_by", sa.String(100), nullable=True),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_report_hierarchies"),
    )


def downgrade() -> None:
    op.drop_table("report_hierarchies")
