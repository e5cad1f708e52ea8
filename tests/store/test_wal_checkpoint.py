"""Ledger writes leave the SQLite log to a checkpointer thread, and never let it grow
without bound."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from doseflow.store import ledger_sql
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from doseflow.store.wal_checkpoint import checkpointer_for, wal_bytes
from tests.ledger.factory import NODES, dispatched, received


def _events_in_database_file(path: Path, tmp_path: Path) -> int:
    """Events in the database file itself, leaving out the log (what a checkpoint copied):
    the file is copied alone and opened where no log exists."""
    alone = tmp_path / "without-log.sqlite"
    shutil.copyfile(path, alone)
    con = sqlite3.connect(alone)
    try:
        return int(con.execute("SELECT count(*) FROM ledger_events").fetchone()[0])
    finally:
        con.close()


def _store(tmp_path: Path) -> tuple[LedgerStore, Path]:
    path = tmp_path / "ledger.sqlite"
    store = LedgerStore(open_database(str(path)))
    store.register_nodes(NODES)
    return store, path


def test_writer_does_not_checkpoint_but_the_checkpointer_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, path = _store(tmp_path)
    checkpointer = checkpointer_for(str(path))
    requested: list[str] = []
    monkeypatch.setattr(
        ledger_sql,
        "checkpointer_for",
        lambda p: requested.append(p) or checkpointer_for(p),  # type: ignore[func-returns-value]
    )
    before = checkpointer.completed
    store.append_events([dispatched("d1", 2, 1000, to="PRK-NS"), received("r1", 3, 1000)])
    assert requested == [str(path)]
    assert checkpointer.wait_idle()
    assert checkpointer.completed > before
    assert _events_in_database_file(path, tmp_path) == 2
    with store.engine.connect() as conn:  # the pooled connection got its settings back
        value = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    assert value == 1000
    store.engine.dispose()


def test_a_log_past_its_limit_is_checkpointed_by_the_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, path = _store(tmp_path)
    monkeypatch.setattr(ledger_sql, "WAL_LIMIT_BYTES", 0)
    monkeypatch.setattr(ledger_sql, "checkpointer_for", _no_checkpointer)
    store.append_events([dispatched("d1", 2, 1000, to="PRK-NS"), received("r1", 3, 1000)])
    assert wal_bytes(str(path)) > 0
    assert _events_in_database_file(path, tmp_path) == 2
    assert store.stock_total("PRK-NS", "AZ-SII") == 1000
    store.engine.dispose()


def _no_checkpointer(path: str) -> None:
    raise AssertionError(f"the writer should have checkpointed {path} itself")
