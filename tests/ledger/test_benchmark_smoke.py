"""The ingest benchmark's core runs on a small size, so it cannot rot."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "ledger_ingest.py"


def _benchmark() -> ModuleType:
    """The benchmark script, loaded as a module."""
    spec = importlib.util.spec_from_file_location("ledger_ingest", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ledger_ingest"] = module
    spec.loader.exec_module(module)
    return module


def test_ledger_ingest_benchmark_runs_small(tmp_path: Path) -> None:
    module = _benchmark()
    figures = module.run(
        events=3000, facilities=20, products=5, baseline_events=500, workdir=tmp_path, batch=1000
    )
    assert figures.events == 3000
    assert figures.doseflow["pairs"] == 100
    assert figures.baseline_sample == 500
    assert figures.rate > 0
    assert figures.batched_rate > 0
    assert figures.baseline["summary"] > 0


@pytest.mark.postgres
def test_ledger_ingest_benchmark_runs_small_on_postgres(tmp_path: Path) -> None:
    from tests.conftest import PG_URL

    module = _benchmark()
    figures = module.run(
        events=2000, facilities=10, products=5, baseline_events=200, workdir=tmp_path,
        batch=500, postgres=PG_URL,
    )  # fmt: skip
    assert figures.events == 2000
    assert figures.doseflow["pairs"] == 50
    assert figures.batched_rate > 0
    assert not list(tmp_path.glob("doseflow.sqlite*"))  # doseflow wrote to PostgreSQL
