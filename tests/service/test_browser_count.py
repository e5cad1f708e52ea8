"""End to end in headless Chromium (the fixtures of ``test_browser``): a logistics officer
opens the count form from the Stock page, counts a lot, and sees the adjustment the ledger
recorded, then on the lot's stock card (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.service.conftest import Service
from tests.service.test_browser import browser, shots, sign_in, site

pytestmark = pytest.mark.browser
__all__ = ["browser", "shots", "site"]  # the fixtures used here


def test_enter_a_count_and_see_the_adjustment_on_the_stock_card(
    browser: Browser, site: tuple[Service, str], shots: Path
) -> None:
    service, url = site
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, url, service.tokens["logistics-officer"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Stock and expiry").click()
    page.get_by_role("link", name="Record a physical count").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Physical count")
    page.get_by_label("Node").select_option("KEN-NS")
    page.get_by_label("Count date").fill("2021-05-10")
    page.get_by_role("button", name="Open the count sheet").click()
    sheet = page.get_by_role("table", name="Lots at KEN-NS")
    expect(sheet).to_contain_text("24,000")
    # a found lot without its number: refused next to the field, nothing recorded
    counted = page.get_by_label("Counted doses of AZ-SII lot K1")
    counted.fill("23500")
    page.get_by_label("Product (found lot 1)").fill("AZ-SII")
    page.get_by_label("Counted doses (found lot 1)").fill("5")
    page.get_by_role("button", name="Record the count").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was recorded")
    expect(page.locator("#f0-lot-error")).to_contain_text("LEDGER_MISSING_FIELD")
    expect(page.get_by_label("Lot (found lot 1)")).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=str(shots / "stock-count-refused.png"), full_page=True)
    assert service.get("/api/ledger/events", "viewer").json()[-1]["type"] != "physical-count"
    # what was typed is kept: the count as taken, without the half-entered found lot
    expect(counted).to_have_value("23500")
    page.get_by_label("Product (found lot 1)").fill("")
    page.get_by_label("Counted doses (found lot 1)").fill("")
    # the count as taken
    page.get_by_label("Remark").fill("quarterly count: a tray of K1 broken")
    page.get_by_role("button", name="Record the count").click()
    expect(page.get_by_role("status")).to_contain_text("Count recorded: 1 lot counted at KEN-NS")
    result = page.get_by_role("table", name="What the ledger recorded")
    expect(result.locator("tbody tr").first).to_contain_text("-500")
    page.screenshot(path=str(shots / "stock-count.png"), full_page=False)
    result.get_by_role("link", name="K1 stock card").click()
    card = page.get_by_role("table", name="Every movement")
    correction = card.locator("tbody tr", has_text="count-correction")
    expect(correction).to_contain_text("500")
    expect(correction).to_contain_text("adjustment")
    expect(card.locator("tbody tr").last).to_contain_text("23,500")
