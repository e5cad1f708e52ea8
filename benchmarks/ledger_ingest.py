"""Ledger benchmark: ingest events through the batch API, then query stock on hand.

A national network of ``facilities`` stores x ``products`` (3,300 x 50 by default, the
scale at which OpenLMIS took 33-50 s for a stock summary). Each (facility, product) gets a
shipment dispatched by the supplier and received, then administrations over the year, in
time order, until ``events`` events exist; a slice of the administrations is recorded
late (back-dated), which the ledger must check from their date on.

Baseline, in the same run: one ``INSERT`` per event into a plain movements table, and a
``SUM`` over the whole table per query (no projection, no index). When ``baseline_events``
is smaller than ``events`` the baseline ingest rate is measured on that sample and the
figures say so.

    python benchmarks/ledger_ingest.py [--events 1000000] [--db /tmp/ledger-bench.sqlite]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

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

START = datetime(2021, 3, 1, tzinfo=UTC)
SUPPLIER = "SUPPLIER"


@dataclass(frozen=True)
class Figures:
    events: int
    ingest_seconds: float
    events_per_second: float
    soh_ms: float  # one node + product, now
    soh_at_date_ms: float  # one node + product, at a past date
    summary_seconds: float  # every node x product
    baseline_events: int
    baseline_events_per_second: float
    baseline_soh_ms: float
    baseline_summary_seconds: float


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


def _ms(fn: object, repeat: int = 50) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def run_doseflow(
    url: str, events: list[LedgerEvent], facilities: int, batch: int = 100_000
) -> tuple[float, float, float, float]:
    store = LedgerStore(open_database(url))
    store.register_nodes(network(facilities))
    t0 = time.perf_counter()
    for i in range(0, len(events), batch):
        store.append_events(events[i : i + batch])
    ingest = time.perf_counter() - t0
    rng = random.Random(7)
    probes = [(facility(rng.randrange(facilities)), f"P{rng.randrange(50):02d}") for _ in range(50)]
    it = iter(probes * 10)
    soh = _ms(lambda: store.stock_total(*next(it)))
    it2 = iter(probes * 10)
    soh_at = _ms(lambda: store.stock_total(*next(it2), at=date(2021, 6, 30)))
    t1 = time.perf_counter()
    summary = store.stock_summary()
    summary_s = time.perf_counter() - t1
    assert summary, "the summary is empty"
    store.engine.dispose()
    return ingest, soh, soh_at, summary_s


def run_baseline(
    path: Path, events: list[LedgerEvent], facilities: int
) -> tuple[float, float, float]:
    """One INSERT per event (each movement as signed rows), SUM over the table per query."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(
        "CREATE TABLE moves (event_id TEXT, node TEXT, product TEXT, lot TEXT, at INTEGER, delta INTEGER)"
    )
    t0 = time.perf_counter()
    for e in events:
        at = int(e.occurred_at.timestamp())
        lot = e.lot  # type: ignore[attr-defined]
        if isinstance(e, ShipmentReceived):
            con.execute(
                "INSERT INTO moves VALUES (?, ?, ?, ?, ?, ?)",
                (e.event_id, e.node, lot.product, lot.number, at, e.quantity),
            )
        elif isinstance(e, Administration):
            con.execute(
                "INSERT INTO moves VALUES (?, ?, ?, ?, ?, ?)",
                (e.event_id, e.node, lot.product, lot.number, at, -e.quantity),
            )
        else:
            con.execute(
                "INSERT INTO moves VALUES (?, ?, ?, ?, ?, ?)",
                (e.event_id, SUPPLIER, lot.product, lot.number, at, 0),
            )
    con.commit()
    ingest = time.perf_counter() - t0
    rng = random.Random(7)
    probes = iter(
        [(facility(rng.randrange(facilities)), f"P{rng.randrange(50):02d}") for _ in range(5)] * 2
    )
    soh = _ms(
        lambda: con.execute(
            "SELECT SUM(delta) FROM moves WHERE node = ? AND product = ?", next(probes)
        ).fetchone(),
        repeat=5,
    )
    t1 = time.perf_counter()
    con.execute("SELECT node, product, SUM(delta) FROM moves GROUP BY node, product").fetchall()
    summary = time.perf_counter() - t1
    con.close()
    return ingest, soh, summary


