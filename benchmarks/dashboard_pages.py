"""Dashboard pages (issue 15): how long each page takes on the server and how much a browser
downloads to show it the first time, on the demo database, next to baselines in the same run.

**Latency** is the median of ``--repeats`` warm GETs of the page (after two warm-up
requests), sent one after another over real HTTP to the service in its own process (uvicorn,
one worker, as ``doseflow serve`` starts it) on 127.0.0.1, signed in as an administrator,
gzip accepted as a browser does. Two baselines, each timed the same way in the same run:

1. **API**: the page's matching JSON endpoint (the same data through the API, same server,
   same token checks): page / API says what building the HTML adds to reading the data;
2. **static**: the page's own bytes served as a file by a second uvicorn process (Starlette's
   ``StaticFiles`` behind the same ``GZipMiddleware`` settings, nothing computed): the
   machine's floor for sending that many bytes; page / static says how far a page is from it.

**Transfer size**: the page's HTML plus every asset it loads (stylesheets, scripts, images),
compressed (gzip, as sent) and not; issue 15's budget is 500 KB compressed on first load.

Run: ``python benchmarks/dashboard_pages.py`` (builds the demo database with ``doseflow
demo`` in a temporary folder, about 30 s, then measures about a minute) or ``--db FILE`` to
use a copy of a demo database already built. Prints a table. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles

from doseflow.service.app import GZIP_MINIMUM_BYTES
from doseflow.store.allocation import AllocationStore
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from doseflow.store.service import Role, issue_token

sys.path.insert(0, str(Path(__file__).resolve().parent))
from service_load import _cpu_seconds, _free_port, start_server  # a module next to this one

#: Issue 15's budget for a page's first load, compressed.
BUDGET_BYTES = 500_000
STATIC_ENV = "DOSEFLOW_BENCH_STATIC"
GZIP = {"Accept-Encoding": "gzip"}
PLAIN = {"Accept-Encoding": "identity"}
_ASSET = re.compile(
    r'<(?:link[^>]*\brel="stylesheet"[^>]*\bhref|script[^>]*\bsrc|img[^>]*\bsrc)="(/[^"]+)"'
)


@dataclass(frozen=True)
class PageSpec:
    """A dashboard page and the API endpoint that returns its data."""

    name: str
    path: str
    api: str


@dataclass(frozen=True)
class Weight:
    """Bytes a first visit downloads: the HTML and its assets, as sent (gzip) and plain."""

    html_gzip: int
    html_plain: int
    assets_gzip: int
    assets_plain: int
    assets: tuple[str, ...]

    @property
    def total_gzip(self) -> int:
        return self.html_gzip + self.assets_gzip

    @property
    def total_plain(self) -> int:
        return self.html_plain + self.assets_plain


@dataclass(frozen=True)
class Timing:
    """Median wall time of the requests, and the server's CPU time per request (user +
    system of its process over the same requests: steadier than wall time on a busy
    machine, to the kernel's 10 ms tick over the whole run)."""

    median_ms: float
    cpu_ms: float


@dataclass(frozen=True)
class Row:
    spec: PageSpec
    weight: Weight
    page: Timing
    api: Timing
    static: Timing


