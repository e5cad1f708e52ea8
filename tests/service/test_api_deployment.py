"""Deployment plans over HTTP: the engine's plan with the reason for every amount, stock held
back, coverage over time; documents sent by planners; planned shipments recorded once."""

from __future__ import annotations

from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from doseflow.deployment import Strategy, load_deployment, plan_deployment, project_coverage
from doseflow.domain.events import ShipmentPlanned
from doseflow.store.ledger import LedgerStore
from doseflow.store.service import Role, audit_log, issue_token
from tests.service.conftest import Service
from tests.service.scenario import scenario_document

EXAMPLE = resources.files("doseflow.data").joinpath("examples", "deployment_prk.yaml")


def _engine_plan(strategy: Strategy | None = None):  # type: ignore[no-untyped-def]
    inp = load_deployment(str(EXAMPLE))
    return plan_deployment(replace(inp, strategy=strategy) if strategy else inp)


def _document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    document["start"] = str(document["start"])
    for lot in document["stock"]:
        lot["expiry"] = str(lot["expiry"])
    return document


def test_examples_are_listed_per_country(service: Service) -> None:
    body = service.get("/api/deployment/examples", "viewer").json()
    assert body == [
        {"iso3": "PRK", "file": "deployment_prk.yaml", "reference": "deployment_prk-2021-06-01"}
    ]
    assert service.get("/api/deployment/examples", "participant-KEN").json() == []


def test_the_example_plan_is_the_engines_with_every_reason(service: Service) -> None:
    response = service.get(
        "/api/deployment/examples/PRK", "allocation-analyst", params={"coverage_step_days": 14}
    )
    assert response.status_code == 200
    body = response.json()
    plan = _engine_plan()
    assert body["country"] == "PRK"
    assert body["planned_doses"] == plan.planned_doses()
    assert [(r["region"], r["packs"], r["doses"]) for r in body["regions"]] == [
        (line.region, line.packs, line.doses) for line in plan.region_lines()
    ]
    for row in body["regions"]:
        assert row["explanation"] == plan.explain(row["region"], row["product"])
        assert row["explanation"].endswith(f"{row['spare_doses']:,} doses spare.")
    assert sum(s["doses"] for s in body["shipments"]) == plan.planned_doses()
    assert all(s["doses"] == s["packs"] * 2400 for s in body["shipments"])
    assert body["held"] == [
        {"product": h.product, "lot": h.lot, "doses": h.doses, "reason": h.reason}
        for h in plan.held()
    ]
    projection = project_coverage(plan)
    coverage = body["coverage"]
    assert coverage["dates"] == [d.isoformat() for d in projection.dates(14)]
    assert [s["name"] for s in coverage["by_group"]] == list(projection.group_names)
    assert coverage["by_group"][0]["first_dose"][-1] == round(
        float(projection.by_group()[0, ::14][-1]), 4
    )
    assert len(coverage["rows"]) == len(projection.rows(step=14))
    rg = next(r for r in body["regions"] if r["region"] == "RG")
    assert rg["decided_by"] == "cold-chain"
    assert "Decided by: cold-chain" in rg["explanation"]


def test_a_strategy_can_be_asked_for(service: Service) -> None:
    body = service.get(
        "/api/deployment/examples/PRK", "viewer", params={"strategy": "proportional"}
    ).json()
    plan = _engine_plan(Strategy.PROPORTIONAL)
    assert body["strategy"] == "proportional"
    assert [r["doses"] for r in body["regions"]] == [ln.doses for ln in plan.region_lines()]


def test_a_participant_sees_its_own_countrys_plan_only(service: Service) -> None:
    token = issue_token(service.engine, role=Role.PARTICIPANT, iso3="PRK", user="DPRK EPI")
    headers = {"Authorization": f"Bearer {token.token}"}
    assert service.client.get("/api/deployment/examples/PRK", headers=headers).status_code == 200
    refused = service.get("/api/deployment/examples/PRK", "participant-KEN")
    assert refused.status_code == 403
    assert refused.json()["code"] == "SERVICE_OUT_OF_SCOPE"
    assert refused.json()["errors"][0]["value"] == "PRK"


def test_a_country_without_an_example(service: Service) -> None:
    response = service.get("/api/deployment/examples/KEN", "participant-KEN")
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "SERVICE_EXAMPLE_NOT_FOUND"
    assert body["message"] == "no bundled deployment example for KEN"
    assert body["errors"][0]["value"] == "KEN"
    assert body["errors"][0]["expected"] == "one of PRK"


