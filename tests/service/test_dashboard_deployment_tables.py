"""The Deployment page's tables (regions, priority groups, stock held back, planned
shipments) sort, filter and page on the server, keep their state in the address and
download every matching row as CSV and Excel (issue 15)."""

from __future__ import annotations

from doseflow.deployment import plan_deployment
from doseflow.service.deployment_views import example_input
from tests.service.conftest import Service
from tests.service.dashboard_tables_check import check_table
from tests.service.test_dashboard_pages import browser_for
from tests.service.test_dashboard_tables import csv_rows, download_link, rows_of


def number(text: str) -> int:
    return int(text.replace(",", ""))


def test_deployment_tables_sort_page_and_download(service: Service) -> None:
    viewer = browser_for(service, "viewer")
    regions = check_table(
        viewer,
        "/dashboard/deployment",
        {"iso3": "PRK"},
        table_id="regions-table",
        key="regions",
        label="regions",
        column="Doses",
        cell=3,
        value=number,
    )
    plan = plan_deployment(example_input("PRK"))
    assert len(regions) == len(plan.region_lines())
    check_table(
        viewer,
        "/dashboard/deployment",
        {"iso3": "PRK"},
        table_id="groups-table",
        key="groups",
        label="priority groups",
        column="Target population",
        cell=2,
        value=number,
    )
    shipments = check_table(
        viewer,
        "/dashboard/deployment",
        {"iso3": "PRK"},
        table_id="deployment-shipments-table",
        key="shipments",
        label="planned shipments",
        column="Doses",
        cell=5,
        value=number,
    )
    assert len(shipments) == len(plan.shipments())


def test_deployment_tables_filter_by_product_and_region(service: Service) -> None:
    viewer = browser_for(service, "viewer")
    whole = viewer.get(
        "/dashboard/deployment", params={"regions_size": 500, "shipments_size": 500}
    ).text
    regions = rows_of(whole, "regions-table")
    (product,) = {r[1] for r in regions}  # the bundled plan ships one product
    same = viewer.get("/dashboard/deployment", params={"product": product}).text
    assert len(rows_of(same, "regions-table")) == len(regions)
    narrowed = viewer.get("/dashboard/deployment", params={"product": "PFIZER"}).text
    assert rows_of(narrowed, "regions-table") == [["No region matches."]]
    assert rows_of(narrowed, "deployment-shipments-table") == [["No shipment matches."]]
    assert csv_rows(viewer.get(download_link(narrowed, "regions", "CSV")).text) == []
    code = rows_of(whole, "deployment-shipments-table")[0][0].split()[0]
    one = viewer.get("/dashboard/deployment", params={"region": code}).text
    assert {r[0].split()[0] for r in rows_of(one, "deployment-shipments-table")} == {code}
    shown = rows_of(one, "regions-table")
    assert 1 <= len(shown) < len(regions)
    listed = csv_rows(viewer.get(download_link(one, "regions", "CSV")).text)
    assert len(listed) == len(shown)
    assert all(r[0].startswith(x["Region"]) for r, x in zip(shown, listed, strict=True))
    form = narrowed.split('id="deployment-filters"', 1)[1].split("</form>", 1)[0]
    assert 'value="PFIZER"' in form
