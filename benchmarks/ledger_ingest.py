"""Ledger benchmark: ingest events through the batch API, then query stock on hand.

A national network of ``facilities`` stores x ``products`` (3,300 x 50 by default, the
scale at which OpenLMIS took 33-50 s for a stock summary). Each (facility, product) gets a
shipment dispatched by the supplier and received, then administrations over the year, in
time order, until ``events`` events exist; a slice of the administrations is recorded
late (back-dated), which the ledger must check from their date on.

The events are ingested twice, into two fresh databases: as one batch (what ``doseflow
ledger import`` does with a file: all or nothing) and as batches of 100,000 (a feed arriving
in parts, each batch checked against everything before it). Queries are timed on the first.

Baseline, in the same run: one ``INSERT`` per event into a plain movements table, and a
``SUM`` over the whole table per query (no projection, no index). When ``baseline_events``
is smaller than ``events`` the baseline ingest rate is measured on that sample and the
figures say so.

    python benchmarks/ledger_ingest.py [--events 1000000] [--batch 100000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import itertools
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from doseflow.domain.events import (
    Administration,
    LedgerEvent,
    ShipmentDispatched,
    ShipmentReceived,
)
from doseflow.domain.lot import Lot
from doseflow.domain.network import Node, NodeKind
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from doseflow.store.ledger_sql import sqlite_file
from doseflow.store.sqlite_writer import existing_writer
from doseflow.store.wal_checkpoint import checkpointer_for

START = datetime(2021, 3, 1, tzinfo=UTC)
SUPPLIER = "SUPPLIER"


def facility(i: int) -> str:
    return f"F{i:05d}"


def generate(events: int, facilities: int, products: int, seed: int = 1) -> Iterator[LedgerEvent]:
    """``events`` events in time order (plus 1 % recorded late, back-dated by a few days)."""
    rng = random.Random(seed)
    lots = [
        [
            Lot(f"P{p:02d}", f"L{p:02d}{k}", date(2022, 6, 1) + timedelta(days=30 * k))
            for k in range(2)
        ]
        for p in range(products)
    ]
    pairs = [(f, p) for f in range(facilities) for p in range(products)]
    per_pair = max(3, events // len(pairs))
    administrations = per_pair - 2
    made = 0
    # receipts in the first 30 days
    stock: dict[tuple[int, int], int] = {}
    for n, (f, p) in enumerate(pairs):
        if made + 2 > events:
            return
        lot = lots[p][n % 2]
        when = START + timedelta(seconds=n * 30 * 86_400 // len(pairs))
        doses = 100 * administrations + 500
        sid = f"SH{n}"
        yield ShipmentDispatched(
            event_id=f"d{n}",
            occurred_at=when,
            recorded_by="bench",
            shipment_id=sid,
            origin=SUPPLIER,
            destination=facility(f),
            lot=lot,
            quantity=doses,
        )
        yield ShipmentReceived(
            event_id=f"r{n}",
            occurred_at=when + timedelta(hours=1),
            recorded_by="bench",
            shipment_id=sid,
            node=facility(f),
            lot=lot,
            quantity=doses,
        )
        stock[(f, p)] = doses
        made += 2
    # administrations over the rest of the year, in time order
    remaining = events - made
    span = 300 * 86_400
    for k in range(remaining):
        f, p = pairs[k % len(pairs)]
        lot = lots[p][(f * products + p) % 2]
        when = START + timedelta(days=31, seconds=k * span // max(remaining, 1))
        if rng.random() < 0.01:
            when -= timedelta(days=3)  # recorded late
        yield Administration(
            event_id=f"a{k}",
            occurred_at=when,
            recorded_by="bench",
            node=facility(f),
            lot=lot,
            quantity=rng.randint(1, 100),
        )


def network(facilities: int) -> list[Node]:
    return [Node(SUPPLIER, "Supplier", NodeKind.SUPPLIER)] + [
        Node(facility(i), f"Facility {i}", NodeKind.SERVICE_POINT, country="XXX")
        for i in range(facilities)
    ]


def _ms(fn: Callable[[], object], repeat: int = 50) -> float:
    """Median milliseconds of ``fn`` over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def _probes(facilities: int, products: int, n: int) -> Iterator[tuple[str, str]]:
    rng = random.Random(7)
    pairs = [
        (facility(rng.randrange(facilities)), f"P{rng.randrange(products):02d}") for _ in range(n)
    ]
    return itertools.cycle(pairs)


