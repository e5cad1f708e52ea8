"""Load on the stock-on-hand endpoint, from a second process, over real HTTP on 127.0.0.1.

The service runs in its own process (uvicorn, one worker, as ``doseflow serve`` starts it)
on a temporary SQLite database seeded with a ledger of ``--nodes`` stores x ``--products``
products x ``--lots`` lots. This process sends requests *open loop*: at a fixed rate, each on
its own schedule whether or not earlier ones have answered, and a request's latency runs
from when it was due to be sent, so a slow server cannot hide its queue (no coordinated
omission).

Two measurements, each bounded in time and request count:

1. latency percentiles of ``GET /api/stock`` (a participant token: one country's nodes) at
   a fixed rate, next to ``GET /api/health`` (no token, no database) at the same rate as the
   baseline: the ratio is what token checking, scoping and the ledger query add;
2. the highest rate held: rates rise step by step until p99 reaches 50 ms, requests fail,
   or fewer than 95% of the due requests complete; the last step that passed is reported.

With ``--workers 1 2 4`` the ramp is repeated with the service started as ``doseflow serve
--workers N`` starts it (N uvicorn worker processes on one port), and the highest rate held
is reported for each N. With ``--postgres URL`` the ledger is seeded into a fresh schema of
that PostgreSQL database (dropped afterwards) instead of a temporary SQLite file.

Run: ``python benchmarks/service_load.py`` (about 30 s), or
``python benchmarks/service_load.py --postgres postgresql://postgres@127.0.0.1/test --workers
1 2 4`` (about a minute per worker count). Prints tables. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from doseflow.domain.events import ShipmentDispatched, ShipmentPlanned, ShipmentReceived
from doseflow.domain.lot import Lot
from doseflow.domain.network import Node, NodeKind
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from doseflow.store.service import issue_token

P99_LIMIT_MS = 50.0
COUNTRIES = ("KEN", "NGA", "GHA", "ETH", "UGA", "TZA", "MOZ", "ZMB", "MWI", "RWA")


@dataclass(frozen=True)
class LoadResult:
    """What one fixed-rate step measured (latencies in milliseconds)."""

    path: str
    rate: float
    due: int
    completed: int
    errors: int
    p50: float
    p90: float
    p99: float
    worst: float
    seconds: float

    @property
    def achieved(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0

    def held(self) -> bool:
        return self.errors == 0 and self.completed >= 0.95 * self.due and self.p99 < P99_LIMIT_MS


def seed(url: str, *, nodes: int, products: int, lots: int) -> str:
    """A ledger of ``nodes`` national and district stores in ten countries; returns a
    participant token for Kenya."""
    engine = open_database(url)
    ledger = LedgerStore(engine)
    stores = [
        Node(
            f"{COUNTRIES[i % len(COUNTRIES)]}-{i:03d}",
            f"store {i}",
            NodeKind.NATIONAL_STORE if i < len(COUNTRIES) else NodeKind.DISTRICT_STORE,
            country=COUNTRIES[i % len(COUNTRIES)],
        )
        for i in range(nodes)
    ]
    ledger.register_nodes([Node("SUP", "supplier", NodeKind.SUPPLIER), *stores])
    t0 = datetime(2021, 3, 1, tzinfo=UTC)
    events = []
    for n, store in enumerate(stores):
        for p in range(products):
            for k in range(lots):
                sid = f"S-{n}-{p}-{k}"
                lot = Lot(f"P{p}", f"L{p}-{k}", expiry=date(2021, 9, 1) + timedelta(days=30 * k))
                common = {"recorded_by": "bench", "shipment_id": sid}
                events += [
                    ShipmentPlanned(
                        event_id=f"p-{sid}",
                        occurred_at=t0,
                        origin="SUP",
                        destination=store.code,
                        product=lot.product,
                        quantity=1000,
                        **common,
                    ),
                    ShipmentDispatched(
                        event_id=f"d-{sid}",
                        occurred_at=t0 + timedelta(days=1),
                        origin="SUP",
                        destination=store.code,
                        lot=lot,
                        quantity=1000,
                        **common,
                    ),
                    ShipmentReceived(
                        event_id=f"r-{sid}",
                        occurred_at=t0 + timedelta(days=3),
                        node=store.code,
                        lot=lot,
                        quantity=1000,
                        **common,
                    ),
                ]
    ledger.append_events(events)
    token = issue_token(engine, role="participant", iso3="KEN").token
    engine.dispose()
    return token


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(url: str, workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    """``doseflow serve``'s app in a child process on 127.0.0.1 (``workers`` uvicorn worker
    processes behind one port); waits until it answers and every worker has started."""
    port = _free_port()
    env = {**os.environ, "DOSEFLOW_DB": url}
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "doseflow.service.app:app_from_environment",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        *(["--workers", str(workers)] if workers > 1 else []),
    ]
    process = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                if workers > 1:
                    _wait_for_workers(process.pid, workers, deadline)
                return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the service did not start")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _wait_for_workers(pid: int, workers: int, deadline: float) -> None:
    """The first worker to start answers the health check while the others are still
    importing; wait until all ``workers`` child processes exist and are idle (less than
    0.05 s of CPU in 0.5 s), so their start-up does not land in the first measurements.
    Reads /proc (Linux); elsewhere it waits 3 s per worker."""
    if not Path("/proc/self/stat").exists():
        time.sleep(3 * workers)
        return
    while time.monotonic() < deadline:
        children = _children(pid)
        if len(children) >= workers:
            try:
                before = [_cpu_seconds(c) for c in children]
                time.sleep(0.5)
                after = [_cpu_seconds(c) for c in children]
            except OSError:
                continue
            if all(b - a < 0.05 for a, b in zip(before, after, strict=True)):
                return
        else:
            time.sleep(0.2)


async def _measure(
    base: str, path: str, headers: dict[str, str], rate: float, seconds: float, cap: int
) -> LoadResult:
    due = max(1, min(cap, int(rate * seconds)))
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=5) as c:
        await c.get("/api/health")  # open a connection before the clock starts
        start = time.perf_counter()

        async def one(i: int) -> None:
            nonlocal errors
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                response = await c.get(path)
                if response.status_code != 200:
                    errors += 1
                    return
            except httpx.HTTPError:
                errors += 1
                return
            latencies.append((time.perf_counter() - scheduled) * 1000)

        await asyncio.gather(*(one(i) for i in range(due)))
        elapsed = time.perf_counter() - start
    values = np.array(latencies) if latencies else np.array([float("inf")])
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return LoadResult(
        path,
        rate,
        due,
        len(latencies),
        errors,
        float(p50),
        float(p90),
        float(p99),
        float(values.max()),
        elapsed,
    )


def measure(
    base: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    rate: float,
    seconds: float,
    max_requests: int = 5000,
) -> LoadResult:
    """Send ``GET path`` at ``rate`` per second for ``seconds`` (at most ``max_requests``)."""
    return asyncio.run(_measure(base, path, headers or {}, rate, seconds, max_requests))


def highest_rate_held(
    base: str, path: str, headers: dict[str, str], rates: Sequence[float], seconds: float
) -> tuple[LoadResult | None, list[LoadResult]]:
    """Step through ``rates`` until one fails (p99 >= 50 ms, errors, or < 95% done) twice in
    a row: one retry, because the machine is shared and a single burst of someone else's
    work can spoil a step."""
    steps: list[LoadResult] = []
    best: LoadResult | None = None
    for rate in rates:
        result = measure(base, path, headers=headers, rate=rate, seconds=seconds)
        steps.append(result)
        if not result.held():
            result = measure(base, path, headers=headers, rate=rate, seconds=seconds)
            steps.append(result)
            if not result.held():
                break
        best = result
    return best, steps


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """A fresh schema in the PostgreSQL database at ``url``; yields a URL whose connections
    use it, and drops it afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    base = make_url(url)
    if base.drivername in ("postgresql", "postgres"):
        base = base.set(drivername="postgresql+psycopg")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        scoped = base.update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def database(postgres: str | None) -> Iterator[str]:
    """The URL to seed and serve: a fresh PostgreSQL schema, or a temporary SQLite file."""
    if postgres:
        with postgres_schema(postgres) as url:
            yield url
    else:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'load.sqlite'}"


