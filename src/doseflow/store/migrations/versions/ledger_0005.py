"""ledger: a partial index on held events, so the shipments held at hubs are found at once.

``held_at_hubs`` (the shipments page, ``GET /api/ledger/hubs``, ``doseflow ledger hubs``)
folded every shipment of the ledger to find the few held at a hub: 0.6 s on the demo
database. Only a shipment with a ``held`` event can be held, and this index lists those
(issue 15).

Revision ID: ledger_0005
Revises: ledger_0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ledger_0005"
down_revision = "ledger_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    held = sa.text("kind = 'held'")
    op.create_index(
        "ix_ledger_events_held",
        "ledger_events",
        ["shipment_id"],
        sqlite_where=held,
        postgresql_where=held,
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_events_held", table_name="ledger_events")
