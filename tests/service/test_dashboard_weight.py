"""Issue 15, "light and fast": on the demo database every dashboard page's first load (HTML,
stylesheets, scripts, images; gzip on) stays under 500 KB, and the page benchmark's core
still runs (tiny repeat count; no timing asserted). Sizes are deterministic; times are not."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient

from doseflow.cli.app import run
from doseflow.service import create_app
from doseflow.store.service_settings import SecuritySettings

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "dashboard_pages.py"

pytestmark = pytest.mark.slow


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dashboard_pages_bench", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return _bench()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo database, as ``doseflow demo`` builds it."""
    folder = tmp_path_factory.mktemp("demo")
    db = folder / "demo.sqlite"
    assert run(["demo", "--db", str(db), "--out", str(folder / "out")]) == 0
    return f"sqlite:///{db}"


@pytest.fixture(scope="module")
def browser(demo: str, bench: ModuleType) -> Iterator[TestClient]:
    app = create_app(demo, security=SecuritySettings.relaxed())
    with TestClient(app) as client:
        bench.sign_in(client, bench.administrator_token(demo))
        yield client
    app.state.engine.dispose()


def test_every_page_loads_in_under_500_kb_compressed(
    demo: str, bench: ModuleType, browser: TestClient
) -> None:
    from doseflow.service.dashboard.render import NAV

    pages = bench.dashboard_pages(demo)
    # every page of the navigation is weighed (and the stock card and count form besides)
    assert {n.path for n in NAV} <= {p.path.split("?")[0] for p in pages}
    for page in pages:
        weight = bench.page_weight(browser, page.path)
        assert weight.total_gzip < bench.BUDGET_BYTES == 500_000, (page.name, weight)
        # one stylesheet and one script, shared by every page (the data entry form adds its
        # own checks); no chart library
        assert weight.assets[:2] == ("/static/dashboard.css", "/static/dashboard.js"), page.name
        assert set(weight.assets[2:]) <= {"/static/entry.js"}, page.name
        assert weight.total_gzip < weight.total_plain, page.name  # compression is on


def test_the_chart_pages_draw_their_charts_within_the_budget(
    bench: ModuleType, browser: TestClient
) -> None:
    for path, figure in (
        ("/dashboard/allocation", "coverage-chart"),
        ("/dashboard/coldchain", "capacity-chart"),
        ("/dashboard/deployment", "deployment-chart"),
        ("/dashboard/impact", "impact-chart"),
    ):
        html = browser.get(path).text
        assert f'<figure id="{figure}" class="chart"><svg' in html, path
        assert bench.page_weight(browser, path).total_gzip < 100_000, path


def test_the_footer_links_both_api_references(browser: TestClient) -> None:
    html = browser.get("/dashboard/").text
    footer = html[html.index("<footer") :]
    assert '<a href="/api/docs">' in footer
    assert '<a href="/api/redoc">' in footer
    assert browser.get("/api/redoc").status_code == 200


def test_the_page_benchmark_runs_on_the_demo_database(
    demo: str, bench: ModuleType, tmp_path: Path
) -> None:
    pages = bench.dashboard_pages(demo)[:2]
    rows = bench.measure(demo, pages, 1, tmp_path)
    assert [r.spec.name for r in rows] == ["overview", "allocation"]
    for r in rows:
        assert r.page.median_ms > 0
        assert r.api.median_ms > 0
        assert r.static.median_ms > 0
        assert r.weight.total_gzip > r.weight.html_gzip > 0
    printed = bench.table(rows)
    assert "allocation" in printed
    assert "of budget" in printed
