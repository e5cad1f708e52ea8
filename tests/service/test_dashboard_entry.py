"""Dashboard data entry (/dashboard/reporting/entry): the org-unit tree follows the stored
hierarchy and the user's scope, the period picker the report's period types, the form the
report schema; a save takes the API's import path (same summary, atomic, CSRF-checked)."""

from __future__ import annotations

import html
import json
import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from doseflow.reporting.schema import DEFAULT_SCHEMA
from doseflow.reporting.value_check import blanks, browser_rule
from doseflow.store.reporting import stored_registrations
from doseflow.store.service import audit_log
from tests.service.conftest import Service, dashboard_sign_in, make_service
from tests.service.entry_seed import seed_hierarchy

ENTRY = "/dashboard/reporting/entry"


@pytest.fixture
def reporting(fresh_sqlite: str) -> Iterator[Service]:
    for service in make_service(fresh_sqlite):
        seed_hierarchy(service.engine)
        yield service


def browser_for(service: Service, actor: str) -> TestClient:
    client = TestClient(service.app)
    assert dashboard_sign_in(client, service.tokens[actor]).status_code == 303
    return client


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found is not None
    return found.group(1)


def inputs(page: str) -> dict[str, str]:
    """The form's value inputs: name -> value."""
    return {
        html.unescape(m.group(1)): html.unescape(m.group(2))
        for m in re.finditer(
            r'<input type="text" id="entry-\d+" name="([^"]+)" value="([^"]*)"', page
        )
    }


def summary_of(page: str) -> dict[str, Any]:
    found = re.search(r'<pre id="summary-json">(.*?)</pre>', page, re.S)
    assert found is not None, "the page shows no import summary"
    parsed: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return parsed


def open_form(client: TestClient, **params: str) -> str:
    page = client.get(ENTRY, params=params)
    assert page.status_code == 200, page.text
    return page.text


def test_the_form_has_a_labelled_field_per_element_and_category_option_combo(
    reporting: Service,
) -> None:
    client = browser_for(reporting, "administrator")
    page = open_form(client, org_unit="KEN-NBI", report="administration", period="202104")
    expected = {
        f"value:{e.code}:{key}"
        for e in DEFAULT_SCHEMA.elements_of("administration")
        for key in DEFAULT_SCHEMA.category_keys(e)
    }
    assert set(inputs(page)) == expected
    assert len(expected) == 4 * 5  # dose x priority group
    # each input has a label naming the element and its options
    field = re.search(
        r'<label class="visually-hidden" for="(entry-\d+)">Doses administered, Dose 2, '
        r"Older adults \(60\+\)</label>",
        page,
    )
    assert field is not None
    assert f'id="{field.group(1)}" name="value:doses_administered:dose=dose2,group=older"' in page
    assert f'aria-describedby="{field.group(1)}-message"' in page
    # the surveillance report has its five plain elements, one field each
    weekly = open_form(client, org_unit="KEN", report="surveillance", period="2021W14")
    assert set(inputs(weekly)) == {
        f"value:{e.code}:default" for e in DEFAULT_SCHEMA.elements_of("surveillance")
    }


def test_the_browser_is_given_the_servers_rules(reporting: Service) -> None:
    page = open_form(
        browser_for(reporting, "administrator"),
        org_unit="KEN",
        report="wastage",
        period="202104",
    )
    found = re.search(r'<script type="application/json" id="entry-rules">(.*?)</script>', page)
    assert found is not None
    rules = json.loads(found.group(1))
    assert rules["blanks"] == blanks()
    assert rules["elements"] == {
        e.code: browser_rule(e) for e in DEFAULT_SCHEMA.elements_of("wastage")
    }
    assert 'src="/static/entry.js"' in page
    assert 'inputmode="numeric"' in page


