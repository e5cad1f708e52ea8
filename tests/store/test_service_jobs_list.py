"""Listing jobs for the dashboard (issue 15): filtered by kind, status and submitter,
sorted and cut by the database, counted the same way, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from doseflow.store.database import open_database
from doseflow.store.service_jobs import JobRow, JobStatus, count_jobs, list_jobs


def test_jobs_are_filtered_sorted_and_cut_by_the_database(db_url: str) -> None:
    engine = open_database(db_url)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    people = ("carol", "alice", "bob", "alice", "dave")
    with Session(engine) as session:
        for i, who in enumerate(people):
            session.add(
                JobRow(
                    id=f"job-{i}",
                    kind="impact" if i != 2 else "other",
                    status="failed" if i == 1 else "succeeded",
                    submitted_by=who,
                    submitted_at=t0 + timedelta(hours=i),
                    params=json.dumps({}),
                )
            )
        session.commit()
    newest = list_jobs(engine, kind="impact")
    assert [j.id for j in newest] == ["job-4", "job-3", "job-1", "job-0"]
    assert [j.id for j in list_jobs(engine, kind="impact", limit=2, offset=1)] == [
        "job-3",
        "job-1",
    ]
    by = list_jobs(engine, kind="impact", sort="by", descending=False, limit=None)
    assert [j.submitted_by for j in by] == ["alice", "alice", "carol", "dave"]
    assert [j.id for j in by[:2]] == ["job-1", "job-3"]  # then by submission
    failed = list_jobs(engine, kind="impact", status=JobStatus.FAILED)
    assert [j.id for j in failed] == ["job-1"]
    assert count_jobs(engine, kind="impact", status=JobStatus.SUCCEEDED) == 3
    assert count_jobs(engine, kind="impact", submitted_by="alice") == 2
    assert [j.id for j in list_jobs(engine, submitted_by="bob")] == ["job-2"]
    engine.dispose()
