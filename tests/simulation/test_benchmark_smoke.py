"""The simulation benchmark's core runs on a tiny size, so it cannot rot: the engine and the
SimPy baseline agree on the deterministic model's totals."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "simulation.py"


def test_benchmark_core_runs_small() -> None:
    spec = importlib.util.spec_from_file_location("simulation_benchmark", BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # the process pool pickles the benchmark's function
    spec.loader.exec_module(module)
    figures = module.measure(
        shape=module.Shape(2, 2, 3),
        days=60,
        repeat=1,
        replications=4,
        workers=2,
        scale_points=(36,),
        scale_days=(30,),
        national_points=60,
        national_days=5,
    )
    rows = [figures.one, *figures.scaling, figures.national]
    # both models ran on the same deterministic input and gave the same totals (measure
    # asserts it); the run did real work: doses administered and doses expired
    assert figures.one.stores == 1 + 2 * (1 + 2 * (1 + 3))
    assert figures.one.totals.administered > 0
    assert figures.one.totals.expired > 0
    for row in rows:
        assert row.engine_s > 0
        assert row.simpy_s > 0
    assert figures.sequential_s > 0
    assert figures.parallel_s > 0


def test_models_disagree_when_the_baseline_differs() -> None:
    """The agreement check is real: a baseline that misreads the model (here: lots not written
    off the day after expiry, lead times one day longer) gives other totals."""
    spec = importlib.util.spec_from_file_location("simulation_benchmark_b", BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    model = module.build(module.Shape(2, 2, 3), 60, fixed=True)
    ours = module.engine_totals(model, 60)
    assert module.simpy_totals(model, 60) == ours

    class NoWriteOff(module.SimPyModel):  # type: ignore[name-defined,misc]
        def _expire(self, lot: str, at: float) -> Generator[Any, Any, None]:
            yield self.env.timeout(at)  # forgets to write the lot off

    assert NoWriteOff(model, 60).run().expired != ours.expired
    slow = module.SimPyModel(model, 60)
    slow.out = {node: [(d, lead + 1) for d, lead in lanes] for node, lanes in slow.out.items()}
    assert slow.run().administered != ours.administered
