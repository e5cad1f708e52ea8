"""Every dashboard page, at a laptop's width (1366 px) and a phone's (390 px), in headless
Chromium (Debian's package driven by Playwright; nothing downloaded): the page never scrolls
sideways, and axe-core finds no accessibility violation. Set
DOSEFLOW_SCREENSHOTS=docs/screenshots to refresh the docs' full-page screenshots
(``<page>-1366.png``, ``<page>-390.png``).

The pages are ONE list, :data:`PAGES`: a page added to the dashboard is checked by adding one
line (and :func:`test_every_page_in_the_navigation_is_checked` fails until it is). They are
seeded with realistic data, enough rows that the long tables page.

axe-core is the npm package, vendored under ``tests/service/vendor/axe-core`` (MPL-2.0, see
its README). It is run with ``page.evaluate`` of the script's text rather than
``add_script_tag``: the dashboard's Content-Security-Policy refuses inline scripts, which is
what ``add_script_tag`` inserts, and the only way around it would be the context option
``bypass_csp=True``, which would check a page that is not the one users get (a policy
problem would go unseen). Code evaluated through the DevTools protocol is not subject to the
page's policy, so axe runs inside the real page with its policy in force, and the test also
asserts that no page breaks the policy.

One browser for the module, one signed-in context per role and one page load per page and
width keep the module fast.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from doseflow.reporting import Requirement, parse_period
from doseflow.reporting.periods import PeriodType
from doseflow.service.dashboard.render import NAV
from doseflow.service.impact_job import KIND, ImpactRunIn
from doseflow.store.reporting import save_requirements
from tests.service.conftest import Service, make_service
from tests.service.live import live_server
from tests.service.paging import seed_many
from tests.service.scenario import NAME, scenario_document
from tests.service.seed import seed_ledger
from tests.service.test_browser import CHROMIUM, CHROMIUM_ARGS, sign_in

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WIDTHS = (1366, 390)
HEIGHT = {1366: 900, 390: 844}


@dataclass(frozen=True)
class DashboardPage:
    """A page to check: ``name`` is the screenshot's file stem, ``actor`` who looks at it
    (a token name of tests.service.conftest.ACTORS; None for the signed-out sign-in page)."""

    name: str
    path: str
    actor: str | None = "administrator"


#: Every page of the dashboard (add a page here, in one line).
PAGES: tuple[DashboardPage, ...] = (
    DashboardPage("sign-in", "/dashboard/sign-in", None),
    DashboardPage("overview", "/dashboard/"),
    DashboardPage("allocation", "/dashboard/allocation?round=1"),
    DashboardPage("allocation-participant", "/dashboard/allocation?round=1", "participant-KEN"),
    DashboardPage("declines", "/dashboard/declines"),
    DashboardPage("revisions", "/dashboard/revisions"),
    DashboardPage("shipments", "/dashboard/shipments"),
    DashboardPage("stock", "/dashboard/stock"),
    DashboardPage("stock-card", "/dashboard/stock/card?node=KEN-NS&product=AZ-SII"),
    DashboardPage("coldchain", "/dashboard/coldchain"),
    DashboardPage("deployment", "/dashboard/deployment"),
    DashboardPage("impact", "/dashboard/impact"),
    DashboardPage("reporting", "/dashboard/reporting"),
    DashboardPage("data-entry", "/dashboard/reporting/entry"),
    DashboardPage("stock-count", "/dashboard/stock/count?node=KEN-NS"),
)


def _seed(service: Service) -> None:
    """The example scenario run (with a revision, round 1 published), a small impact
    comparison, the small ledger plus 108 more shipments, reports owed by two participants
    since January 2021 (most missing, so the compliance table pages) and a month reported."""
    seed_ledger(service.engine)
    seed_many(service)
    analyst = "allocation-analyst"
    assert service.post("/api/scenarios", analyst, json=scenario_document()).is_success
    assert service.post(f"/api/scenarios/{NAME}/run", analyst).is_success
    revision = {"supply": {"AZ-SII-H1": 150_000_000}}
    assert service.post(f"/api/scenarios/{NAME}/rounds/1/revisions", analyst, json=revision)
    assert service.post(f"/api/scenarios/{NAME}/rounds/1/publish", analyst).is_success
    job = service.app.state.jobs.submit(
        KIND,
        {"scenario": NAME, **ImpactRunIn(round=1, horizon_days=60, levels=2).model_dump()},
        submitted_by=analyst,
    )
    save_requirements(
        service.engine,
        [
            Requirement(iso3, "distribution", PeriodType.MONTHLY, 15, parse_period("202101"))
            for iso3 in ("KEN", "NGA")
        ],
    )
    report = {
        "values": [
            {"data_element": "doses_received", "period": "202101", "org_unit": "KEN", "value": 1}
        ],
        "as_of": "2021-02-10",
    }
    assert service.post("/api/reports", "participant-KEN", json=report).is_success
    done = service.app.state.jobs.wait(job.id, timeout=120)
    assert done.status.value == "succeeded", done.errors


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@dataclass(frozen=True)
class Site:
    """The served module service: its address and a token per actor."""

    url: str
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def seeded(migrated_sqlite: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One seeded service for the module, served on 127.0.0.1."""
    path = tmp_path_factory.mktemp("pages") / "service.sqlite"
    path.write_bytes(migrated_sqlite.read_bytes())
    for service in make_service(f"sqlite:///{path}"):
        _seed(service)
        with live_server(service.app) as url:
            yield Site(url, service.tokens)


