"""Refusals in one JSON shape with the CLI's stable codes and a fitting 4xx status."""

from __future__ import annotations

from doseflow.domain.errors import ErrorDetail
from doseflow.service.errors import error_body, status_for
from tests.service.conftest import Service


def test_status_follows_the_code() -> None:
    assert status_for("SERVICE_UNAUTHENTICATED") == 401
    assert status_for("SERVICE_OUT_OF_SCOPE") == 403
    assert status_for("SERVICE_JOB_NOT_FOUND") == 404
    assert status_for("LEDGER_IDEMPOTENCY_CONFLICT") == 409
    assert status_for("ALLOC_UNKNOWN_SCENARIO") == 422
    body = error_body([ErrorDetail("X_ONE", "first"), ErrorDetail("X_TWO", "second")])
    assert body["code"] == "X_ONE"
    assert [e["code"] for e in body["errors"]] == ["X_ONE", "X_TWO"]


def test_a_malformed_request(service: Service) -> None:
    response = service.post("/api/tokens", "administrator", json={"role": "viewer", "label": 7})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "SERVICE_BAD_REQUEST"
    assert body["errors"][0]["field"] == "label"
    assert body["errors"][0]["value"] == "7"
    assert "valid string" in body["message"]


def test_an_unknown_address(service: Service) -> None:
    response = service.get("/api/nothing-here", "viewer")
    assert response.status_code == 404
    assert response.json()["code"] == "SERVICE_NOT_FOUND"
    assert response.json()["message"] == "there is nothing at this address"


def test_a_wrong_method(service: Service) -> None:
    response = service.request("PUT", "/api/health", "viewer")
    assert response.status_code == 405
    assert response.json()["code"] == "SERVICE_METHOD_NOT_ALLOWED"
    assert "does not accept this method" in response.json()["message"]


def test_ids_too_large_for_the_database_are_refused_not_crashed(service: Service) -> None:
    """Found by Schemathesis: a 22-digit id overflowed SQLite's INTEGER (a 500)."""
    response = service.request("DELETE", "/api/tokens/2849780476320779075584", "administrator")
    assert response.status_code == 422
    assert response.json()["code"] == "SERVICE_BAD_REQUEST"
    assert response.json()["errors"][0]["field"] == "token_id"
