"""Hostile documents at every YAML/JSON document input of the REST API (issue 11).

Every input that takes a document or JSON records (deployment ``yaml``/``document``, cold
chain ``network_yaml``/``network``, allocation scenarios, ledger events, report values,
declines, impact runs) is sent alias bombs, deep nesting, oversize text, tabs, control
characters and NUL, lone surrogates, impossible dates, huge numbers and booleans where
numbers go. Each must get a coded 4xx (a body with ``code``) and write nothing: the row
count of every table of the store (the ledger's included) is the same before and after.
The audit log is left out of the comparison: a refused write is audited by design.

Field-level bounds (string maxima, quantity ranges, strict numbers inside records) are held
by the bounded field types of ``doseflow.data.fields``; their cases are here too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, inspect, select, table

from doseflow.domain.limits import MAX_DOCUMENT_BYTES
from tests.service.conftest import Service
from tests.service.scenario import scenario_document
from tests.service.seed import seed_ledger

EXAMPLES = resources.files("doseflow.data").joinpath("examples")
DEPLOYMENT = EXAMPLES.joinpath("deployment_prk.yaml").read_text(encoding="utf-8")
NETWORK = EXAMPLES.joinpath("network.yaml").read_text(encoding="utf-8")
NOT_COUNTED = {"service_audit", "alembic_version"}

BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)


def _nested_flow(levels: int) -> str:
    return "[" * levels + "]" * levels


def _nested_block(levels: int) -> str:
    return "top:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, levels))


#: Hostile YAML texts, each refused by the parser whatever document it is sent as.
HOSTILE_YAML: dict[str, str] = {
    "alias-bomb": BILLION_LAUGHS,
    "alias-in-good-document": DEPLOYMENT + "\nextra: &x [1, 2]\nmore: *x\n",
    "merge-key": "base: {a: 1}\nnodes:\n  - <<: {code: X}\n",
    "flow-1000-deep": "nodes: " + _nested_flow(1000),
    "flow-100000-deep": "nodes: " + _nested_flow(100_000),
    "block-300-deep": _nested_block(300),
    "oversize-multibyte": "name: " + "é" * (MAX_DOCUMENT_BYTES // 2 + 1),
    "oversize-chars": "name: " + "x" * (MAX_DOCUMENT_BYTES + 1),
    "tab-indent": "nodes:\n\t- code: A\n",
    "nul": "name: a\x00b\n",
    "control-chars": "name: \x1b[31mred\x07\n",
    "lone-surrogate": "name: \ud800\n",
    "impossible-date": DEPLOYMENT.replace("start: 2021-06-01", "start: 2021-02-30"),
    "impossible-month": "when: 2021-13-01\n",
    "bad-explicit-int": "nodes: !!int many\n",
    "set-tag": "nodes: !!set {a: null}\n",
    "two-documents": "nodes: []\n---\nlanes: []\n",
    # file names where lists go: no input may make the server open a file
    "file-names-with-tabs": "".join(
        f"{key}:\t/etc/passwd\n"
        for key in ("nodes", "lanes", "storage_profiles", "stock", "regions", "groups")
    ),
    "file-name-in-good-document": DEPLOYMENT.replace("stock:", "stock:\t/etc/passwd\nx:", 1),
    "huge-number": DEPLOYMENT.replace("horizon_days: 120", f"horizon_days: {10**31}"),
    "infinite-number": DEPLOYMENT.replace("horizon_days: 120", "horizon_days: 1e400"),
}


@dataclass(frozen=True)
class Target:
    """One document input: where it goes and how a document is put in the body."""

    name: str
    path: str
    wrap: Callable[[Any], dict[str, Any]]
    yaml_field: bool  # the input is YAML text (else a JSON document)


ROUTE_REQUESTS = [{"product": "AZ-SII", "destination": "PRK-NS", "doses": 240_000}]

YAML_TARGETS = [
    Target("deployment-plan", "/api/deployment/plan", lambda t: {"yaml": t}, True),
    Target("deployment-record", "/api/deployment/record", lambda t: {"yaml": t}, True),
    Target("feasibility", "/api/coldchain/feasibility", lambda t: {"network_yaml": t}, True),
    Target(
        "routes",
        "/api/coldchain/routes",
        lambda t: {"network_yaml": t, "requests": ROUTE_REQUESTS},
        True,
    ),
    Target(
        "capacity-gaps",
        "/api/coldchain/capacity-gaps",
        lambda t: {"network_yaml": t, "requests": ROUTE_REQUESTS},
        True,
    ),
]


def _post(service: Service, path: str, body: str | dict[str, Any]) -> Any:
    """POST ``body`` as JSON text (escaping lone surrogates as ``\\ud800``, which httpx's own
    encoder cannot send) as the administrator, who may call every endpoint."""
    content = body if isinstance(body, str) else json.dumps(body)
    return service.client.post(
        path,
        content=content.encode("utf-8", "surrogatepass"),
        headers={**service.headers("administrator"), "Content-Type": "application/json"},
    )


def _counts(engine: Engine) -> dict[str, int]:
    names = [n for n in inspect(engine).get_table_names() if n not in NOT_COUNTED]
    with engine.connect() as conn:
        return {
            n: conn.execute(select(func.count()).select_from(table(n))).scalar_one() for n in names
        }


def _refused_and_nothing_written(service: Service, path: str, body: str | dict[str, Any]) -> None:
    before = _counts(service.engine)
    response = _post(service, path, body)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    answer = response.json()
    assert isinstance(answer.get("code"), str), answer
    assert answer["code"], answer
    assert "root:" not in response.text
    assert _counts(service.engine) == before


@pytest.mark.parametrize("case", sorted(HOSTILE_YAML))
@pytest.mark.parametrize("target", YAML_TARGETS, ids=lambda t: t.name)
def test_hostile_yaml_text_is_refused(service: Service, target: Target, case: str) -> None:
    _refused_and_nothing_written(service, target.path, target.wrap(HOSTILE_YAML[case]))


# --- JSON documents (already parsed by the service) -----------------------------------------


def _deployment_document() -> dict[str, Any]:
    from doseflow.data.user_files import parse_yaml_with_lines

    document: dict[str, Any] = json.loads(
        json.dumps(parse_yaml_with_lines(DEPLOYMENT)[0], default=str)
    )
    return document


def _network_document() -> dict[str, Any]:
    from doseflow.data.user_files import parse_yaml_with_lines

    document: dict[str, Any] = json.loads(json.dumps(parse_yaml_with_lines(NETWORK)[0]))
    return document


def _deep_json(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def _raw(template: str, levels: int) -> str:
    """A request body whose ``@`` is replaced by a JSON document nested ``levels`` deep
    (written out as text: the test's own JSON encoder would recurse)."""
    return template.replace("@", _deep_json(levels))


def _edit(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(document))
    where = out
    for part in path[:-1]:
        where = where[part]
    where[path[-1]] = value
    result: dict[str, Any] = out
    return result


DOCUMENT_BODIES: dict[str, Callable[[], str | dict[str, Any]]] = {
    # deep nesting in each document field, and of the whole body
    "deployment-document-deep": lambda: _raw('{"document": @}', 1000),
    "deployment-document-very-deep": lambda: _raw('{"document": @}', 100_000),
    "network-document-deep": lambda: _raw('{"network": @}', 1000),
    "scenario-deep": lambda: _raw("@", 1000),
    "scenario-very-deep": lambda: _raw("@", 100_000),
    "ledger-row-deep": lambda: _raw('{"events": [@]}', 1000),
    "report-value-deep": lambda: _raw('{"values": [@]}', 1000),
    # a document within bounds but deeper than any real one (33 levels)
    "deployment-document-33-deep": lambda: _raw('{"document": @}', 33),
    "network-document-33-deep": lambda: _raw('{"network": @}', 33),
    "scenario-33-deep": lambda: {**scenario_document(), "name": json.loads(_deep_json(33))},
    # impossible dates, written as JSON text
    "deployment-document-impossible-date": lambda: {
        "document": _edit(_deployment_document(), ("start",), "2021-02-30")
    },
    "scenario-impossible-date": lambda: _edit(
        scenario_document(), ("rounds", 0, "date"), "2021-02-30"
    ),
    # NUL, control characters and lone surrogates in text
    "deployment-document-nul": lambda: {
        "document": _edit(_deployment_document(), ("regions", 0, "code"), "P\x00Y")
    },
    "deployment-document-control-character-lot": lambda: {
        "document": _edit(_deployment_document(), ("stock", 0, "lot"), "L\x1b[31m1")
    },
    "network-document-lone-surrogate": lambda: {
        "network": _edit(_network_document(), ("name",), "\ud800")
    },
    "network-document-file-names": lambda: {
        "network": {"nodes": "/etc/passwd", "lanes": [], "storage_profiles": "/etc/passwd"}
    },
    "scenario-file-names": lambda: {**scenario_document(), "participants": "/etc/passwd"},
    "scenario-lone-surrogate": lambda: _edit(scenario_document(), ("name",), "x\udfff"),
}

#: Cases inside records whose refusal is a field bound (i11-bounds).
BOUNDS_BODIES: dict[str, Callable[[], str | dict[str, Any]]] = {
    "deployment-yaml-boolean-horizon": lambda: {
        "yaml": DEPLOYMENT.replace("horizon_days: 120", "horizon_days: true")
    },
    "network-document-huge-capacity": lambda: {
        "network": _edit(_network_document(), ("nodes", 0, "capacity_litres", "2-8"), 10**31)
    },
    "deployment-document-huge-doses": lambda: {
        "document": _edit(_deployment_document(), ("stock", 0, "doses"), 10**31)
    },
    "deployment-record-boolean-doses": lambda: {
        "document": _edit(_deployment_document(), ("stock", 0, "doses"), True),
        "reference": "hostile-bool",
    },
    "ledger-huge-quantity": lambda: {
        "events": [
            {
                "id": "hostile-1",
                "type": "administration",
                "occurred_at": "2021-06-01T00:00:00Z",
                "node": "KEN-NS",
                "product": "AZ-SII",
                "lot": "K1",
                "quantity": 10**31,
                "reason": "hostile",
            }
        ]
    },
}


@pytest.mark.parametrize("case", sorted(DOCUMENT_BODIES))
def test_hostile_json_documents_are_refused(service: Service, case: str) -> None:
    body = DOCUMENT_BODIES[case]()
    path = {
        "deployment": "/api/deployment/plan",
        "network": "/api/coldchain/feasibility",
        "scenario": "/api/scenarios",
        "ledger": "/api/ledger/events",
        "report": "/api/reports",
    }[case.split("-")[0]]
    _refused_and_nothing_written(service, path, body)


BOUNDS_PATHS = {
    "deployment-yaml-boolean-horizon": "/api/deployment/plan",
    "network-document-huge-capacity": "/api/coldchain/feasibility",
    "deployment-document-huge-doses": "/api/deployment/record",
    "deployment-record-boolean-doses": "/api/deployment/record",
    "ledger-huge-quantity": "/api/ledger/events",
}


@pytest.mark.parametrize("case", sorted(BOUNDS_BODIES))
def test_hostile_values_inside_records_are_refused(service: Service, case: str) -> None:
    seed_ledger(service.engine)  # nodes and stock for the ledger's cases
    _refused_and_nothing_written(service, BOUNDS_PATHS[case], BOUNDS_BODIES[case]())


# --- JSON records of the other writes (declines, impact runs, tokens, values, events) ---------

SCENARIO_PATH = "/api/scenarios/covax-2021"
GOOD_EVENT = {
    "id": "hostile-1",
    "type": "administration",
    "occurred_at": "2021-06-01T00:00:00Z",
    "node": "KEN-NS",
    "product": "AZ-SII",
    "lot": "K1",
    "quantity": 10,
}
GOOD_DECLINE = {"round": 1, "product": "AZ-SII", "iso3": "KEN", "doses": 2400}
GOOD_VALUE = {"data_element": "doses_administered", "period": "202106", "org_unit": "KEN"}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


#: (path, body) per case: each must be refused with a code and write nothing.
RECORD_BODIES: dict[str, tuple[str, Callable[[], str | dict[str, Any]]]] = {
    "decline-deep": (f"{SCENARIO_PATH}/declines", lambda: _raw('{"round": 1, "x": @}', 1000)),
    "decline-huge-round": (
        f"{SCENARIO_PATH}/declines",
        lambda: _with(GOOD_DECLINE, round=10**31),
    ),
    "decline-lone-surrogate": (
        f"{SCENARIO_PATH}/declines",
        lambda: _with(GOOD_DECLINE, reason="\udc00"),
    ),
    "impact-run-huge-horizon": (
        f"{SCENARIO_PATH}/impact-runs",
        lambda: {"horizon_days": 10**31},
    ),
    "impact-run-deep": (f"{SCENARIO_PATH}/impact-runs", lambda: _raw('{"r0": @}', 1000)),
    "impact-run-infinite-r0": (f"{SCENARIO_PATH}/impact-runs", lambda: '{"r0": 1e400}'),
    "token-deep": ("/api/tokens", lambda: _raw('{"role": "viewer", "label": @}', 1000)),
    "token-lone-surrogate": ("/api/tokens", lambda: {"role": "viewer", "label": "\ud800"}),
    "event-deep": ("/api/ledger/events", lambda: _raw('{"events": [{"id": @}]}', 100_000)),
    "event-impossible-date": (
        "/api/ledger/events",
        lambda: {"events": [_with(GOOD_EVENT, occurred_at="2021-02-30T00:00:00Z")]},
    ),
    "event-lone-surrogate": (
        "/api/ledger/events",
        lambda: {"events": [_with(GOOD_EVENT, lot="\ud800")]},
    ),
    "value-deep": ("/api/reports", lambda: _raw('{"values": [{"value": @}]}', 1000)),
}

#: Record cases whose refusal is a field bound (strict numbers, quantity ranges, i11-bounds).
RECORD_BOUNDS: dict[str, tuple[str, Callable[[], str | dict[str, Any]]]] = {
    "decline-boolean-round": (
        f"{SCENARIO_PATH}/declines",
        lambda: _with(GOOD_DECLINE, round=True),
    ),
    "event-boolean-quantity": (
        "/api/ledger/events",
        lambda: {"events": [_with(GOOD_EVENT, quantity=True)]},
    ),
    "event-text-quantity": (
        "/api/ledger/events",
        lambda: {"events": [_with(GOOD_EVENT, quantity="12")]},
    ),
}


def _stored_scenario_and_ledger(service: Service) -> None:
    """A scenario with a published round and a seeded ledger, so hostile records reach
    the code that reads them rather than stopping at 'not found'."""
    stored = _post(service, "/api/scenarios", scenario_document())
    assert stored.status_code == 201, stored.text
    assert _post(service, f"{SCENARIO_PATH}/run", {}).status_code == 200
    assert _post(service, f"{SCENARIO_PATH}/rounds/1/publish", {}).status_code == 200
    seed_ledger(service.engine)


@pytest.mark.parametrize("case", sorted(RECORD_BODIES))
def test_hostile_records_are_refused(service: Service, case: str) -> None:
    _stored_scenario_and_ledger(service)
    path, body = RECORD_BODIES[case]
    _refused_and_nothing_written(service, path, body())


def test_an_impossible_period_in_a_report_is_a_coded_conflict(service: Service) -> None:
    """Report values answer with an import summary (as DHIS2 does): a bad value is a coded
    conflict in a 200 answer, and nothing is written."""
    _stored_scenario_and_ledger(service)
    before = _counts(service.engine)
    body = {"values": [_with(GOOD_VALUE, period="2021-02-30", value=1)]}
    response = _post(service, "/api/reports", body)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["status"] == "ERROR"
    assert summary["counts"]["accepted"] == 0
    assert all(conflict["code"] for conflict in summary["conflicts"])
    assert _counts(service.engine) == before


@pytest.mark.parametrize("case", sorted(RECORD_BOUNDS))
def test_hostile_numbers_inside_records_are_refused(service: Service, case: str) -> None:
    _stored_scenario_and_ledger(service)
    path, body = RECORD_BOUNDS[case]
    _refused_and_nothing_written(service, path, body())


def test_a_refused_record_writes_nothing_on_either_backend(service_any_db: Service) -> None:
    """The alias bomb and the file reference on /record, SQLite and PostgreSQL alike."""
    for text in (BILLION_LAUGHS, DEPLOYMENT.replace("stock:", "stock:\t/etc/passwd\nx:", 1)):
        _refused_and_nothing_written(service_any_db, "/api/deployment/record", {"yaml": text})
    deep = _raw('{"document": @}', 1000)
    _refused_and_nothing_written(service_any_db, "/api/deployment/record", deep)


# --- Hypothesis: a hostile fragment anywhere in a good document --------------------------

FRAGMENTS = st.sampled_from(
    [
        "x: &a [1]",
        "y: *a",
        "<<: {code: Z}",
        "z: " + _nested_flow(40),
        "when: 2021-02-30",
        "when: 2019-04-31T10:00:00Z",
        "n: !!int nine",
        "t: !!set {a: null}",
        "name: a\x00b",
        "name: \x1b",
        "name: \ud83d",
        "name: \x7f",
    ]
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    target=st.sampled_from(YAML_TARGETS),
    base=st.sampled_from([DEPLOYMENT, NETWORK]),
    fragment=FRAGMENTS,
    where=st.integers(min_value=0, max_value=10_000),
    indent=st.sampled_from(["", "  ", "    ", "\t"]),
)
def test_a_hostile_fragment_anywhere_is_refused(
    service: Service, target: Target, base: str, fragment: str, where: int, indent: str
) -> None:
    lines = base.splitlines()
    at = where % (len(lines) + 1)
    text = "\n".join([*lines[:at], indent + fragment, *lines[at:]]) + "\n"
    _refused_and_nothing_written(service, target.path, target.wrap(text))
