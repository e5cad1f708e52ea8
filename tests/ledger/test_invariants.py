"""Invariants over random interleavings of events (back-dated, reversed, re-sent).

The in-memory :class:`Book` is checked against definitions computed from scratch, and the
database store (both backends) against the Book, batch by batch.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doseflow.domain.errors import DoseflowError
from doseflow.domain.events import LedgerEvent
from doseflow.ledger.accounts import CHECKED_STATES, AccountKey, AccountState
from doseflow.ledger.book import Book
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from tests.ledger.factory import day
from tests.ledger.strategies import LOTS, STORES, Action, Namer, actions, to_events


def _balances_from_scratch(book: Book) -> dict[AccountKey, dict[int, int]]:
    """For every account, the balance at the end of every instant any event happened,
    summed from the postings directly (no running balances)."""
    postings: dict[AccountKey, list[tuple[int, int]]] = defaultdict(list)
    instants: set[int] = set()
    for event in book.events():
        at = book.effective_at(event.event_id)
        assert at is not None
        instants.add(at)
        for p in book.postings(event.event_id):
            postings[p.account].append((at, p.delta))
    return {
        account: {t: sum(d for when, d in items if when <= t) for t in instants}
        for account, items in postings.items()
    }


@settings(max_examples=150, deadline=None)
@given(st.lists(actions, min_size=1, max_size=25))
def test_book_invariants(plan: list[Action]) -> None:
    names = Namer("")
    book = Book(sources=frozenset({names.node("SUP")}))
    accepted: list[LedgerEvent] = []
    for n, action in enumerate(plan):
        batch = to_events(action, n, names, accepted)
        if not batch:
            continue
        before = book.balances()
        try:
            result = book.append(batch)
        except DoseflowError:
            assert book.balances() == before  # refused events change nothing
            continue
        accepted.extend(e for e in batch if e.event_id in result.appended)
        if action.kind == "resend":
            assert result.appended == ()
            assert book.balances() == before
    balances = book.balances()
    # conservation: every dose that entered is somewhere, at the end and at every instant
    assert sum(balances.values()) == 0
    totals = book.totals_by_state()
    assert -totals[AccountState.ENTERED] == sum(
        v for s, v in totals.items() if s is not AccountState.ENTERED
    )
    history = _balances_from_scratch(book)
    for t in {t for series in history.values() for t in series}:
        assert sum(series.get(t, 0) for series in history.values()) == 0
    # never negative, at any instant, for stock and transit
    for account, series in history.items():
        if account.state in CHECKED_STATES:
            assert min(series.values()) >= 0, (account, series)
    # the self-check replay agrees and finds nothing wrong
    replayed = Book(sources=book.sources)
    assert replayed.replay(book.events()) == []
    assert replayed.balances() == balances


_example = itertools.count()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=st.lists(actions, min_size=1, max_size=12))
def test_store_matches_the_book(db_url: str, plan: list[Action]) -> None:
    """The database gives the same outcomes and balances as the in-memory Book."""
    store = _stores.setdefault(db_url, LedgerStore(open_database(db_url)))
    names = Namer(f"x{next(_example)}-")
    store.register_nodes(names.nodes())
    book = Book(sources=frozenset({names.node("SUP")}))
    accepted: list[LedgerEvent] = []
    for n, action in enumerate(plan):
        batch = to_events(action, n, names, accepted)
        if not batch:
            continue
        code = ""
        try:
            expected = book.append(batch)
        except DoseflowError as err:
            code = err.code
        if code:
            with pytest.raises(DoseflowError) as refused:
                store.append_events(batch)
            assert refused.value.code == code
            continue
        got = store.append_events(batch)
        assert (got.appended, got.skipped, got.derived) == (
            expected.appended,
            expected.skipped,
            expected.derived,
        )
        accepted.extend(e for e in batch if e.event_id in expected.appended)
    for node, lot in itertools.product(STORES, LOTS):
        for d in (5, 12, 20, 31):
            key = AccountKey(AccountState.STOCK, names.node(node), f"{names.prefix}P", lot)
            want = book.balance(key, int(day(d, 23).timestamp()))
            lines = store.stock_on_hand(node=names.node(node), lot=lot, at=day(d, 23))
            assert sum(s.doses for s in lines) == want
    assert store.self_check().ok


_stores: dict[str, LedgerStore] = {}