def run(
    events: int = 1_000_000,
    facilities: int = 3300,
    products: int = 50,
    baseline_events: int | None = None,
    workdir: Path | None = None,
) -> Figures:
    """Both sides of the benchmark; returns the figures (used by the smoke test)."""
    work = workdir or Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    evs = list(generate(events, facilities, products))
    ingest, soh, soh_at, summary = run_doseflow(
        f"sqlite:///{work / 'doseflow.sqlite'}", evs, facilities
    )
    sample = evs if baseline_events is None else evs[:baseline_events]
    b_ingest, b_soh, b_summary = (
        run_baseline(work / "baseline.sqlite", evs, facilities)
        if baseline_events is None
        else (0.0, 0.0, 0.0)
    )
    if baseline_events is not None:
        # ingest rate from a sample; the queries run on the full table
        b_ingest_sample, _, _ = run_baseline(work / "baseline-sample.sqlite", sample, facilities)
        _, b_soh, b_summary = run_baseline_queries_only(work / "baseline.sqlite", evs, facilities)
        b_ingest = b_ingest_sample * len(evs) / len(sample)
    return Figures(
        events=len(evs),
        ingest_seconds=ingest,
        events_per_second=len(evs) / ingest,
        soh_ms=soh,
        soh_at_date_ms=soh_at,
        summary_seconds=summary,
        baseline_events=len(sample),
        baseline_events_per_second=len(evs) / b_ingest if b_ingest else 0.0,
        baseline_soh_ms=b_soh,
        baseline_summary_seconds=b_summary,
    )


def run_baseline_queries_only(
    path: Path, events: list[LedgerEvent], facilities: int
) -> tuple[float, float, float]:
    """The baseline table loaded in bulk (not timed), then its queries timed."""
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE moves (event_id TEXT, node TEXT, product TEXT, lot TEXT, at INTEGER, delta INTEGER)"
    )
    rows = []
    for e in events:
        lot = e.lot  # type: ignore[attr-defined]
        sign = 1 if isinstance(e, ShipmentReceived) else -1 if isinstance(e, Administration) else 0
        node = getattr(e, "node", SUPPLIER)
        rows.append(
            (
                e.event_id,
                node,
                lot.product,
                lot.number,
                int(e.occurred_at.timestamp()),
                sign * e.quantity,
            )
        )  # type: ignore[attr-defined]
    con.executemany("INSERT INTO moves VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    rng = random.Random(7)
    probes = iter(
        [(facility(rng.randrange(facilities)), f"P{rng.randrange(50):02d}") for _ in range(5)] * 2
    )
    soh = _ms(
        lambda: con.execute(
            "SELECT SUM(delta) FROM moves WHERE node = ? AND product = ?", next(probes)
        ).fetchone(),
        repeat=5,
    )
    t1 = time.perf_counter()
    con.execute("SELECT node, product, SUM(delta) FROM moves GROUP BY node, product").fetchall()
    summary = time.perf_counter() - t1
    con.close()
    return 0.0, soh, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--facilities", type=int, default=3300)
    parser.add_argument("--products", type=int, default=50)
    parser.add_argument(
        "--baseline-events",
        type=int,
        default=None,
        help="measure the baseline ingest on this many events and extrapolate",
    )
    args = parser.parse_args()
    f = run(args.events, args.facilities, args.products, args.baseline_events)
    note = (
        ""
        if f.baseline_events == f.events
        else f" (ingest measured on {f.baseline_events:,} events, extrapolated)"
    )
    print(
        f"Ledger ingest and stock queries, {f.events:,} events, {args.facilities:,} facilities x {args.products} products, SQLite"
    )
    print(f"{'measure':<44}{'doseflow':>14}{'baseline':>14}{'ratio':>10}")
    rows = [
        (
            "ingest (events/s)",
            f.events_per_second,
            f.baseline_events_per_second,
            f.events_per_second / f.baseline_events_per_second
            if f.baseline_events_per_second
            else float("nan"),
        ),
        (
            "stock on hand, 1 node x 1 product (ms)",
            f.soh_ms,
            f.baseline_soh_ms,
            f.baseline_soh_ms / f.soh_ms,
        ),
        (
            "stock on hand at a past date (ms)",
            f.soh_at_date_ms,
            f.baseline_soh_ms,
            f.baseline_soh_ms / f.soh_at_date_ms,
        ),
        (
            "summary, every node x product (s)",
            f.summary_seconds,
            f.baseline_summary_seconds,
            f.baseline_summary_seconds / f.summary_seconds,
        ),
    ]
    for name, ours, theirs, ratio in rows:
        print(f"{name:<44}{ours:>14,.3f}{theirs:>14,.3f}{ratio:>9.1f}x")
    print(f"doseflow ingest: {f.ingest_seconds:.1f} s{note}")


if __name__ == "__main__":
    main()
