"""The Overview in headless Chromium with every host but the test server refused: the
headline figures read off the page equal the API's JSON, the map is drawn (one shape per
bundled outline, laid out by the browser) and a participant sees its own country only."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Browser, Route, expect

from doseflow.data.world_map import world_map
from tests.service.conftest import Service
from tests.service.test_browser import browser, sign_in, site

pytestmark = pytest.mark.browser
__all__ = ["browser", "site"]  # the fixtures, shared with test_browser.py

AS_OF = "2021-06-01"
STEPS = ("allocated", "shipped", "in_transit", "at_hubs", "received", "administered", "wasted")


def _figures_match(browser: Browser, service: Service, url: str, actor: str) -> dict[str, str]:
    context = browser.new_context()
    refused: list[str] = []

    def only_this_server(route: Route) -> None:
        if route.request.url.startswith(url):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("blockedbyclient")

    context.route("**/*", only_this_server)
    page = context.new_page()
    sign_in(page, url, service.tokens[actor])
    page.goto(f"{url}/dashboard/?as_of={AS_OF}")
    shown = {step: page.locator(f'[data-field="total.{step}"]').inner_text() for step in STEPS}
    per_100 = page.locator('[data-field="coverage.doses_per_100"]').inner_text()
    covered = page.locator('[data-field="coverage.fully_covered"]').inner_text()
    # the API answers the same figures (read with the same session's token in a header)
    answer = page.request.get(
        f"{url}/api/overview?as_of={AS_OF}",
        headers={"Authorization": f"Bearer {service.tokens[actor]}"},
    )
    assert answer.ok
    body = json.loads(answer.text())
    for step in STEPS:
        assert int(shown[step].replace(",", "")) == body["total"][step], step
    if body["coverage"]["doses_per_100"] is None:
        assert per_100 == "no data"
    else:
        assert float(per_100.replace(",", "")) == pytest.approx(
            body["coverage"]["doses_per_100"], abs=0.05
        )
        assert float(covered.rstrip("%")) == pytest.approx(
            body["coverage"]["fully_covered"] * 100, abs=0.05
        )
    # the map is drawn offline: every outline a laid-out shape, with data coloured
    shapes = page.locator("#ov-map path")
    expect(shapes).to_have_count(len(world_map().outlines))
    box = page.locator("#ov-map").bounding_box()
    assert box is not None
    assert box["width"] > 300
    assert box["height"] > 100
    for p in body["participants"]:
        if p["iso3"] in world_map().outlines:
            shape = page.locator(f'#ov-map path[data-iso3="{p["iso3"]}"]')
            assert shape.bounding_box() is not None
            fill = shape.evaluate("el => getComputedStyle(el).fill")
            assert fill != "rgb(217, 221, 225)", p["iso3"]  # not the no-data grey
    rows = page.locator("#ov-pipeline tbody tr[data-iso3]")
    assert rows.count() == len(body["participants"])
    assert refused == []
    shown_iso3 = [rows.nth(i).get_attribute("data-iso3") or "" for i in range(rows.count())]
    context.close()
    return {"iso3": ",".join(shown_iso3)}


def test_the_overview_shows_the_apis_figures_and_draws_the_map_offline(
    browser: Browser, site: tuple[Service, str]
) -> None:
    service, url = site
    staff = _figures_match(browser, service, url, "administrator")
    assert {"KEN", "NGA"} <= set(staff["iso3"].split(","))
    own = _figures_match(browser, service, url, "participant-KEN")
    assert own["iso3"] == "KEN"


def test_an_alert_leads_to_its_page(browser: Browser, site: tuple[Service, str]) -> None:
    service, url = site
    page = browser.new_page()
    sign_in(page, url, service.tokens["administrator"])
    page.goto(f"{url}/dashboard/?as_of={AS_OF}")
    held = page.locator('#ov-alerts li[data-kind="held-at-hubs"]')
    expect(held).to_contain_text("awaiting import permit")
    held.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/dashboard/shipments\?state=held$"))
    expect(page.locator("#held-table")).to_contain_text("S-KEN-2")
    page.close()


def test_a_click_on_a_country_of_the_map_opens_its_shipments(
    browser: Browser, site: tuple[Service, str]
) -> None:
    service, url = site
    page = browser.new_page()
    sign_in(page, url, service.tokens["administrator"])
    page.goto(f"{url}/dashboard/?as_of={AS_OF}")
    page.locator('#ov-map path[data-iso3="KEN"]').click()
    expect(page).to_have_url(re.compile(r"/dashboard/shipments\?country=KEN$"))
    page.close()
