"""The Allocation and Declines pages' tables sort, filter and page on the server (the lines
in the database), keep their state in the address and download every matching row as CSV
and Excel (issue 15)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.service.conftest import Service, make_service
from tests.service.dashboard_tables_check import check_table
from tests.service.scenario import NAME, scenario_document
from tests.service.test_dashboard_pages import browser_for
from tests.service.test_dashboard_tables import csv_rows, download_link, rows_of

BASE = f"/api/scenarios/{NAME}"


def doses(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.fixture
def run(fresh_sqlite: str) -> Iterator[Service]:
    for service in make_service(fresh_sqlite):
        assert service.post("/api/scenarios", "allocation-analyst", json=scenario_document())
        service.post(f"{BASE}/run", "allocation-analyst")
        service.post(f"{BASE}/rounds/1/publish", "administrator")
        yield service


def test_allocation_lines_sort_page_and_download(run: Service) -> None:
    viewer = browser_for(run, "viewer")
    params = {"round": 1}
    by_doses = check_table(
        viewer,
        "/dashboard/allocation",
        params,
        table_id="allocation-table",
        key="lines",
        label="allocation lines",
        column="Doses",
        cell=3,
        value=doses,
    )
    assert len(by_doses) > 20
    check_table(
        viewer,
        "/dashboard/allocation",
        params,
        table_id="allocation-table",
        key="lines",
        label="allocation lines",
        column="Participant",
        cell=1,
        value=lambda s: s.split()[0],
    )


def test_allocation_lines_filter_in_the_database(run: Service) -> None:
    viewer = browser_for(run, "viewer")
    whole = rows_of(
        viewer.get("/dashboard/allocation", params={"round": 1, "lines_size": 500}).text,
        "allocation-table",
    )
    products = {r[2] for r in whole}
    assert len(products) > 1
    product = sorted(products)[0]
    page = viewer.get(
        "/dashboard/allocation", params={"round": 1, "product": product, "lines_size": 500}
    ).text
    rows = rows_of(page, "allocation-table")
    assert {r[2] for r in rows} == {product}
    assert len(rows) == sum(1 for r in whole if r[2] == product) < len(whole)
    pool = whole[0][0]
    pooled = rows_of(
        viewer.get("/dashboard/allocation", params={"round": 1, "pool": pool}).text,
        "allocation-table",
    )
    assert {r[0] for r in pooled} == {pool}
    kenya = rows_of(
        viewer.get("/dashboard/allocation", params={"round": 1, "participant": "ken"}).text,
        "allocation-table",
    )
    assert kenya
    assert {r[1].split()[0] for r in kenya} == {"KEN"}
    # the filter form keeps the scenario and round, and the download keeps the filter
    listed = csv_rows(viewer.get(download_link(page, "allocation lines", "CSV")).text)
    assert {r["Product"] for r in listed} == {product}
    assert len(listed) == len(rows)
    form = page.split('id="lines-filters"', 1)[1].split("</form>", 1)[0]
    assert 'name="round" value="1"' in form
    # a participant never sees another's lines, whatever it filters
    nga = browser_for(run, "participant-KEN").get(
        "/dashboard/allocation", params={"round": 1, "participant": "NGA"}
    )
    assert "NGA" not in "".join(c for r in rows_of(nga.text, "allocation-table") for c in r)


def test_declines_table_sorts_filters_pages_and_downloads(run: Service) -> None:
    declined = (("KEN", "AZ-SII"), ("NGA", "AZ-SII"), ("ETH", "PFIZER"), ("GHA", "AZ-SII"))
    for iso3, product in declined:
        answer = run.post(
            f"{BASE}/declines",
            "administrator",
            json={"round": 1, "product": product, "iso3": iso3, "reason": f"test {iso3}"},
        )
        assert answer.status_code == 201, answer.text
    viewer = browser_for(run, "viewer")
    rows = check_table(
        viewer,
        "/dashboard/declines",
        {},
        table_id="declines-table",
        key="declines",
        label="declines",
        column="Participant",
        cell=1,
    )
    assert [r[1] for r in rows] == ["ETH", "GHA", "KEN", "NGA", "PRK"]
    narrowed = viewer.get("/dashboard/declines", params={"product": "AZ-SII", "round": 1}).text
    assert [r[1] for r in rows_of(narrowed, "declines-table")] == ["KEN", "NGA", "GHA"]
    # where the doses went is shown for the declines of the page only
    paged = viewer.get("/dashboard/declines", params={"declines_size": 1}).text
    assert paged.count('class="recipients"') == 1
    listed = csv_rows(viewer.get(download_link(narrowed, "declines", "CSV")).text)
    assert [r["Participant"] for r in listed] == ["KEN", "NGA", "GHA"]
    assert listed[0]["Reason"] == "test KEN"
    kenya = browser_for(run, "participant-KEN").get("/dashboard/declines").text
    assert [r[1] for r in rows_of(kenya, "declines-table")] == ["KEN"]
