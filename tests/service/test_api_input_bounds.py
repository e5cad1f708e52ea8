"""Bounds on what a request body may hold (issue 11, findings 3 and 4): every string has a
maximum and character rules, quantities are whole numbers in a range, dates lie in the
programme era, and every refusal is a coded 4xx on SQLite and PostgreSQL alike, with
nothing written."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.types import Message, Receive, Scope, Send

from doseflow.domain.limits import MAX_QUANTITY, MAX_REQUEST_BYTES
from doseflow.service.limits import RequestSizeLimit
from doseflow.store import ledger_tables as t
from tests.service.conftest import Service, make_service
from tests.service.scenario import NAME, scenario_document
from tests.service.seed import receipt_row, seed_ledger

SCENARIO = f"/api/scenarios/{NAME}"


@pytest.fixture
def seeded(db_url: str) -> Iterator[Service]:
    for service in make_service(db_url):
        seed_ledger(service.engine)
        yield service


def _found(**changes: Any) -> dict[str, Any]:
    """Doses found at the Nigerian store: an event needing no earlier stock."""
    row: dict[str, Any] = {
        "id": "f-nga-1",
        "type": "adjustment",
        "reason": "found",
        "occurred_at": "2021-05-12T10:00:00+00:00",
        "node": "NGA-NS",
        "product": "AZ-SII",
        "lot": "N1",
        "quantity": 10,
    }
    row.update(changes)
    return row


def _accepted(service: Service, row: dict[str, Any]) -> None:
    response = service.post("/api/ledger/events", "logistics-officer", json={"events": [row]})
    assert response.status_code == 200, response.text
    assert response.json()["appended"] == [row["id"]]


def _event_count(service: Service) -> int:
    with service.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.events)).scalar_one())


def _refused(service: Service, row: dict[str, Any], field: str) -> dict[str, Any]:
    """Post ``row``; assert a coded 422 naming ``field`` and that nothing was written."""
    before = _event_count(service)
    response = service.post("/api/ledger/events", "logistics-officer", json={"events": [row]})
    assert response.status_code == 422, response.text[:2000]
    body = response.json()
    assert body["code"] == "LEDGER_ROW_INVALID", body
    assert body["errors"][0]["field"] == field
    assert _event_count(service) == before
    error: dict[str, Any] = body["errors"][0]
    return error


def test_a_lot_number_of_101_characters_is_refused_on_both_backends(seeded: Service) -> None:
    error = _refused(seeded, receipt_row(lot="L" * 101), "lot")
    assert "at most 100 characters" in error["expected"]
    _accepted(seeded, _found(lot="L" * 100))
    lots = {s["lot"] for s in seeded.get("/api/stock", "viewer").json()}
    assert "L" * 100 in lots


def test_an_event_id_of_201_characters_is_refused_on_both_backends(seeded: Service) -> None:
    error = _refused(seeded, receipt_row(id="e" * 201), "id")
    assert "at most 200 characters" in error["expected"]
    _accepted(seeded, _found(id="e" * 200))


def test_a_long_shipment_id_and_recorded_by_are_refused(seeded: Service) -> None:
    _refused(seeded, receipt_row(shipment="S" * 101), "shipment")
    # who recorded an event is the server's to say: a row naming anyone is refused outright
    # (its 100-character bound holds for files, tests/ledger/test_event_file.py)
    response = seeded.post(
        "/api/ledger/events", "logistics-officer", json={"events": [receipt_row(recorded_by="u")]}
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "LEDGER_SERVER_SET_FIELD"


def test_a_physical_count_id_leaves_room_for_its_discrepancy(seeded: Service) -> None:
    count = {
        "id": "c" * 190,
        "type": "physical-count",
        "occurred_at": "2021-06-01T00:00:00Z",
        "node": "KEN-NS",
        "product": "AZ-SII",
        "lot": "K1",
        "expiry": "2021-07-31",
        "quantity": 23_000,
    }
    error = _refused(seeded, count, "id")
    assert "at most 188 characters" in error["expected"]
    count["id"] = "c" * 188
    response = seeded.post("/api/ledger/events", "logistics-officer", json={"events": [count]})
    assert response.status_code == 200, response.text
    assert response.json()["derived"] == ["c" * 188 + "/discrepancy"]


def _database_bytes(service: Service) -> int | None:
    """Bytes of a SQLite database with its write-ahead log (None on PostgreSQL)."""
    database = service.engine.url.database
    if service.engine.dialect.name != "sqlite" or not database:
        return None
    return sum(
        Path(database + suffix).stat().st_size
        for suffix in ("", "-wal")
        if Path(database + suffix).exists()
    )


def test_a_50_megabyte_lot_is_refused_and_nothing_is_written(seeded: Service) -> None:
    before = _event_count(seeded)
    size = _database_bytes(seeded)
    row = receipt_row(lot="L" * (50 * 1024 * 1024))
    response = seeded.post("/api/ledger/events", "logistics-officer", json={"events": [row]})
    assert response.status_code == 413
    assert response.json()["code"] == "SERVICE_REQUEST_TOO_LARGE"
    assert _event_count(seeded) == before
    # under the request limit, the lot itself is refused, and not echoed whole
    error = _refused(seeded, receipt_row(lot="L" * (20 * 1024 * 1024)), "lot")
    assert len(error["value"]) < 1000
    assert "20,971,520 characters" in error["value"]
    assert _event_count(seeded) == before
    if size is not None:  # the issue saw 6 MB grow to 107 MB
        grown = _database_bytes(seeded)
        assert grown is not None
        assert grown - size < 1024 * 1024


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lot", "N\x001"),
        ("id", "r\x00"),
        ("node", "NGA\x00NS"),
        ("reason", "damaged\x00"),
        ("lot", "N\n1"),
        ("shipment", "S\u2028NGA"),
        ("product", "AZ\x7fSII"),
    ],
)
def test_nul_and_control_characters_are_refused(seeded: Service, field: str, value: str) -> None:
    row = receipt_row(**{field: value})
    if field == "reason":
        row = {
            "id": "x-1",
            "type": "reversal",
            "occurred_at": "2021-05-12T10:00:00Z",
            "reverses": "r-ken-1",
            "reason": value,
        }
    error = _refused(seeded, row, field)
    assert error["expected"]


@pytest.mark.parametrize("quantity", [2**64, 10**31, 2**63 - 1, MAX_QUANTITY + 1, -(2**63)])
def test_quantities_beyond_the_range_are_refused(seeded: Service, quantity: int) -> None:
    error = _refused(seeded, receipt_row(quantity=quantity), "quantity")
    assert "1,000,000,000,000" in error["expected"] or ">= 0" in error["message"] + str(
        error["expected"]
    )


@pytest.mark.parametrize("quantity", [True, False, "12", "12000", 12.0, 12.5, None])
def test_quantities_must_be_json_numbers(seeded: Service, quantity: object) -> None:
    row = receipt_row(quantity=quantity)
    if quantity is None:
        row["quantity"] = []
    _refused(seeded, row, "quantity")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("occurred_at", "0001-01-01T00:00:00+00:00"),
        ("occurred_at", "9999-12-31T23:59:59+00:00"),
        ("occurred_at", "0001-01-01T00:00:00+14:00"),
        ("occurred_at", "9999-12-31T23:59:59-14:00"),
        ("occurred_at", "1999-12-31T23:59:59Z"),
        ("expiry", "0001-01-01"),
        ("expiry", "9999-12-31"),
    ],
)
def test_event_dates_outside_the_era_are_refused(seeded: Service, field: str, value: str) -> None:
    error = _refused(seeded, receipt_row(**{field: value}), field)
    assert error["expected"] == "a date from 2000-01-01 to 2099-12-31"


def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(service: Service) -> None:
    chunks = 0

    def body() -> Iterator[bytes]:
        nonlocal chunks
        for _ in range(40):
            chunks += 1
            yield b" " * (1024 * 1024)

    size = 40 * 1024 * 1024
    headers = {**service.headers("logistics-officer"), "Content-Length": str(size)}
    response = service.client.post(
        "/api/ledger/events",
        headers={**headers, "Content-Type": "application/json"},
        content=body(),
    )
    assert response.status_code == 413
    assert response.json()["code"] == "SERVICE_REQUEST_TOO_LARGE"
    assert f"{MAX_REQUEST_BYTES:,} bytes" in response.json()["message"]
    assert chunks <= 1


def test_a_chunked_body_is_counted_as_it_streams(service: Service) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"events": [{"id": "'
        for _ in range(64):
            yield b"x" * (1024 * 1024)
        yield b'"}]}'

    before = _event_count(service)
    response = service.client.post(
        "/api/ledger/events",
        headers={**service.headers("logistics-officer"), "Content-Type": "application/json"},
        content=body(),
    )
    assert response.status_code == 413, response.text[:500]
    assert response.json()["code"] == "SERVICE_REQUEST_TOO_LARGE"
    assert _event_count(service) == before


def test_the_limit_stops_reading_a_stream_once_it_is_passed() -> None:
    """At the ASGI level: the middleware pulls chunks only until the count passes the limit
    (the test client above buffers a body before sending it)."""
    pulled = 0
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass
        raise AssertionError("the whole body was read")

    async def receive() -> Message:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * 1000, "more_body": pulled < 100}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/api/x", "headers": []}
    asyncio.run(RequestSizeLimit(app, max_bytes=10_500)(scope, receive, send))
    assert pulled == 11
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["code"] == "SERVICE_REQUEST_TOO_LARGE"


def test_a_body_just_under_the_limit_is_read(service: Service) -> None:
    padding = " " * (MAX_REQUEST_BYTES - 200)
    text = '{"events": []}' + padding
    response = service.client.post(
        "/api/ledger/events",
        headers={**service.headers("logistics-officer"), "Content-Type": "application/json"},
        content=text.encode(),
    )
    assert response.status_code == 422  # read and parsed: an empty batch is refused
    assert response.json()["code"] == "SERVICE_BAD_REQUEST"


@pytest.fixture
def published(db_url: str) -> Iterator[Service]:
    """A service with a scenario whose first round is published (declines can be made)."""
    for service in make_service(db_url):
        created = service.post("/api/scenarios", "allocation-analyst", json=scenario_document())
        assert created.status_code == 201, created.text
        service.post(f"{SCENARIO}/run", "allocation-analyst")
        service.post(f"{SCENARIO}/rounds/1/publish", "allocation-analyst")
        yield service


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"doses": True}, "doses"),
        ({"doses": "12"}, "doses"),
        ({"doses": 2**64}, "doses"),
        ({"doses": 10**31}, "doses"),
        ({"round": True}, "round"),
        ({"reason": "r" * 501}, "reason"),
        ({"reason": "no\x00"}, "reason"),
        ({"product": "P" * 65}, "product"),
        ({"pool": "p" * 201}, "pool"),
    ],
)
def test_a_decline_body_out_of_bounds_is_a_coded_422(
    published: Service, change: dict[str, Any], field: str
) -> None:
    body = {"round": 1, "product": "AZ-SII", "iso3": "KEN", "reason": "cold chain full", **change}
    # the scenario file's own declines are listed too: nothing may be added to them
    before = published.get(f"{SCENARIO}/declines", "viewer").json()
    response = published.post(f"{SCENARIO}/declines", "participant-KEN", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert (error["code"], error["field"]) == ("SERVICE_BAD_REQUEST", field)
    after = published.get(f"{SCENARIO}/declines", "viewer").json()
    assert after == before
    assert all(d["source"] != "service" and "via the API" not in d["source"] for d in after)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"value": True}, "value"),
        ({"value": "x" * 501}, "value"),
        ({"comment": "c" * 501}, "comment"),
        ({"comment": "\x00"}, "comment"),
        ({"org_unit": "K" * 65}, "org_unit"),
        ({"period": "2021060000000000x"}, "period"),
        ({"category": "c\x00"}, "category"),
    ],
)
def test_a_report_value_out_of_bounds_is_a_coded_422(
    service_any_db: Service, change: dict[str, Any], field: str
) -> None:
    value = {"data_element": "doses_received", "period": "202106", "org_unit": "KEN", "value": 1}
    body = {"values": [{**value, **change}], "as_of": "2021-07-10"}
    response = service_any_db.post("/api/reports", "participant-KEN", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["code"] == "SERVICE_BAD_REQUEST"
    assert error["field"].startswith("values.0.")
    assert field in error["field"]
    assert service_any_db.get("/api/reports/values", "viewer").json() == []


@pytest.mark.parametrize("as_of", ["0001-01-01", "9999-12-31"])
def test_a_report_as_of_date_outside_the_era_is_refused(service: Service, as_of: str) -> None:
    value = {"data_element": "doses_received", "period": "202106", "org_unit": "KEN", "value": 1}
    response = service.post(
        "/api/reports", "participant-KEN", json={"values": [value], "as_of": as_of}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["expected"] == "a date from 2000-01-01 to 2099-12-31"


@pytest.mark.parametrize(
    ("doses", "expected"),
    [
        (True, "a whole number, not true or false"),
        ("12", "a whole number (not text, true/false or a fraction)"),
        (10**31, "a whole number of at most 1,000,000,000,000"),
    ],
)
def test_a_shipment_request_needs_a_whole_number_of_doses(
    service: Service, doses: object, expected: str
) -> None:
    body = {"requests": [{"product": "AZ-SII", "destination": "PRK-NS", "doses": doses}]}
    response = service.post("/api/coldchain/routes", "logistics-officer", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert (error["field"], error["expected"]) == ("requests.0.doses", expected)


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        (("rounds", 0, "tranches", 0, "doses"), True, "ALLOC_INVALID_FIELD"),
        (("rounds", 0, "tranches", 0, "doses"), "12", "ALLOC_INVALID_FIELD"),
        (("rounds", 0, "tranches", 0, "doses"), 10**31, "ALLOC_INVALID_FIELD"),
        (("rounds", 0, "date"), "9999-12-31", "ALLOC_INVALID_FIELD"),
        (("name",), "n" * 201, "ALLOC_INVALID_FIELD"),
    ],
)
def test_a_scenario_document_out_of_bounds_is_refused_on_both_backends(
    service_any_db: Service, path: tuple[str | int, ...], value: object, code: str
) -> None:
    document = scenario_document()
    target: Any = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    response = service_any_db.post("/api/scenarios", "allocation-analyst", json=document)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert service_any_db.get("/api/scenarios", "viewer").json() == []


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/tokens", {"role": "viewer", "expires_in_days": True}, "expires_in_days"),
        ("/api/deployment/plan", {"coverage_step_days": True}, "coverage_step_days"),
        ("/api/deployment/plan", {"horizon_days": "30"}, "horizon_days"),
    ],
)
def test_whole_numbers_in_bodies_are_json_numbers(
    service: Service, path: str, body: dict[str, Any], field: str
) -> None:
    response = service.post(path, "administrator", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert (error["code"], error["field"]) == ("SERVICE_BAD_REQUEST", field)


def test_fifty_long_origins_are_still_one_valid_request(service: Service) -> None:
    # the body bounds each origin (a code) and their number; joined for the engine, they
    # are longer than any one text field, and must not be refused for it
    origins = [f"{'O' * 60}{i:02d}" for i in range(50)]
    body = {
        "requests": [{"product": "AZ-SII", "destination": "PRK-NS", "doses": 10, "origin": origins}]
    }
    response = service.post("/api/coldchain/routes", "logistics-officer", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["field"] == "origin"  # unknown nodes: checked against the network
    assert error["code"] == "LOGISTICS_UNKNOWN_NODE"


def test_a_scenario_with_a_field_no_round_uses_is_refused(service: Service) -> None:
    """The service reads scenarios with the same reader as files: an unused field is an
    error there too (issue 12, finding 5), located and with its stable code."""
    document = scenario_document()
    document["participants"][0]["absorption_per_month"] = 1000  # phase 2 reads it: used
    document["rounds"][0]["months"] = 5  # a phase-1 round does not read months
    response = service.post("/api/scenarios", "allocation-analyst", json=document)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "ALLOC_FIELD_UNUSED"
    assert "rounds[0].months" in response.text
    assert service.get("/api/scenarios", "viewer").json() == []
