"""ledger: a write-version counter, bumped by every transaction that changes the ledger.

A process may keep the accounts it read in memory while the counter still has the value it
read them at (see ``doseflow.store.ledger_cache``).

Revision ID: ledger_0002
Revises: ledger_0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ledger_0002"
down_revision = "ledger_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    version = op.create_table(
        "ledger_version",
        sa.Column("id", sa.SmallInteger(), nullable=False, autoincrement=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_version"),
    )
    op.bulk_insert(version, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.drop_table("ledger_version")
