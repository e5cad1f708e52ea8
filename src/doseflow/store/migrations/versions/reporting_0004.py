"""reporting: the stored DHIS2 mapping (``doseflow report mapping load``).

Each load adds a row with the mapping file's text; the latest row is the mapping in force
for the DHIS2-compatible endpoint (``/api/dataValueSets``) and for ``doseflow report
import/export`` when not given ``--mapping``. Earlier rows stay as the record of what was
in force when.

Revision ID: reporting_0004
Revises: reporting_0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "reporting_0004"
down_revision = "reporting_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_dhis2_mappings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(1000), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("loaded_by", sa.String(100), nullable=True),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_report_dhis2_mappings"),
    )


def downgrade() -> None:
    op.drop_table("report_dhis2_mappings")
