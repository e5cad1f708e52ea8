"""Impact model throughput: the vectorised RK4 integrator against SciPy solve_ivp (LSODA).

1. A batch of 1,000 scenarios (4 countries, 16 age bands, 365 days; random R0, supply,
   rollout speed and strategy) advanced together by ``doseflow.impact.simulate``: in this
   process (one core), and split in two halves on a 2-worker process pool (two cores).
2. The baseline: one ``solve_ivp`` call per scenario (LSODA, rtol 1e-10, atol 1e-6, the very
   same right-hand side). Solving all 1,000 would take many minutes, so it runs on a sample of
   scenarios (20 by default) and the time is extrapolated to the batch: the table says so.
   The sample also gives the accuracy of the fast integrator (deaths, relative difference).
3. A sweep of the same kind of grid on Dask (a LocalCluster of 2 worker processes) against
   the in-process executor.

Run: ``python benchmarks/impact_model.py [--scenarios 1000] [--sample 20]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np

from doseflow.impact import (
    DaskExecutor,
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
class Figures:
    scenarios: int
    horizon: int
    one_core_s: float
    two_core_s: float
    reference_sample: int
    reference_per_scenario_s: float
    max_rel_error: float
    sweep_scenarios: int
    sweep_in_process_s: float
    sweep_dask_s: float

    @property
    def years(self) -> float:
        return self.scenarios * self.horizon / 365.0

    @property
    def reference_extrapolated_s(self) -> float:
        return self.reference_per_scenario_s * self.scenarios


def measure(
    n: int = 1000,
    sample: int = 20,
    horizon: int = 365,
    sweep_sizes: tuple[int, int, int] = (5, 5, 2),
    *,
    parallel: bool = True,
) -> Figures:
    """Run every measurement (small arguments make it a smoke test; ``parallel=False``
    leaves out the process pool and Dask, whose start-up dominates tiny runs)."""
    batch = make_batch(n, horizon)
    simulate(batch[:4])  # warm caches (bundled data, imports)
    t0 = time.perf_counter()
    fast = simulate(batch, by_age=False).deaths
    one_core = time.perf_counter() - t0

    two_core = float("nan")
    pool = PoolExecutor(2) if parallel else None
    run_batch = partial(simulate, by_age=False)  # a package function: workers can import it
    if pool is not None:
        try:
            list(pool.run(run_batch, [batch[:2], batch[2:4]]))  # start the workers
            halves = [batch[: n // 2], batch[n // 2 :]]
            t0 = time.perf_counter()
            parts = dict(pool.run(run_batch, halves))
            two_core = time.perf_counter() - t0
        finally:
            pool.close()
        both = np.concatenate([parts[0].deaths, parts[1].deaths])
        assert np.allclose(both, fast, rtol=1e-12)

    picks = np.linspace(0, n - 1, min(sample, n)).astype(int)
    t0 = time.perf_counter()
    reference = np.array([reference_deaths(batch[j]) for j in picks])
    per_scenario = (time.perf_counter() - t0) / len(picks)
    error = float(np.max(np.abs(fast[picks] - reference) / reference))

    r0s, supplies, speeds = sweep_sizes
    grid = SweepGrid(
        countries=COUNTRIES,
        r0=tuple(np.linspace(1.3, 3.5, r0s).round(3)),
        supply_shares=tuple(np.linspace(0.05, 0.8, supplies).round(3)),
        doses_per_day_shares=tuple(np.linspace(0.002, 0.01, speeds).round(4)),
        strategies=STRATEGIES,
        horizon_days=horizon,
        chunk_size=max(1, r0s * supplies * speeds * len(STRATEGIES) // 2),
    )
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        local = run_sweep(grid, Path(tmp) / "in-process", InProcessExecutor()).results
        sweep_local = time.perf_counter() - t0
        sweep_dask = float("nan")
        if parallel:
            dask = DaskExecutor(workers=2, processes=True)
            try:
                list(dask.run(len, [[1]]))  # workers up
                t0 = time.perf_counter()
                distributed = run_sweep(grid, Path(tmp) / "dask", dask).results
                sweep_dask = time.perf_counter() - t0
            finally:
                dask.close()
            assert np.allclose(local["deaths"], distributed["deaths"], rtol=1e-12)
    return Figures(
        n,
        horizon,
        one_core,
        two_core,
        len(picks),
        per_scenario,
        error,
        grid.size,
        sweep_local,
        sweep_dask,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=20)
    args = parser.parse_args()
    f = measure(args.scenarios, args.sample)
    ref = f.reference_extrapolated_s
    rows = [
        (
            "solve_ivp LSODA, 1 call per scenario",
            f"{ref:,.1f} s (extrapolated from {f.reference_sample})",
            f"{f.years / ref:,.1f}",
            "1.0x",
        ),
        (
            "doseflow RK4 batch, 1 core",
            f"{f.one_core_s:,.2f} s",
            f"{f.years / f.one_core_s:,.0f}",
            f"{ref / f.one_core_s:,.0f}x",
        ),
        (
            "doseflow RK4 batch, 2 cores (pool)",
            f"{f.two_core_s:,.2f} s",
            f"{f.years / f.two_core_s:,.0f}",
            f"{ref / f.two_core_s:,.0f}x",
        ),
    ]
    print(f"\nImpact model: {f.scenarios:,} scenarios x 16 age bands x {f.horizon} days")
    print(f"({f.years:,.0f} scenario-years)\n")
    print(f"{'method':<40} {'time':>34} {'scenario-years/s':>17} {'speed-up':>9}")
    for name, t, rate, ratio in rows:
        print(f"{name:<40} {t:>34} {rate:>17} {ratio:>9}")
    error = f"{f.max_rel_error:.2e}"
    print(f"\naccuracy on the sample: max |deaths RK4 - LSODA| / LSODA = {error} (limit 1e-3)")
    print(f"\nSweep of {f.sweep_scenarios:,} scenarios (+ baselines), 16 bands, {f.horizon} days:")
    print(f"  in-process executor    {f.sweep_in_process_s:8.2f} s")
    ratio = f.sweep_in_process_s / f.sweep_dask_s
    print(f"  Dask, 2 local workers  {f.sweep_dask_s:8.2f} s   ({ratio:.2f}x)")


if __name__ == "__main__":
    main()
