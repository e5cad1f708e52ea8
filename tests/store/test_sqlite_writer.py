"""Large SQLite appends written by the database's writer process: the same result as
in-process, all or nothing whatever fails, and re-sends still caught."""

from __future__ import annotations

import os
import signal
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from doseflow.domain.errors import DoseflowError
from doseflow.domain.events import LedgerEvent
from doseflow.store import ledger as ledger_module
from doseflow.store import ledger_tables as t
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from doseflow.store.sqlite_writer import WriterGone, existing_writer, serve, writer_for
from tests.ledger.factory import NODES, administered, dispatched, received, reversal
from tests.store.test_ledger_batches import _stored


@pytest.fixture
def through_writer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every append on SQLite goes through the writer process."""
    monkeypatch.setattr(ledger_module, "WRITER_PROCESS_EVENTS", 0)


def _store(path: Path) -> LedgerStore:
    store = LedgerStore(open_database(str(path)))
    store.register_nodes(NODES)
    return store


def _history() -> list[list[LedgerEvent]]:
    """Receipts, administrations (some back-dated) and a reversal, in four appends."""
    return [
        [dispatched(f"d{n}", 2, 100, shipment=f"S{n}", to="PRK-NS") for n in range(30)]
        + [received(f"r{n}", 3, 100, shipment=f"S{n}") for n in range(30)],
        [administered(f"a{n}", 10 + n % 5, 7, node="PRK-NS") for n in range(200)],
        [administered(f"late{n}", 4, 3, node="PRK-NS") for n in range(50)],
        [reversal("x1", 20, "a3"), administered("a-after", 21, 5, node="PRK-NS")],
    ]


def test_writer_process_stores_what_the_connection_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime(2021, 3, 1, tzinfo=UTC)
    inline = _store(tmp_path / "inline.sqlite")
    for batch in _history():
        inline.append_events(batch, now=now)
    monkeypatch.setattr(ledger_module, "WRITER_PROCESS_EVENTS", 0)
    process = _store(tmp_path / "process.sqlite")
    results = [process.append_events(batch, now=now) for batch in _history()]
    assert [len(r.appended) for r in results] == [60, 200, 50, 2]
    events_a, accounts_a = _stored(inline)
    events_b, accounts_b = _stored(process)
    assert accounts_a == accounts_b
    assert events_a == events_b
    assert process.self_check().ok
    assert process.stock_total("PRK-NS", "AZ-SII") == 3000 - 1400 - 150 + 7 - 5
    writer = existing_writer(str(tmp_path / "process.sqlite"))
    assert writer is not None  # the appends went through it
    assert writer.cpu_seconds() > 0
    assert existing_writer(str(tmp_path / "inline.sqlite")) is None


def test_refused_batch_through_the_writer_writes_nothing(
    tmp_path: Path, through_writer: None
) -> None:
    store = _store(tmp_path / "l.sqlite")
    store.append_events(_history()[0])
    before = store.event_count()
    too_much = [administered(f"z{n}", 5, 400, node="PRK-NS") for n in range(10)]
    with pytest.raises(DoseflowError) as err:
        store.append_events(too_much)
    assert err.value.code == "LEDGER_NEGATIVE_BALANCE"
    assert store.event_count() == before
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.batches)).scalar() == 1
    store.append_events([administered("ok", 5, 400, node="PRK-NS")])  # the writer goes on
    assert store.stock_total("PRK-NS", "AZ-SII") == 2600


def test_resend_found_by_the_unique_key_in_the_writer(tmp_path: Path, through_writer: None) -> None:
    store = _store(tmp_path / "l.sqlite")
    store.append_events(_history()[0])
    store.append_events(_history()[1])
    store.append_events(
        [dispatched("dx", 2, 5_000, "SX", to="PRK-NS"), received("rx", 3, 5_000, "SX")]
    )
    fresh = [administered(f"y{i}", 30, 1, node="PRK-NS") for i in range(4_000)]
    result = store.append_events([fresh[0], administered("a3", 13, 7, node="PRK-NS"), *fresh[1:]])
    assert result.skipped == ("a3",)
    assert store.event_count() == 262 + 4_000
    assert store.stock_total("PRK-NS", "AZ-SII") == 1_600 + 5_000 - 4_000


def test_a_writer_that_dies_leaves_nothing_and_is_replaced(
    tmp_path: Path, through_writer: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "l.sqlite"
    store = _store(path)
    store.append_events(_history()[0])
    writer = writer_for(str(path))
    original = writer.call

    def die_at_commit(op: str) -> None:
        if op == "commit":
            os.kill(writer.process.pid, signal.SIGKILL)
            writer.process.wait()
        original(op)

    monkeypatch.setattr(writer, "call", die_at_commit)
    with pytest.raises(WriterGone) as gone:
        store.append_events(_history()[1])
    assert gone.value.code == "STORE_WRITER_GONE"
    assert store.event_count() == 60
    monkeypatch.undo()
    monkeypatch.setattr(ledger_module, "WRITER_PROCESS_EVENTS", 0)
    store.append_events(_history()[1])  # a new writer process
    assert writer_for(str(path)) is not writer
    assert store.event_count() == 260
    assert store.self_check().ok


def test_writer_protocol_reports_errors_and_rolls_back(tmp_path: Path) -> None:
    """The child's loop on its own (no process): a failing statement is reported at commit
    and nothing of the transaction is kept; the input ending rolls back."""
    import io
    import pickle

    db = tmp_path / "p.sqlite"
    sqlite3.connect(db).execute("CREATE TABLE x (k INTEGER PRIMARY KEY)").connection.commit()
    messages = [
        ("begin",),
        ("many", "INSERT INTO x VALUES (?)", [(1,), (2,)]),
        ("many", "INSERT INTO x VALUES (?)", [(2,)]),  # duplicate key
        ("many", "INSERT INTO x VALUES (?)", [(3,)]),  # skipped after the failure
        ("commit",),
        ("begin",),
        ("one", "INSERT INTO x VALUES (?)", (9,)),
        ("commit",),
        ("begin",),
        ("one", "INSERT INTO x VALUES (?)", (10,)),  # never committed: the input ends
    ]
    inbox = io.BytesIO(b"".join(pickle.dumps(m) for m in messages))
    outbox = io.BytesIO()
    serve(str(db), inbox, outbox)
    outbox.seek(0)
    answers = []
    while outbox.tell() < len(outbox.getvalue()):
        answers.append(pickle.load(outbox))
    assert answers[0] == ("ok",)
    assert answers[1][:2] == ("error", "IntegrityError")
    assert answers[2:] == [("ok",), ("ok",), ("ok",)]
    keys = [r[0] for r in sqlite3.connect(db).execute("SELECT k FROM x ORDER BY k")]
    assert keys == [9]
