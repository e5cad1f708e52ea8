"""service: dashboard sessions (server-side, hashed ids) and audit rows keyed by request.

Revision ID: service_0003
Revises: service_0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "service_0003"
down_revision = "service_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_sessions")),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["service_tokens.id"],
            name=op.f("fk_service_sessions_token_id_service_tokens"),
        ),
        sa.UniqueConstraint("session_hash", name=op.f("uq_service_sessions_session_hash")),
    )
    op.create_index(op.f("ix_service_sessions_token_id"), "service_sessions", ["token_id"])
    op.create_index(op.f("ix_service_sessions_expires_at"), "service_sessions", ["expires_at"])
    with op.batch_alter_table("service_audit") as batch:
        batch.add_column(sa.Column("request_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("writes", sa.Integer(), nullable=True))
        batch.create_unique_constraint(op.f("uq_service_audit_request_id"), ["request_id"])


def downgrade() -> None:
    with op.batch_alter_table("service_audit") as batch:
        batch.drop_constraint(op.f("uq_service_audit_request_id"), type_="unique")
        batch.drop_column("writes")
        batch.drop_column("request_id")
    op.drop_index(op.f("ix_service_sessions_expires_at"), table_name="service_sessions")
    op.drop_index(op.f("ix_service_sessions_token_id"), table_name="service_sessions")
    op.drop_table("service_sessions")