def test_stored_values_are_filled_in(reporting: Service) -> None:
    sent = reporting.post(
        "/api/reports",
        "administrator",
        json={
            "values": [
                {
                    "data_element": "doses_wasted",
                    "period": "202104",
                    "org_unit": "KEN-NBI",
                    "category": "reason=expired",
                    "value": 35,
                }
            ]
        },
    )
    assert sent.json()["written"] == 1
    page = open_form(
        browser_for(reporting, "administrator"),
        org_unit="KEN-NBI",
        report="wastage",
        period="202104",
    )
    shown = inputs(page)
    assert shown["value:doses_wasted:reason=expired"] == "35"
    assert shown["value:doses_wasted:reason=damaged"] == ""
    other = open_form(
        browser_for(reporting, "administrator"),
        org_unit="KEN-CST",
        report="wastage",
        period="202104",
    )
    assert inputs(other)["value:doses_wasted:reason=expired"] == ""


def _tree_codes(page: str) -> list[str]:
    return re.findall(r'<li data-org-unit="([^"]+)">', page)


def test_the_tree_follows_the_stored_hierarchy(reporting: Service) -> None:
    page = open_form(browser_for(reporting, "administrator"), org_unit="KEN-MSA")
    assert _tree_codes(page) == ["KEN", "KEN-CST", "KEN-MSA", "KEN-NBI", "NGA", "NGA-LA"]
    start = page.index('id="org-unit-tree"')
    tree = page[start : page.index("</nav>", start)]
    # Mombasa is nested in Coast's list, which is nested in Kenya's
    kenya = tree[tree.index('data-org-unit="KEN"') : tree.index('data-org-unit="NGA"')]
    coast = kenya[kenya.index('data-org-unit="KEN-CST"') : kenya.index('data-org-unit="KEN-NBI"')]
    assert 'data-org-unit="KEN-MSA"' in coast
    assert "<details open>" in coast  # the chosen unit's branch is open
    assert 'aria-current="page">Mombasa' in tree
    nigeria = tree[tree.index('data-org-unit="NGA"') :]
    assert "<details>" in nigeria  # closed: nothing chosen there


def test_a_participant_sees_and_enters_only_its_own_country(reporting: Service) -> None:
    client = browser_for(reporting, "participant-KEN")
    page = open_form(client)  # its own country is chosen without asking
    assert _tree_codes(page) == ["KEN", "KEN-CST", "KEN-MSA", "KEN-NBI"]
    assert 'name="org_unit" value="KEN"' in page
    refused = client.get(ENTRY, params={"org_unit": "NGA-LA"})
    assert refused.status_code == 403
    assert "SERVICE_OUT_OF_SCOPE" in refused.text
    forged = client.post(
        ENTRY,
        data={
            "csrf": csrf_of(page),
            "org_unit": "NGA-LA",
            "report": "distribution",
            "period": "202104",
            "value:doses_received:default": "100",
        },
    )
    assert forged.status_code == 403
    assert "SERVICE_OUT_OF_SCOPE" in forged.text
    assert reporting.get("/api/reports/values", "administrator").json() == []


def test_roles_that_may_not_submit_reports_cannot_open_or_save_the_form(
    reporting: Service,
) -> None:
    viewer = browser_for(reporting, "viewer")
    assert viewer.get(ENTRY).status_code == 403
    reporting_page = viewer.get("/dashboard/reporting").text
    assert f'href="{ENTRY}"' not in reporting_page  # neither in the navigation nor the page
    refused = viewer.post(ENTRY, data={"csrf": csrf_of(reporting_page), "org_unit": "KEN"})
    assert refused.status_code == 403
    assert "SERVICE_FORBIDDEN" in refused.text
    for actor in ("administrator", "participant-NGA"):
        page = browser_for(reporting, actor).get("/dashboard/reporting").text
        assert f'<a href="{ENTRY}" id="enter-report">' in page


def _options(page: str, select: str) -> list[str]:
    block = page[page.index(f'id="{select}"') :]
    block = block[: block.index("</select>")]
    return re.findall(r'<option value="([^"]+)"', block)


