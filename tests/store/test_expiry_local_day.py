"""Issue 14: a lot expiring "on 2021-08-31" is usable through the end of 31 August where it
is. "Today" for expiry and FEFO is the node's local date, never UTC's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from doseflow.cli.app import run
from doseflow.domain.events import AdjustmentReason
from doseflow.domain.lot import Lot
from doseflow.domain.network import Node, NodeKind
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from tests.ledger.factory import NODES, adjusted

AUGUST = Lot("AZ-SII", "E31", date(2021, 8, 31))
LATER = Lot("AZ-SII", "L30", date(2021, 9, 30))
#: 00:30 on 1 September in Pyongyang (UTC+9), still 31 August in UTC.
PAST_MIDNIGHT_IN_PYONGYANG = datetime(2021, 8, 31, 15, 30, tzinfo=UTC)
#: 18:00 on 31 August in Pago Pago (UTC-11), already 1 September in UTC.
EVENING_IN_PAGO_PAGO = datetime(2021, 9, 1, 5, 0, tzinfo=UTC)


@pytest.fixture
def ledger(sqlite_url: str) -> LedgerStore:
    store = LedgerStore(open_database(sqlite_url))
    store.register_nodes(
        [
            *NODES,
            Node("ASM-NS", "Pago Pago store", NodeKind.NATIONAL_STORE, country="ASM"),
        ]
    )
    found = AdjustmentReason.FOUND
    store.append_events(
        [
            adjusted(f"{node}-{lot.number}", 100, 50, found, node=node, lot=lot)
            for node in ("PRK-NS", "ASM-NS")
            for lot in (AUGUST, LATER)
        ]
    )
    return store


def _days_left(store: LedgerStore, **kwargs: object) -> dict[tuple[str, str], int]:
    return {(x.node, x.lot): x.days_left for x in store.expiring(0, **kwargs)}  # type: ignore[arg-type]


def test_expiry_counts_from_the_local_date_at_each_node(ledger: LedgerStore) -> None:
    assert ledger.node_zones()["ASM-NS"] == ZoneInfo("Pacific/Pago_Pago")
    # just past midnight in Pyongyang: the August lot expired there, not in Pago Pago
    assert _days_left(ledger, now=PAST_MIDNIGHT_IN_PYONGYANG) == {
        ("PRK-NS", "E31"): -1,
        ("ASM-NS", "E31"): 0,
    }
    # 1 September in UTC, still 31 August evening in Pago Pago: usable there
    assert _days_left(ledger, now=EVENING_IN_PAGO_PAGO) == {
        ("PRK-NS", "E31"): -1,
        ("ASM-NS", "E31"): 0,
    }
    # read in UTC instead (zone=), both nodes share UTC's date
    assert _days_left(ledger, now=PAST_MIDNIGHT_IN_PYONGYANG, zone=ZoneInfo("UTC")) == {
        ("PRK-NS", "E31"): 0,
        ("ASM-NS", "E31"): 0,
    }
    # a date given is that date everywhere
    assert _days_left(ledger, today=date(2021, 8, 31), now=EVENING_IN_PAGO_PAGO) == {
        ("PRK-NS", "E31"): 0,
        ("ASM-NS", "E31"): 0,
    }


def test_fefo_issues_a_lot_through_its_expiry_date_at_the_node(ledger: LedgerStore) -> None:
    def first(node: str, now: datetime) -> str:
        return ledger.fefo(node, "AZ-SII", 10, now=now).picks[0].lot

    before_midnight = datetime(2021, 8, 31, 14, 59, tzinfo=UTC)  # 23:59 in Pyongyang
    assert first("PRK-NS", before_midnight) == "E31"
    assert first("PRK-NS", PAST_MIDNIGHT_IN_PYONGYANG) == "L30"
    assert first("ASM-NS", EVENING_IN_PAGO_PAGO) == "E31"
    assert first("ASM-NS", datetime(2021, 9, 1, 11, 0, tzinfo=UTC)) == "L30"  # 00:00 there


def test_cli_expiring_names_the_zones_of_today(
    ledger: LedgerStore, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["ledger", "expiring", "--days", "36500", "--db", sqlite_url]) == 0
    out = capsys.readouterr().out
    assert "Today is the local date in: Asia/Pyongyang (PRK-NS); Pacific/Pago_Pago (ASM-NS)" in out
    assert run(["ledger", "expiring", "--days", "36500", "--zone", "UTC", "--db", sqlite_url]) == 0
    assert "Today is the local date in: UTC" in capsys.readouterr().out
