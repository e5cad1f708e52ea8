"""Who recorded an event and when is set by the service, never by the client (issue 11,
finding 5): the token's user and the server's clock. A client states when an event
occurred, within bounds; the same event re-sent by another user is a harmless re-send."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from doseflow.domain.limits import EARLIEST_DATE, MAX_CLOCK_SKEW
from tests.service.conftest import Service, make_service
from tests.service.seed import receipt_row, seed_ledger


@pytest.fixture
def seeded(db_url: str) -> Iterator[Service]:
    for service in make_service(db_url):
        seed_ledger(service.engine)
        yield service


def _events(service: Service) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in service.get("/api/ledger/events", "administrator").json()}


def _post(service: Service, actor: str, *rows: dict[str, Any]) -> Any:
    return service.post("/api/ledger/events", actor, json={"events": list(rows)})


def _nga_stock(service: Service) -> list[tuple[str, int]]:
    stock = service.get("/api/stock", "participant-NGA").json()
    return [(s["node"], s["doses"]) for s in stock]


@pytest.mark.parametrize(
    ("field", "value"),
    [("recorded_by", "moh-npl-minister"), ("recorded_at", "2020-01-01T00:00:00Z")],
)
def test_a_client_cannot_say_who_recorded_an_event_or_when(
    seeded: Service, field: str, value: str
) -> None:
    before = _events(seeded)
    forged = receipt_row(**{field: value})
    response = _post(seeded, "logistics-officer", forged)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "LEDGER_SERVER_SET_FIELD"
    [error] = body["errors"]
    assert (error["source"], error["line"], error["field"]) == ("request body", 1, field)
    assert error["value"] == value
    assert "set by the server" in error["message"]
    assert _events(seeded) == before  # nothing written
    assert _nga_stock(seeded) == []


def test_every_forged_row_is_named_and_nothing_of_the_batch_is_written(
    seeded: Service,
) -> None:
    rows = [
        receipt_row(),
        receipt_row("x-2", recorded_by="moh-npl-minister", recorded_at="2020-01-01T00:00:00Z"),
        receipt_row("x-3", recorded_by=""),  # even blank: the column is not the client's
    ]
    response = _post(seeded, "administrator", *rows)
    assert response.status_code == 422
    located = [(e["code"], e["line"], e["field"]) for e in response.json()["errors"]]
    assert located == [
        ("LEDGER_SERVER_SET_FIELD", 2, "recorded_by"),
        ("LEDGER_SERVER_SET_FIELD", 2, "recorded_at"),
        ("LEDGER_SERVER_SET_FIELD", 3, "recorded_by"),
    ]
    assert "r-nga-1" not in _events(seeded)


def test_a_forged_row_and_an_invalid_row_are_reported_together(seeded: Service) -> None:
    rows = [receipt_row(recorded_by="moh-npl-minister"), receipt_row("x-2", quantity="many")]
    response = _post(seeded, "logistics-officer", *rows)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [(1, "recorded_by"), (2, "quantity")]
    assert errors[0]["code"] == "LEDGER_SERVER_SET_FIELD"
    assert errors[1]["code"].startswith("LEDGER_")  # the row reader's own code


def test_the_server_records_the_tokens_user_and_its_own_clock(seeded: Service) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    response = _post(seeded, "logistics-officer", receipt_row())
    after = datetime.now(UTC) + timedelta(seconds=1)
    assert response.status_code == 200, response.text
    stored = _events(seeded)["r-nga-1"]
    assert stored["recorded_by"] == "logistics-officer"
    assert before <= datetime.fromisoformat(stored["recorded_at"]) <= after
    assert stored["occurred_at"] == "2021-05-12T10:00:00+00:00"  # the client's, kept
    # the stock card shows the same stored values
    card = seeded.get(
        "/api/stock/card", "participant-NGA", params={"node": "NGA-NS", "product": "AZ-SII"}
    ).json()
    [line] = [x for x in card["lines"] if x["event_id"] == "r-nga-1"]
    assert line["recorded_by"] == "logistics-officer"
    assert before <= datetime.fromisoformat(line["recorded_at"]) <= after


def test_the_same_event_re_sent_by_another_user_is_a_harmless_re_send(seeded: Service) -> None:
    first = _post(seeded, "logistics-officer", receipt_row())
    assert first.json()["appended"] == ["r-nga-1"]
    recorded = _events(seeded)["r-nga-1"]
    again = _post(seeded, "administrator", receipt_row())
    assert again.status_code == 200, again.text
    assert again.json() == {"appended": [], "skipped": ["r-nga-1"], "derived": []}
    # the first recording stands: who and when are not overwritten by the re-send
    assert _events(seeded)["r-nga-1"] == recorded
    assert _nga_stock(seeded) == [("NGA-NS", 12_000)]
    changed = _post(seeded, "administrator", receipt_row(quantity=11_000))
    assert changed.status_code == 409
    assert changed.json()["code"] == "LEDGER_IDEMPOTENCY_CONFLICT"
    assert "quantity" in changed.json()["message"]
    assert "recorded_by" not in changed.json()["message"]


def _moment(moment: datetime) -> str:
    return moment.isoformat()


def test_an_event_may_not_occur_in_the_future(seeded: Service) -> None:
    late = datetime.now(UTC) + MAX_CLOCK_SKEW + timedelta(minutes=5)
    response = _post(seeded, "logistics-officer", receipt_row(occurred_at=_moment(late)))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "LEDGER_OCCURRED_OUT_OF_RANGE"
    [error] = body["errors"]
    assert (error["source"], error["line"], error["field"]) == ("request body", 1, "occurred_at")
    assert "future" in error["message"]
    assert "r-nga-1" not in _events(seeded)


def test_a_clock_a_little_ahead_is_within_the_documented_skew(seeded: Service) -> None:
    ahead = datetime.now(UTC) + MAX_CLOCK_SKEW / 2
    response = _post(seeded, "logistics-officer", receipt_row(occurred_at=_moment(ahead)))
    assert response.status_code == 200, response.text
    assert response.json()["appended"] == ["r-nga-1"]


def test_an_event_may_not_occur_before_the_earliest_date(seeded: Service) -> None:
    early = datetime(EARLIEST_DATE.year - 1, 12, 31, 23, 0, tzinfo=UTC)
    response = _post(
        seeded,
        "logistics-officer",
        receipt_row(),
        receipt_row("r-early", occurred_at=_moment(early)),
    )
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [(2, "occurred_at")]
    assert errors[0]["code"].startswith("LEDGER_")
    assert "r-nga-1" not in _events(seeded)