def ingest(url: str, events: list[LedgerEvent], facilities: int, batch: int) -> dict[str, float]:
    """Ingest through ``LedgerStore.append_events`` in batches of ``batch``. Wall seconds
    until the last append returned (everything committed: in the database's log) and until
    the checkpointer thread has also copied the log into the database file; CPU seconds of
    this process (checkpointer included) and of its SQLite writer process."""
    store = LedgerStore(open_database(url))
    store.register_nodes(network(facilities))
    database = sqlite_file(store.engine)  # None on PostgreSQL: no writer, no checkpointer
    wall, cpu, child = time.perf_counter(), time.process_time(), _writer_cpu(database)
    for i in range(0, len(events), batch):
        store.append_events(events[i : i + batch])
    committed = time.perf_counter() - wall
    if database is not None:
        checkpointer_for(database).wait_idle()
    out = {
        "ingest": committed,
        "settled": time.perf_counter() - wall,
        "ingest_cpu": time.process_time() - cpu + _writer_cpu(database) - child,
    }
    store.engine.dispose()
    return out


@contextmanager
def fresh_database(path: Path, postgres: str | None) -> Iterator[str]:
    """The URL of a new SQLite file at ``path``, or of a new schema in the PostgreSQL
    database ``postgres`` (dropped afterwards)."""
    if postgres is None:
        yield f"sqlite:///{path}"
        return
    schema = f"ledger_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        joiner = "&" if "?" in postgres else "?"
        yield f"{postgres}{joiner}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _writer_cpu(database: str | None) -> float:
    """CPU seconds of the SQLite database's writer process so far (it writes large batches)."""
    writer = existing_writer(database) if database is not None else None
    return writer.cpu_seconds() if writer is not None else 0.0


def run_doseflow(
    url: str, events: list[LedgerEvent], facilities: int, products: int, batch: int
) -> dict[str, float]:
    """Ingest (see :func:`ingest`), then time the queries."""
    out = ingest(url, events, facilities, batch)
    store = LedgerStore(open_database(url))
    probe = _probes(facilities, products, 50)
    out["soh_ms"] = _ms(lambda: store.stock_total(*next(probe)))
    out["soh_at_ms"] = _ms(lambda: store.stock_total(*next(probe), at=date(2021, 6, 30)))
    t0 = time.perf_counter()
    summary = store.stock_summary()
    out["summary"] = time.perf_counter() - t0
    out["pairs"] = len(summary)
    store.engine.dispose()
    return out


def _move(e: LedgerEvent) -> tuple[str, str, str, str, int, int]:
    lot: Lot = e.lot  # type: ignore[attr-defined]
    quantity: int = e.quantity  # type: ignore[attr-defined]
    if isinstance(e, ShipmentReceived):
        node, delta = e.node, quantity
    elif isinstance(e, Administration):
        node, delta = e.node, -quantity
    else:
        node, delta = SUPPLIER, 0
    return (e.event_id, node, lot.product, lot.number, int(e.occurred_at.timestamp()), delta)


