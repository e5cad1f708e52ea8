"""service: the job queue shared by server processes (claims, heartbeats, attempts).

Adds to ``service_jobs`` who holds a running job (``claimed_by``), when it last showed it
was alive (``heartbeat_at``) and how many runs it has started (``attempts``), and an index
for claiming the oldest queued job. Jobs already in the table keep their parameters, which
are all a worker needs: queued ones stay queued and are run; running ones (left by a
server of the earlier schema) get their start as heartbeat, so they count as stale after
the timeout and are recovered like any job whose worker died. A succeeded job that carried
an error left there by the earlier code (issue 11) loses it.

Revision ID: service_0002
Revises: service_0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "service_0002"
down_revision = "service_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_jobs") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    op.create_index(
        "ix_service_jobs_status_submitted_at", "service_jobs", ["status", "submitted_at"]
    )
    op.execute(
        "UPDATE service_jobs SET heartbeat_at = COALESCE(started_at, submitted_at), "
        "attempts = 1 WHERE status = 'running'"
    )
    op.execute("UPDATE service_jobs SET errors = NULL WHERE status = 'succeeded'")


def downgrade() -> None:
    op.drop_index("ix_service_jobs_status_submitted_at", table_name="service_jobs")
    with op.batch_alter_table("service_jobs") as batch:
        batch.drop_column("attempts")
        batch.drop_column("heartbeat_at")
        batch.drop_column("claimed_by")
