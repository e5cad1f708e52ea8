"""The Revisions page's tables (the round's revisions, who gained and who lost) sort,
filter and page on the server, keep their state in the address and download every
matching row as CSV and Excel (issue 15)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.service.conftest import Service, make_service
from tests.service.dashboard_tables_check import check_table
from tests.service.scenario import NAME, scenario_document
from tests.service.test_dashboard_pages import browser_for
from tests.service.test_dashboard_tables import csv_rows, download_link, rows_of

REVISIONS = f"/api/scenarios/{NAME}/rounds/1/revisions"


def number(text: str) -> int:
    return int(text.replace(",", "").replace("+", ""))


@pytest.fixture
def revised(fresh_sqlite: str) -> Iterator[Service]:
    for service in make_service(fresh_sqlite):
        service.post("/api/scenarios", "allocation-analyst", json=scenario_document())
        service.post(f"/api/scenarios/{NAME}/run", "allocation-analyst")
        for doses in (150_000_000, 180_000_000, 120_000_000, 200_000_000):
            made = service.post(
                REVISIONS, "allocation-analyst", json={"supply": {"AZ-SII-H1": doses}}
            )
            assert made.status_code == 201, made.text
        yield service


def test_revision_tables_sort_page_and_download(revised: Service) -> None:
    viewer = browser_for(revised, "viewer")
    rows = check_table(
        viewer,
        "/dashboard/revisions",
        {"round": 1},
        table_id="revisions-table",
        key="revisions",
        label="revisions",
        column="Supply",
        cell=3,
        value=number,
    )
    assert len(rows) == 5  # the original and four revisions
    check_table(
        viewer,
        "/dashboard/revisions",
        {"round": 1},
        table_id="diff-table",
        key="diff",
        label="who gained and who lost",
        column="Change",
        cell=4,
        value=number,
    )


def test_the_diff_filters_by_participant_and_product(revised: Service) -> None:
    viewer = browser_for(revised, "viewer")
    page = viewer.get("/dashboard/revisions", params={"diff_size": 500}).text
    whole = rows_of(page, "diff-table")
    products = sorted({r[1] for r in whole})
    assert len(whole) > 2
    narrowed = viewer.get(
        "/dashboard/revisions", params={"product": products[0], "diff_size": 500}
    ).text
    kept = rows_of(narrowed, "diff-table")
    assert {r[1] for r in kept} == {products[0]}
    assert len(kept) == sum(1 for r in whole if r[1] == products[0])
    one = whole[0][0]
    theirs = viewer.get("/dashboard/revisions", params={"participant": one.lower()}).text
    assert {r[0] for r in rows_of(theirs, "diff-table")} == {one}
    listed = csv_rows(viewer.get(download_link(theirs, "who gained and who lost", "CSV")).text)
    assert {r["Participant"] for r in listed} == {one}
    # the filter form keeps the revisions compared
    older = viewer.get("/dashboard/revisions", params={"from": 0, "to": 1}).text
    form = older.split('id="diff-filters"', 1)[1].split("</form>", 1)[0]
    assert 'name="from" value="0"' in form
    assert 'name="to" value="1"' in form
