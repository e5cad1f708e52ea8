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