def dashboard_pages(url: str) -> list[PageSpec]:
    """Every dashboard page with data of the database at ``url`` to show (its first scenario
    and last round, the first stock line's node and product for the stock card)."""
    engine = open_database(url)
    try:
        scenario = AllocationStore(engine).scenarios()[0].name
        last = AllocationStore(engine).rounds(scenario)[-1].number
        first = LedgerStore(engine).stock_on_hand()[0]
    finally:
        engine.dispose()
    card = f"node={first.node}&product={first.product}"
    s = f"/api/scenarios/{scenario}"
    return [
        PageSpec("overview", "/dashboard/", "/api/overview"),
        PageSpec("allocation", "/dashboard/allocation", f"{s}/lines?round={last}"),
        PageSpec("declines", "/dashboard/declines", f"{s}/declines"),
        PageSpec("revisions", "/dashboard/revisions", f"{s}/rounds/{last}/revisions"),
        PageSpec("shipments", "/dashboard/shipments", "/api/shipments"),
        PageSpec("stock", "/dashboard/stock", "/api/stock"),
        PageSpec("stock card", f"/dashboard/stock/card?{card}", f"/api/stock/card?{card}"),
        PageSpec(
            "stock count",
            f"/dashboard/stock/count?node={first.node}",
            f"/api/stock?node={first.node}",
        ),
        PageSpec("cold chain", "/dashboard/coldchain", "/api/coldchain/feasibility"),
        PageSpec("deployment", "/dashboard/deployment", "/api/deployment/examples/PRK"),
        PageSpec("reporting", "/dashboard/reporting", "/api/reports/compliance"),
        PageSpec(
            "report entry",
            "/dashboard/reporting/entry?org_unit=PRK",
            "/api/reports/values?iso3=PRK",
        ),
        PageSpec("impact", "/dashboard/impact", "/api/impact-runs"),
    ]


def administrator_token(url: str) -> str:
    engine = open_database(url)
    try:
        return issue_token(engine, role=Role.ADMINISTRATOR, iso3=None, user="benchmark").token
    finally:
        engine.dispose()


def sign_in(client: httpx.Client, token: str) -> None:
    """Sign ``client`` in to the dashboard as a browser does (form token, then the form)."""
    page = client.get("/dashboard/sign-in").text
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    if found is None:
        raise RuntimeError("the sign-in page has no form token")
    answer = client.post(
        "/dashboard/sign-in",
        data={"csrf": found.group(1), "token": token, "next": "/dashboard/"},
        follow_redirects=False,
    )
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in answered {answer.status_code}")


def transfer(client: httpx.Client, path: str, *, packed: bool) -> tuple[int, bytes]:
    """Bytes on the wire for ``path`` (gzip accepted or not) and the body they carry."""
    with client.stream("GET", path, headers=GZIP if packed else PLAIN) as response:
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
        raw = b"".join(response.iter_raw())
        encoded = response.headers.get("content-encoding") == "gzip"
    return len(raw), gzip.decompress(raw) if encoded else raw


def asset_paths(html: str) -> tuple[str, ...]:
    """The stylesheets, scripts and images a page loads (this site's, in page order)."""
    return tuple(dict.fromkeys(_ASSET.findall(html)))


def page_weight(client: httpx.Client, path: str) -> Weight:
    """What a first visit to ``path`` downloads, compressed and plain (an asset used by
    several pages counts for each: a first visit has none of them cached)."""
    html_gzip, body = transfer(client, path, packed=True)
    html_plain, _ = transfer(client, path, packed=False)
    assets = asset_paths(body.decode())
    packed = [transfer(client, a, packed=True)[0] for a in assets]
    plain = [transfer(client, a, packed=False)[0] for a in assets]
    return Weight(html_gzip, html_plain, sum(packed), sum(plain), assets)


def timed(client: httpx.Client, path: str, repeats: int, pid: int) -> Timing:
    """``repeats`` sequential GETs (gzip accepted) after two warm-ups: the median wall time
    and the CPU time the server process ``pid`` spent per request."""
    times: list[float] = []
    for i in range(repeats + 2):
        if i == 2:
            cpu = _cpu_seconds(pid)
        start = time.perf_counter()
        response = client.get(path, headers=GZIP)
        elapsed = time.perf_counter() - start
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
        if i >= 2:
            times.append(elapsed)
    per_request = (_cpu_seconds(pid) - cpu) / repeats
    return Timing(statistics.median(times) * 1000, per_request * 1000)


def static_app() -> Starlette:
    """The static baseline's server: files from ``$DOSEFLOW_BENCH_STATIC``, gzip as the
    service does it (uvicorn ``--factory dashboard_pages:static_app``)."""
    app = Starlette()
    app.mount("/", StaticFiles(directory=os.environ[STATIC_ENV]))
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES, compresslevel=6)
    return app


