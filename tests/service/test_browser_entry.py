"""Data entry in headless Chromium (Debian's package, driven by Playwright; no download): a
participant chooses a region in the tree, a report and a period, types a bad value and sees
it flagged as it types, saves, sees the import summary and finds the values stored. The
page's checks are the server's: on a table of cases the script in the browser and
``value_check.check_number`` give the same verdict in the same words."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from doseflow.reporting.schema import DataElement, ValueType
from doseflow.reporting.value_check import ValueProblem, browser_rule, check_number
from tests.service.conftest import Service, make_service
from tests.service.entry_seed import seed_hierarchy
from tests.service.live import live_server
from tests.service.test_browser import browser, sign_in

__all__ = ["browser"]  # the module's Chromium, shared with the other browser tests

pytestmark = pytest.mark.browser


@pytest.fixture
def site(fresh_sqlite: str) -> Iterator[tuple[Service, str]]:
    for service in make_service(fresh_sqlite):
        seed_hierarchy(service.engine)
        with live_server(service.app) as url:
            yield service, url


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("DOSEFLOW_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_participant_enters_a_report_and_sees_the_import_summary(
    browser: Browser, site: tuple[Service, str], shots: Path
) -> None:
    service, url = site
    page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    sign_in(page, url, service.tokens["participant-KEN"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Data entry").click()
    tree = page.get_by_role("navigation", name="Organisation units")
    expect(tree).to_contain_text("Nairobi")
    expect(tree).not_to_contain_text("Lagos")  # Nigeria's units are not Kenya's to enter
    # from the keyboard: open Coast's branch and go to Mombasa
    tree.get_by_role("link", name="Coast").focus()
    page.keyboard.press("Tab")
    expect(tree.get_by_text("1 unit below KEN-CST")).to_be_focused()
    expect(tree.get_by_role("link", name="Mombasa")).not_to_be_visible()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(tree.get_by_role("link", name="Mombasa")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=2, name="Mombasa")).to_be_visible()
    tree.get_by_role("link", name="Nairobi").click()

    page.get_by_label("Report", exact=True).select_option("administration")
    page.get_by_role("button", name="Show").click()
    page.get_by_label("Year", exact=True).select_option("2021")
    page.get_by_role("button", name="Show").click()
    page.get_by_label("Period", exact=True).select_option("202104")
    page.get_by_role("button", name="Show").click()
    heading = page.get_by_role("heading", level=2, name="Doses administered: Nairobi")
    expect(heading).to_contain_text("202104")
    page.get_by_role("link", name="Previous period (202103)").click()
    expect(page.get_by_label("Period", exact=True)).to_have_value("202103")
    page.get_by_role("link", name="Next period (202104)").click()
    expect(page.get_by_label("Period", exact=True)).to_have_value("202104")

    first = page.get_by_label("Doses administered, Dose 1, Health and care workers", exact=True)
    first.fill("1200")
    older = page.get_by_label("Doses administered, Dose 1, Older adults (60+)", exact=True)
    older.press_sequentially("1,2")  # flagged as it is typed, before any save
    message = page.locator(f"#{older.get_attribute('id')}-message")
    expect(older).to_have_attribute("aria-invalid", "true")
    expect(message).to_contain_text("no thousands separators")
    expect(first).not_to_have_attribute("aria-invalid", "true")
    page.screenshot(path=str(shots / "data-entry.png"), full_page=False)

    page.get_by_role("button", name="Save").click()  # refused in the page while flagged
    expect(page.locator("#entry-check")).to_have_text("Correct the 1 value marked before saving.")
    expect(older).to_be_focused()
    older.fill("800")
    expect(older).not_to_have_attribute("aria-invalid", "true")
    expect(message).to_have_text("")
    page.get_by_label("Mark this report complete").check()
    page.get_by_role("button", name="Save").click()

    summary = page.locator(".entry-summary")
    expect(summary).to_contain_text("2 values written")
    expect(summary).to_contain_text("the report is marked complete")
    expect(page.locator('[data-count="accepted"]')).to_have_text("2")
    expect(page.locator('[data-count="conflict"]')).to_have_text("0")
    expect(page.locator("#entry-completed")).to_contain_text("Marked complete on")
    page.screenshot(path=str(shots / "data-entry-summary.png"), full_page=False)

    stored = service.get("/api/reports/values", "viewer", params={"iso3": "KEN"}).json()
    assert sorted((v["org_unit"], v["period"], v["category"], v["value"]) for v in stored) == [
        ("KEN-NBI", "202104", "dose=dose1,group=hcw", 1200.0),
        ("KEN-NBI", "202104", "dose=dose1,group=older", 800.0),
    ]
    page.reload()
    expect(first).to_have_value("1200")


#: Elements of every value type, with and without bounds of their own.
ELEMENTS = (
    DataElement("count", "Count", "r"),
    DataElement("signed", "Signed", "r", minimum=None),
    DataElement("capped", "Capped", "r", ValueType.NUMBER, minimum=-2.5, maximum=10.5),
    DataElement("free", "Free", "r", ValueType.NUMBER, minimum=None),
    DataElement("share", "Share", "r", ValueType.UNIT_INTERVAL),
    DataElement("percent", "Percent", "r", ValueType.PERCENTAGE, minimum=5, maximum=90),
    DataElement("positive", "Positive", "r", ValueType.INTEGER_POSITIVE, maximum=1000),
    DataElement("zero_up", "Zero up", "r", ValueType.INTEGER_ZERO_OR_POSITIVE),
    DataElement("below", "Below", "r", ValueType.INTEGER_NEGATIVE, minimum=None, maximum=-3),
)
CASES = (
    "0", "7", "1200", " 12 ", "\u00a012\u2003", "\x1c5\x1f", "\ufeff5", "\t-4\n", "", " ",
    "1,200", "12.0", "12.5", "12.50", "+12", "012", "-0", "-0.0", "1e3", ".5", "5.", "inf",
    "NaN", "0x1F", "1\u0662", "0.\u096b", "7\uff17", "-3", "-1", "2147483647", "2147483648",
    "-2147483648", "-2147483649", "100", "101", "4", "90", "91", "0.25", "1.5", "1", "0.00001",
    "-2.5", "-2.6", "10.5", "10.50001", "99999999999999999999", "1000000000000000.5",
    "123456789012345678", "1" * 249, "1" * 250, "-" + "9" * 248,
)  # fmt: skip


def test_the_pages_checks_are_the_servers_on_a_table_of_cases(
    browser: Browser, site: tuple[Service, str]
) -> None:
    service, url = site
    page = browser.new_page()
    sign_in(page, url, service.tokens["participant-KEN"])
    page.goto(f"{url}/dashboard/reporting/entry?report=surveillance&period=2021W14")
    page.wait_for_function("window.doseflowEntry !== undefined")
    cases = [
        (browser_rule(e), raw, check_number(e, raw))
        for e in (*ELEMENTS, replace(ELEMENTS[0], code="late"))
        for raw in CASES
    ]
    got = page.evaluate(
        "cases => cases.map(([rule, raw]) => window.doseflowEntry.check(rule, raw))",
        [[rule, raw] for rule, raw, _ in cases],
    )
    assert len(got) == len(cases)
    mismatches = []
    for (rule, raw, server), browser_says in zip(cases, got, strict=True):
        expected = (
            None
            if not isinstance(server, ValueProblem)
            else {"code": server.code, "message": server.message, "expected": server.expected}
        )
        if browser_says != expected:
            mismatches.append((rule["value_type"], raw, expected, browser_says))
    assert mismatches == []
    accepted = sum(1 for _, _, server in cases if not isinstance(server, ValueProblem))
    assert 0 < accepted < len(cases)  # the table holds values of both kinds