@pytest.fixture(scope="module")
def contexts(browser: Browser, seeded: Site) -> Iterator[dict[str | None, BrowserContext]]:
    """A browser context per role, signed in once through the form (None: signed out)."""
    made: dict[str | None, BrowserContext] = {}
    for actor in {p.actor for p in PAGES}:
        context = browser.new_context()
        if actor is not None:
            sign_in(context.new_page(), seeded.url, seeded.tokens[actor])
        made[actor] = context
    yield made
    for context in made.values():
        context.close()


WIDEST = """() => {
  const limit = document.documentElement.clientWidth;
  return [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > limit + 0.5)
    .slice(0, 8)
    .map(e => `${e.tagName.toLowerCase()}#${e.id}.${[...e.classList].join('.')} ` +
              `right=${Math.round(e.getBoundingClientRect().right)}`);
}"""

AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ['violations'] });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary)
  }));
}"""

#: Controls a thumb must hit on a phone: at least 44 px high (WCAG 2.5.5).
SMALL_TARGETS = """() => [...document.querySelectorAll(
    'button, input:not([type=hidden]), select, textarea, summary, .main-nav a, .pager a, ' +
    '.downloads a, th a.sort')]
  .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .filter(e => e.getBoundingClientRect().height < 43.5)
  .map(e => e.outerHTML.slice(0, 120))"""

#: Screens of a page shown at most: a long table's thousandth row helps no reader of the docs.
SCREENS = 4


def _screenshot(page: Page, folder: Path, name: str) -> None:
    """The page from its top (at most :data:`SCREENS` screens), as a PNG reduced to a
    256-colour palette: the text stays sharp and the file small."""
    size = page.viewport_size
    assert size is not None
    tall = page.evaluate("document.documentElement.scrollHeight")
    height = min(tall, SCREENS * size["height"])
    png = page.screenshot(
        full_page=True, clip={"x": 0, "y": 0, "width": size["width"], "height": height}
    )
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256, dither=Image.NONE)
    image.save(folder / f"{name}.png", optimize=True)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("shown", PAGES, ids=[p.name for p in PAGES])
def test_the_page_fits_the_width_and_axe_finds_no_violation(
    contexts: dict[str | None, BrowserContext],
    seeded: Site,
    shown: DashboardPage,
    width: int,
) -> None:
    page = contexts[shown.actor].new_page()
    policy: list[str] = []
    page.on(
        "console",
        lambda msg: policy.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    try:
        page.set_viewport_size({"width": width, "height": HEIGHT[width]})
        answer = page.goto(f"{seeded.url}{shown.path}")
        assert answer is not None
        assert answer.status == 200, shown.path
        assert page.url == f"{seeded.url}{shown.path}"  # not sent to the sign-in page
        width_of = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert width_of[0] <= width_of[1], (width_of, page.evaluate(WIDEST))
        if width < 640:
            assert page.evaluate(SMALL_TARGETS) == []
        page.evaluate(AXE.read_text())
        violations: list[dict[str, Any]] = page.evaluate(AXE_RUN)
        assert violations == [], "\n".join(
            f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"])
            for v in violations
        )
        assert policy == []
        if folder := os.environ.get("DOSEFLOW_SCREENSHOTS"):
            Path(folder).mkdir(parents=True, exist_ok=True)
            _screenshot(page, Path(folder), f"{shown.name}-{width}")
    finally:
        page.close()


def test_on_a_phone_the_navigation_folds_behind_a_menu_button(
    contexts: dict[str | None, BrowserContext], seeded: Site
) -> None:
    page = contexts["administrator"].new_page()
    page.set_viewport_size({"width": 390, "height": HEIGHT[390]})
    page.goto(f"{seeded.url}/dashboard/")
    nav = page.get_by_role("navigation", name="Main")
    menu = nav.get_by_role("button", name="Menu")
    shipments = nav.get_by_role("link", name="Shipments")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(shipments).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(shipments).to_be_visible()
    if folder := os.environ.get("DOSEFLOW_SCREENSHOTS"):
        page.screenshot(path=str(Path(folder) / "menu-390.png"))
    page.keyboard.press("Escape")
    expect(menu).to_be_focused()
    expect(shipments).to_be_hidden()
    menu.press("Enter")
    shipments.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Shipments")
    page.set_viewport_size({"width": 1366, "height": HEIGHT[1366]})
    expect(nav.get_by_role("button", name="Menu")).to_be_hidden()
    expect(nav.get_by_role("link", name="Stock and expiry")).to_be_visible()
    page.close()


def test_without_script_the_navigation_stays_listed_on_a_phone(
    browser: Browser, seeded: Site
) -> None:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 390, "height": HEIGHT[390]}
    )
    page = context.new_page()
    sign_in(page, seeded.url, seeded.tokens["viewer"])
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("button", name="Menu")).to_be_hidden()
    expect(nav.get_by_role("link", name="Shipments")).to_be_visible()
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    context.close()


def test_every_page_in_the_navigation_is_checked() -> None:
    checked = {p.path.split("?")[0] for p in PAGES}
    assert {item.path for item in NAV} <= checked
