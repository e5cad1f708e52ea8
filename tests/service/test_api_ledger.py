"""Stock and shipments over the API, scoped to a participant's own country."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.service.conftest import Service, make_service
from tests.service.seed import receipt_row, seed_ledger, seed_unicef


@pytest.fixture
def seeded(db_url: str) -> Iterator[Service]:
    for service in make_service(db_url):
        seed_ledger(service.engine)
        yield service


def test_stock_on_hand_for_staff_and_for_a_participant(seeded: Service) -> None:
    everything = seeded.get("/api/stock", "viewer").json()
    assert {(s["node"], s["lot"], s["doses"]) for s in everything} == {
        ("KEN-NS", "K1", 24_000),
        ("DXB", "K2", 4_800),
    }
    assert all(s["unit"] == "dose" for s in everything)
    kenya = seeded.get("/api/stock", "participant-KEN").json()
    assert [(s["node"], s["doses"]) for s in kenya] == [("KEN-NS", 24_000)]
    assert seeded.get("/api/stock", "participant-NGA").json() == []


def test_a_participant_cannot_read_another_countrys_stock(seeded: Service) -> None:
    for path in (
        "/api/stock?iso3=KEN",
        "/api/stock?node=KEN-NS",
        "/api/stock/card?node=KEN-NS&product=AZ-SII",
        "/api/stock/expiring?node=KEN-NS",
        "/api/shipments?iso3=KEN",
        "/api/shipments/in-transit?iso3=KEN",
    ):
        response = seeded.get(path, "participant-NGA")
        assert response.status_code == 403, path
        assert response.json()["code"] == "SERVICE_OUT_OF_SCOPE", path


def test_expiry_and_stock_card(seeded: Service) -> None:
    expiring = seeded.get(
        "/api/stock/expiring", "participant-KEN", params={"today": "2021-06-01", "within_days": 90}
    ).json()
    assert [(e["lot"], e["days_left"]) for e in expiring] == [("K1", 60)]
    card = seeded.get(
        "/api/stock/card", "participant-KEN", params={"node": "KEN-NS", "product": "AZ-SII"}
    ).json()
    assert card["lines"][0]["doses_in"] == 24_000
    unknown = seeded.get(
        "/api/stock/card", "viewer", params={"node": "NOWHERE", "product": "AZ-SII"}
    )
    assert unknown.json()["code"] == "LEDGER_UNKNOWN_NODE"
    assert unknown.json()["errors"][0]["value"] == "NOWHERE"


def test_shipments_in_transit_and_held_at_hubs(seeded: Service) -> None:
    states = {s["shipment_id"]: s["state"] for s in seeded.get("/api/shipments", "viewer").json()}
    assert states == {"S-KEN-1": "received", "S-KEN-2": "held", "S-NGA-1": "in transit"}
    kenya = {s["shipment_id"] for s in seeded.get("/api/shipments", "participant-KEN").json()}
    assert kenya == {"S-KEN-1", "S-KEN-2"}
    transit = seeded.get("/api/shipments/in-transit", "participant-NGA").json()
    assert [(t["shipment_id"], t["doses"]) for t in transit] == [("S-NGA-1", 12_000)]
    assert seeded.get("/api/shipments/in-transit", "participant-KEN").json() == []
    held = seeded.get("/api/shipments/held-at-hubs", "participant-KEN").json()
    assert held[0]["held"][0]["reason"] == "awaiting import permit"
    assert seeded.get("/api/shipments/held-at-hubs", "participant-NGA").json() == []
    nodes = seeded.get("/api/nodes", "participant-NGA").json()
    assert [n["code"] for n in nodes] == ["NGA-NS"]


def test_a_batch_of_events_is_idempotent(seeded: Service) -> None:
    first = seeded.post("/api/ledger/events", "logistics-officer", json={"events": [receipt_row()]})
    assert first.status_code == 200, first.text
    assert first.json()["appended"] == ["r-nga-1"]
    again = seeded.post("/api/ledger/events", "logistics-officer", json={"events": [receipt_row()]})
    assert again.json() == {"appended": [], "skipped": ["r-nga-1"], "derived": []}
    stock = seeded.get("/api/stock", "participant-NGA").json()
    assert [(s["node"], s["doses"]) for s in stock] == [("NGA-NS", 12_000)]
    changed = seeded.post(
        "/api/ledger/events",
        "logistics-officer",
        json={"events": [receipt_row(quantity=11_000)]},
    )
    assert changed.status_code == 409
    assert changed.json()["code"] == "LEDGER_IDEMPOTENCY_CONFLICT"
    events = seeded.get("/api/ledger/events", "participant-NGA").json()
    assert {e["id"] for e in events} == {"p-nga-1", "d-nga-1", "r-nga-1"}
    assert {e["recorded_by"] for e in events if e["id"] == "r-nga-1"} == {"logistics-officer"}


def test_a_bad_batch_writes_nothing_and_names_the_row(seeded: Service) -> None:
    bad = receipt_row("r-bad")
    bad["quantity"] = -5
    response = seeded.post(
        "/api/ledger/events", "logistics-officer", json={"events": [receipt_row(), bad]}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"].startswith("LEDGER_")
    assert body["errors"][0]["line"] == 2
    assert seeded.get("/api/stock", "participant-NGA").json() == []


def test_only_logistics_and_administrators_record_events(seeded: Service) -> None:
    for actor in ("viewer", "allocation-analyst", "participant-NGA"):
        response = seeded.post("/api/ledger/events", actor, json={"events": [receipt_row()]})
        assert response.status_code == 403, actor


def test_stock_by_source_keeps_unicef_data_apart(seeded: Service) -> None:
    seed_unicef(seeded.engine)
    kenya = seeded.get("/api/stock", "participant-KEN").json()
    assert {(s["node"], s["doses"]) for s in kenya} == {
        ("KEN-NS", 24_000),
        ("KEN-NS-UNICEF", 70),
        ("KEN-NS-UNICEF", 30),
    }
    reported = seeded.get("/api/stock", "participant-KEN", params={"source": "unicef"}).json()
    assert {(s["node"], s["product"], s["doses"]) for s in reported} == {
        ("KEN-NS-UNICEF", "AZ", 70),
        ("KEN-NS-UNICEF", "PFIZER", 30),
    }
    network = seeded.get("/api/stock", "viewer", params={"source": "network"}).json()
    assert {(s["node"], s["doses"]) for s in network} == {("KEN-NS", 24_000), ("DXB", 4_800)}
    # a node of the other source: nothing, not the node's stock
    other = seeded.get(
        "/api/stock", "viewer", params={"source": "network", "node": "KEN-NS-UNICEF"}
    )
    assert other.json() == []
    assert seeded.get("/api/stock", "viewer", params={"source": "nope"}).status_code == 422


def test_stock_card_shows_a_receipts_shortfall(seeded: Service) -> None:
    """A receipt 2,400 doses short of its 12,000 dispatched carries the discrepancy on its
    card line, so the dashboard and API clients can show it (issue 15)."""
    short = receipt_row(
        quantity=9_600, discrepancy=2_400, outcome="different-quantity", reason="short"
    )
    posted = seeded.post("/api/ledger/events", "logistics-officer", json={"events": [short]})
    assert posted.status_code == 200, posted.text
    card = seeded.get(
        "/api/stock/card", "participant-NGA", params={"node": "NGA-NS", "product": "AZ-SII"}
    ).json()
    line = next(x for x in card["lines"] if x["event_id"] == "r-nga-1")
    assert line["doses_in"] == 9_600
    assert line["discrepancy"] == {
        "doses": 2_400,
        "dispatched": 12_000,
        "reason": "short",
        "document": "shipment S-NGA-1",
        "text": "2,400 doses short against 12,000 dispatched on shipment S-NGA-1",
    }


def test_stock_card_shows_a_receipt_rejected_whole(seeded: Service) -> None:
    """A receipt that accepted none of its 12,000 doses (a cold-chain break) moves no stock,
    yet has its line on the card, carrying the rejection (issue 15)."""
    rejected = receipt_row(
        quantity=0, discrepancy=12_000, outcome="rejected", reason="temperature-excursion"
    )
    posted = seeded.post("/api/ledger/events", "logistics-officer", json={"events": [rejected]})
    assert posted.status_code == 200, posted.text
    card = seeded.get(
        "/api/stock/card", "participant-NGA", params={"node": "NGA-NS", "product": "AZ-SII"}
    ).json()
    assert [x["event_id"] for x in card["lines"]] == ["r-nga-1"]
    line = card["lines"][0]
    assert (line["doses_in"], line["doses_out"], line["balance"]) == (0, 0, 0)
    assert line["discrepancy"] == {
        "doses": 12_000,
        "dispatched": 12_000,
        "reason": "temperature-excursion",
        "document": "shipment S-NGA-1",
        "text": "12,000 doses rejected (temperature excursion) against 12,000 dispatched "
        "on shipment S-NGA-1",
    }
