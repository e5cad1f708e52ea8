"""Multi-event batches through the store's vectorised path agree with the in-memory Book.

Each batch mixes several random actions (receipts, issues, administrations, losses, finds,
counts, reversals, re-sends; back-dated and not) over a few accounts, so one batch runs
many accounts at once, back-dated windows included.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doseflow.domain.errors import DoseflowError
from doseflow.domain.events import LedgerEvent
from doseflow.ledger.accounts import AccountKey, AccountState
from doseflow.ledger.book import Book
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from tests.ledger.factory import day
from tests.ledger.strategies import LOTS, STORES, Action, Namer, actions, to_events

_example = itertools.count()
_stores: dict[str, LedgerStore] = {}


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=st.lists(st.lists(actions, min_size=1, max_size=8), min_size=1, max_size=6))
def test_multi_event_batches_match_the_book(db_url: str, plan: list[list[Action]]) -> None:
    store = _stores.setdefault(db_url, LedgerStore(open_database(db_url)))
    names = Namer(f"b{next(_example)}-")
    store.register_nodes(names.nodes())
    book = Book(sources=frozenset({names.node("SUP")}))
    accepted: list[LedgerEvent] = []
    n = 0
    for group in plan:
        batch: list[LedgerEvent] = []
        for action in group:
            batch += to_events(action, n, names, accepted)
            n += 1
        if not batch:
            continue
        code = ""
        try:
            expected = book.append(batch)
        except DoseflowError as err:
            code = err.code
            message = str(err)
        if code:
            with pytest.raises(DoseflowError) as refused:
                store.append_events(batch)
            assert (refused.value.code, str(refused.value)) == (code, message)
            continue
        got = store.append_events(batch)
        assert (got.appended, got.skipped, got.derived) == (
            expected.appended,
            expected.skipped,
            expected.derived,
        )
        accepted.extend(e for e in batch if e.event_id in expected.appended)
    for node, lot in itertools.product(STORES, LOTS):
        key = AccountKey(AccountState.STOCK, names.node(node), f"{names.prefix}P", lot)
        for d in (5, 12, 20, 31):
            lines = store.stock_on_hand(node=names.node(node), lot=lot, at=day(d, 23))
            assert sum(s.doses for s in lines) == book.balance(key, int(day(d, 23).timestamp()))
    assert store.self_check().ok
