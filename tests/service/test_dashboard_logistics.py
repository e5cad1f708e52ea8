"""The Cold chain and Deployment pages: what each role sees, the reasons in words, forms
that need the form token, and a participant narrowed to its own country."""

from __future__ import annotations

import re

from doseflow.deployment import plan_deployment
from doseflow.logistics import example_network_path, feasibility_matrix, load_network_file
from doseflow.service.deployment_views import example_input
from doseflow.store.ledger import LedgerStore
from doseflow.store.service import Role, audit_log, issue_token
from tests.service.conftest import Service, dashboard_sign_in
from tests.service.test_dashboard_shell import sign_in


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found is not None
    return found.group(1)


def test_the_cold_chain_page_shows_every_verdict_and_every_reason(service: Service) -> None:
    sign_in(service, "viewer")
    page = service.client.get("/dashboard/coldchain")
    assert page.status_code == 200
    html = page.text
    assert 'href="/dashboard/coldchain" aria-current="page"' in html
    assert "<h1>Cold chain</h1>" in html
    assert '<table id="feasibility-table">' in html
    net = load_network_file(example_network_path())
    verdicts = feasibility_matrix(net)
    crosses = [(p, v) for p, v in verdicts if not v.feasible]
    assert crosses
    assert html.count('class="ok-mark"') == len(verdicts) - len(crosses)
    for profile, verdict in crosses:
        assert verdict.reason is not None
        assert verdict.reason.render() in html
        anchor = f"why-{profile.product}-{verdict.destination}"
        assert f'href="#{anchor}"' in html
        assert f'id="{anchor}"' in html
    assert "Pfizer cannot reach Pyongyang: see why" in html  # the ✗ link's accessible name
    assert '<table id="capacity-table">' in html
    assert '<figure id="capacity-chart" class="chart"><svg' in html
    assert "117,000 doses not delivered: Pfizer cannot reach Pyongyang" in html


def test_shipments_typed_in_are_planned_and_mistakes_are_announced(service: Service) -> None:
    sign_in(service, "logistics-officer")
    page = service.client.get(
        "/dashboard/coldchain", params={"ship": "AZ-SII=PRK-RYG:100,000", "objective": "cheapest"}
    ).text
    assert "cheapest routes" in page
    assert "Hyesan (Ryanggang)" in page
    wrong = service.client.get("/dashboard/coldchain", params={"ship": "AZ-SII=NOWHERE:10"})
    assert wrong.status_code == 200  # the matrix still shows; the mistake is an alert
    assert 'role="alert"' in wrong.text
    assert "LOGISTICS_UNKNOWN_NODE" in wrong.text
    assert "NOWHERE" in wrong.text


def test_a_participant_sees_only_its_own_stores(service: Service) -> None:
    sign_in(service, "participant-KEN")
    page = service.client.get("/dashboard/coldchain").text
    assert "No store of your country is in this network." in page
    assert "Pyongyang" not in page
    other = service.client.get("/dashboard/coldchain", params={"ship": "AZ-SII=PRK-NS:2400"})
    assert "SERVICE_OUT_OF_SCOPE" in other.text
    deployment = service.client.get("/dashboard/deployment").text
    assert "There is no deployment plan for your country" in deployment
    refused = service.client.get("/dashboard/deployment", params={"iso3": "PRK"})
    assert refused.status_code == 403
    assert "SERVICE_OUT_OF_SCOPE" in refused.text


def test_a_prk_participant_sees_its_plan_but_may_not_record_it(service: Service) -> None:
    token = issue_token(service.engine, role=Role.PARTICIPANT, iso3="PRK", user="DPRK EPI")
    assert dashboard_sign_in(service.client, token.token).status_code == 303
    coldchain = service.client.get("/dashboard/coldchain").text
    assert "Pfizer cannot reach Pyongyang" in coldchain
    assert "Dhaka" not in coldchain
    page = service.client.get("/dashboard/deployment").text
    assert "Record planned shipments" not in page
    refused = service.client.post(
        "/dashboard/deployment/record", data={"csrf": _csrf(page), "iso3": "PRK"}
    )
    assert refused.status_code == 403


def test_the_deployment_page_gives_each_regions_reason_and_the_coverage(
    service: Service,
) -> None:
    sign_in(service, "allocation-analyst")
    page = service.client.get("/dashboard/deployment")
    assert page.status_code == 200
    html = page.text
    plan = plan_deployment(example_input("PRK"))
    for line in plan.region_lines():
        assert plan.explain(line.region, line.product).replace("'", "&#39;") in html
    assert '<figure id="deployment-chart" class="chart"><svg' in html
    assert '<table id="deployment-coverage-table">' in html
    assert "Record planned shipments" not in html  # analysts read; they do not record
    proportional = service.client.get("/dashboard/deployment", params={"strategy": "proportional"})
    assert "proportional strategy" in proportional.text
    bad = service.client.get("/dashboard/deployment", params={"strategy": "random"})
    assert bad.status_code == 422
    assert "SERVICE_BAD_FORM" in bad.text


def test_logistics_officers_record_the_plan_once(service: Service) -> None:
    sign_in(service, "logistics-officer")
    page = service.client.get("/dashboard/deployment").text
    forged = service.client.post("/dashboard/deployment/record", data={"csrf": "x", "iso3": "PRK"})
    assert forged.status_code == 422
    assert "SERVICE_BAD_FORM" in forged.text
    shipments = len(plan_deployment(example_input("PRK")).shipments())
    form = {"csrf": _csrf(page), "iso3": "PRK", "strategy": "priority"}
    done = service.client.post("/dashboard/deployment/record", data=form)
    assert done.status_code == 200
    assert f"Recorded {shipments} planned shipments" in done.text
    again = service.client.post("/dashboard/deployment/record", data=form)
    assert "Recorded 0 planned shipments" in again.text
    assert f"({shipments} were already recorded)" in again.text
    assert len(list(LedgerStore(service.engine).events())) == shipments
    resent, first = audit_log(service.engine, limit=2)
    assert (first.action, first.actor, first.outcome) == (
        "deployment.record",
        "logistics-officer",
        "ok",
    )
    assert first.writes is not None
    assert first.writes >= 1
    # the re-send wrote nothing, and its audit entry says so
    assert (resent.action, resent.outcome, resent.writes) == (
        "deployment.record",
        "unchanged",
        None,
    )


def test_the_new_pages_use_only_local_assets(service: Service) -> None:
    sign_in(service, "administrator")
    for path in ("/dashboard/coldchain", "/dashboard/deployment"):
        page = service.client.get(path).text
        assert re.findall(r'(?:src|href)="(https?://[^"]+)"', page) == []
        assert "plotly" not in page  # charts are SVG drawn on the server
        assert '<a class="skip-link" href="#main">' in page
        assert page.count("<h1>") == 1