def run_baseline(
    path: Path, events: list[LedgerEvent], sample: int, facilities: int, products: int
) -> dict[str, float]:
    """One INSERT per event (timed on the first ``sample`` events), the rest loaded untimed,
    then a SUM over the whole table per query."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(
        "CREATE TABLE moves (event_id TEXT, node TEXT, product TEXT, lot TEXT, "
        "at INTEGER, delta INTEGER)"
    )
    insert = "INSERT INTO moves VALUES (?, ?, ?, ?, ?, ?)"
    wall, cpu = time.perf_counter(), time.process_time()
    for e in events[:sample]:
        con.execute(insert, _move(e))
    con.commit()
    out = {"ingest": time.perf_counter() - wall, "ingest_cpu": time.process_time() - cpu}
    con.executemany(insert, (_move(e) for e in events[sample:]))
    con.commit()
    probe = _probes(facilities, products, 5)
    query = "SELECT SUM(delta) FROM moves WHERE node = ? AND product = ?"
    out["soh_ms"] = _ms(lambda: con.execute(query, next(probe)).fetchone(), repeat=5)
    t0 = time.perf_counter()
    con.execute("SELECT node, product, SUM(delta) FROM moves GROUP BY node, product").fetchall()
    out["summary"] = time.perf_counter() - t0
    con.close()
    return out


@dataclass(frozen=True)
class Figures:
    events: int
    doseflow: dict[str, float]  # one batch, and the queries
    batched: dict[str, float]  # batches of ``batch``
    batch: int
    baseline: dict[str, float]
    baseline_sample: int

    @property
    def rate(self) -> float:
        return self.events / self.doseflow["ingest"]

    @property
    def rate_cpu(self) -> float:
        return self.events / self.doseflow["ingest_cpu"]

    @property
    def batched_rate(self) -> float:
        return self.events / self.batched["ingest"]

    @property
    def batched_rate_cpu(self) -> float:
        return self.events / self.batched["ingest_cpu"]

    @property
    def baseline_rate(self) -> float:
        return self.baseline_sample / self.baseline["ingest"]

    @property
    def baseline_rate_cpu(self) -> float:
        return self.baseline_sample / self.baseline["ingest_cpu"]


def run(
    events: int = 1_000_000,
    facilities: int = 3300,
    products: int = 50,
    baseline_events: int | None = None,
    workdir: Path | None = None,
    batch: int = 100_000,
    postgres: str | None = None,
) -> Figures:
    """Both sides of the benchmark (the smoke test runs this on a small size). doseflow
    writes to fresh SQLite files, or with ``postgres`` (a URL) to fresh schemas there."""
    work = workdir or Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    evs = list(generate(events, facilities, products))
    with fresh_database(work / "doseflow.sqlite", postgres) as url:
        ours = run_doseflow(url, evs, facilities, products, batch=len(evs))
    with fresh_database(work / "batched.sqlite", postgres) as url:
        batched = ingest(url, evs, facilities, batch)
    sample = len(evs) if baseline_events is None else min(baseline_events, len(evs))
    theirs = run_baseline(work / "baseline.sqlite", evs, sample, facilities, products)
    return Figures(len(evs), ours, batched, batch, theirs, sample)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--facilities", type=int, default=3300)
    parser.add_argument("--products", type=int, default=50)
    parser.add_argument(
        "--baseline-events",
        type=int,
        default=None,
        help="time the baseline ingest on this many events only (rate extrapolated)",
    )
    parser.add_argument("--batch", type=int, default=100_000, help="size of the batches")
    parser.add_argument(
        "--postgres",
        default=None,
        help="doseflow writes to new schemas of this PostgreSQL database instead of SQLite "
        "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test); the baseline stays SQLite",
    )
    args = parser.parse_args()
    f = run(
        args.events,
        args.facilities,
        args.products,
        args.baseline_events,
        batch=args.batch,
        postgres=args.postgres,
    )
    d, b = f.doseflow, f.baseline
    print(
        f"Ledger: {f.events:,} events, {args.facilities:,} facilities x {args.products} "
        f"products ({int(d['pairs']):,} node x product pairs with stock), "
        f"{'PostgreSQL' if args.postgres else 'SQLite'} (baseline: SQLite)"
    )
    print(f"{'measure':<56}{'doseflow':>14}{'baseline':>14}{'ratio':>9}")
    one, parts = f"one batch of {f.events:,}", f"batches of {f.batch:,}"
    rows = [
        (f"{one}, events/s (committed)", f.rate, f.baseline_rate, f.rate / f.baseline_rate),
        (
            f"{one}, events/s (and checkpointed)",
            f.events / d["settled"],
            f.baseline_rate,
            f.events / d["settled"] / f.baseline_rate,
        ),
        (
            f"{one}, events/s of CPU",
            f.rate_cpu,
            f.baseline_rate_cpu,
            f.rate_cpu / f.baseline_rate_cpu,
        ),
        (
            f"{parts}, events/s (committed)",
            f.batched_rate,
            f.baseline_rate,
            f.batched_rate / f.baseline_rate,
        ),
        (
            f"{parts}, events/s (and checkpointed)",
            f.events / f.batched["settled"],
            f.baseline_rate,
            f.events / f.batched["settled"] / f.baseline_rate,
        ),
        (
            f"{parts}, events/s of CPU",
            f.batched_rate_cpu,
            f.baseline_rate_cpu,
            f.batched_rate_cpu / f.baseline_rate_cpu,
        ),
        (
            "stock on hand, 1 node x 1 product, now (ms)",
            d["soh_ms"],
            b["soh_ms"],
            b["soh_ms"] / d["soh_ms"],
        ),
        (
            "stock on hand, 1 node x 1 product, past date (ms)",
            d["soh_at_ms"],
            b["soh_ms"],
            b["soh_ms"] / d["soh_at_ms"],
        ),
        (
            "stock summary, every node x product (s)",
            d["summary"],
            b["summary"],
            b["summary"] / d["summary"],
        ),
    ]
    for name, ours, theirs, ratio in rows:
        print(f"{name:<56}{ours:>14,.3f}{theirs:>14,.3f}{ratio:>8.1f}x")
    note = (
        ""
        if f.baseline_sample == f.events
        else (f"; baseline ingest timed on {f.baseline_sample:,} events, rate extrapolated")
    )
    print(
        f"doseflow ingest {d['ingest']:.1f} s to commit, {d['settled']:.1f} s with the "
        f"checkpoint, {d['ingest_cpu']:.1f} s CPU (one batch); {f.batched['ingest']:.1f} s, "
        f"{f.batched['settled']:.1f} s, {f.batched['ingest_cpu']:.1f} s CPU (batches); "
        f"ratios > 1 favour doseflow (ingest: doseflow also checks, projects and indexes){note}"
    )


if __name__ == "__main__":
    main()
