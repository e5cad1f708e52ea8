"""Dashboard pages: what each role sees, forms that write (CSRF-checked and audited)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from doseflow.service.dashboard.render import NAV
from doseflow.service.permissions import PERMISSIONS
from doseflow.store.service import audit_log
from tests.service.conftest import ACTORS, Service, dashboard_sign_in, make_service
from tests.service.scenario import NAME, scenario_document
from tests.service.seed import seed_ledger, seed_unicef


@pytest.fixture
def full(fresh_sqlite: str) -> Iterator[Service]:
    for service in make_service(fresh_sqlite):
        seed_ledger(service.engine)
        service.post("/api/scenarios", "allocation-analyst", json=scenario_document())
        service.post(f"/api/scenarios/{NAME}/run", "allocation-analyst")
        service.post(f"/api/scenarios/{NAME}/rounds/1/publish", "allocation-analyst")
        yield service


def browser_for(service: Service, actor: str) -> TestClient:
    client = TestClient(service.app)
    signed = dashboard_sign_in(client, service.tokens[actor])
    assert signed.status_code == 303
    return client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("actor", list(ACTORS))
def test_each_role_sees_the_pages_its_role_may_read(full: Service, actor: str) -> None:
    client = browser_for(full, actor)
    role = ACTORS[actor][0]
    overview = client.get("/dashboard/").text
    for item in NAV:
        allowed = role in PERMISSIONS[item.action].roles
        assert (f'href="{item.path}"' in overview) == allowed, item.path
        page = client.get(item.path)
        assert page.status_code == (200 if allowed else 403), f"{actor} {item.path}"
        if not allowed:
            assert "SERVICE_FORBIDDEN" in page.text


def test_allocation_page_shows_chart_data_table_and_explanations(full: Service) -> None:
    page = browser_for(full, "viewer").get("/dashboard/allocation", params={"round": 1}).text
    assert 'id="coverage-chart"' in page
    assert '<figure id="coverage-chart" class="chart"><svg' in page
    assert "doses per 100 people" in page
    assert "Kenya received" in page  # a line's full explanation
    assert 'id="run-round"' not in page  # viewers cannot run rounds
    assert "allocation/decline" not in page


def test_a_participant_sees_and_declines_only_its_own_lines(full: Service) -> None:
    client = browser_for(full, "participant-KEN")
    page = client.get("/dashboard/allocation").text
    rows = re.findall(r'<th scope="row">(\w{3}) <span class="explanation">', page)
    assert rows
    assert set(rows) == {"KEN"}
    token = csrf_of(page)
    forged = client.post(
        "/dashboard/allocation/decline",
        data={"csrf": token, "scenario": NAME, "round": "1", "product": "AZ-SII", "iso3": "NGA"},
    )
    assert forged.status_code == 403
    assert "SERVICE_OUT_OF_SCOPE" in forged.text
    done = client.post(
        "/dashboard/allocation/decline",
        data={
            "csrf": token,
            "scenario": NAME,
            "round": "1",
            "product": "AZ-SII",
            "pool": "AZ-SII",
            "iso3": "KEN",
            "reason": "cold chain full",
        },
    )
    assert done.status_code == 200
    assert "KEN declined AZ-SII in round 1" in done.text
    assert "Where the AZ-SII doses declined by KEN went" in done.text
    entry = audit_log(full.engine, limit=1)[0]
    assert (entry.action, entry.actor, entry.outcome) == (
        "declines.create",
        "participant-KEN",
        "ok",
    )


def test_forms_refuse_a_missing_csrf_token(full: Service) -> None:
    client = browser_for(full, "allocation-analyst")
    refused = client.post("/dashboard/allocation/run", data={"scenario": NAME})
    assert refused.status_code == 422
    assert "SERVICE_BAD_FORM" in refused.text
    bad_round = client.post(
        "/dashboard/allocation/publish",
        data={"csrf": csrf_of(client.get("/dashboard/").text), "scenario": NAME, "round": "x"},
    )
    assert bad_round.status_code == 422
    assert "round must be a whole number" in bad_round.text


def test_shipments_and_stock_pages(full: Service) -> None:
    kenya = browser_for(full, "participant-KEN")
    shipments = kenya.get("/dashboard/shipments").text
    assert "awaiting import permit" in shipments
    assert "S-NGA-1" not in shipments
    stock = kenya.get("/dashboard/stock", params={"within_days": 3650}).text
    assert "K1" in stock
    assert "DXB" not in stock
    staff = browser_for(full, "logistics-officer").get("/dashboard/shipments").text
    assert "S-NGA-1" in staff


def test_the_stock_and_shipments_pages_state_the_zone_of_today(full: Service) -> None:
    """Days left and "overdue" count from today at each node, in its time zone (issue 14)."""
    kenya = browser_for(full, "participant-KEN")
    stock = " ".join(kenya.get("/dashboard/stock", params={"within_days": 3650}).text.split())
    assert (
        'days left from today at each node, in its time zone: <span id="expiry-zones">'
        "Africa/Nairobi (KEN-NS)</span>" in stock
    )
    staff_page = browser_for(full, "logistics-officer").get("/dashboard/shipments").text
    staff = " ".join(staff_page.split())
    assert 'in its time zone: <span id="transit-zones">Africa/Lagos (NGA-NS)</span>' in staff


def test_the_stock_page_says_which_source_it_covers(full: Service) -> None:
    seed_unicef(full.engine)
    kenya = browser_for(full, "participant-KEN")
    both = " ".join(kenya.get("/dashboard/stock").text.split())
    assert "Source: both sources, kept at separate nodes" in both
    assert "KEN-NS-UNICEF" in both
    assert "K1" in both
    reported = " ".join(kenya.get("/dashboard/stock", params={"source": "unicef"}).text.split())
    assert "Source: the UNICEF deliveries data only" in reported
    assert "UNICEF-2021-03" in reported
    assert "K1" not in reported
    network = " ".join(kenya.get("/dashboard/stock", params={"source": "network"}).text.split())
    assert "Source: the network&#39;s stores only" in network  # escaped by the template
    assert "UNICEF-2021-03" not in network
    assert "K1" in network


def test_reporting_and_impact_pages(full: Service) -> None:
    assert "Reporting compliance" in browser_for(full, "viewer").get("/dashboard/reporting").text
    analyst = browser_for(full, "allocation-analyst")
    page = analyst.get("/dashboard/impact").text
    assert "No impact run yet." in page
    started = analyst.post(
        "/dashboard/impact/run", data={"csrf": csrf_of(page), "scenario": NAME, "round": "zz"}
    )
    assert started.status_code == 422


def test_declines_from_the_scenario_file_are_shown_and_explained_as_declines(
    full: Service,
) -> None:
    client = browser_for(full, "viewer")
    page = client.get("/dashboard/declines").text
    assert "No declines" not in page
    assert "PRK declined SINOVAC in round 3" in page
    assert "request body, declines[0]" in page
    lines = client.get("/dashboard/allocation", params={"round": 3}).text
    row = lines[lines.index('<th scope="row">PRK ') :]
    row = row[: row.index("</tr>")]
    assert "raised to the common coverage level" not in row
    assert "declined" in row


def test_the_impact_page_shows_every_outcome_averted_with_its_share(full: Service) -> None:
    """Issue 13: deaths, symptomatic cases and years of life averted, in number and in %."""
    started = full.post(
        f"/api/scenarios/{NAME}/impact-runs",
        "allocation-analyst",
        json={"round": 1, "horizon_days": 60, "levels": 2},
    )
    assert started.status_code == 202, started.json()
    done = full.app.state.jobs.wait(started.json()["id"], timeout=120)
    assert done.status.value == "succeeded", done.errors
    page = browser_for(full, "viewer").get("/dashboard/impact").text
    table = page[page.index('id="impact-table"') :]
    table = table[: table.index("</table>")]
    assert "Symptomatic cases averted" in table
    first = done.result["totals"][0]
    assert f"{first['deaths_averted_share']:.1%}" in table
    assert f"{first['symptomatic_averted_share']:.1%}" in table
