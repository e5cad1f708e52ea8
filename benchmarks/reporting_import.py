"""Reporting import: 1 M data values through the batch path vs a one-row-at-a-time baseline.

Both paths validate every value the same way (``validate_submission``, into a per-value
import summary); they differ in how the accepted values reach the database:

* batch path: :func:`doseflow.store.reporting.submit`, i.e. one ``INSERT ... ON CONFLICT DO
  UPDATE`` statement executed for many rows at a time (``executemany``, 20,000 rows a call);
* baseline: per value, a ``SELECT`` of the stored row then an ``INSERT`` or ``UPDATE``, each
  its own statement, all in one transaction (what an ORM-style loop does).

The baseline runs on a sample (default 20,000 values) and its rate is extrapolated to the
full size; the report says so. On SQLite two more rows give the strongest fair alternative
and the machine's limit, in the same run and on all the values: the same validation, then
one plain ``sqlite3`` ``executemany`` of ``INSERT ... ON CONFLICT DO UPDATE`` into the same
(migrated, indexed) table; and that ``executemany`` alone, which is as fast as this
machine writes these rows through SQLite. Also measured: re-submitting the same 1 M values (all
``ignored``: the idempotent path). Run: ``python benchmarks/reporting_import.py``
(``--values N``, ``--sample N``, ``--db-url postgresql://...``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Connection, Engine, and_, insert, select, update

from doseflow.reporting import (
    DEFAULT_SCHEMA,
    Hierarchy,
    OrgUnit,
    SubmissionContext,
    SubmittedValue,
    build_hierarchy,
    validate_submission,
)
from doseflow.reporting.values import DataValue
from doseflow.store import reporting as store
from doseflow.store import reporting_tables as t
from doseflow.store.database import open_database

AS_OF = date(2022, 3, 1)
SURVEILLANCE = (
    "people_tested",
    "positives",
    "ili_cases",
    "sari_cases",
    "health_workers_tested",
    "deaths",
)


def make_values(n: int) -> tuple[Hierarchy, list[SubmittedValue]]:
    """``n`` distinct values: weekly surveillance and administration (20 categories) of 2021
    for as many regions as needed (40 participants)."""
    admin = DEFAULT_SCHEMA.elements["doses_administered"]
    admin_keys = DEFAULT_SCHEMA.category_keys(admin)
    weeks = [f"2021W{w}" for w in range(1, 53)]
    per_unit = len(weeks) * (len(SURVEILLANCE) + len(admin_keys))
    regions = -(-n // per_unit)
    participants = [f"P{i:02d}" for i in range(40)]
    units = [OrgUnit(p, p, p) for p in participants]
    units += [
        OrgUnit(
            f"{participants[r % 40]}-R{r:04d}",
            f"Region {r}",
            participants[r % 40],
            participants[r % 40],
        )
        for r in range(regions)
    ]
    hierarchy = build_hierarchy(units)
    values: list[SubmittedValue] = []
    for unit in units[40:]:
        for i, week in enumerate(weeks):
            for j, element in enumerate(SURVEILLANCE):
                values.append(
                    SubmittedValue(element, week, unit.code, str(100 + (i * 7 + j) % 900))
                )
            for j, key in enumerate(admin_keys):
                values.append(
                    SubmittedValue("doses_administered", week, unit.code, (i * 13 + j) % 5000, key)
                )
            if len(values) >= n:
                return hierarchy, values[:n]
    return hierarchy, values[:n]


def row_by_row(conn: Connection, writes: list[DataValue]) -> None:
    """The baseline write path: look the row up, then insert or update it, one at a time."""
    dv = t.data_values
    for v in writes:
        key = and_(
            dv.c.participant == v.participant,
            dv.c.org_unit == v.org_unit,
            dv.c.period == v.period,
            dv.c.data_element == v.data_element,
            dv.c.category == v.category,
            dv.c.attribute == v.attribute,
        )
        found = conn.execute(select(dv.c.value).where(key)).first()
        if found is None:
            conn.execute(
                insert(dv).values(
                    participant=v.participant,
                    org_unit=v.org_unit,
                    period=v.period,
                    data_element=v.data_element,
                    category=v.category,
                    attribute=v.attribute,
                    value=v.value,
                    comment=v.comment,
                    period_start=date(2021, 1, 4),
                    stored_by=None,
                    created_at=0,
                    updated_at=0,
                )
            )
        elif found[0] != v.value:
            conn.execute(update(dv).where(key).values(value=v.value, updated_at=0))


@dataclass(frozen=True)
class Result:
    label: str
    values: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.values / self.seconds if self.seconds else float("inf")


def run_benchmark(n: int, sample: int, url: str) -> list[Result]:
    hierarchy, values = make_values(n)
    results: list[Result] = []
    engine: Engine = open_database(url)
    try:
        t0 = time.perf_counter()
        summary = store.submit(engine, values, hierarchy=hierarchy, as_of=AS_OF)
        results.append(
            Result("batch path: submit (validate + upsert)", n, time.perf_counter() - t0)
        )
        assert summary.counts["accepted"] == n, summary.counts
        t0 = time.perf_counter()
        again = store.submit(engine, values, hierarchy=hierarchy, as_of=AS_OF)
        results.append(Result("batch path: re-submit (all ignored)", n, time.perf_counter() - t0))
        assert again.counts["ignored"] == n, again.counts
    finally:
        engine.dispose()
    base_url = url.replace(".sqlite", "-baseline.sqlite") if url.startswith("sqlite") else url
    engine = open_database(base_url)
    try:
        part = values[:sample]
        with engine.begin() as conn:
            conn.execute(t.data_values.delete())
        t0 = time.perf_counter()
        ctx = SubmissionContext(DEFAULT_SCHEMA, hierarchy, AS_OF)
        checked = validate_submission(part, ctx)
        with engine.begin() as conn:
            row_by_row(conn, list(checked.writes))
        seconds = time.perf_counter() - t0
        results.append(
            Result(
                "baseline: one row at a time",
                len(part),
                seconds,
                f"sample of {len(part):,}; {n:,} extrapolated: {n / (len(part) / seconds):,.0f} s",
            )
        )
    finally:
        engine.dispose()
    return results


UPSERT_SQL = (
    "INSERT INTO report_data_values (participant, org_unit, period, data_element, category, "
    "attribute, value, comment, period_start, stored_by, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, 0) "
    "ON CONFLICT (participant, org_unit, period, data_element, category, attribute) "
    "DO UPDATE SET value = excluded.value, comment = excluded.comment, updated_at = 0"
)


def executemany_baselines(
    values: list[SubmittedValue], hierarchy: Hierarchy, path: Path
) -> list[Result]:
    """The strongest fair alternative (validate, then one ``executemany`` upsert on the
    plain driver) and the write limit (the ``executemany`` alone), on a fresh database."""
    import sqlite3

    engine = open_database(f"sqlite:///{path}")  # the same migrated table and key
    engine.dispose()
    t0 = time.perf_counter()
    checked = validate_submission(values, SubmissionContext(DEFAULT_SCHEMA, hierarchy, AS_OF))
    start = date(2021, 1, 4).isoformat()
    rows = [(*v.key, v.value, v.comment, start) for v in checked.writes]
    validated = time.perf_counter() - t0
    conn = sqlite3.connect(path)
    try:
        t1 = time.perf_counter()
        with conn:
            conn.executemany(UPSERT_SQL, rows)
        written = time.perf_counter() - t1
    finally:
        conn.close()
    n = len(values)
    return [
        Result("fair baseline: validate + executemany", n, validated + written),
        Result("machine limit: executemany alone", n, written, "no validation"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--db-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db_url or f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        results = run_benchmark(args.values, args.sample, url)
        batch, resubmit, baseline = results
        if url.startswith("sqlite"):
            hierarchy, values = make_values(args.values)
            results += executemany_baselines(values, hierarchy, Path(tmp) / "fair.sqlite")
    load = os.getloadavg()[0]
    print(
        f"Reporting import, {args.values:,} values, {url.split(':')[0]}, "
        f"{os.cpu_count()} cores, load average {load:.1f} at the end"
    )
    print(f"{'path':<42} {'values':>10} {'seconds':>9} {'values/s':>11}  note")
    for r in results:
        print(f"{r.label:<42} {r.values:>10,} {r.seconds:>9.2f} {r.rate:>11,.0f}  {r.note}")
    print(
        f"batch / baseline: {batch.rate / baseline.rate:.1f}x  (target >= 50,000 values/s: "
        f"{'met' if batch.rate >= 50_000 else 'NOT met'})"
    )
    print(f"re-submit / baseline: {resubmit.rate / baseline.rate:.1f}x")
    if len(results) == 5:
        fair, limit = results[3], results[4]
        print(
            f"batch / fair baseline (validate + executemany): {batch.rate / fair.rate:.2f}x; "
            f"batch at {batch.rate / limit.rate:.0%} of the machine's write limit "
            f"({limit.rate:,.0f} values/s)"
        )


if __name__ == "__main__":
    main()
