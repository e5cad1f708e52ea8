"""Dashboard tables show one bounded page (server side) with "rows a-b of N" and previous and
next links that keep the filters and the other tables' pages (issue 11, finding 8)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest

from doseflow.service.dashboard.paging import DASHBOARD_ROWS
from tests.service.conftest import Service, make_service
from tests.service.paging import LOTS, PRODUCTS, STORES, seed_many
from tests.service.scenario import NAME, scenario_document
from tests.service.test_dashboard_pages import browser_for

LINES = STORES * PRODUCTS * LOTS  # 108 stock lines and 108 shipments


@pytest.fixture
def many(fresh_sqlite: str) -> Iterator[Service]:
    for service in make_service(fresh_sqlite):
        seed_many(service)
        yield service


def table_rows(page: str, table_id: str) -> list[str]:
    body = page.split(f'id="{table_id}"', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<th scope="row">([^<]*)', body)


def pager_links(page: str, label: str) -> dict[str, str]:
    nav = page.split(f'aria-label="Pages of {label}"', 1)[1].split("</nav>", 1)[0]
    return {
        rel: html.unescape(href) for href, rel in re.findall(r'href="([^"]+)" rel="(\w+)"', nav)
    }


def test_stock_table_is_paged_and_links_keep_the_filters(many: Service) -> None:
    admin = browser_for(many, "administrator")
    first = admin.get("/dashboard/stock", params={"within_days": 3650}).text
    assert len(table_rows(first, "stock-table")) == DASHBOARD_ROWS
    assert f"Rows 1–{DASHBOARD_ROWS} of {LINES}" in first
    links = pager_links(first, "stock on hand")
    assert set(links) == {"next"}
    assert links["next"] == f"/dashboard/stock?within_days=3650&stock_offset={DASHBOARD_ROWS}"
    second = admin.get(links["next"]).text
    assert len(table_rows(second, "stock-table")) == LINES - DASHBOARD_ROWS
    assert f"Rows {DASHBOARD_ROWS + 1}–{LINES} of {LINES}" in second
    assert pager_links(second, "stock on hand") == {"prev": "/dashboard/stock?within_days=3650"}
    # the two pages together are every line once
    both = table_rows(first, "stock-table") + table_rows(second, "stock-table")
    assert len(both) == LINES
    # the expiry table pages on its own, keeping the stock table's page
    expiring = pager_links(second, "expiring lots")
    assert expiring["next"].endswith(f"stock_offset={DASHBOARD_ROWS}&expiring_offset=100")


def test_shipments_tables_are_paged(many: Service) -> None:
    admin = browser_for(many, "administrator")
    first = admin.get("/dashboard/shipments").text
    assert len(table_rows(first, "shipments-table")) == DASHBOARD_ROWS
    assert f"Rows 1–{DASHBOARD_ROWS} of {LINES}" in first
    nxt = pager_links(first, "all shipments")["next"]
    second = admin.get(nxt).text
    ids = table_rows(first, "shipments-table") + table_rows(second, "shipments-table")
    assert len(ids) == len(set(ids)) == LINES


def test_a_participant_pages_its_own_rows_only(many: Service) -> None:
    kenya = browser_for(many, "participant-KEN")
    page = kenya.get("/dashboard/stock").text
    own = 4 * PRODUCTS * LOTS
    assert f"Rows 1–{own} of {own}" in page
    assert pager_links(page, "stock on hand") == {}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/dashboard/stock", {"stock_offset": -1}),
        ("/dashboard/stock", {"within_days": 4000}),
        ("/dashboard/shipments", {"shipments_offset": "x"}),
        ("/dashboard/reporting", {"as_of": "1900-01-01"}),
        ("/dashboard/allocation", {"round": 1001}),
        ("/dashboard/deployment", {"iso3": "KENYA"}),
        ("/dashboard/coldchain", {"ship": "x" * 20_001}),
        ("/dashboard/impact", {"done": "d" * 201}),
    ],
)
def test_page_parameters_out_of_bounds_are_a_coded_page(
    many: Service, path: str, params: dict[str, object]
) -> None:
    admin = browser_for(many, "administrator")
    page = admin.get(path, params=params)
    assert page.status_code == 422
    assert "SERVICE_BAD_REQUEST" in page.text


def test_allocation_lines_and_reporting_tables_are_paged(fresh_sqlite: str) -> None:
    for service in make_service(fresh_sqlite):
        service.post("/api/scenarios", "allocation-analyst", json=scenario_document())
        service.post(f"/api/scenarios/{NAME}/run", "allocation-analyst")
        viewer = browser_for(service, "viewer")
        whole = viewer.get("/dashboard/allocation", params={"round": 1}).text
        total = int(re.search(r"Rows 1–\d+ of (\d+)", whole).group(1))  # type: ignore[union-attr]
        assert total > 5
        later = viewer.get("/dashboard/allocation", params={"round": 1, "lines_offset": 5}).text
        assert f"Rows 6–{total} of {total}" in later
        assert pager_links(later, "allocation lines") == {"prev": "/dashboard/allocation?round=1"}
        reporting = viewer.get("/dashboard/reporting").text
        assert 'aria-label="Pages of reports owed"' in reporting
        assert 'aria-label="Pages of plausibility flags"' in reporting
