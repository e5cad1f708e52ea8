"""Lots expiring soon are selected by the database (issue 15: the stock page read every stock
line of the ledger, 5,800 on the demo database, to keep the 3 with an expiry date in range),
with the same answer as filtering every line; several nodes are read in one query."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from doseflow.domain.events import AdjustmentReason
from doseflow.domain.lot import Lot
from doseflow.ledger.views import StockLine, expiring_within
from doseflow.store import ledger_query as q
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from tests.ledger.factory import NODES, adjusted

NOW = datetime(2021, 8, 31, 15, 30, tzinfo=UTC)


@pytest.fixture
def ledger(sqlite_url: str) -> LedgerStore:
    store = LedgerStore(open_database(sqlite_url))
    store.register_nodes(NODES)
    found = AdjustmentReason.FOUND
    lots = [
        Lot("AZ-SII", f"L{days}", date(2021, 8, 31) + timedelta(days=days))
        for days in (-10, 0, 1, 29, 30, 31, 200, 400)
    ]
    lots.append(Lot("AZ-SII", "NOEXPIRY", None))
    store.append_events(
        [
            adjusted(f"{node}-{lot.number}", 100, 50, found, node=node, lot=lot)
            for node in ("PRK-NS", "DLC")
            for lot in lots
        ]
        + [adjusted("gone", 101, -50, AdjustmentReason.BROKEN, node="DLC", lot=lots[1])]
    )
    return store


def _reference(store: LedgerStore, days: int, node: str | None = None) -> list[Any]:
    every = store.stock_on_hand(node=node)
    return expiring_within(every, days, store.today_at({s.node for s in every}, now=NOW))


@pytest.mark.parametrize("days", [0, 30, 365])
def test_expiring_equals_filtering_every_line(ledger: LedgerStore, days: int) -> None:
    got = ledger.expiring(days, now=NOW)
    assert got == _reference(ledger, days)
    assert got  # the window catches lots at both nodes
    assert ledger.expiring(days, now=NOW, node=["PRK-NS", "DLC"]) == got
    assert ledger.expiring(days, now=NOW, node=["DLC"]) == _reference(ledger, days, "DLC")
    given = date(2021, 9, 15)
    every = ledger.stock_on_hand()
    assert ledger.expiring(days, today=given) == expiring_within(every, days, given)


def test_the_database_returns_only_lines_that_may_expire_in_the_window(
    ledger: LedgerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    returned: list[list[StockLine]] = []
    real = q.stock_on_hand

    def spy(*args: Any, **kwargs: Any) -> list[StockLine]:
        lines = real(*args, **kwargs)
        returned.append(lines)
        return lines

    monkeypatch.setattr(q, "stock_on_hand", spy)
    ledger.expiring(30, now=NOW)
    (lines,) = returned
    # 2 nodes x lots expiring by 30 days after tomorrow's UTC date, the broken lot left out
    assert {line.lot for line in lines} <= {"L-10", "L0", "L1", "L29", "L30", "L31"}
    assert all(line.doses for line in lines)
    assert not any(line.lot in {"L200", "L400", "NOEXPIRY"} for line in lines)
