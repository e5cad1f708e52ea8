"""The ledger cross-checks against a real ledger (issue 3's LedgerStore), both backends."""

from __future__ import annotations

from datetime import date

from fhir.resources.R4B.supplydelivery import SupplyDelivery

from doseflow.data.deliveries import DeliveryRow
from doseflow.data.population import Country
from doseflow.data.product_codes import bundled_product_codes
from doseflow.ledger.unicef import plan_import
from doseflow.reporting import (
    LedgerPosition,
    OrgUnit,
    Outcome,
    build_hierarchy,
    bundle_json,
    supply_deliveries,
)
from doseflow.store import reporting as store
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from doseflow.store.reporting_ledger import StoreLedger, ledger_nodes, shipment_records
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
from .fhir_schema import assert_valid_r4

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
    assert not record.occurred_month
    resources = supply_deliveries([record], nodes=ledger_nodes(engine))
    (delivery,) = [r for r in resources if isinstance(r, SupplyDelivery)]
    assert delivery.suppliedItem.quantity.value == 1000
    engine.dispose()


def unicef_rows() -> tuple[list[DeliveryRow], dict[str, Country]]:
    rows = [
        DeliveryRow(
            2, "Bangladesh", "Sinovac - CoronaVac", date(2021, 8, 1), (("COVAX", 500),), 500
        ),
        DeliveryRow(3, "Bangladesh", "CIGB - Abdala", date(2021, 9, 1), (("Donations", 70),), 70),
    ]
    countries = {"BGD": Country("BGD", "Bangladesh", None, None, 164_689_383, None)}
    return rows, countries


def test_unicef_shipments_are_dated_to_their_month(db_url: str) -> None:
    engine = open_database(db_url)
    ledger = LedgerStore(engine)
    rows, countries = unicef_rows()
    plan = plan_import(rows, countries)
    ledger.register_nodes(list(plan.nodes))
    ledger.register_nodes(NODES)
    ledger.append_events([*plan.events, planned("p1", 1, 1000), dispatched("d1", 2, 1000)])
    records = {r.shipment_id: r for r in shipment_records(engine)}
    monthly = [r for r in records.values() if r.occurred_month]
    assert sorted((r.product_code, r.occurred) for r in monthly) == [
        ("ABDALA", date(2021, 9, 1)),
        ("SINOVAC", date(2021, 8, 1)),
    ]
    assert not records["S1"].occurred_month
    resources = supply_deliveries(
        list(records.values()), nodes=ledger_nodes(engine), codes=bundled_product_codes()
    )
    document = assert_valid_r4(bundle_json(resources))
    by_url = {e["fullUrl"]: e["resource"] for e in document["entry"]}
    sinovac = next(
        e["resource"]
        for e in document["entry"]
        if e["resource"]["resourceType"] == "SupplyDelivery"
        and e["resource"]["suppliedItem"]["itemCodeableConcept"]["coding"][0]["code"] == "511"
    )
    assert sinovac["occurrenceDateTime"] == "2021-08"
    store_ = by_url[sinovac["destination"]["reference"]]
    assert (store_["name"], store_["address"]["country"]) == (
        "Bangladesh national store (UNICEF deliveries data)",
        "BGD",
    )
    assert by_url[sinovac["supplier"]["reference"]]["name"] == "COVAX (UNICEF data)"
    engine.dispose()
