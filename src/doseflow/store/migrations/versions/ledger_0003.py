"""ledger: leaner rows for bulk ingest.

- ``ledger_events.seq`` becomes SQLite's rowid (declared ``INTEGER``): the table is stored in
  sequence order with no separate primary-key index, one B-tree fewer per event written.
- The 36-character batch id on every event row becomes an integer ``batch`` naming a row of
  the new ``ledger_batches`` table (its UUID, when it was recorded, how many events).
- ``ledger_accounts`` keeps only stock and transit accounts (the projected ones: doses
  administered, written off or entered are totals of the events) and one unique index,
  ``(node, product, state, lot_id, ref)``, which also serves lookups by node and product
  (a lot has one product, so it is as unique as the old key).

Revision ID: ledger_0003
Revises: ledger_0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ledger_0003"
down_revision = "ledger_0002"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: Partial indexes of ``ledger_events``, dropped and made again around the table's rebuild
#: (so their ``WHERE`` clauses do not depend on what reflection recovers).
_PARTIAL = {"ix_ledger_events_shipment": "shipment_id", "ix_ledger_events_ref": "ref"}


def _drop_partial_indexes() -> None:
    for name in _PARTIAL:
        op.drop_index(name, table_name="ledger_events")


def _create_partial_indexes() -> None:
    for name, column in _PARTIAL.items():
        where = sa.column(column).isnot(None)
        op.create_index(name, "ledger_events", [column], sqlite_where=where, postgresql_where=where)


def upgrade() -> None:
    op.create_table(
        "ledger_batches",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_batches"),
        sa.UniqueConstraint("uuid", name="uq_ledger_batches_uuid"),
    )
    op.execute(
        "INSERT INTO ledger_batches (id, uuid, recorded_at, events) "
        "SELECT row_number() OVER (ORDER BY min(seq)), batch_id, min(recorded_at), count(*) "
        "FROM ledger_events GROUP BY batch_id"
    )
    op.add_column("ledger_events", sa.Column("batch", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE ledger_events SET batch = "
        "(SELECT b.id FROM ledger_batches b WHERE b.uuid = ledger_events.batch_id)"
    )
    _drop_partial_indexes()
    with op.batch_alter_table("ledger_events") as batch:
        batch.drop_column("batch_id")
        batch.alter_column("batch", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("seq", existing_type=sa.BigInteger(), type_=_SEQ)
    _create_partial_indexes()
    op.execute("DELETE FROM ledger_accounts WHERE state NOT IN ('stock', 'transit')")
    op.drop_index("ix_ledger_accounts_node_product", table_name="ledger_accounts")
    with op.batch_alter_table("ledger_accounts") as batch:
        batch.drop_constraint("uq_ledger_accounts_state", type_="unique")
        batch.create_unique_constraint(
            "uq_ledger_accounts_key", ["node", "product", "state", "lot_id", "ref"]
        )
    op.execute("UPDATE ledger_version SET version = version + 1 WHERE id = 1")


def downgrade() -> None:
    """Back to the 0002 schema. The administered, written-off and entered accounts deleted
    by the upgrade are not made again: run the older version's ``doseflow ledger check
    --repair`` after downgrading."""
    with op.batch_alter_table("ledger_accounts") as batch:
        batch.drop_constraint("uq_ledger_accounts_key", type_="unique")
        batch.create_unique_constraint(
            "uq_ledger_accounts_state", ["state", "node", "lot_id", "ref"]
        )
    op.create_index("ix_ledger_accounts_node_product", "ledger_accounts", ["node", "product"])
    op.add_column("ledger_events", sa.Column("batch_id", sa.String(36), nullable=True))
    op.execute(
        "UPDATE ledger_events SET batch_id = "
        "(SELECT b.uuid FROM ledger_batches b WHERE b.id = ledger_events.batch)"
    )
    _drop_partial_indexes()
    with op.batch_alter_table("ledger_events") as batch:
        batch.drop_column("batch")
        batch.alter_column("batch_id", existing_type=sa.String(36), nullable=False)
        batch.alter_column("seq", existing_type=_SEQ, type_=sa.BigInteger())
    _create_partial_indexes()
    op.drop_table("ledger_batches")
