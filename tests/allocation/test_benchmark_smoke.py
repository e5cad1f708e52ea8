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
