"""ledger: nodes, lots, append-only events, account and running-balance projections.

Revision ID: ledger_0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ledger_0001"
down_revision = None
branch_labels = ("ledger",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_nodes",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("country", sa.String(3), nullable=True),
        sa.Column("parent", sa.String(64), nullable=True),
        sa.Column("region", sa.String(200), nullable=True),
        sa.Column("capacity", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("code", name="pk_ledger_nodes"),
    )
    op.create_table(
        "ledger_lots",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("product", sa.String(64), nullable=False),
        sa.Column("number", sa.String(100), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=True),
        sa.Column("vvm_stage", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_lots"),
        sa.UniqueConstraint("product", "number", name="uq_ledger_lots_product"),
    )
    op.create_table(
        "ledger_events",
        sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("occurred_at", sa.BigInteger(), nullable=False),
        sa.Column("effective_at", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("batch_id", sa.String(36), nullable=False),
        sa.Column("node", sa.String(64), nullable=True),
        sa.Column("to_node", sa.String(64), nullable=True),
        sa.Column("shipment_id", sa.String(100), nullable=True),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("vvm_stage", sa.SmallInteger(), nullable=True),
        sa.Column("product", sa.String(64), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=True),
        sa.Column("discrepancy", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("ref", sa.String(200), nullable=True),
        sa.Column("route", sa.Text(), nullable=True),
        sa.Column("expected_dispatch", sa.Date(), nullable=True),
        sa.Column("expected_arrival", sa.Date(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_ledger_events"),
        sa.UniqueConstraint("event_id", name="uq_ledger_events_event_id"),
    )
    op.create_index(
        "ix_ledger_events_shipment",
        "ledger_events",
        ["shipment_id"],
        sqlite_where=sa.text("shipment_id IS NOT NULL"),
        postgresql_where=sa.text("shipment_id IS NOT NULL"),
    )
    op.create_index(
        "ix_ledger_events_ref",
        "ledger_events",
        ["ref"],
        sqlite_where=sa.text("ref IS NOT NULL"),
        postgresql_where=sa.text("ref IS NOT NULL"),
    )
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("product", sa.String(64), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(200), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("last_at", sa.BigInteger(), nullable=False),
        sa.Column("last_ord", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_accounts"),
        sa.UniqueConstraint("state", "node", "lot_id", "ref", name="uq_ledger_accounts_state"),
    )
    op.create_index("ix_ledger_accounts_node_product", "ledger_accounts", ["node", "product"])
    op.create_table(
        "ledger_steps",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("ord", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "at", "ord", "seq", name="pk_ledger_steps"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    for name in ("ledger_steps", "ledger_accounts", "ledger_events", "ledger_lots", "ledger_nodes"):
        op.drop_table(name)
