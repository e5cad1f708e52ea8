"""End to end in headless Chromium (Debian's package, driven by Playwright; no download):
sign in, run a round, see the chart, decline an allocation as a participant, see the doses
redistributed; follow the cold chain's ✗ to its reason, see the capacity and deployment
charts drawn (SVG from the server), record a deployment plan twice. Set
DOSEFLOW_SCREENSHOTS=docs/screenshots to refresh the docs' screenshots."""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect, sync_playwright

from doseflow.deployment import plan_deployment
from doseflow.service.deployment_views import example_input
from doseflow.service.impact_job import KIND, ImpactRunIn
from tests.service.conftest import Service, make_service
from tests.service.live import live_server
from tests.service.paging import seed_many
from tests.service.scenario import NAME, scenario_document
from tests.service.seed import seed_ledger

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def site(fresh_sqlite: str) -> Iterator[tuple[Service, str]]:
    for service in make_service(fresh_sqlite):
        seed_ledger(service.engine)
        assert service.post("/api/scenarios", "administrator", json=scenario_document()).is_success
        with live_server(service.app) as url:
            yield service, url


def start_impact_run(service: Service) -> str:
    """A small impact comparison, run in the background while the browser works."""
    body = ImpactRunIn(round=2, horizon_days=90, levels=4)
    job = service.app.state.jobs.submit(
        KIND, {"scenario": NAME, **body.model_dump()}, submitted_by="administrator"
    )
    return job.id


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("DOSEFLOW_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def expect_chart(figure: Locator, title: str) -> None:
    """A chart drawn on the server: an SVG image, named, on screen, with marks to hover."""
    image = figure.get_by_role("img")
    expect(image).to_be_visible()
    expect(image).to_have_attribute("aria-label", re.compile("^" + re.escape(title)))
    marks = figure.locator("rect.bar, circle.point")
    expect(marks.first).to_be_attached()
    box = figure.locator("svg").bounding_box()
    assert box is not None
    assert box["width"] > 300, box
    assert box["height"] > 150, box


def _number(text: str) -> int:
    return int(text.strip().replace(",", ""))


def _doses(page: Page, pool: str, iso3: str) -> int:
    """Doses of ``iso3`` in ``pool`` read from the allocation table (0 if no line)."""
    total = 0
    for row in page.locator("#allocation-table tbody tr").all():
        cells = row.locator("td").all()
        head = row.locator("th")
        if cells and cells[0].inner_text() == pool and head.inner_text().startswith(iso3):
            total += _number(row.locator("td.num").first.inner_text())
    return total


def sign_in(page: Page, url: str, token: str) -> None:
    page.goto(f"{url}/dashboard/")
    expect(page).to_have_url(f"{url}/dashboard/sign-in?next=/dashboard/")
    page.get_by_label("API token").fill(token)
    page.keyboard.press("Enter")  # submit from the keyboard
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")


def test_run_a_round_see_the_chart_decline_and_see_the_doses_redistributed(
    browser: Browser, site: tuple[Service, str], shots: Path
) -> None:
    service, url = site
    job_id = start_impact_run(service)
    analyst = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    analyst.on("dialog", lambda dialog: dialog.accept())

    analyst.goto(f"{url}/dashboard/sign-in")
    analyst.screenshot(path=str(shots / "sign-in.png"))
    sign_in(analyst, url, service.tokens["allocation-analyst"])

    analyst.get_by_role("navigation", name="Main").get_by_role("link", name="Allocation").click()
    analyst.get_by_role("button", name=f"Run the rounds of {NAME}").click()
    expect(analyst.get_by_role("status")).to_contain_text(f"Ran every round of {NAME}")
    analyst.get_by_label("Round", exact=True).select_option("1")
    analyst.get_by_role("button", name="Show").click()
    chart = analyst.locator("#coverage-chart")
    expect_chart(chart, "Doses per 100 people after round 1")
    analyst.get_by_role("button", name="Publish round 1 to participants").click()
    expect(analyst.get_by_role("status")).to_contain_text("Round 1 is published")
    nga_before = _doses(analyst, "AZ-SII", "NGA")
    chart.scroll_into_view_if_needed()
    analyst.screenshot(path=str(shots / "allocation.png"), full_page=False)

    kenya = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    kenya.on("dialog", lambda dialog: dialog.accept())
    sign_in(kenya, url, service.tokens["participant-KEN"])
    kenya.get_by_role("link", name="Allocation").click()
    rows = kenya.locator("#allocation-table tbody tr")
    expect(rows.first).to_contain_text("KEN")
    assert "NGA" not in kenya.locator("#allocation-table").inner_text()
    kenya.get_by_label("Reason for declining AZ-SII").fill("cold chain full until June")
    kenya.get_by_role("button", name="Decline AZ-SII").click()
    expect(kenya.get_by_role("status")).to_contain_text("the doses were redistributed")
    recipients = kenya.get_by_role("table", name="Where the AZ-SII doses declined by KEN went")
    expect(recipients).to_be_visible()
    expect(recipients.locator("tbody tr").first).to_be_visible()
    given = sum(
        _number(row.locator("td.num").inner_text())
        for row in recipients.locator("tbody tr").all()
        if row.locator("th").inner_text() == "NGA"
    )
    assert given > 0
    kenya.screenshot(path=str(shots / "declines.png"), full_page=False)

    analyst.get_by_role("button", name="Show").click()
    assert _doses(analyst, "AZ-SII", "NGA") == nga_before + given
    assert _doses(analyst, "AZ-SII", "KEN") == 0

    service.app.state.jobs.wait(job_id, timeout=120)
    analyst.get_by_role("link", name="Impact").click()
    expect_chart(analyst.locator("#impact-chart"), "Deaths averted by allocation rule")
    analyst.screenshot(path=str(shots / "impact.png"), full_page=False)
    analyst.get_by_role("link", name="Shipments").click()
    expect(
        analyst.get_by_role("table", name="Shipments held at hubs, with the reason")
    ).to_contain_text("awaiting import permit")
    analyst.screenshot(path=str(shots / "shipments.png"), full_page=False)


def test_keyboard_users_can_skip_to_the_content(
    browser: Browser, site: tuple[Service, str]
) -> None:
    service, url = site
    page = browser.new_page()
    sign_in(page, url, service.tokens["viewer"])
    page.goto(f"{url}/dashboard/stock")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#filter-product")).to_be_focused()  # the first control in the content


def test_the_cold_chain_explains_and_the_deployment_plan_is_drawn_and_recorded(
    browser: Browser, site: tuple[Service, str], shots: Path
) -> None:
    service, url = site
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, url, service.tokens["logistics-officer"])

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cold chain").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cold chain")
    matrix = page.get_by_role("table", name="Cold-chain feasibility")
    expect(matrix).to_be_visible()
    # The ✗ for Pfizer to Pyongyang is a link a keyboard user can follow to the reason.
    cross = matrix.get_by_role("link", name="Pfizer cannot reach Pyongyang: see why")
    cross.focus()
    page.keyboard.press("Enter")
    reason = page.locator("#why-PFIZER-BNT-PRK-NS")
    expect(reason).to_contain_text(
        "Pfizer cannot reach Pyongyang: no ultra-cold storage beyond Dalian and 31 days at "
        "2-8 °C do not cover 12 days of transport plus 25 days of use"
    )
    expect(page).to_have_url(f"{url}/dashboard/coldchain#why-PFIZER-BNT-PRK-NS")
    expect(page.locator("#undelivered")).to_contain_text("117,000 doses not delivered")
    capacity = page.locator("#capacity-chart")
    expect_chart(capacity, "Storage needed vs available")
    expect(page.get_by_role("table", name="Capacity gaps")).to_contain_text("Pyongyang")
    page.locator("#matrix-heading").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "coldchain.png"), full_page=False)
    capacity.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "capacity.png"), full_page=False)

    page.get_by_role("link", name="Deployment").click()
    expect_chart(page.locator("#deployment-chart"), "Projected coverage by priority group")
    regions = page.get_by_role("table", name="Doses per region and product")
    expect(regions).to_contain_text("Ryanggang")
    expect(regions).to_contain_text("Decided by: cold-chain")
    shipments = len(plan_deployment(example_input("PRK")).shipments())
    page.get_by_role("button", name="Record planned shipments in the ledger").click()
    expect(page.get_by_role("status")).to_contain_text(f"Recorded {shipments} planned shipments")
    page.get_by_role("button", name="Record planned shipments in the ledger").click()
    expect(page.get_by_role("status")).to_contain_text(f"({shipments} were already recorded)")
    page.locator("#coverage-heading").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "deployment.png"), full_page=False)


