"""The allocation benchmark's core still runs and agrees with the LP, on a small size."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "allocation_rounds.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("allocation_rounds_bench", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_benchmark_core_matches_the_lp_on_a_small_problem() -> None:
    bench = _load()
    row = bench.compare("global", bench.global_problem(12, 3, 3), repeat=1)
    assert row.pools == 9
    assert row.equal
    single = bench.compare("single", bench.single_problem(300), repeat=1)
    assert single.equal
    assert single.lp_solves >= 1


def test_bisection_baseline_matches_the_water_fill_on_small_problems() -> None:
    """The NumPy bisection baseline gives the engine's water-fill quantities, pool after
    pool and all pools at once, on the sequential global problem and a single pool; the
    joint LP's per-level fixing agrees with the engine on the joint problem."""
    bench = _load()
    seq = bench.compare_bisection("seq", bench.global_problem(12, 3, 3, sequential=True), 1)
    assert seq.pools == 9
    assert seq.equal
    single = bench.compare_bisection("single", bench.single_problem(300), 1)
    assert single.pools == 1
    assert single.equal
    row = bench.compare("sequential", bench.global_problem(12, 3, 3, sequential=True), 1)
    assert row.equal
    assert row.kernel_s == 0.0  # one pool per date: no joint sharing


def test_the_joint_lp_baseline_equals_the_engine_when_caps_are_reached() -> None:
    """The LP baseline searches how many participants are at their caps when the pools
    bind (instead of one solve per cap): same totals as the engine's joint fill, here with
    supply enough for most participants to reach their caps, in fewer solves than caps."""
    import numpy as np

    from doseflow.allocation.joint import joint_fill

    bench = _load()
    for seed in range(12):
        rng = np.random.default_rng(seed)
        n, k = 30, 4
        slopes = rng.uniform(1e3, 1e6, n)
        starts = rng.uniform(0, 0.1, n)
        caps = rng.uniform(0.05, 0.5, n) * slopes
        edge = np.where(rng.random((n, k)) < 0.7, caps[:, None], 0.0)
        supply = np.full(k, caps.sum() * 0.8 / k)
        stats = bench.LpStats()
        got = bench.lp_lex_max_min(supply, slopes, starts, caps, edge, stats)
        want = joint_fill(supply, slopes, starts, caps, edge).totals
        assert np.allclose(got, want, rtol=1e-6, atol=1e-3), seed
        at_cap = int(np.sum(want >= np.minimum(caps, edge.sum(axis=1)) * (1 - 1e-9)))
        assert stats.solves < max(at_cap, 2), (seed, stats.solves, at_cap)
