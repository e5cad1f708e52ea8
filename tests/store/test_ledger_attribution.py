"""Who recorded an event and when are not the event's content (issue 11, finding 5): the
same event re-sent by another user, or later, is skipped as a re-send on every write path
(event by event, the bulk path caught by the unique key, a batch written by the SQLite
writer process), on both backends; the first recording's who and when stand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from doseflow.domain.errors import DoseflowError
from doseflow.domain.events import LedgerEvent
from doseflow.ledger.book import Book
from doseflow.store import ledger_tables as t
from doseflow.store.database import open_database
from doseflow.store.ledger import WRITER_PROCESS_EVENTS, LedgerStore
from doseflow.store.ledger_sql import sqlite_file
from doseflow.store.sqlite_writer import existing_writer
from tests.ledger.factory import NODES, administered, dispatched, issue, received

FIRST = datetime(2021, 6, 1, 9, tzinfo=UTC)
LATER = datetime(2021, 6, 2, 17, tzinfo=UTC)


def by(user: str, events: list[LedgerEvent]) -> list[LedgerEvent]:
    return [replace(e, recorded_by=user) for e in events]


@pytest.fixture
def ledger(db_url: str) -> LedgerStore:
    store = LedgerStore(open_database(db_url))
    store.register_nodes(NODES)
    store.append_events(
        by("alice", [dispatched("d1", 1, 100_000, to="PRK-NS"), received("r1", 2, 100_000)]),
        now=FIRST,
    )
    return store


def _who_and_when(store: LedgerStore) -> dict[str, tuple[str, int, int]]:
    e = t.events
    with store.engine.connect() as conn:
        rows = conn.execute(select(e.c.event_id, e.c.recorded_by, e.c.recorded_at, e.c.batch))
        return {r.event_id: (r.recorded_by, r.recorded_at, r.batch) for r in rows}


def test_content_leaves_out_who_recorded_and_when() -> None:
    mine = issue("i1", 3, 5)
    theirs = replace(mine, recorded_by="bob", recorded_at=LATER)
    assert mine.same_content(theirs)
    assert mine.differences(theirs) == []
    assert "recorded_by" not in mine.content()
    assert "recorded_at" not in mine.content()
    assert not mine.same_content(replace(theirs, quantity=6))
    assert replace(theirs, quantity=6).differences(mine) == ["quantity"]


def test_the_book_skips_a_re_send_by_another_user() -> None:
    book = Book(sources=frozenset({"SII"}))
    first = [dispatched("d1", 1, 100, to="PRK-NS"), received("r1", 2, 100)]
    book.append(by("alice", first))
    again = book.append(by("bob", [first[1], issue("i1", 3, 5)]))
    assert (again.appended, again.skipped) == (("i1",), ("r1",))
    with pytest.raises(DoseflowError) as refused:
        book.append(by("bob", [replace(first[1], quantity=99)]))
    assert refused.value.code == "LEDGER_IDEMPOTENCY_CONFLICT"


def test_a_re_send_by_another_user_later_is_skipped(ledger: LedgerStore) -> None:
    before = _who_and_when(ledger)
    again = ledger.append_events(
        by("bob", [received("r1", 2, 100_000), issue("i1", 3, 5)]), now=LATER
    )
    assert (again.appended, again.skipped) == (("i1",), ("r1",))
    after = _who_and_when(ledger)
    assert after["r1"] == before["r1"]  # alice's recording stands
    assert after["i1"][0] == "bob"
    assert ledger.stock_total("PRK-NS", "AZ-SII") == 99_995
    with pytest.raises(DoseflowError) as refused:
        ledger.append_events(by("bob", [received("r1", 2, 90_000)]), now=LATER)
    assert refused.value.code == "LEDGER_IDEMPOTENCY_CONFLICT"
    assert "(quantity" in str(refused.value)
    assert "recorded_by" not in str(refused.value)


def test_a_re_send_with_its_own_recording_time_is_skipped(ledger: LedgerStore) -> None:
    """A local user's file may carry ``recorded_at`` (the CLI keeps that column): a
    re-export of the ledger imported again by someone else is still a re-send."""
    stored = list(ledger.events())
    result = ledger.append_events(
        by("carol", [replace(e, recorded_at=LATER) for e in stored]), now=LATER
    )
    assert (result.appended, result.skipped) == ((), ("d1", "r1"))


def test_an_id_twice_in_one_batch_by_two_users_counts_once(ledger: LedgerStore) -> None:
    one = issue("i1", 3, 5)
    result = ledger.append_events([replace(one, recorded_by="bob"), one])
    assert (result.appended, result.skipped) == (("i1",), ())
    assert _who_and_when(ledger)["i1"][0] == "bob"  # the first of the batch counts


def test_a_re_send_by_another_user_the_id_sample_misses(ledger: LedgerStore) -> None:
    """The bulk path probes a sample of ids; a re-sent one it misses is caught by the unique
    key and the batch is appended again event by event, where it must compare equal."""
    ledger.append_events(
        by("alice", [administered(f"a{i}", 3, 1, node="PRK-NS") for i in range(4_000)])
    )
    before = _who_and_when(ledger)
    fresh = [administered(f"y{i}", 4, 1, node="PRK-NS") for i in range(4_000)]
    batch = by("bob", [fresh[0], administered("a3", 3, 1, node="PRK-NS"), *fresh[1:]])
    result = ledger.append_events(batch, now=LATER)
    assert result.skipped == ("a3",)
    assert len(result.appended) == 4_000
    assert _who_and_when(ledger)["a3"] == before["a3"]
    assert ledger.stock_total("PRK-NS", "AZ-SII") == 92_000


@pytest.mark.slow
def test_a_batch_for_the_writer_process_re_sent_by_another_user(ledger: LedgerStore) -> None:
    """A batch of at least WRITER_PROCESS_EVENTS events into a SQLite file is written by the
    writer process (on PostgreSQL by COPY); its re-send by another user, whole or mixed into
    a new large batch, is skipped, and what alice recorded stands."""
    n = WRITER_PROCESS_EVENTS
    first = by("alice", [administered(f"w{i}", 3, 1, node="PRK-NS") for i in range(n)])
    ledger.append_events(first, now=FIRST)
    before = _who_and_when(ledger)
    path = sqlite_file(ledger.engine)
    assert path is None or existing_writer(path) is not None  # the writer process wrote it
    whole = ledger.append_events(by("bob", first), now=LATER)
    assert (whole.appended, len(whole.skipped)) == ((), n)
    # one old id where the id sample does not look: caught by the unique key (the writer
    # process reports it at commit), then compared event by event
    fresh = [administered(f"z{i}", 4, 1, node="PRK-NS") for i in range(n)]
    mixed = by("bob", [fresh[0], first[1], *fresh[1:]])
    result = ledger.append_events(mixed, now=LATER)
    assert (len(result.appended), result.skipped) == (n, ("w1",))
    after = _who_and_when(ledger)
    assert all(after[k] == v for k, v in before.items())
    assert {after[f"z{i}"][0] for i in range(n)} == {"bob"}
    assert ledger.stock_total("PRK-NS", "AZ-SII") == 100_000 - 2 * n
    assert ledger.self_check().ok
    ledger.engine.dispose()
