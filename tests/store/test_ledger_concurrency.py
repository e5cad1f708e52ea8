"""Concurrent writers and a killed import, on both backends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from doseflow.domain.errors import DoseflowError
from doseflow.store import ledger_tables as t
from doseflow.store.database import make_engine, open_database
from doseflow.store.ledger import LedgerStore
from tests.ledger.factory import NODES, dispatched, issue, received


def _stocked(url: str, doses: int) -> LedgerStore:
    store = LedgerStore(open_database(url))
    store.register_nodes(NODES)
    store.append_events(
        [
            dispatched("d1", 2, doses, to="PRK-NS"),
            received("r1", 3, doses),
        ]
    )
    return store


def test_two_writers_cannot_both_take_the_same_stock(db_url: str) -> None:
    """100 doses; two writers issue 60 each at the same moment: exactly one succeeds."""
    _stocked(db_url, 100)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def writer(name: str, to: str) -> None:
        store = LedgerStore(make_engine(db_url))  # migrated already; Alembic is not thread-safe
        barrier.wait()
        try:
            store.append_events([issue(name, 10, 60, to=to)])
            outcomes[name] = "ok"
        except DoseflowError as err:
            outcomes[name] = err.code
        finally:
            store.engine.dispose()

    threads = [
        threading.Thread(target=writer, args=("w1", "PRK-R1")),
        threading.Thread(target=writer, args=("w2", "PRK-R2")),
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert sorted(outcomes.values()) == ["LEDGER_NEGATIVE_BALANCE", "ok"]
    store = LedgerStore(open_database(db_url))
    assert store.stock_total("PRK-NS", "AZ-SII") == 40
    assert store.stock_total("PRK-R1", "AZ-SII") + store.stock_total("PRK-R2", "AZ-SII") == 60
    assert store.self_check().ok


def test_many_concurrent_writers_never_oversell(db_url: str) -> None:
    _stocked(db_url, 1000)
    barrier = threading.Barrier(6)
    done: list[str] = []
    refused: list[str] = []

    def writer(k: int) -> None:
        store = LedgerStore(make_engine(db_url))  # migrated already; Alembic is not thread-safe
        barrier.wait()
        for j in range(5):
            try:
                store.append_events([issue(f"w{k}-{j}", 10 + j, 50, to="PRK-R1")])
                done.append(f"w{k}-{j}")
            except DoseflowError as err:
                refused.append(err.code)
        store.engine.dispose()

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=180)
    store = LedgerStore(open_database(db_url))
    assert len(done) == 20  # 1000 doses / 50 per issue
    assert set(refused) == {"LEDGER_NEGATIVE_BALANCE"}
    assert len(refused) == 10
    assert store.stock_total("PRK-NS", "AZ-SII") == 0
    assert store.stock_total("PRK-R1", "AZ-SII") == 1000
    assert store.self_check().ok


_IMPORTER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from doseflow.store.database import make_engine, open_database
    from doseflow.store.ledger import LedgerStore
    from doseflow.store import ledger_write
    from tests.ledger.factory import NODES, dispatched, received

    url, marker = sys.argv[1], Path(sys.argv[2])
    ledger_write.CHUNK = 500  # several INSERT round trips inside the one transaction
    if sys.argv[3] == "writer":  # SQLite: the batch's rows go to a writer process
        from doseflow.store import ledger
        ledger.WRITER_PROCESS_EVENTS = 0
    store = LedgerStore(open_database(url))
    events = []
    for n in range(3000):
        events += [dispatched(f"d{n}", 2, 10, shipment=f"S{n}", to="PRK-NS"),
                   received(f"r{n}", 3, 10, shipment=f"S{n}")]

    def progress(done, total):
        if done >= 1000:
            marker.write_text(str(done))
            time.sleep(600)  # killed here, mid-batch

    store.append_events(events, progress=progress)
    """
)


def test_killed_import_leaves_nothing_half_written(db_url: str, tmp_path: Path) -> None:
    _killed_import(db_url, tmp_path, "connection")


def test_killed_import_through_a_writer_process_leaves_nothing(
    sqlite_url: str, tmp_path: Path
) -> None:
    """The importer dies; its SQLite writer process reads the end of its input and rolls
    back what it had been sent."""
    _killed_import(sqlite_url, tmp_path, "writer")


def _killed_import(db_url: str, tmp_path: Path, how: str) -> None:
    store = LedgerStore(open_database(db_url))
    store.register_nodes(NODES)
    marker = tmp_path / "mid-batch"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-c", _IMPORTER, db_url, str(marker), how],
        cwd=root,
        # this checkout's sources first: the database is migrated by them, and an installed
        # doseflow of another checkout may not know its newest revisions
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])},
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, "the importer ended before reaching the middle"
            assert time.monotonic() < deadline, "the importer never reached the middle"
            time.sleep(0.05)
        assert int(marker.read_text()) >= 1000  # rows were written inside the transaction
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    fresh = LedgerStore(open_database(db_url))
    with fresh.engine.connect() as conn:
        for table in (t.events, t.accounts, t.steps, t.lots):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0
    assert fresh.self_check().ok
    # and the ledger takes writes again (no lock left behind)
    fresh.append_events([dispatched("d1", 2, 5, to="PRK-NS"), received("r1", 3, 5)])
    assert fresh.stock_total("PRK-NS", "AZ-SII") == 5
