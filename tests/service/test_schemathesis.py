"""Schemathesis against the OpenAPI description, in process: no server errors, and answers
that match the documented statuses and shapes. Bounded: a few examples per operation."""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.service.conftest import Service
from tests.service.scenario import scenario_document

EXAMPLES_PER_OPERATION = int(os.environ.get("DOSEFLOW_SCHEMATHESIS_EXAMPLES", "4"))


def test_no_operation_gives_a_server_error(service: Service) -> None:
    service.post("/api/scenarios", "administrator", json=scenario_document())
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", service.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    for actor in ("administrator", "participant-KEN"):
        headers = service.headers(actor)
        for operation in operations:
            _fuzz(operation, headers)


def _fuzz(operation: schemathesis.APIOperation, headers: dict[str, str]) -> None:
    """A few generated requests against one operation."""

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy())
        case.call_and_validate(
            headers=headers,
            checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
        )

    check()
