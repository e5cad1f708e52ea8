"""The Impact page's tables (the rules compared by the latest run, and the runs, listed by
the database) sort, filter and page on the server, keep their state in the address and
download every matching row as CSV and Excel (issue 15)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from doseflow.service.impact_job import KIND
from doseflow.store.service_jobs import JobRow
from tests.service.conftest import Service, make_service
from tests.service.dashboard_tables_check import check_table
from tests.service.test_dashboard_pages import browser_for
from tests.service.test_dashboard_tables import csv_rows, download_link, rows_of

RULES = ("equal-coverage", "population", "oldest-first", "most-affected", "workers-first")
PEOPLE = ("carol", "alice", "dave", "bob", "erin", "frank", "alice")


def number(text: str) -> int:
    return int(text.split("(")[0].replace(",", "").strip())


@pytest.fixture
def runs(fresh_sqlite: str) -> Iterator[Service]:
    """Seven finished runs (the fourth failed); the latest compares five rules."""
    for service in make_service(fresh_sqlite):
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        totals = [
            {"rule": rule, "doses": 1000 * (i + 1), "deaths": 50 - i, "deaths_averted": 7 * i + 3}
            for i, rule in enumerate(RULES)
        ]
        with Session(service.engine) as session:
            for i, who in enumerate(PEOPLE):
                failed = i == 3
                session.add(
                    JobRow(
                        id=f"job-{i:04d}-0000-0000-0000-000000000000",
                        kind=KIND,
                        status="failed" if failed else "succeeded",
                        submitted_by=who,
                        submitted_at=t0 + timedelta(hours=i),
                        finished_at=t0 + timedelta(hours=i, minutes=5),
                        params=json.dumps({"scenario": f"s{i}", "round": None}),
                        result=None if failed else json.dumps({"totals": totals}),
                        errors=json.dumps([{"code": "X", "message": "no"}]) if failed else None,
                    )
                )
            session.commit()
        yield service


def test_the_runs_table_is_sorted_filtered_and_paged_by_the_database(runs: Service) -> None:
    viewer = browser_for(runs, "viewer")
    page = viewer.get("/dashboard/impact").text
    # newest first unless the address says otherwise
    assert [r[1] for r in rows_of(page, "jobs-table")] == [f"s{i}" for i in range(6, -1, -1)]
    check_table(
        viewer,
        "/dashboard/impact",
        {},
        table_id="jobs-table",
        key="jobs",
        label="impact runs",
        column="By",
        cell=3,
    )
    failed = viewer.get("/dashboard/impact", params={"status": "failed"}).text
    assert [r[1] for r in rows_of(failed, "jobs-table")] == ["s3"]
    alice = viewer.get("/dashboard/impact", params={"by": "alice", "jobs_size": 1}).text
    assert [r[1] for r in rows_of(alice, "jobs-table")] == ["s6"]
    assert "Rows 1–1 of 2" in alice
    listed = csv_rows(viewer.get(download_link(alice, "impact runs", "CSV")).text)
    assert [r["Scenario"] for r in listed] == ["s6", "s1"]
    assert list(listed[0]) == ["Job", "Scenario", "Submitted", "By", "Status"]
    none = viewer.get("/dashboard/impact", params={"by": "nobody"}).text
    assert "No impact run matches." in none


def test_the_rules_compared_sort_page_and_download(runs: Service) -> None:
    viewer = browser_for(runs, "viewer")
    page = viewer.get("/dashboard/impact").text
    best = [r[0] for r in rows_of(page, "impact-table")]
    assert best == list(reversed(RULES))  # most deaths averted first
    check_table(
        viewer,
        "/dashboard/impact",
        {},
        table_id="impact-table",
        key="results",
        label="rules compared",
        column="Rule",
        cell=0,
    )
    check_table(
        viewer,
        "/dashboard/impact",
        {},
        table_id="impact-table",
        key="results",
        label="rules compared",
        column="Doses",
        cell=1,
        value=number,
    )
