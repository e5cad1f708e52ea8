"""The import benchmark's core runs on a small size, so it cannot rot."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "reporting_import.py"


def test_benchmark_core_runs_small(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("reporting_import_bench", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    _hierarchy, values = module.make_values(3_000)
    assert len(values) == 3_000
    assert len({(v.data_element, v.period, v.org_unit, v.category) for v in values}) == 3_000
    results = module.run_benchmark(3_000, 300, f"sqlite:///{tmp_path / 'b.sqlite'}")
    assert [r.values for r in results] == [3_000, 3_000, 300]
    assert all(r.seconds > 0 for r in results)
    assert "extrapolated" in results[2].note
