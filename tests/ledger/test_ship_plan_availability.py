"""Shipments planned from an allocation never leave before their tranche is available
(issue 12, finding 7: a tranche available 2021-03-15 got a planned arrival of 2021-03-04)."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import pytest

from doseflow.allocation import load_scenario
from doseflow.cli.app import run
from doseflow.cli.demo import example_path
from doseflow.domain.events import ShipmentPlanned
from doseflow.ledger.shipments import plan_shipment
from doseflow.logistics.network_file import example_network_path, load_network_file
from doseflow.logistics.routing import plan_route
from doseflow.store.allocation import AllocationStore
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore

LATE = date(2021, 3, 15)


def test_plan_shipment_waits_for_the_tranche() -> None:
    product = load_scenario(example_path("covax_2021.yaml")).products["AZ-SKB"]
    planned = plan_shipment(
        shipment_id="s/r1/AZ-SKB/NPL",
        product=product,
        doses=product.pack_doses * 3,
        route=("SKBIO-ANDONG", "DALIAN", "NPL-NS"),
        decided=date(2021, 3, 1),
        available=LATE,
        transit_days=2.5,
        allocation_ref="s round 1 pool AZ-SKB",
        recorded_by="tester",
    )
    assert isinstance(planned, ShipmentPlanned)
    assert planned.expected_dispatch == LATE
    assert planned.expected_arrival == LATE + timedelta(days=3)


def test_plan_shipment_leaves_on_the_round_date_when_supply_is_already_there() -> None:
    product = load_scenario(example_path("covax_2021.yaml")).products["AZ-SKB"]
    planned = plan_shipment(
        shipment_id="s/r1/AZ-SKB/NPL",
        product=product,
        doses=product.pack_doses,
        route=("SKBIO-ANDONG", "NPL-NS"),
        decided=date(2021, 3, 20),
        available=LATE,
        transit_days=1.0,
        allocation_ref="s round 1 pool AZ-SKB",
        recorded_by="tester",
    )
    assert planned is not None
    assert planned.expected_dispatch == date(2021, 3, 20)
    assert planned.expected_arrival == date(2021, 3, 21)


def _late_scenario(tmp_path: Path) -> Path:
    """The bundled example with round 1's SK Bio tranche available on 2021-03-15 (the
    round is decided on 2021-02-03), larger and open to every participant, so Nepal (an AMC
    participant, not a member of the example's SK Bio pool) draws on it too."""
    text = example_path("covax_2021.yaml").read_text(encoding="utf-8")
    old = (
        "product: AZ-SKB, doses: 13540800, available: 2021-02-22, expiry: 2021-08-31,\n"
        "         members: {financing: [self-financing]}}"
    )
    new = "product: AZ-SKB, doses: 25000000, available: 2021-03-15, expiry: 2021-08-31}"
    assert old in text
    path = tmp_path / "late.yaml"
    path.write_text(text.replace(old, new), "utf-8")
    return path


def test_ship_plan_never_dispatches_before_the_tranche_is_available(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = open_database(db_url)
    alloc = AllocationStore(engine)
    alloc.save_scenario(load_scenario(_late_scenario(tmp_path)))
    alloc.run("covax-2021")
    assert run(["ship", "plan", "covax-2021", "1", "--country", "NPL", "--db", db_url]) == 0
    capsys.readouterr()
    events = [
        e for e in LedgerStore(open_database(db_url)).events() if isinstance(e, ShipmentPlanned)
    ]
    by_pool = {e.shipment_id.split("/")[2]: e for e in events}
    assert set(by_pool) == {"AZ-SII", "AZ-SKB"}
    skb, sii = by_pool["AZ-SKB"], by_pool["AZ-SII"]
    assert skb.expected_dispatch == LATE  # not the round's date, 2021-02-03
    assert sii.expected_dispatch == date(2021, 2, 22)  # its own tranche's date
    scenario = load_scenario(_late_scenario(tmp_path))
    nf = load_network_file(example_network_path())
    for e in (skb, sii):  # arrival = dispatch + the route's lead time (whole days)
        product = scenario.products[e.product]
        route = plan_route(
            nf.network, product, nf.origins_for(product), "NPL-NS", profiles=nf.profile_table()
        )
        assert e.route == route.nodes
        lead = timedelta(days=math.ceil(route.transit_days))
        assert e.expected_arrival == e.expected_dispatch + lead


def test_every_pool_of_every_round_has_its_date(db_url: str, tmp_path: Path) -> None:
    """Each stored line's pool has an availability date (the fallback to the round's latest
    date is never needed); a pool carried in keeps its first round's date. (Round 1's SK Bio
    tranche is made 200 doses more than whole packs, so they are held and carried.)"""
    text = example_path("covax_2021.yaml").read_text(encoding="utf-8")
    assert "doses: 13540800," in text
    path = tmp_path / "carry.yaml"
    path.write_text(text.replace("doses: 13540800,", "doses: 13541000,"), "utf-8")
    alloc = AllocationStore(open_database(db_url))
    alloc.save_scenario(load_scenario(path))
    alloc.run("covax-2021")
    for info in alloc.rounds("covax-2021"):
        available = alloc.pool_availability("covax-2021", info.number)
        assert {line.pool for line in alloc.lines("covax-2021", info.number)} <= set(available)
    assert alloc.pool_availability("covax-2021", 2) == {
        "AZ-SKB": date(2021, 2, 22),  # carried from round 1: leaves on round 2's date
        "AZ-SKB/donation-Sweden": date(2021, 6, 21),  # after round 2's date (2021-06-15)
    }
