"""allocation: who recorded a decline and through which interface (CLI, API, dashboard),
so a decline is shown with its source wherever it is listed.

Revision ID: allocation_0002
Revises: allocation_0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "allocation_0002"
down_revision = "allocation_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "alloc_declines",
        sa.Column("recorded_by", sa.String(300), nullable=False, server_default=""),
    )


def downgrade() -> None:
    with op.batch_alter_table("alloc_declines") as batch:
        batch.drop_column("recorded_by")
