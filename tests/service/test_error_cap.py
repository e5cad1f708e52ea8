"""A refusal lists at most MAX_REPORTED_ERRORS problems and says how many more there were:
a large body full of bad values must not turn into an answer many times its size."""

from __future__ import annotations

from doseflow.domain.limits import MAX_REPORTED_ERRORS
from tests.service.conftest import Service


def test_a_body_with_thousands_of_unknown_fields_gets_a_bounded_answer(service: Service) -> None:
    row = {f"colour{i}": i for i in range(5_000)}
    row.update(id="e1", type="adjustment", occurred_at="2021-05-12T10:00:00Z")
    response = service.post("/api/ledger/events", "logistics-officer", json={"events": [row]})
    assert response.status_code == 422, response.text[:500]
    body = response.json()
    assert body["code"]
    assert len(body["errors"]) == MAX_REPORTED_ERRORS
    assert body["more_errors"] >= 5_000 - MAX_REPORTED_ERRORS
    assert len(response.content) < 1_000_000


def test_a_refusal_with_few_problems_lists_them_all(service: Service) -> None:
    response = service.post("/api/ledger/events", "logistics-officer", json={"events": []})
    assert response.status_code == 422
    body = response.json()
    assert body["more_errors"] == 0
    assert 1 <= len(body["errors"]) < MAX_REPORTED_ERRORS
