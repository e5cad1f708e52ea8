from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from doseflow.deployment.shares import share, share_by_levels, share_with_room

_BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "deployment_plan.py"
_spec = importlib.util.spec_from_file_location("deployment_plan_bench", _BENCH)
assert _spec is not None
assert _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
sys.modules["deployment_plan_bench"] = bench
_spec.loader.exec_module(bench)

cells = st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(0, 1_000_000)), min_size=1, max_size=30
)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 200_000), cells)
def test_shares_add_up_never_exceed_demand_and_match_the_baseline(
    supply: int, pairs: list[tuple[int, int]]
) -> None:
    demand = np.array([d for d, _ in pairs], dtype=np.int64)
    weight = np.array([w for _, w in pairs], dtype=np.int64)
    got = share(supply, demand, weight)
    servable = int(demand[weight > 0].sum())
    assert int(got.sum()) == min(supply, servable)
    assert (got <= demand).all()
    assert (got >= 0).all()
    assert got.tolist() == bench.py_share(supply, demand.tolist(), weight.tolist())


def test_shares_are_proportional_to_weight_until_a_demand_is_met() -> None:
    got = share(900, np.array([1000, 1000, 100]), np.array([1, 2, 6]))
    # 100 filled at its demand; the other 800 split 1:2
    assert got.tolist() == [267, 533, 100]


def test_levels_serve_the_first_level_completely_before_the_next() -> None:
    demand = np.array([[50, 500], [30, 300]])
    got = share_by_levels(np.array([60, 100]), demand, demand, [[0], [1]])
    assert got.tolist() == [[50, 10], [30, 70]]


def test_room_holds_a_region_back_and_its_share_goes_to_the_others() -> None:
    demand = np.array([[1000], [1000], [1000]])
    got = share_with_room(1500, demand, demand, [[0]], np.array([100, 10_000, 10_000]))
    assert got[:, 0].tolist() == [100, 700, 700]