def test_the_period_picker_offers_the_reports_period_types(reporting: Service) -> None:
    client = browser_for(reporting, "administrator")
    weekly = open_form(client, org_unit="KEN", report="surveillance", period="2021W14")
    assert _options(weekly, "entry-period-type") == ["weekly"]
    weeks = _options(weekly, "entry-period")
    assert weeks[0] == "2021W52"
    assert weeks[-1] == "2021W1"
    assert len(weeks) == 52
    assert '<option value="2021W14" selected>2021W14 (2021-04-05 to 2021-04-11)' in weekly
    assert "period=2021W13" in weekly
    assert "period=2021W15" in weekly
    monthly = open_form(client, org_unit="KEN", report="distribution", period="202104")
    assert _options(monthly, "entry-period-type") == ["monthly", "weekly"]
    assert _options(monthly, "entry-period") == [f"2021{m:02d}" for m in range(12, 0, -1)]
    assert "period=202103" in monthly
    assert "period=202105" in monthly
    # a week asked for a report kept per month and week, with the period type: the week
    as_week = open_form(
        client, org_unit="KEN", report="distribution", period_type="weekly", period="2021W14"
    )
    assert '<option value="2021W14" selected>' in as_week
    # a week for a report kept per month only falls back to the last ended month
    switched = open_form(client, org_unit="KEN", report="surveillance", period="202104")
    assert re.search(r'<option value="\d{4}W\d+" selected>', switched)
    # moving to another year shows that year's last period
    year = open_form(client, org_unit="KEN", report="distribution", period="202104", year="2022")
    assert '<option value="202212" selected>' in year


def test_a_period_not_started_is_refused(reporting: Service) -> None:
    page = browser_for(reporting, "administrator").get(
        ENTRY, params={"org_unit": "KEN", "report": "distribution", "period": "209901"}
    )
    assert page.status_code == 422
    assert "REPORT_PERIOD_NOT_OPEN" in page.text


VALUES = {
    "value:doses_administered:dose=dose1,group=hcw": "1200",
    "value:doses_administered:dose=dose1,group=older": " 800 ",
    "value:doses_administered:dose=dose2,group=hcw": "450",
}


def _save(client: TestClient, page: str, values: dict[str, str], **extra: str) -> Any:
    return client.post(
        ENTRY,
        data={
            "csrf": csrf_of(page),
            "org_unit": "KEN-NBI",
            "report": "administration",
            "period": "202104",
            **values,
            **extra,
        },
    )


def _api_values(values: dict[str, str]) -> list[dict[str, Any]]:
    """The same values as an API submission."""
    out = []
    for name, text in values.items():
        _, element, category = name.split(":")
        out.append(
            {
                "data_element": element,
                "category": category,
                "period": "202104",
                "org_unit": "KEN-NBI",
                "value": text,
                "participant": "KEN",
            }
        )
    return out


def test_saving_stores_the_values_and_shows_the_apis_import_summary(
    reporting: Service, fresh_sqlite: str, tmp_path: Any
) -> None:
    client = browser_for(reporting, "participant-KEN")
    page = open_form(client, org_unit="KEN-NBI", report="administration", period="202104")
    saved = _save(client, page, VALUES)
    assert saved.status_code == 200
    summary = summary_of(saved.text)
    assert summary["status"] == "OK"
    assert summary["counts"]["accepted"] == 3
    assert summary["written"] == 3
    assert '<td class="num" data-count="accepted">3</td>' in saved.text
    stored = reporting.get("/api/reports/values", "viewer", params={"iso3": "KEN"}).json()
    assert sorted((v["category"], v["value"]) for v in stored) == [
        ("dose=dose1,group=hcw", 1200.0),
        ("dose=dose1,group=older", 800.0),
        ("dose=dose2,group=hcw", 450.0),
    ]
    assert {v["org_unit"] for v in stored} == {"KEN-NBI"}
    entry = audit_log(reporting.engine, limit=1)[0]
    assert entry.action == "reports.submit"
    assert entry.detail is not None
    assert entry.detail["written"] == 3
    # the same values sent to the API of another service on its own database
    other_db = tmp_path / "other.sqlite"
    shutil.copyfile(fresh_sqlite.removeprefix("sqlite:///"), other_db)
    for other in make_service(f"sqlite:///{other_db}"):
        seed_hierarchy(other.engine)
        api = other.post(
            "/api/reports", "participant-KEN", json={"values": _api_values(VALUES), "atomic": True}
        )
        assert api.json() == summary
    # saved again unchanged: ignored; one changed: updated
    again = summary_of(_save(client, page, {**VALUES, next(iter(VALUES)): "1300"}).text)
    assert again["counts"] == {**again["counts"], "updated": 1, "ignored": 2, "accepted": 0}
    refilled = open_form(client, org_unit="KEN-NBI", report="administration", period="202104")
    assert inputs(refilled)[next(iter(VALUES))] == "1300"