def test_the_api_docs_and_the_dashboard_work_under_the_content_security_policy(
    browser: Browser, site: tuple[Service, str]
) -> None:
    """Swagger UI and ReDoc draw from the bundled assets alone (the browser is refused every
    host but the test server's) and no page breaks the policy: Chromium reports each
    violation on the console."""
    service, url = site
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
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    outside: list[str] = []
    page.on(
        "request",
        lambda req: outside.append(req.url) if not req.url.startswith(url) else None,
    )
    page.goto(f"{url}/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("doseflow", timeout=30_000)
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    page.goto(f"{url}/api/redoc")
    # ReDoc parses the whole OpenAPI document in the page before it draws: allow for a busy CI
    expect(page.locator(".api-info h1")).to_contain_text("doseflow", timeout=30_000)
    expect(page.get_by_role("menuitem").first).to_be_visible()
    sign_in(page, url, service.tokens["logistics-officer"])
    page.goto(f"{url}/dashboard/coldchain")
    expect_chart(page.locator("#capacity-chart"), "Storage needed vs available")
    assert violations == []
    assert [u for u in outside if not u.startswith("data:")] == []
    assert refused == []


def test_an_impact_run_started_from_the_page_shows_its_progress_without_reload(
    browser: Browser, site: tuple[Service, str], shots: Path
) -> None:
    """Start a comparison with the page's form; the runs table follows it by itself (the
    page polls the run's status) through running with progress to succeeded, then offers
    the result, and the page is never reloaded."""
    service, url = site
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    polled: list[dict[str, object]] = []
    page.on(
        "response",
        lambda r: polled.append(r.json()) if r.url.endswith("/status") and r.ok else None,
    )
    sign_in(page, url, service.tokens["allocation-analyst"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Impact").click()
    page.get_by_role("button", name="Start an impact comparison").click()
    expect(page.get_by_role("status")).to_contain_text("updates by itself")
    page.evaluate("window.__notReloaded = true")
    row = page.locator("#jobs-table tbody tr").first
    expect(row).to_have_attribute(
        "data-job-status", re.compile(r"/dashboard/impact/runs/.+/status")
    )
    expect(row.locator("[data-job-field='message']")).to_contain_text(
        re.compile(r"preparing participant|chunk"), timeout=60_000
    )
    page.screenshot(path=str(shots / "impact-progress.png"), full_page=False)
    expect(row).to_have_attribute("data-job-finished", "succeeded", timeout=120_000)
    expect(row.locator("[data-job-field='status']")).to_have_text("succeeded")
    assert page.evaluate("window.__notReloaded") is True
    running = [p for p in polled if p["status"] == "running" and p["progress"] is not None]
    assert running, polled
    assert polled[-1]["status"] == "succeeded"
    assert polled[-1]["progress"] == 1.0
    page.get_by_role("link", name="Show the result").click()
    expect_chart(page.locator("#impact-chart"), "Deaths averted by allocation rule")


def test_the_shipments_table_pages_and_sorts_on_the_server(
    browser: Browser, fresh_sqlite: str
) -> None:
    """Sort by a header link (aria-sort follows), page forward with the order kept, choose
    a smaller page in the filter form: each is a new address the back button returns to."""
    for service in make_service(fresh_sqlite):
        seed_many(service)
        with live_server(service.app) as url:
            page = browser.new_context().new_page()
            sign_in(page, url, service.tokens["logistics-officer"])
            page.goto(f"{url}/dashboard/shipments")
            table = page.locator("#shipments-table")
            expect(page.get_by_text("Rows 1–100 of 108")).to_be_visible()
            table.get_by_role("link", name="Shipment").click()  # ascending is the default
            header = table.locator("th[aria-sort]")
            expect(header).to_have_attribute("aria-sort", "descending")
            ids = table.locator("tbody th").all_inner_texts()
            assert ids == sorted(ids, reverse=True)
            assert len(ids) == 100
            page.get_by_role("navigation", name="Pages of all shipments").get_by_role(
                "link", name="Next 100"
            ).click()
            rest = table.locator("tbody th").all_inner_texts()
            assert len(rest) == 8
            assert rest == sorted(rest, reverse=True)
            assert rest[0] < ids[-1]
            assert "shipments_dir=desc" in page.url
            assert "shipments_offset=100" in page.url
            page.get_by_label("Product").fill("P1")
            page.get_by_role("button", name="Filter").click()
            expect(page.get_by_text("Rows 1–36 of 36")).to_be_visible()
            products = set(table.locator("tbody tr td:nth-child(2)").all_inner_texts())
            assert products == {"P1"}
            # the download carries the same filter: the 36 rows of P1, not the page alone
            downloads = page.locator("p.downloads", has_text="all shipments")
            with page.expect_download() as fetched:
                downloads.get_by_role("link", name="CSV").click()
            rows = list(csv.DictReader(io.StringIO(Path(fetched.value.path()).read_text("utf-8"))))
            assert len(rows) == 36
            assert {r["Product"] for r in rows} == {"P1"}
            page.go_back()
            expect(page.get_by_text("Rows 101–108 of 108")).to_be_visible()