def test_planners_send_a_document(service: Service) -> None:
    document = _document()
    document["strategy"] = "proportional"
    response = service.post(
        "/api/deployment/plan", "logistics-officer", json={"document": document}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "request body"
    plan = _engine_plan(Strategy.PROPORTIONAL)
    assert [r["doses"] for r in body["regions"]] == [ln.doses for ln in plan.region_lines()]
    assert body["ledger"] is None
    as_yaml = service.post(
        "/api/deployment/plan",
        "administrator",
        json={"yaml": EXAMPLE.read_text(encoding="utf-8"), "horizon_days": 60},
    ).json()
    assert as_yaml["horizon_days"] == 60
    assert service.post("/api/deployment/plan", "viewer", json={}).status_code == 403


def test_a_document_may_name_a_stored_scenarios_products(service: Service) -> None:
    service.post("/api/scenarios", "administrator", json=scenario_document())
    document = _document()
    document["products"] = [{"code": "AZ-SII"}]
    unknown = service.post("/api/deployment/plan", "logistics-officer", json={"document": document})
    assert unknown.status_code == 422
    assert unknown.json()["code"].startswith("DEPLOY_")
    known = service.post(
        "/api/deployment/plan",
        "logistics-officer",
        json={"document": document, "scenario": "covax-2021"},
    )
    assert known.status_code == 200, known.text
    assert known.json()["products"][0]["product"] == "AZ-SII"


def test_a_bad_document_gives_the_engines_error_with_its_line(service: Service) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace("horizon_days: 120", "horizon_days: soon")
    response = service.post("/api/deployment/plan", "administrator", json={"yaml": text})
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["code"].startswith("DEPLOY_")
    assert error["source"] == "request body (document)"
    assert "horizon_days" in text.splitlines()[error["line"] - 1]


def test_a_document_may_not_name_files_on_the_server(service: Service) -> None:
    document = _document()
    document["regions"] = "/etc/passwd"
    response = service.post("/api/deployment/plan", "administrator", json={"document": document})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "DEPLOY_FILE_REFERENCE"
    assert body["errors"][0]["field"] == "regions"
    assert body["errors"][0]["value"] == "/etc/passwd"
    assert "list the regions in the document itself" in body["message"]
    assert "root:" not in response.text
    as_yaml = service.post(
        "/api/deployment/plan",
        "administrator",
        json={"yaml": yaml.safe_dump({**document, "regions": "regions.csv"})},
    )
    assert as_yaml.json()["code"] == "DEPLOY_FILE_REFERENCE"


def _with_stock_line(line: str) -> str:
    """The bundled example with its stock list replaced by ``line``."""
    text = EXAMPLE.read_text(encoding="utf-8")
    head, rest = text.split("\nstock:", 1)
    tail = rest[rest.index("\nregions:") :]
    return f"{head}\n{line}{tail}"


@pytest.mark.parametrize("path", ["/api/deployment/plan", "/api/deployment/record"])
def test_a_tab_after_the_colon_reads_no_server_file(
    service: Service, path: str, tmp_path: Path
) -> None:
    """Issue 11, finding 1: libyaml reads ``stock:<TAB>/etc/passwd`` as a file name, which the
    engine used to open and echo. Now no request makes the server open a file: an existing
    file, a one-line file and a missing one all get the same answer, naming none of them."""
    one_line = tmp_path / "one-line.csv"
    one_line.write_text("product,lot,doses\n")
    answers = []
    for name in ("/etc/passwd", str(one_line), str(tmp_path / "missing.csv"), "../x.csv"):
        response = service.post(
            path, "administrator", json={"yaml": _with_stock_line(f"stock:\t{name}")}
        )
        assert response.status_code == 422, response.text
        assert "root:" not in response.text
        body = response.json()
        assert body["code"] == "DEPLOY_FILE_REFERENCE"
        (error,) = body["errors"]
        assert error["field"] == "stock"
        assert error["value"] == name
        answers.append((response.status_code, body["message"], error["line"]))
    assert len(set(answers)) == 1  # nothing tells an existing file from a missing one
    assert list(LedgerStore(service.engine).events()) == []


def test_recording_a_plan_is_idempotent_and_audited(service_any_db: Service) -> None:
    service = service_any_db
    first = service.post("/api/deployment/record", "logistics-officer", json={})
    assert first.status_code == 200, first.text
    ledger = first.json()["ledger"]
    plan = _engine_plan()
    assert ledger["reference"] == "deployment_prk-2021-06-01"
    assert ledger["appended"] == len(plan.shipments())
    assert "PRK-NS" in ledger["nodes_added"]
    again = service.post("/api/deployment/record", "administrator", json={}).json()["ledger"]
    assert again == {
        "reference": ledger["reference"],
        "appended": 0,
        "already_recorded": len(plan.shipments()),
        "nodes_added": [],
    }
    events = [e for e in LedgerStore(service.engine).events() if isinstance(e, ShipmentPlanned)]
    assert sorted(e.quantity for e in events) == sorted(s.doses for s in plan.shipments())
    assert {e.origin for e in events} == {"PRK-NS"}
    entry, recorded = audit_log(service.engine, limit=2)
    assert (recorded.action, recorded.actor, recorded.outcome) == (
        "deployment.record",
        "logistics-officer",
        "ok",
    )
    # the re-send committed nothing, and its entry says so rather than "ok"
    assert (entry.action, entry.actor, entry.outcome) == (
        "deployment.record",
        "administrator",
        "unchanged",
    )
    assert entry.target == "deployment deployment_prk-2021-06-01"
    shipments = service.get("/api/shipments", "viewer", params={"iso3": "PRK"}).json()
    assert len(shipments) == len(plan.shipments())
    assert service.post("/api/deployment/record", "allocation-analyst", json={}).status_code == 403


def test_a_plan_too_large_to_simulate_is_refused(service: Service) -> None:
    document = _document()
    document["products"][0]["interval_days"] = 10_000_000
    response = service.post("/api/deployment/plan", "administrator", json={"document": document})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "SERVICE_PLAN_TOO_LARGE"
    inp = load_deployment(str(EXAMPLE))
    days = inp.horizon_days + max(r.lead_days for r in inp.regions) + 10_000_000 + 1
    assert body["errors"][0]["value"] == str(len(inp.regions) * len(inp.groups) * days)
    assert "split it, or shorten the horizon or the dose interval" in body["message"]
