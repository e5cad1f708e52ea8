"""ledger: every node carries the IANA time zone that cuts its days.

``ledger_nodes.time_zone`` says where a node's civil days begin (periods, reports, stock at
a date are cut at local midnight there). Existing nodes get their country's default from the
bundled table (``doseflow.data.time_zones``: the capital's zone for a country with several),
UTC for a node without a country; ``doseflow ledger nodes`` with a network file that names
``time_zone:`` overrides them.

Revision ID: ledger_0004
Revises: ledger_0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from doseflow.data.time_zones import FALLBACK_ZONE, country_time_zone

revision = "ledger_0004"
down_revision = "ledger_0003"
branch_labels = None
depends_on = None

_NODES = sa.table(
    "ledger_nodes", sa.column("country", sa.String()), sa.column("time_zone", sa.String())
)


def upgrade() -> None:
    op.add_column("ledger_nodes", sa.Column("time_zone", sa.String(64), nullable=True))
    conn = op.get_bind()
    countries = [c for (c,) in conn.execute(sa.select(_NODES.c.country).distinct()) if c]
    for country in countries:
        zone = country_time_zone(country)
        if zone is not None:
            conn.execute(_NODES.update().where(_NODES.c.country == country).values(time_zone=zone))
    conn.execute(
        _NODES.update().where(_NODES.c.time_zone.is_(None)).values(time_zone=FALLBACK_ZONE)
    )
    with op.batch_alter_table("ledger_nodes") as batch:
        batch.alter_column("time_zone", existing_type=sa.String(64), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("ledger_nodes") as batch:
        batch.drop_column("time_zone")