@contextmanager
def static_server(folder: Path) -> Iterator[tuple[str, int]]:
    """The static baseline's server in a child process on 127.0.0.1; yields its base URL
    and process id."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        str(Path(__file__).resolve().parent),
        "--factory",
        "dashboard_pages:static_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, env={**os.environ, STATIC_ENV: str(folder)})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the static server did not start") from None
                time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def service(url: str) -> Iterator[tuple[str, int]]:
    """The service as ``doseflow serve`` runs it (one worker); yields its URL and pid."""
    process, base = start_server(url)
    try:
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def measure(url: str, pages: Sequence[PageSpec], repeats: int, folder: Path) -> list[Row]:
    """Weigh and time each page, its API endpoint and its bytes as a static file."""
    token = administrator_token(url)
    bearer = {"Authorization": f"Bearer {token}"}
    weighed: list[tuple[PageSpec, Weight, Timing, Timing]] = []
    with (
        service(url) as (base, pid),
        httpx.Client(base_url=base, timeout=60) as browser,
        httpx.Client(base_url=base, headers=bearer, timeout=60) as api,
    ):
        sign_in(browser, token)
        for i, page in enumerate(pages):
            weight = page_weight(browser, page.path)
            (folder / f"page-{i}.html").write_bytes(transfer(browser, page.path, packed=False)[1])
            page_time = timed(browser, page.path, repeats, pid)
            weighed.append((page, weight, page_time, timed(api, page.api, repeats, pid)))
    with (
        static_server(folder) as (static, pid),
        httpx.Client(base_url=static, timeout=60) as plain,
    ):
        return [
            Row(page, weight, page_time, api_time, timed(plain, f"/page-{i}.html", repeats, pid))
            for i, (page, weight, page_time, api_time) in enumerate(weighed)
        ]


def table(rows: Sequence[Row]) -> str:
    head = (
        f"{'page':<11} {'page ms':>8} {'CPU ms':>7} {'API ms':>7} {'x API':>6}"
        f" {'static ms':>9} {'x static':>8} {'gzip KB':>8} {'plain KB':>9} {'of budget':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        w, page = r.weight, r.page.median_ms
        lines.append(
            f"{r.spec.name:<11} {page:>8.1f} {r.page.cpu_ms:>7.1f} {r.api.median_ms:>7.1f}"
            f" {page / r.api.median_ms:>6.2f} {r.static.median_ms:>9.2f}"
            f" {page / r.static.median_ms:>8.1f} {w.total_gzip / 1000:>8.1f}"
            f" {w.total_plain / 1000:>9.1f} {w.total_gzip / BUDGET_BYTES:>9.1%}"
        )
    return "\n".join(lines)


def build_demo(folder: Path) -> str:
    """``doseflow demo`` into ``folder``; returns the database URL."""
    db = folder / "demo.sqlite"
    demo = "from doseflow.cli.app import main; main()"
    subprocess.run(
        [sys.executable, "-c", demo, "demo", "--db", str(db), "--out", str(folder / "out")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return f"sqlite:///{db}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="a demo database to copy (default: build one)")
    parser.add_argument("--repeats", type=int, default=21, help="timed requests per address")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.db:
            shutil.copyfile(args.db, folder / "demo.sqlite")
            url = f"sqlite:///{folder / 'demo.sqlite'}"
        else:
            url = build_demo(folder)
        static = folder / "static"
        static.mkdir()
        rows = measure(url, dashboard_pages(url), args.repeats, static)
    print(
        f"Dashboard pages on the demo database: median of {args.repeats} warm requests over "
        "HTTP to uvicorn on 127.0.0.1 (one worker), signed in as administrator, gzip on;\n"
        "CPU ms = the server process's CPU time per page request; "
        "x API = page / its JSON endpoint, x static = page / the same bytes as a static file; "
        f"sizes = HTML + assets on first load; budget {BUDGET_BYTES // 1000} KB compressed.\n"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
