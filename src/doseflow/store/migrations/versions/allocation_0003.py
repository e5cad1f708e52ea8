"""allocation: a pool's membership (the financing groups and participants that may draw
from it), so pool listings say whom a pool is for, not only its product and donor.

Revision ID: allocation_0003
Revises: allocation_0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "allocation_0003"
down_revision = "allocation_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alloc_pools", sa.Column("members", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alloc_pools") as batch:
        batch.drop_column("members")
