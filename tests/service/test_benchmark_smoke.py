"""The load benchmark's core still works (tiny sizes; no timing asserted)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import PG_URL

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "service_load.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("service_load_bench", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_the_load_benchmark_runs_on_a_tiny_ledger(tmp_path: Path) -> None:
    bench = _bench()
    url = f"sqlite:///{tmp_path / 'load.sqlite'}"
    token = bench.seed(url, nodes=12, products=1, lots=1)
    process, base = bench.start_server(url)
    try:
        auth = {"Authorization": f"Bearer {token}"}
        result = bench.measure(base, "/api/stock", headers=auth, rate=20, seconds=0.5)
        assert result.due == 10
        assert result.errors == 0
        assert result.completed == 10
        _best, steps = bench.highest_rate_held(base, "/api/stock", auth, [10], 0.3)
        assert steps
        assert steps[0].completed == steps[0].due
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.postgres
@pytest.mark.slow
def test_the_load_benchmark_serves_a_postgres_schema_with_two_workers() -> None:
    bench = _bench()
    with bench.postgres_schema(PG_URL) as url:
        assert "search_path" in url
        token = bench.seed(url, nodes=12, products=1, lots=1)
        process, base = bench.start_server(url, workers=2)
        try:
            auth = {"Authorization": f"Bearer {token}"}
            result = bench.measure(base, "/api/stock", headers=auth, rate=20, seconds=0.5)
            assert (result.due, result.errors, result.completed) == (10, 0, 10)
        finally:
            process.terminate()
            process.wait(timeout=30)
