"""service: progress of background jobs (fraction done and what the job is doing).

Revision ID: service_0004
Revises: service_0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "service_0004"
down_revision = "service_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_jobs") as batch:
        batch.add_column(sa.Column("progress", sa.Float(), nullable=True))
        batch.add_column(sa.Column("progress_message", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("service_jobs") as batch:
        batch.drop_column("progress_message")
        batch.drop_column("progress")