def test_a_bad_value_is_refused_at_its_field_and_nothing_is_stored(reporting: Service) -> None:
    client = browser_for(reporting, "administrator")
    page = open_form(client, org_unit="KEN-NBI", report="administration", period="202104")
    bad = "value:doses_administered:dose=dose2,group=older"
    saved = _save(client, page, {**VALUES, bad: "1,200"}, complete="yes")
    assert saved.status_code == 422
    summary = summary_of(saved.text)
    assert summary["status"] == "ERROR"
    assert summary["written"] == 0
    assert summary["completed"] == 0
    (conflict,) = summary["conflicts"]
    assert conflict["code"] == "REPORT_BAD_VALUE"
    assert conflict["source"] == "data entry form"
    assert conflict["column"] == "Doses administered, Dose 2, Older adults (60+)"
    assert conflict["value"] == "1,200"
    # the message is beside the field, which is marked invalid and keeps what was typed
    field = re.search(
        rf'<input type="text" id="(entry-\d+)" name="{re.escape(bad)}" value="1,200"[^>]*'
        r'aria-invalid="true">\s*<span class="entry-message" id="entry-\d+-message">'
        r'<span class="entry-conflict">([^<]+)</span>',
        saved.text,
    )
    assert field is not None
    assert html.unescape(field.group(2)) == conflict["message"]
    assert f'<a href="#{field.group(1)}">Doses administered, Dose 2, Older adults (60+)</a>' in (
        saved.text
    )
    assert reporting.get("/api/reports/values", "administrator").json() == []
    assert stored_registrations(reporting.engine) == []


def test_the_complete_box_registers_the_report_with_its_values(reporting: Service) -> None:
    client = browser_for(reporting, "participant-KEN")
    page = open_form(client, org_unit="KEN-NBI", report="administration", period="202104")
    saved = _save(client, page, VALUES, complete="yes")
    assert summary_of(saved.text)["completed"] == 1
    (registration,) = stored_registrations(reporting.engine)
    assert (registration.org_unit, registration.report, registration.period) == (
        "KEN-NBI",
        "administration",
        "202104",
    )
    again = open_form(client, org_unit="KEN-NBI", report="administration", period="202104")
    assert f"Marked complete on {registration.completed.isoformat()}" in again
    assert 'name="complete"' not in again


def test_clearing_a_stored_value_deletes_it(reporting: Service) -> None:
    client = browser_for(reporting, "administrator")
    page = open_form(client, org_unit="KEN-NBI", report="administration", period="202104")
    _save(client, page, VALUES)
    cleared = next(iter(VALUES))
    summary = summary_of(_save(client, page, {**VALUES, cleared: "  "}).text)
    assert summary["counts"]["deleted"] == 1
    assert summary["deleted"] == 1
    assert summary["counts"]["ignored"] == 2
    stored = reporting.get("/api/reports/values", "administrator").json()
    assert len(stored) == 2
    assert cleared.split(":")[2] not in {v["category"] for v in stored}


def test_saving_needs_the_forms_token(reporting: Service) -> None:
    client = browser_for(reporting, "administrator")
    page = open_form(client, org_unit="KEN-NBI", report="administration", period="202104")
    for token in ("", "0" * 40):
        data = {"org_unit": "KEN-NBI", "report": "administration", "period": "202104", **VALUES}
        refused = client.post(ENTRY, data={**data, "csrf": token} if token else data)
        assert refused.status_code == 422
        assert "SERVICE_BAD_FORM" in refused.text
    assert csrf_of(page)
    assert reporting.get("/api/reports/values", "administrator").json() == []
