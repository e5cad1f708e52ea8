"""Multi-event batches through the store's vectorised path agree with the in-memory Book.

Each batch mixes several random actions (receipts, issues, administrations, losses, finds,
counts, reversals, re-sends; back-dated and not) over a few accounts, so one batch runs
many accounts at once, back-dated windows included.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doseflow.domain.errors import DoseflowError
from doseflow.domain.events import LedgerEvent
from doseflow.ledger.accounts import AccountKey, AccountState
from doseflow.ledger.book import AppendResult, Book
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from tests.ledger.factory import (
    NODES,
    administered,
    counted,
    day,
    dispatched,
    issue,
    received,
    reversal,
)
from tests.ledger.strategies import LOTS, STORES, Action, Namer, actions, batches

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
    for batch in batches(plan, names, accepted):
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


def test_one_batch_with_a_reversal_a_count_and_a_backdated_issue(db_url: str) -> None:
    """An event and its reversal in the same batch net out at the reversed event's place;
    a count and a back-dated issue in that batch see each other; same answers as the Book."""
    store = LedgerStore(open_database(db_url))
    store.register_nodes(NODES)
    book = Book(sources=frozenset({"SII"}))
    first = [dispatched("d1", 2, 100, to="PRK-NS"), received("r1", 3, 100), issue("i1", 20, 30)]
    second = [
        issue("i2", 10, 80),  # back-dated before i1: 100 -> 20 on day 10, 20 - 30 < 0 on day 20
        reversal("v1", 21, "i2"),  # ... unless i2 is reversed in the same batch
        counted("c1", 25, 60),  # 100 - 5 - 30 = 65 on day 25: a 5-dose discrepancy
        issue("i3", 15, 5, to="PRK-R2"),  # back-dated, fine
    ]
    store.append_events(first)
    book.append(first)
    with pytest.raises(DoseflowError) as refused:
        store.append_events([second[0], second[3]])  # i2 without its reversal
    assert refused.value.code == "LEDGER_NEGATIVE_BALANCE"
    assert "(15 short)" in str(refused.value)
    expected = book.append(second)
    got = store.append_events(second)
    assert (got.appended, got.skipped, got.derived) == (
        expected.appended,
        expected.skipped,
        expected.derived,
    )
    assert got.derived == ("c1/discrepancy",)
    for d in (9, 10, 15, 20, 25, 30):
        key = AccountKey(AccountState.STOCK, "PRK-NS", "AZ-SII", "A1")
        want = book.balance(key, int(day(d, 23).timestamp()))
        assert store.stock_total("PRK-NS", "AZ-SII", at=day(d, 23)) == want
    assert store.stock_total("PRK-NS", "AZ-SII") == 60
    assert store.self_check().ok


@pytest.mark.parametrize("same_content", [True, False])
def test_a_resent_id_the_sample_misses_is_caught_by_the_unique_key(
    db_url: str, same_content: bool
) -> None:
    store = LedgerStore(open_database(db_url))
    store.register_nodes(NODES)
    store.append_events(
        [dispatched("xd", 1, 10_000, to="PRK-NS"), received("xr", 2, 10_000)]
        + [administered(f"xa{i}", 3, 1, node="PRK-NS") for i in range(5_000)]
    )
    before = store.event_count()
    # 4,001 events (the id sample takes every 4th) with one old id at position 1
    fresh = [administered(f"y{i}", 4, 1, node="PRK-NS") for i in range(4_000)]
    resent = administered("xa3", 3, 1 if same_content else 2, node="PRK-NS")
    batch = [fresh[0], resent, *fresh[1:]]
    if same_content:
        result = store.append_events(batch)
        assert result.skipped == ("xa3",)
        assert len(result.appended) == 4_000
        assert store.event_count() == before + 4_000
        assert store.stock_total("PRK-NS", "AZ-SII") == 1_000
    else:
        with pytest.raises(DoseflowError) as err:
            store.append_events(batch)
        assert err.value.code == "LEDGER_IDEMPOTENCY_CONFLICT"
        assert store.event_count() == before  # nothing of the batch was written
        assert store.stock_total("PRK-NS", "AZ-SII") == 5_000
    assert store.self_check().ok
    store.engine.dispose()


plain_actions = actions.filter(lambda a: a.kind not in ("count", "reverse", "resend"))


def _stored(store: LedgerStore) -> tuple[list[tuple[Any, ...]], dict[Any, Any]]:
    """Every event row (without its batch) and, per account key, its balance, last timeline
    key and running-balance steps."""
    from sqlalchemy import select

    from doseflow.store import ledger_tables as t

    with store.engine.connect() as conn:
        columns = [c for c in t.events.c if c.name != "batch"]
        events = [tuple(r) for r in conn.execute(select(*columns).order_by(t.events.c.seq))]
        a, s = t.accounts, t.steps
        steps: dict[int, list[tuple[object, ...]]] = {}
        for r in conn.execute(select(s).order_by(s.c.account_id, s.c.at, s.c.ord, s.c.seq)):
            steps.setdefault(r.account_id, []).append(tuple(r)[1:])
        accounts = {
            (r.state, r.node, r.product, r.lot_id, r.ref): (
                r.balance,
                r.last_at,
                r.last_ord,
                r.last_seq,
                steps.get(r.id, []),
            )
            for r in conn.execute(select(a))
        }
    return events, accounts


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=st.lists(st.lists(plain_actions, min_size=1, max_size=10), min_size=1, max_size=5))
def test_bulk_path_stores_what_the_event_by_event_path_stores(
    tmp_path_factory: pytest.TempPathFactory, plan: list[list[Action]]
) -> None:
    """Batches of movements only (bulk path) against the same batches forced through the
    general path: same refusals, same rows, same balances and running balances."""
    from datetime import UTC, datetime

    from doseflow.store import ledger_write

    folder = tmp_path_factory.mktemp("paths")
    bulk = LedgerStore(open_database(str(folder / "bulk.sqlite")))
    general = LedgerStore(open_database(str(folder / "general.sqlite")))
    names = Namer("p-")
    for store in (bulk, general):
        store.register_nodes(names.nodes())
    now = datetime(2021, 6, 1, tzinfo=UTC)
    accepted: list[LedgerEvent] = []
    for batch in batches(plan, names, accepted):
        outcomes: list[AppendResult | tuple[str, str]] = []
        for store, forced in ((bulk, False), (general, True)):
            original = ledger_write._plain
            if forced:
                ledger_write._plain = lambda *_: False
            try:
                outcomes.append(store.append_events(batch, now=now))
            except DoseflowError as err:
                outcomes.append((err.code, str(err)))
            finally:
                ledger_write._plain = original
        assert outcomes[0] == outcomes[1]
        if isinstance(outcomes[0], AppendResult):
            accepted.extend(batch)
    assert _stored(bulk) == _stored(general)
    for store in (bulk, general):
        store.engine.dispose()
