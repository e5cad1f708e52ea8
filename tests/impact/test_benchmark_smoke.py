"""The impact benchmark's core runs on a tiny size, so it cannot rot."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "impact_model.py"


def test_benchmark_core_runs_small() -> None:
    spec = importlib.util.spec_from_file_location("impact_model_benchmark", BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # the process pool pickles the benchmark's function
    spec.loader.exec_module(module)
    figures = module.measure(
        n=8, sample=2, horizon=60, sweep_sizes=(1, 2, 1), parallel=False, gemm_size=64
    )
    assert figures.scenarios == 8
    assert figures.max_rel_error < 1e-3
    # the batched NumPy RK4 baseline ran, and agreed with the kernel
    assert figures.numpy_one_thread.wall_s > 0
    assert figures.numpy_max_rel_diff <= module.impact_numpy_rk4.RELATIVE_TOLERANCE
    assert figures.flops_per_year > 0
    assert figures.blas_gflops[1] > 0
    assert figures.limit(1) > 0
    assert figures.one_core_s > 0
    assert figures.sweep_scenarios == 4 * 2 * 3
