"""Tables of the stock ledger.

``ledger_events`` is the ledger itself: append-only, never updated or deleted (a mistake is
corrected by a reversal event); ``ledger_batches`` says which append wrote each event.
Moments are whole seconds since 1970 UTC (integers sort and compare fast on both backends).
The other tables are master data (nodes, lots) and *projections* derived from the events
inside the same transaction: the balance of every stock and transit account
(``ledger_accounts``) and every posting to one with the running balance after it
(``ledger_steps``), which is what makes stock-on-hand at any date a single
index seek and the never-negative check of a back-dated event look only at that account
from that moment on. Projections can be rebuilt from the events at any time.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from doseflow.store.base import Base

metadata = Base.metadata

nodes = Table(
    "ledger_nodes",
    metadata,
    Column("code", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("country", String(3), nullable=True),
    Column("parent", String(64), nullable=True),
    Column("region", String(200), nullable=True),
    Column("capacity", Text, nullable=True),  # JSON: band -> litres
    # IANA zone cutting the node's days (its own, or its country's default; UTC without one)
    Column("time_zone", String(64), nullable=False),
    PrimaryKeyConstraint("code", name="pk_ledger_nodes"),
)

lots = Table(
    "ledger_lots",
    metadata,
    Column("id", Integer, nullable=False, autoincrement=False),
    Column("product", String(64), nullable=False),
    Column("number", String(100), nullable=False),
    Column("expiry", Date, nullable=True),
    Column("vvm_stage", SmallInteger, nullable=False),
    PrimaryKeyConstraint("id", name="pk_ledger_lots"),
    UniqueConstraint("product", "number", name="uq_ledger_lots_product"),
)

#: Event sequence numbers: on SQLite declared ``INTEGER``, which makes the primary key the
#: table's rowid (rows stored in sequence order, no separate key index to maintain).
SEQ = BigInteger().with_variant(Integer(), "sqlite")

batches = Table(
    "ledger_batches",
    metadata,
    Column("id", Integer, nullable=False, autoincrement=False),
    Column("uuid", String(36), nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
    Column("events", Integer, nullable=False),
    PrimaryKeyConstraint("id", name="pk_ledger_batches"),
    UniqueConstraint("uuid", name="uq_ledger_batches_uuid"),
)

events = Table(
    "ledger_events",
    metadata,
    Column("seq", SEQ, nullable=False, autoincrement=False),
    Column("event_id", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("occurred_at", BigInteger, nullable=False),
    Column("effective_at", BigInteger, nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
    Column("recorded_by", String(100), nullable=False),
    Column("batch", Integer, nullable=False),  # ledger_batches.id
    Column("node", String(64), nullable=True),
    Column("to_node", String(64), nullable=True),
    Column("shipment_id", String(100), nullable=True),
    Column("lot_id", Integer, nullable=True),
    Column("vvm_stage", SmallInteger, nullable=True),
    Column("product", String(64), nullable=True),
    Column("quantity", BigInteger, nullable=True),
    Column("discrepancy", BigInteger, nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("reason", String(500), nullable=True),
    Column("ref", String(200), nullable=True),
    Column("route", Text, nullable=True),
    Column("expected_dispatch", Date, nullable=True),
    Column("expected_arrival", Date, nullable=True),
    Column("until", Date, nullable=True),
    PrimaryKeyConstraint("seq", name="pk_ledger_events"),
    UniqueConstraint("event_id", name="uq_ledger_events_event_id"),
    Index(
        "ix_ledger_events_shipment",
        "shipment_id",
        sqlite_where=Column("shipment_id").isnot(None),
        postgresql_where=Column("shipment_id").isnot(None),
    ),
    Index(
        "ix_ledger_events_ref",
        "ref",
        sqlite_where=Column("ref").isnot(None),
        postgresql_where=Column("ref").isnot(None),
    ),
    # The few shipments ever held at a hub, found without reading every event (issue 15).
    Index(
        "ix_ledger_events_held",
        "shipment_id",
        sqlite_where=Column("kind") == "held",
        postgresql_where=Column("kind") == "held",
    ),
)

accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", Integer, nullable=False, autoincrement=False),
    Column("state", String(16), nullable=False),
    Column("node", String(64), nullable=False),
    Column("product", String(64), nullable=False),
    Column("lot_id", Integer, nullable=False),
    Column("ref", String(200), nullable=False),
    Column("balance", BigInteger, nullable=False),
    Column("last_at", BigInteger, nullable=False),
    Column("last_ord", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("id", name="pk_ledger_accounts"),
    # one index for uniqueness and for lookups by node and product (a lot has one product)
    UniqueConstraint("node", "product", "state", "lot_id", "ref", name="uq_ledger_accounts_key"),
)

steps = Table(
    "ledger_steps",
    metadata,
    Column("account_id", Integer, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("ord", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("delta", BigInteger, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    PrimaryKeyConstraint("account_id", "at", "ord", "seq", name="pk_ledger_steps"),
    sqlite_with_rowid=False,
)

#: One row (id 1): bumped by every transaction that writes events or projections, so a
#: process knows whether what it keeps in memory of the accounts is still current.
version = Table(
    "ledger_version",
    metadata,
    Column("id", SmallInteger, nullable=False, autoincrement=False),
    Column("version", BigInteger, nullable=False),
    PrimaryKeyConstraint("id", name="pk_ledger_version"),
)
