"""The start-up benchmark runs on one area and one run, so it cannot rot."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "cli_startup.py"


def test_benchmark_core_runs_small() -> None:
    spec = importlib.util.spec_from_file_location("cli_startup_bench", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    assert module.areas()[0] == "demo"
    lines = module.run_benchmark(1, 3, only=["token"])
    rows = [line for line in lines if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == [
        "python -c pass",
        "doseflow --help",
        "doseflow version",
        "doseflow token --help",
    ]
    token = rows[-1].split("|")
    assert float(token[2]) > 0  # best ms
    assert token[4].strip().endswith("x")  # ratio to the floor
    assert "doseflow" in token[5]  # the breakdown names the modules the command imported
    assert lines[0].startswith("load average before:")
