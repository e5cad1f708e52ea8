"""Issue 14: periods are cut in each node's local time, not in UTC.

A dose received in Pyongyang at 07:00 on 1 July local time (22:00 UTC on 30 June) belongs to
July there: a report "stock at the end of June = 0" is right and must pass without a warning.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from doseflow.domain.events import ReceiptOutcome, ShipmentReceived
from doseflow.reporting import OrgUnit, Outcome, build_hierarchy
from doseflow.store import reporting as store
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from doseflow.store.reporting_ledger import StoreLedger, shipment_records
from tests.ledger.factory import BY, LOT_A, NODES, arrived, dispatched, onward

from .conftest import sv

PYONGYANG_MORNING = datetime(2021, 6, 30, 22, 0, tzinfo=UTC)  # 07:00 on 1 July in Pyongyang

HIERARCHY = build_hierarchy([OrgUnit("PRK", "DPR Korea", "PRK", ledger_nodes=("PRK-NS",))])


def _receipt(at: datetime, q: int = 1000) -> ShipmentReceived:
    return ShipmentReceived(
        event_id="r1",
        occurred_at=at,
        recorded_by=BY,
        shipment_id="S1",
        node="PRK-NS",
        lot=LOT_A,
        quantity=q,
        discrepancy=0,
        outcome=ReceiptOutcome.CONFIRMED,
    )


def test_pyongyang_receipt_on_1_july_local_counts_in_july(db_url: str) -> None:
    engine = open_database(db_url)
    ledger = LedgerStore(engine)
    ledger.register_nodes(NODES)
    ledger.append_events(
        [
            dispatched("d1", 100, 1000),
            arrived("a1", 110, 1000),
            onward("o1", 170, 1000),
            _receipt(PYONGYANG_MORNING),
        ]
    )
    source = StoreLedger(engine)
    june = source.position(["PRK-NS"], date(2021, 6, 1), date(2021, 6, 30))
    july = source.position(["PRK-NS"], date(2021, 7, 1), date(2021, 7, 31))
    assert june is not None
    assert july is not None
    assert (june.opening, june.received, june.closing) == (0, 0, 0)
    assert (july.opening, july.received, july.closing) == (0, 1000, 1000)
    assert june.time_zone == "Asia/Pyongyang"
    # stock at a date is the stock at the end of that day at the node
    assert ledger.stock_total("PRK-NS", "AZ-SII", at=date(2021, 6, 30)) == 0
    assert ledger.stock_total("PRK-NS", "AZ-SII", at=date(2021, 7, 1)) == 1000
    summary = store.submit(
        engine,
        [sv("stock_on_hand", "202106", "PRK", 0), sv("stock_on_hand", "202107", "PRK", 1000)],
        hierarchy=HIERARCHY,
        as_of=date(2021, 8, 5),
        ledger=source,
    )
    assert summary.outcomes == (Outcome.ACCEPTED, Outcome.ACCEPTED)
    assert summary.warnings == ()
    # a report in UTC days would be flagged, and the message says which days it used
    flagged = store.submit(
        engine,
        [sv("stock_on_hand", "202106", "PRK", 0)],
        hierarchy=build_hierarchy(
            [OrgUnit("PRK", "DPR Korea", "PRK", ledger_nodes=("PRK-NS",), time_zone="UTC")]
        ),
        as_of=date(2021, 8, 5),
        ledger=source,
        dry_run=True,
    )
    (warning,) = flagged.warnings
    assert warning.error.code == "REPORT_STOCK_DIFFERS_FROM_LEDGER"
    assert warning.error.message == (  # quoted in docs/reporting.md
        "reported stock of PRK at the end of 202106 (UTC time) is 0 doses; the ledger holds "
        "1,000 (difference -1,000 doses)"
    )
    # the FHIR SupplyDelivery date is the day of receipt in Pyongyang
    (record,) = shipment_records(engine)
    assert record.occurred == date(2021, 7, 1)
    engine.dispose()
