"""The accounts a process keeps in memory are used only while they are current.

Two ``LedgerStore`` objects on two engines stand for two processes: each keeps its own
account cache, and each write by one must make the other read the accounts again.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from doseflow.domain.errors import DoseflowError
from doseflow.domain.lot import Lot
from doseflow.domain.network import Node, NodeKind
from doseflow.store import ledger_tables as t
from doseflow.store.database import make_engine, open_database
from doseflow.store.ledger import LedgerStore
from doseflow.store.ledger_cache import account_cache
from tests.ledger.factory import NODES, administered, dispatched, issue, received


def _pair(url: str) -> tuple[LedgerStore, LedgerStore]:
    first = LedgerStore(open_database(url))
    first.register_nodes(NODES)
    return first, LedgerStore(make_engine(url))


def _stored_version(store: LedgerStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(t.version.c.version)).scalar_one())


def test_a_write_elsewhere_makes_the_cached_balances_stale(db_url: str) -> None:
    a, b = _pair(db_url)
    a.append_events([dispatched("d1", 2, 100, to="PRK-NS"), received("r1", 3, 100)])
    a.append_events([issue("i1", 10, 60)])
    cache = account_cache(a.engine)
    assert cache.version == _stored_version(a)  # A's own writes keep its cache current
    assert cache.ids
    b.append_events([issue("i2", 11, 30, to="PRK-R2")])  # leaves 10 doses
    assert cache.version != _stored_version(a)
    with pytest.raises(DoseflowError) as exc:
        a.append_events([issue("i3", 12, 20)])  # A's cache still says 40
    assert exc.value.code == "LEDGER_NEGATIVE_BALANCE"
    assert "(10 short)" in str(exc.value)
    a.append_events([issue("i3", 12, 10)])
    assert b.stock_total("PRK-NS", "AZ-SII") == 0
    assert a.stock_total("PRK-R1", "AZ-SII") == 70
    assert b.self_check().ok


def test_a_refused_batch_leaves_nothing_in_the_cache(db_url: str) -> None:
    a, _b = _pair(db_url)
    a.append_events([dispatched("d1", 2, 100, to="PRK-NS"), received("r1", 3, 100)])
    version = _stored_version(a)
    with pytest.raises(DoseflowError):
        # the first issue would open PRK-R1's account; the second makes the batch fail
        a.append_events([issue("i1", 10, 50), issue("i2", 11, 500, to="PRK-R2")])
    assert _stored_version(a) == version
    # the same account is opened for real now, and later batches find it
    a.append_events([issue("i1", 10, 50), administered("x1", 12, 20)])
    a.append_events([administered("x2", 13, 30)])
    with pytest.raises(DoseflowError):
        a.append_events([administered("x3", 14, 1)])
    assert a.stock_total("PRK-R1", "AZ-SII") == 0
    assert a.stock_total("PRK-NS", "AZ-SII") == 50
    assert a.self_check().ok


@pytest.mark.parametrize("touched", [1, 40], ids=["a-few-accounts", "most-accounts"])
def test_a_new_process_reads_the_accounts_it_needs(db_url: str, touched: int) -> None:
    """A fresh cache either looks up the accounts a batch names or, when it names most of
    the ledger's accounts, reads them all; both give the stored balances."""
    a, _b = _pair(db_url)
    stores = [Node(f"HF{i}", f"facility {i}", NodeKind.SERVICE_POINT) for i in range(40)]
    a.register_nodes(stores)
    lot = Lot("AZ-SII", "A1")
    events = []
    for i, node in enumerate(stores):
        events += [
            dispatched(f"d{i}", 2, 10 + i, shipment=f"S{i}", to=node.code),
            received(f"r{i}", 3, 10 + i, shipment=f"S{i}", node=node.code),
        ]
    a.append_events(events)
    fresh = LedgerStore(make_engine(db_url))
    names = stores[:touched]
    with pytest.raises(DoseflowError) as exc:
        fresh.append_events(
            [administered(f"x{i}", 5, 11 + i, node=n.code, lot=lot) for i, n in enumerate(names)]
        )
    assert exc.value.code == "LEDGER_NEGATIVE_BALANCE"
    fresh.append_events(
        [administered(f"x{i}", 5, 10 + i, node=n.code, lot=lot) for i, n in enumerate(names)]
    )
    assert all(fresh.stock_total(n.code, "AZ-SII") == 0 for n in names)
    assert a.stock_total("HF39", "AZ-SII") == (0 if touched == 40 else 49)
    assert a.self_check().ok
