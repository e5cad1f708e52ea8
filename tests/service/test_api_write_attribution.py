"""Every write of the service records the token's user and the server's clock (issue 11,
finding 5, beyond the ledger's events endpoint): deployment plans recorded by API and
dashboard, report values, and no body that records something takes who or when from the
client (an unknown field is refused, never dropped)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from doseflow.domain.events import ShipmentPlanned
from doseflow.reporting.as_of import latest_today
from doseflow.service.deployment_views import example, example_input, plan_for
from doseflow.store import reporting_tables
from doseflow.store.deployment import record_deployment_plan
from doseflow.store.ledger import LedgerStore
from tests.service.conftest import Service
from tests.service.test_dashboard_shell import sign_in


def _planned(service: Service) -> list[ShipmentPlanned]:
    return [e for e in LedgerStore(service.engine).events() if isinstance(e, ShipmentPlanned)]


def test_a_plan_recorded_over_the_api_is_recorded_by_the_tokens_user(
    service_any_db: Service,
) -> None:
    service = service_any_db
    before = datetime.now(UTC).replace(microsecond=0)
    first = service.post("/api/deployment/record", "logistics-officer", json={})
    assert first.status_code == 200, first.text
    events = _planned(service)
    assert events
    assert {e.recorded_by for e in events} == {"logistics-officer"}
    for event in events:
        assert event.recorded_at is not None
        assert before <= event.recorded_at <= datetime.now(UTC)
    # the same plan recorded again by another user: nothing new, the first recording stands
    again = service.post("/api/deployment/record", "administrator", json={})
    assert again.status_code == 200, again.text
    assert again.json()["ledger"]["appended"] == 0
    assert again.json()["ledger"]["already_recorded"] == len(events)
    assert _planned(service) == events


def test_a_plan_recorded_from_the_command_line_is_not_recorded_twice(
    service_any_db: Service,
) -> None:
    service = service_any_db
    found = example("PRK")
    done = record_deployment_plan(
        service.engine,
        plan_for(example_input("PRK")),
        reference=found.reference,
        recorded_by="doseflow deploy",
    )
    assert done.appended > 0
    response = service.post("/api/deployment/record", "logistics-officer", json={})
    assert response.status_code == 200, response.text
    assert response.json()["ledger"]["appended"] == 0
    assert {e.recorded_by for e in _planned(service)} == {"doseflow deploy"}


def test_a_plan_recorded_on_the_dashboard_is_recorded_by_the_signed_in_user(
    service: Service,
) -> None:
    sign_in(service, "logistics-officer")
    page = service.client.get("/dashboard/deployment").text
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found is not None
    done = service.client.post(
        "/dashboard/deployment/record",
        data={"csrf": found.group(1), "iso3": "PRK", "recorded_by": "moh-npl-minister"},
    )
    assert done.status_code == 200
    events = _planned(service)
    assert events
    assert {e.recorded_by for e in events} == {"logistics-officer"}


def _report(**extra: Any) -> dict[str, Any]:
    value = {"data_element": "doses_received", "period": "202106", "org_unit": "KEN"}
    return {"values": [{**value, "value": 1200}], "as_of": "2021-07-10", **extra}


def test_report_values_are_stored_by_the_tokens_user(service_any_db: Service) -> None:
    done = service_any_db.post("/api/reports", "participant-KEN", json=_report())
    assert done.json()["written"] == 1
    dv = reporting_tables.data_values
    with service_any_db.engine.connect() as conn:
        stored = list(conn.execute(select(dv.c.stored_by, dv.c.created_at)))
    assert [row.stored_by for row in stored] == ["participant-KEN"]
    now = datetime.now(UTC).timestamp()
    assert now - 60 <= stored[0].created_at <= now + 1  # the server's clock


@pytest.mark.parametrize("path", ["/api/reports", "/api/reports/dry-run"])
def test_a_submission_may_not_be_judged_as_of_a_day_still_to_come(
    service: Service, path: str
) -> None:
    ahead = latest_today(datetime.now(UTC)) + timedelta(days=1)
    refused = service.post(path, "participant-KEN", json=_report(as_of=ahead.isoformat()))
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["code"] == "REPORT_AS_OF_IN_FUTURE"
    assert (body["errors"][0]["field"], body["errors"][0]["value"]) == ("as_of", ahead.isoformat())
    assert service.get("/api/reports/values", "viewer").json() == []
    today = datetime.now(UTC).date()
    for day in (today, date(2021, 7, 10)):  # today, or an earlier day, is fine
        fine = service.post(path, "participant-KEN", json=_report(as_of=day.isoformat()))
        assert fine.status_code == 200, fine.text


_RECEIPT = {
    "id": "r-1",
    "type": "received",
    "occurred_at": "2021-05-12T10:00:00+00:00",
    "shipment": "S-1",
    "node": "NGA-NS",
    "product": "AZ-SII",
    "lot": "N1",
    "quantity": 1,
}

#: (path, who sends it, a body naming who or when, the field, where the field is)
FORGED: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "/api/ledger/events",
        "logistics-officer",
        {"events": [_RECEIPT], "recorded_by": "x"},
        "recorded_by",
    ),
    ("/api/reports", "participant-KEN", _report(stored_by="moh-npl-minister"), "stored_by"),
    ("/api/reports", "participant-KEN", _report(submitted_at="2020-01-01"), "submitted_at"),
    (
        "/api/reports",
        "participant-KEN",
        {"values": [{**_report()["values"][0], "stored_by": "x"}]},
        "values.0.stored_by",
    ),
    (
        "/api/scenarios/any/declines",
        "administrator",
        {"round": 1, "product": "AZ-SII", "iso3": "KEN", "declined_by": "x"},
        "declined_by",
    ),
    ("/api/scenarios/any/impact-runs", "administrator", {"submitted_by": "x"}, "submitted_by"),
    ("/api/tokens", "administrator", {"role": "viewer", "created_at": "2020-01-01"}, "created_at"),
    ("/api/deployment/record", "logistics-officer", {"recorded_by": "x"}, "recorded_by"),
]


@pytest.mark.parametrize(("path", "actor", "body", "field"), FORGED)
def test_a_body_that_records_refuses_who_and_when(
    service: Service, path: str, actor: str, body: dict[str, Any], field: str
) -> None:
    response = service.post(path, actor, json=body)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("SERVICE_BAD_REQUEST", field)]
    assert service.get("/api/ledger/events", "administrator").json() == []
    assert service.get("/api/reports/values", "viewer").json() == []
