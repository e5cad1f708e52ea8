"""The Cold chain page's tables (feasible routes, shipments asked for and planned, capacity
gaps) sort, filter and page on the server, keep their state in the address and download
every matching row as CSV and Excel (issue 15)."""

from __future__ import annotations

from tests.service.conftest import Service
from tests.service.dashboard_tables_check import check_table
from tests.service.test_dashboard_pages import browser_for
from tests.service.test_dashboard_tables import csv_rows, download_link, rows_of

SHIP = "\n".join(
    (
        "AZ-SII=PRK-NS:1992000",
        "AZ-SII=BGD-NS:480000",
        "AZ-SII=NPL-NS:240000",
        "AZ-SII=MNG-NS:96000",
        "AZ-SII=LAO-NS:720000",
    )
)


def number(text: str) -> float:
    return float(text.replace(",", "").replace("short", "").strip() or "nan")


def test_cold_chain_tables_sort_page_and_download(service: Service) -> None:
    viewer = browser_for(service, "viewer")
    routes = check_table(
        viewer,
        "/dashboard/coldchain",
        {},
        table_id="routes-table",
        key="routes",
        label="feasible routes",
        column="Store",
        cell=1,
    )
    assert len(routes) > 5
    asked = check_table(
        viewer,
        "/dashboard/coldchain",
        {"ship": SHIP},
        table_id="requests-table",
        key="requests",
        label="shipments asked for",
        column="Asked",
        cell=3,
        value=lambda s: int(s.replace(",", "")),
    )
    assert len(asked) == 5
    check_table(
        viewer,
        "/dashboard/coldchain",
        {"ship": SHIP},
        table_id="shipment-plan-table",
        key="planned",
        label="planned shipments",
        column="Doses",
        cell=2,
        value=lambda s: int(s.replace(",", "")),
    )


def test_cold_chain_tables_filter_by_product_and_store(service: Service) -> None:
    viewer = browser_for(service, "viewer")
    whole = rows_of(viewer.get("/dashboard/coldchain").text, "routes-table")
    products = sorted({r[0] for r in whole})
    assert len(products) > 1
    page = viewer.get("/dashboard/coldchain", params={"product": products[0]}).text
    kept = rows_of(page, "routes-table")
    assert {r[0] for r in kept} == {products[0]}
    assert len(kept) == sum(1 for r in whole if r[0] == products[0])
    listed = csv_rows(viewer.get(download_link(page, "feasible routes", "CSV")).text)
    assert [r["Store"] for r in listed] == [r[1] for r in kept]
    planned = viewer.get("/dashboard/coldchain", params={"ship": SHIP, "store": "BGD-NS"}).text
    assert [r[2] for r in rows_of(planned, "requests-table")] == ["BGD-NS"]
    form = planned.split('id="coldchain-filters"', 1)[1].split("</form>", 1)[0]
    assert 'name="ship"' in form
    # the capacity table: shortfalls first unless the address says otherwise
    gaps = rows_of(viewer.get("/dashboard/coldchain", params={"ship": SHIP}).text, "capacity-table")
    values = [number(r[5]) for r in gaps]
    assert values == sorted(values, reverse=True)
