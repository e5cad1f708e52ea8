"""Impact model throughput: the compiled RK4 kernel against a batched NumPy RK4 and solve_ivp.

1. A batch of 1,000 scenarios (4 countries, 16 age bands, 365 days; random R0, supply,
   rollout speed and strategy) advanced together by ``doseflow.impact.simulate``: on one
   thread, and on two threads (two cores). Wall time and the process's CPU time are both
   reported: on a shared machine the CPU time says what the code costs, the wall time what
   the machine gave it. ``simulate`` includes preparing the batch (``compile_batch``, Python,
   one thread), timed on its own too.
2. The strongest fair baseline: the same equations, the same compiled inputs, step and daily
   vaccination input, as a batched NumPy RK4 over all scenarios at once
   (``benchmarks/impact_numpy_rk4.py``), on one thread and on two (each a half of the batch).
   Its runs include the same batch preparation. Its results are checked against the kernel's
   (cumulative infections, deaths, courses and symptomatic cases of every scenario on every
   day, relative difference at most ``impact_numpy_rk4.RELATIVE_TOLERANCE``).
3. The first baseline: one ``solve_ivp`` call per scenario (LSODA, rtol 1e-10, atol 1e-6, the
   same equations written independently in NumPy). Solving all 1,000 takes minutes, so it runs
   on a sample of scenarios (20 by default) and the time is extrapolated to the batch: the
   table says so. The sample also gives the accuracy of the kernel (deaths, relative
   difference).
4. The machine's limit: floating-point operations per scenario-year counted from the equations
   (``impact_numpy_rk4.flops_per_scenario_day``) against the FLOP/s of a large BLAS matrix
   product (DGEMM, NumPy's OpenBLAS) measured on this machine on 1 and 2 threads. DGEMM is close
   to the cores' peak (fused multiply-adds on full vectors), so the limit is generous: the
   kernel keeps IEEE order (no fused multiply-adds), which caps it near half of that.
5. A sweep of the same kind of grid: in-process (kernel on two threads), on Dask (a
   LocalCluster of 2 worker processes, and of 2 worker threads), and on a 2-process pool.

Ratios are from the same run. Run:
``python benchmarks/impact_model.py [--scenarios 1000] [--sample 20]``.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np

from doseflow.impact import (
    DaskExecutor,
    Executor,
    InProcessExecutor,
    PoolExecutor,
    RateRollout,
    Scenario,
    Strategy,
    SweepGrid,
    country_scenario,
    reference_deaths,
    run_sweep,
    simulate,
)
from doseflow.impact.model import compile_batch, default_threads

sys.path.insert(0, str(Path(__file__).resolve().parent))
import impact_numpy_rk4  # the baseline, a module next to this one

COUNTRIES = ("NGA", "IND", "BRA", "PRK")
STRATEGIES = ("older-first", "younger-first", "proportional")


def make_batch(n: int, horizon: int = 365, seed: int = 1) -> list[Scenario]:
    """``n`` varied scenarios on 16 five-year bands (Prem's bands)."""
    rng = np.random.default_rng(seed)
    bases = [country_scenario(c, horizon_days=horizon) for c in COUNTRIES]
    return [
        replace(
            bases[j % len(bases)],
            r0=float(rng.uniform(1.2, 4.0)),
            rollout=RateRollout(float(rng.uniform(0.001, 0.01)), float(rng.uniform(0.0, 0.8))),
            strategy=Strategy.parse(STRATEGIES[j % len(STRATEGIES)]),
        )
        for j in range(n)
    ]


@dataclass(frozen=True)
class Timing:
    wall_s: float
    cpu_s: float


T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[Timing, T]:
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return Timing(time.perf_counter() - w, time.process_time() - c), out


@dataclass(frozen=True)
class Figures:
    scenarios: int
    horizon: int
    first_call_s: float
    one_thread: Timing
    two_threads: Timing
    prepare: Timing
    numpy_one_thread: Timing
    numpy_two_threads: Timing
    numpy_two_processes: Timing  # CPU time: this process only (the workers' is not in it)
    numpy_max_rel_diff: float  # largest |NumPy RK4 - kernel| / kernel, the four daily series
    flops_per_year: float  # per scenario-year, counted from the equations
    blas_gflops: dict[int, float]  # DGEMM GFLOP/s measured on this machine, by threads
    reference_sample: int
    reference_per_scenario_s: float
    max_rel_error: float
    sweep_scenarios: int
    sweep_chunks: int
    sweep: dict[str, Timing]

    @property
    def one_core_s(self) -> float:
        return self.one_thread.wall_s

    @property
    def years(self) -> float:
        return self.scenarios * self.horizon / 365.0

    @property
    def reference_extrapolated_s(self) -> float:
        return self.reference_per_scenario_s * self.scenarios

    def limit(self, threads: int) -> float:
        """Scenario-years per second the machine's measured DGEMM rate would allow."""
        return self.blas_gflops[threads] * 1e9 / self.flops_per_year


def blas_gflops(threads: int, size: int = 2000, repeats: int = 5) -> float:
    """GFLOP/s of an n x n DGEMM (NumPy's BLAS) on ``threads`` threads, fastest of ``repeats``,
    in a fresh process (OpenBLAS reads its thread count when it loads)."""
    code = (
        "import time, numpy as np\n"
        f"a = np.random.default_rng(0).random(({size}, {size})); b = a.T.copy(); a @ b\n"
        "best = 1e9\n"
        f"for _ in range({repeats}):\n"
        "    t = time.perf_counter(); a @ b; best = min(best, time.perf_counter() - t)\n"
        f"print(2 * {size} ** 3 / best / 1e9)\n"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    return float(out.stdout.strip())


def numpy_rk4(
    batch: list[Scenario], threads: int, pool: ProcessPoolExecutor | None = None
) -> impact_numpy_rk4.NumpyResult:
    """The baseline as a caller would run it: prepare the batch, then integrate it (on
    ``threads`` threads, or on that many worker processes of ``pool``)."""
    compiled = compile_batch(batch)
    if pool is not None:
        return impact_numpy_rk4.integrate_numpy_processes(compiled, pool, threads)
    return impact_numpy_rk4.integrate_numpy(compiled, threads=threads)


def _grid(sizes: tuple[int, int, int], horizon: int, chunk_size: int) -> SweepGrid:
    r0s, supplies, speeds = sizes
    return SweepGrid(
        countries=COUNTRIES,
        r0=tuple(np.linspace(1.3, 3.5, r0s).round(3)),
        supply_shares=tuple(np.linspace(0.05, 0.8, supplies).round(3)),
        doses_per_day_shares=tuple(np.linspace(0.002, 0.01, speeds).round(4)),
        strategies=STRATEGIES,
        horizon_days=horizon,
        chunk_size=chunk_size,
    )


def measure(
    n: int = 1000,
    sample: int = 20,
    horizon: int = 365,
    sweep_sizes: tuple[int, int, int] = (8, 8, 4),
    *,
    chunk_size: int = 256,
    repeats: int = 3,
    parallel: bool = True,
    gemm_size: int = 2000,
) -> Figures:
    """Run every measurement (small arguments make it a smoke test; ``parallel=False``
    leaves out the second thread, Dask and the pool, whose start-up dominates tiny runs).

    Timed runs are repeated ``repeats`` times, the configurations taking turns in each round
    so they share the machine's changing load alike; the fastest run of each is reported."""
    batch = make_batch(n, horizon)
    t0 = time.perf_counter()
    simulate(batch[:1])  # loads the compiled kernel (numba's disk cache) or compiles it
    first_call = time.perf_counter() - t0
    simulate(batch[:4])
    kernels: dict[int, list[Timing]] = {1: [], 2: []} if parallel else {1: []}
    numpys: dict[str, list[Timing]] = (
        {"1 thread": [], "2 threads": [], "2 processes": []} if parallel else {"1 thread": []}
    )
    # the NumPy RK4's worker processes, started and warmed before timing (as the sweep's are)
    pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"))
    if parallel:
        numpy_rk4(batch[:4], 2, pool)
    runs_of = {
        "1 thread": partial(numpy_rk4, batch, 1),
        "2 threads": partial(numpy_rk4, batch, 2),
        "2 processes": partial(numpy_rk4, batch, 2, pool),
    }
    prepared: list[Timing] = []
    fast = simulate(batch[:1]).deaths
    kernel_result = None
    numpy_diff = 0.0
    for _ in range(repeats):
        prepared.append(timed(partial(compile_batch, batch))[0])
        for threads, runs in kernels.items():
            timing, result = timed(partial(simulate, batch, by_age=False, threads=threads))
            runs.append(timing)
            if threads == 1:
                fast = result.deaths
                kernel_result = result
            else:
                assert np.array_equal(result.deaths, fast)
        assert kernel_result is not None
        for config, runs in numpys.items():
            timing, baseline = timed(runs_of[config])
            runs.append(timing)
            for mine, theirs in (
                (baseline.daily_infections, kernel_result.daily_infections),
                (baseline.daily_deaths, kernel_result.daily_deaths),
                (baseline.daily_vaccinated, kernel_result.daily_vaccinated),
                (baseline.daily_symptomatic, kernel_result.daily_symptomatic),
            ):
                scale = np.maximum(np.abs(theirs), 1e-300)
                numpy_diff = max(numpy_diff, float(np.max(np.abs(mine - theirs) / scale)))
    assert numpy_diff <= impact_numpy_rk4.RELATIVE_TOLERANCE, numpy_diff
    nan = Timing(float("nan"), float("nan"))
    one = min(kernels[1], key=lambda t: t.wall_s)
    two = min(kernels.get(2, [nan]), key=lambda t: t.wall_s)
    pool.shutdown()
    numpy_one = min(numpys["1 thread"], key=lambda t: t.wall_s)
    numpy_two = min(numpys.get("2 threads", [nan]), key=lambda t: t.wall_s)
    numpy_processes = min(numpys.get("2 processes", [nan]), key=lambda t: t.wall_s)
    prepare = min(prepared, key=lambda t: t.wall_s)
    flops = impact_numpy_rk4.flops_per_scenario_day(compile_batch(batch)) * 365.0
    gflops = {t: blas_gflops(t, gemm_size) for t in ((1, 2) if parallel else (1,))}

    picks = np.linspace(0, n - 1, min(sample, n)).astype(int)
    t0 = time.perf_counter()
    reference = np.array([reference_deaths(batch[j]) for j in picks])
    per_scenario = (time.perf_counter() - t0) / len(picks)
    error = float(np.max(np.abs(fast[picks] - reference) / reference))

    grid = _grid(sweep_sizes, horizon, chunk_size)
    configs: list[tuple[str, Executor, str | None]] = [
        (f"in-process (kernel on {default_threads()} threads)", InProcessExecutor(), None)
    ]
    if parallel:  # every executor started and warmed up (kernel loaded) before timing
        configs += [
            ("in-process (kernel on 1 thread)", InProcessExecutor(), "1"),
            ("Dask LocalCluster, 2 worker processes", DaskExecutor(workers=2), None),
            ("Dask LocalCluster, 2 worker threads", DaskExecutor(processes=False), None),
            ("process pool, 2 workers", PoolExecutor(2), None),
        ]
    sweeps: dict[str, list[Timing]] = {name: [] for name, _, _ in configs}
    before = os.environ.get("DOSEFLOW_THREADS")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            local = None
            for r in range(repeats):
                for i, (name, executor, env_threads) in enumerate(configs):
                    os.environ.pop("DOSEFLOW_THREADS", None)
                    if env_threads is not None:
                        os.environ["DOSEFLOW_THREADS"] = env_threads
                    folder = Path(tmp) / f"{i}-{r}"
                    timing, outcome = timed(partial(run_sweep, grid, folder, executor))
                    sweeps[name].append(timing)
                    deaths = outcome.results["deaths"]
                    local = deaths if local is None else local
                    assert np.array_equal(deaths, local)
    finally:
        os.environ.pop("DOSEFLOW_THREADS", None)
        if before is not None:
            os.environ["DOSEFLOW_THREADS"] = before
        for _, executor, _ in configs:
            executor.close()
    best = {name: min(runs, key=lambda t: t.wall_s) for name, runs in sweeps.items()}
    return Figures(
        n,
        horizon,
        first_call,
        one,
        two,
        prepare,
        numpy_one,
        numpy_two,
        numpy_processes,
        numpy_diff,
        flops,
        gflops,
        len(picks),
        per_scenario,
        error,
        grid.size,
        len(grid.chunks()),
        best,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=20)
    args = parser.parse_args()
    import distributed  # noqa: F401  (its loggers exist once imported)

    for name in list(logging.root.manager.loggerDict):
        if name.startswith("distributed"):  # no cluster start/stop chatter in the table
            logging.getLogger(name).setLevel(logging.WARNING)
    load = os.getloadavg()
    f = measure(args.scenarios, args.sample)
    ref = f.reference_extrapolated_s
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"\nImpact model: {f.scenarios:,} scenarios x 16 age bands x {f.horizon} days")
    print(
        f"({f.years:,.0f} scenario-years); {cores} cores usable; load average at start "
        f"{load[0]:.1f} (5 min {load[1]:.1f})"
    )
    print(f"first call (kernel loaded from numba's cache, or compiled): {f.first_call_s:.2f} s\n")
    print(
        f"{'method':<38} {'wall s':>9} {'CPU s':>7} {'scen-yr/s':>10} {'per CPU s':>10} "
        f"{'vs LSODA':>9} {'vs NumPy RK4':>13}"
    )
    print(
        f"{'solve_ivp LSODA, 1 call per scenario':<38} {ref:>9,.1f} {'':>7} "
        f"{f.years / ref:>10,.1f} {'':>10} {'1x':>9} {'':>13}"
        f"   (extrapolated from {f.reference_sample})"
    )
    best_two = min(f.numpy_two_threads.wall_s, f.numpy_two_processes.wall_s)
    rows = (
        ("batched NumPy RK4, 1 thread", f.numpy_one_thread, f.numpy_one_thread.wall_s),
        ("batched NumPy RK4, 2 threads", f.numpy_two_threads, f.numpy_two_threads.wall_s),
        ("batched NumPy RK4, 2 processes", f.numpy_two_processes, f.numpy_two_processes.wall_s),
        ("doseflow kernel, 1 thread", f.one_thread, f.numpy_one_thread.wall_s),
        ("doseflow kernel, 2 threads", f.two_threads, best_two),
    )
    for name, t, numpy_wall in rows:
        cpu = "" if "processes" in name else f"{t.cpu_s:.3f}"
        per_cpu = "" if "processes" in name else f"{f.years / t.cpu_s:,.0f}"
        print(
            f"{name:<38} {t.wall_s:>9.3f} {cpu:>7} {f.years / t.wall_s:>10,.0f} "
            f"{per_cpu:>10} {ref / t.wall_s:>8,.0f}x {numpy_wall / t.wall_s:>12.1f}x"
        )
    print(
        "(vs NumPy RK4: the kernel on 1 thread against NumPy on 1 thread; on 2 threads against "
        "the faster of NumPy on 2 threads and on 2 processes; no CPU time for the processes, "
        "whose work is not this process's)"
    )
    cpu_ratios = ", ".join(
        f"{numpy_t.cpu_s / kernel_t.cpu_s:.1f}x the kernel's on {threads} thread(s)"
        for threads, numpy_t, kernel_t in (
            (1, f.numpy_one_thread, f.one_thread),
            (2, f.numpy_two_threads, f.two_threads),
        )
    )
    print(f"(CPU time, which a busy machine disturbs less: NumPy RK4 takes {cpu_ratios})")
    print(
        f"(each run includes preparing the batch, compile_batch in Python on one thread: "
        f"{f.prepare.wall_s:.3f} s wall, {f.prepare.cpu_s:.3f} s CPU)"
    )
    error = f"{f.max_rel_error:.2e}"
    print(f"\naccuracy on the sample: max |deaths kernel - LSODA| / LSODA = {error} (limit 1e-3)")
    print(
        f"NumPy RK4 vs kernel: max relative difference {f.numpy_max_rel_diff:.1e} in cumulative "
        f"infections, deaths, courses and symptomatic cases, every scenario and day (tolerance "
        f"{impact_numpy_rk4.RELATIVE_TOLERANCE:.0e})"
    )
    print(
        f"\nMachine limit: {f.flops_per_year / 1e6:.2f} MFLOP per scenario-year "
        "(counted from the equations)"
    )
    fastest_two = min(f.numpy_two_threads, f.numpy_two_processes, key=lambda t: t.wall_s)
    for threads, kernel_t, numpy_t in (
        (1, f.one_thread, f.numpy_one_thread),
        (2, f.two_threads, fastest_two),
    ):
        if threads not in f.blas_gflops:
            continue
        peak = f.blas_gflops[threads]
        achieved, numpy_rate = (
            f.years * f.flops_per_year / t.wall_s / 1e9 for t in (kernel_t, numpy_t)
        )
        print(
            f"  {threads} thread(s): DGEMM {peak:.1f} GFLOP/s -> limit "
            f"{f.limit(threads):,.0f} scenario-years/s; kernel {achieved:.1f} GFLOP/s = "
            f"{achieved / peak:.0%} of it; NumPy RK4 {numpy_rate:.1f} GFLOP/s = "
            f"{numpy_rate / peak:.0%}"
        )
    print(
        f"\nSweep of {f.sweep_scenarios:,} scenarios (+ baselines) in {f.sweep_chunks} chunks, "
        f"16 bands, {f.horizon} days:"
    )
    base = next(iter(f.sweep.values())).wall_s
    for name, t in f.sweep.items():
        print(f"  {name:<40} wall {t.wall_s:7.2f} s  ({base / t.wall_s:.2f}x in-process)")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
