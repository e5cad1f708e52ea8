"""Ledger schema migrations: a database written by the 0002 schema upgrades to the current
one with its events intact and its projections still agreeing with them; the migrated
schema is the one the code's tables describe."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from doseflow.ledger.accounts import AccountState
from doseflow.store import ledger_tables as t
from doseflow.store.database import alembic_config, make_engine, migrate
from doseflow.store.ledger import LedgerStore
from tests.ledger.factory import NODES, administered, day, dispatched, received

_LEDGER_TABLES = {
    "ledger_nodes",
    "ledger_lots",
    "ledger_batches",
    "ledger_events",
    "ledger_accounts",
    "ledger_steps",
    "ledger_version",
}


def _old_ledger(url: str) -> Engine:
    """A database at ledger_0002 holding two appends written the 0002 way (batch UUIDs on
    event rows, administered and entered accounts projected too)."""
    engine = make_engine(url)
    command.upgrade(alembic_config(engine), "ledger_0002")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ledger_nodes (code, name, kind) VALUES "
                "('SUP', 'Supplier', 'supplier'), ('NS', 'National store', 'national')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO ledger_lots (id, product, number, expiry, vvm_stage) "
                "VALUES (1, 'AZ', 'L1', NULL, 1)"
            )
        )
        rows = [
            (1, "d1", "dispatched", "b-one", "SUP", "NS", "S1", 1000),
            (2, "r1", "received", "b-one", "NS", None, "S1", 1000),
            (3, "a1", "administration", "b-two", "NS", None, None, 40),
        ]
        for seq, eid, kind, batch, node, to_node, shipment, quantity in rows:
            conn.execute(
                text(
                    "INSERT INTO ledger_events (seq, event_id, kind, occurred_at, effective_at, "
                    "recorded_at, recorded_by, batch_id, node, to_node, shipment_id, lot_id, "
                    "vvm_stage, quantity, discrepancy, outcome) VALUES (:seq, :eid, :kind, "
                    ":at, :at, :rec, 'tester', :batch, :node, :to_node, :shipment, 1, 1, :q, "
                    ":disc, :outcome)"
                ),
                {
                    "seq": seq,
                    "eid": eid,
                    "kind": kind,
                    "at": 1_609_459_200 + seq * 86_400,
                    "rec": 1_700_000_000 + seq,
                    "batch": batch,
                    "node": node,
                    "to_node": to_node,
                    "shipment": shipment,
                    "q": quantity,
                    "disc": 0 if kind == "received" else None,
                    "outcome": "confirmed" if kind == "received" else None,
                },
            )
        accounts = [
            (1, "entered", "SUP", "", -1000, 2, 1),
            (2, "transit", "NS", "S1", 0, 3, 2),
            (3, "stock", "NS", "", 960, 4, 3),
            (4, "administered", "NS", "", 40, 4, 3),
        ]
        for aid, state, node, ref, balance, at_day, seq in accounts:
            conn.execute(
                text(
                    "INSERT INTO ledger_accounts (id, state, node, product, lot_id, ref, "
                    "balance, last_at, last_ord, last_seq) VALUES (:id, :state, :node, 'AZ', "
                    "1, :ref, :balance, :at, :seq, :seq)"
                ),
                {
                    "id": aid,
                    "state": state,
                    "node": node,
                    "ref": ref,
                    "balance": balance,
                    "at": 1_609_459_200 + at_day * 86_400 - 86_400,
                    "seq": seq,
                },
            )
        steps = [
            (2, 1_609_459_200 + 86_400, 1, 1000, 1000),
            (2, 1_609_459_200 + 2 * 86_400, 2, -1000, 0),
            (3, 1_609_459_200 + 2 * 86_400, 2, 1000, 1000),
            (3, 1_609_459_200 + 3 * 86_400, 3, -40, 960),
        ]
        for account, at, seq, delta, after in steps:
            conn.execute(
                text(
                    "INSERT INTO ledger_steps (account_id, at, ord, seq, delta, balance_after) "
                    "VALUES (:a, :at, :seq, :seq, :d, :b)"
                ),
                {"a": account, "at": at, "seq": seq, "d": delta, "b": after},
            )
    return engine


def test_upgrade_from_0002_keeps_events_and_projections_consistent(db_url: str) -> None:
    engine = _old_ledger(db_url)
    migrate(engine)
    with engine.connect() as conn:
        batches = conn.execute(
            text("SELECT id, events, recorded_at FROM ledger_batches ORDER BY id")
        ).all()
        assert [(b.id, b.events) for b in batches] == [(1, 2), (2, 1)]
        assert batches[0].recorded_at == 1_700_000_001
        by_event: dict[str, int] = {
            r[0]: r[1] for r in conn.execute(text("SELECT event_id, batch FROM ledger_events"))
        }
        assert by_event == {"d1": 1, "r1": 1, "a1": 2}
        states = {r[0] for r in conn.execute(text("SELECT state FROM ledger_accounts"))}
        assert states == {"stock", "transit"}
    store = LedgerStore(engine)
    report = store.self_check()
    assert report.ok, report.repairs
    assert report.totals[AccountState.ADMINISTERED] == 40
    assert report.entered == 1000
    assert store.stock_total("NS", "AZ") == 960
    # the upgraded ledger takes new appends where the old one stopped
    store.register_nodes(NODES)
    store.append_events([dispatched("d2", 30, 500, to="PRK-NS"), received("r2", 31, 500)])
    store.append_events([administered("a2", 32, 100, node="PRK-NS")])
    assert store.self_check().ok
    with engine.connect() as conn:
        assert conn.execute(text("SELECT max(id) FROM ledger_batches")).scalar() == 4
        assert conn.execute(text("SELECT max(seq) FROM ledger_events")).scalar() == 6
    assert store.stock_total("PRK-NS", "AZ-SII", at=day(32)) == 400
    engine.dispose()


def test_migrated_schema_is_the_one_the_tables_describe(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), t.metadata)
    ours = [d for d in diffs if _LEDGER_TABLES & set(map(str, _names(d)))]
    assert ours == []
    if engine.dialect.name == "sqlite":
        # the sequence number is the rowid: the only index of the event table besides the
        # partial ones is the event id's
        indexes = {i["name"] for i in inspect(engine).get_indexes("ledger_events")}
        assert indexes == {
            "ix_ledger_events_shipment",
            "ix_ledger_events_ref",
            "ix_ledger_events_held",
        }
        with engine.connect() as conn:
            auto = conn.execute(
                text(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                    "AND tbl_name = 'ledger_events' AND name LIKE 'sqlite_autoindex%'"
                )
            ).scalar()
        assert auto == 1
    engine.dispose()


def _names(diff: object) -> list[object]:
    """Table names an Alembic comparison entry is about."""
    items = diff if isinstance(diff, list) else [diff]
    out: list[object] = []
    for item in items:
        for part in item if isinstance(item, tuple) else (item,):
            table = getattr(part, "table", None)
            out.append(getattr(table, "name", None) or getattr(part, "name", None))
    return out


@pytest.mark.parametrize("revision", ["ledger_0002"])
def test_downgrade_and_upgrade_again(sqlite_url: str, revision: str) -> None:
    engine = _old_ledger(sqlite_url)
    migrate(engine)
    command.downgrade(alembic_config(engine), revision)
    with engine.connect() as conn:
        batch_ids = {r[0] for r in conn.execute(text("SELECT batch_id FROM ledger_events"))}
    assert batch_ids == {"b-one", "b-two"}
    migrate(engine)
    assert LedgerStore(engine).self_check().ok
    engine.dispose()
