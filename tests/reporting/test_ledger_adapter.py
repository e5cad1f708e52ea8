"""The ledger cross-checks against a real ledger (issue 3's LedgerStore), both backends."""

from __future__ import annotations

from datetime import date

from doseflow.reporting import LedgerPosition, OrgUnit, Outcome, build_hierarchy, supply_deliveries
from doseflow.store import reporting as store
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from doseflow.store.reporting_ledger import StoreLedger, shipment_records
from tests.ledger.factory import (
    NODES,
    administered,
    arrived,
    dispatched,
    issue,
    onward,
    planned,
    received,
)

from .conftest import sv

HIERARCHY = build_hierarchy(
    [
        OrgUnit("PRK", "DPR Korea", "PRK", ledger_nodes=("PRK-NS",)),
        OrgUnit("PRK-R1", "Region 1", "PRK", "PRK", ledger_nodes=("PRK-R1",)),
    ]
)


def test_cross_checks_use_the_ledger(db_url: str) -> None:
    engine = open_database(db_url)
    ledger = LedgerStore(engine)
    ledger.register_nodes(NODES)
    ledger.append_events(
        [
            planned("p1", 1, 1000),
            dispatched("d1", 2, 1000),
            arrived("a1", 10, 1000),
            onward("o1", 20, 1000),
            received("r1", 25, 1000),  # 25 Jan 2021 at PRK-NS
            issue("i1", 26, 600),  # PRK-NS -> PRK-R1
            administered("x1", 28, 100),  # at PRK-R1
        ]
    )
    source = StoreLedger(engine)
    assert source.position(["PRK-R1"], date(2021, 1, 1), date(2021, 1, 31)) == LedgerPosition(
        opening=0, received=600, closing=500, time_zone="Asia/Pyongyang"
    )
    # the issue from the national store to region 1 stays inside the national org unit
    national = source.position(["PRK-NS", "PRK-R1"], date(2021, 1, 1), date(2021, 1, 31))
    assert national == LedgerPosition(
        opening=0, received=1000, closing=900, time_zone="Asia/Pyongyang"
    )
    values = [
        sv("doses_administered", "202101", "PRK-R1", 650, category="dose=dose1,group=hcw"),
        sv("stock_on_hand", "202101", "PRK-R1", 520),
    ]
    summary = store.submit(
        engine, values, hierarchy=HIERARCHY, as_of=date(2021, 2, 5), ledger=source
    )
    assert summary.outcomes == (Outcome.CONFLICT, Outcome.ACCEPTED)
    assert summary.conflicts[0].error.code == "REPORT_ADMINISTERED_EXCEEDS_AVAILABLE"
    assert "exceed the 600 doses available" in summary.conflicts[0].error.message
    assert "difference +20 doses" in summary.warnings[0].error.message
    (record,) = shipment_records(engine)
    assert (record.shipment_id, record.doses, record.status) == ("S1", 1000, "completed")
    (delivery,) = supply_deliveries([record])
    assert delivery.suppliedItem.quantity.value == 1000
    engine.dispose()