def _row(label: str, r: LoadResult) -> str:
    verdict = "held" if r.held() else "NOT held"
    return (
        f"{label:<26}{r.rate:>7.0f}{r.achieved:>9.1f}{r.completed:>7}{r.errors:>5}"
        f"{r.p50:>8.1f}{r.p90:>8.1f}{r.p99:>8.1f}{r.worst:>8.1f}  {verdict}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--products", type=int, default=5)
    parser.add_argument("--lots", type=int, default=4)
    parser.add_argument("--rate", type=float, default=50.0, help="the fixed rate (req/s)")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each step")
    parser.add_argument(
        "--rates",
        type=str,
        default="20,30,40,50,60,80,100,130,160,200,300",
        help="the steps of the ramp (req/s)",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="seed and serve a fresh schema of this PostgreSQL database instead of SQLite",
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1],
        help="uvicorn worker processes: one ramp per count (e.g. 1 2 4)",
    )
    args = parser.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",")]
    held_by_workers: dict[int, tuple[LoadResult | None, list[LoadResult]]] = {}
    loads: dict[int, tuple[float, float]] = {}  # load average before and after each ramp
    with database(args.postgres) as url:
        token = seed(url, nodes=args.nodes, products=args.products, lots=args.lots)
        auth = {"Authorization": f"Bearer {token}"}
        for workers in args.workers:
            process, base = start_server(url, workers)
            try:
                stock = httpx.get(f"{base}/api/stock", headers=auth).json()
                # warm up every worker process (each opens its own connections)
                measure(base, "/api/stock", headers=auth, rate=20 * workers, seconds=2)
                if workers == args.workers[0]:
                    baseline = measure(base, "/api/health", rate=args.rate, seconds=args.seconds)
                    fixed = measure(
                        base, "/api/stock", headers=auth, rate=args.rate, seconds=args.seconds
                    )
                load_before = os.getloadavg()[0]
                held_by_workers[workers] = highest_rate_held(
                    base, "/api/stock", auth, rates, args.seconds
                )
                loads[workers] = (load_before, os.getloadavg()[0])
            finally:
                process.terminate()
                process.wait(timeout=30)
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"ledger on {backend}: {args.nodes} stores x {args.products} products x {args.lots} "
        f"lots; the participant's stock answer has {len(stock)} lines"
    )
    print(
        f"{'request':<26}{'rate':>7}{'achieved':>9}{'done':>7}{'err':>5}"
        f"{'p50 ms':>8}{'p90 ms':>8}{'p99 ms':>8}{'max ms':>8}"
    )
    print(f"({args.workers[0]} worker{'s' if args.workers[0] > 1 else ''})")
    print(_row("GET /api/health (base)", baseline))
    print(_row("GET /api/stock", fixed))
    print(
        f"p50 ratio stock / health: {fixed.p50 / baseline.p50:.1f}x; "
        f"p99 ratio: {fixed.p99 / baseline.p99:.1f}x"
    )
    for workers, (_best, steps) in held_by_workers.items():
        before, after = loads[workers]
        print(
            f"ramp on GET /api/stock with {workers} worker(s) (p99 under 50 ms; "
            f"load average {before:.1f} before, {after:.1f} after):"
        )
        for step in steps:
            print(_row("  step", step))
    print(f"highest rate held with p99 < {P99_LIMIT_MS:.0f} ms:")
    for workers, (best, _steps) in held_by_workers.items():
        held = f"{best.rate:.0f} req/s (p99 {best.p99:.1f} ms)" if best else "none"
        print(f"  {workers} worker(s): {held}")


if __name__ == "__main__":
    main()
