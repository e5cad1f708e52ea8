"""End to end in headless Chromium (the fixtures of ``test_browser``): a logistics officer
opens the count form from the Stock page, counts a lot, and sees the adjustment the ledger
recorded, then on the lot's stock card (issue 15)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from doseflow.domain.events import (
    DiscrepancyReason,
    ReceiptOutcome,
    ShipmentDispatched,
    ShipmentPlanned,
    ShipmentReceived,
)
from doseflow.domain.lot import Lot
from doseflow.store.ledger import LedgerStore
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


def test_a_receipt_short_of_doses_shows_its_shortfall_line_on_the_stock_card(
    browser: Browser, site: tuple[Service, str], shots: Path
) -> None:
    """A shipment of 72,000 doses received with 2,400 damaged: the card's receipt line says
    +69,600 and the line under it names the 2,400 doses and the shipment."""
    service, url = site
    ledger = LedgerStore(service.engine)
    at = datetime(2021, 5, 20, 8, 0, tzinfo=UTC)
    lot = Lot("AZ-SII", "K9", expiry=date(2021, 12, 31))
    common = {"recorded_by": "seed", "shipment_id": "S-KEN-SHORT"}
    ledger.append_events(
        [
            ShipmentPlanned(event_id="p-short", occurred_at=at, origin="SII",
                            destination="KEN-NS", product="AZ-SII", quantity=72_000, **common),
            ShipmentDispatched(event_id="d-short", occurred_at=at, origin="SII",
                               destination="KEN-NS", lot=lot, quantity=72_000, **common),
            ShipmentReceived(event_id="r-short", occurred_at=at.replace(day=23), node="KEN-NS",
                             lot=lot, quantity=69_600,
                             outcome=ReceiptOutcome.DIFFERENT_QUANTITY, discrepancy=2_400,
                             reason=DiscrepancyReason.DAMAGED, **common),
        ]
    )
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, url, service.tokens["logistics-officer"])
    page.goto(f"{url}/dashboard/stock/card?node=KEN-NS&product=AZ-SII&lot=K9")
    card = page.get_by_role("table", name="Every movement")
    receipt = card.locator("tbody tr", has_text="69,600")
    expect(receipt).to_have_count(1)
    shortfall = card.locator("tbody tr.discrepancy")
    expect(shortfall).to_have_count(1)
    expect(shortfall).to_contain_text("2,400 doses damaged against 72,000 dispatched")
    expect(shortfall).to_contain_text("S-KEN-SHORT")
    page.screenshot(path=str(shots / "stock-card-shortfall.png"), full_page=False)
