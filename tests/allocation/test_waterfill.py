"""Water-filling and largest-remainder rounding on their own."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from doseflow.allocation.rounding import round_to_packs
from doseflow.allocation.waterfill import water_fill


def test_equal_level_from_different_starts() -> None:
    slopes = np.array([100.0, 100.0, 200.0])
    starts = np.array([0.0, 0.1, 0.0])
    fill = water_fill(50.0, slopes, starts, np.zeros(3), np.full(3, np.inf))
    # level L: 100L + 100(L-0.1) + 200L = 50 -> L = 0.15
    assert fill.level == np.float64(0.15) or abs(fill.level - 0.15) < 1e-12
    np.testing.assert_allclose(fill.quantities, [15.0, 5.0, 30.0])


def test_caps_and_floors_bind() -> None:
    fill = water_fill(
        100.0,
        np.array([100.0, 100.0, 100.0]),
        np.zeros(3),
        np.array([0.0, 0.0, 60.0]),
        np.array([10.0, 1e9, 1e9]),
    )
    np.testing.assert_allclose(fill.quantities, [10.0, 30.0, 60.0])
    assert abs(fill.level - 0.3) < 1e-12


def test_floors_not_affordable_share_equally_up_to_floor() -> None:
    fill = water_fill(30.0, np.ones(3), np.zeros(3), np.array([5.0, 20.0, 20.0]), np.full(3, 50.0))
    assert not fill.floors_met
    np.testing.assert_allclose(fill.quantities, [5.0, 12.5, 12.5])


def test_everything_capped_returns_caps() -> None:
    fill = water_fill(1e6, np.ones(2), np.zeros(2), np.zeros(2), np.array([3.0, 4.0]))
    np.testing.assert_allclose(fill.quantities, [3.0, 4.0])
    assert fill.level == float("inf")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(1, 1e6), st.floats(0, 0.5), st.floats(0, 1e5), st.floats(0, 1e5)),
        min_size=1,
        max_size=30,
    ),
    st.floats(0, 1e6),
)
def test_fill_spends_exactly_and_levels_are_equal(
    rows: list[tuple[float, float, float, float]], total: float
) -> None:
    slopes, starts, floors, caps = (np.array(c) for c in zip(*rows, strict=True))
    fill = water_fill(total, slopes, starts, floors, caps)
    x = fill.quantities
    assert np.all(x >= -1e-9)
    assert np.all(x <= caps + 1e-6)
    assert abs(x.sum() - min(total, caps.sum())) <= 1e-6 * max(1.0, total)
    if fill.floors_met and np.isfinite(fill.level):
        free = (x > np.minimum(floors, caps) + 1e-6) & (x < caps - 1e-6)
        np.testing.assert_allclose(starts[free] + x[free] / slopes[free], fill.level, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 5000), min_size=1, max_size=40), st.integers(1, 7))
def test_rounding_whole_packs_within_budget_and_caps(shares: list[float], pack: int) -> None:
    x = np.array(shares)
    caps = np.floor(x / pack).astype(np.int64) + 1
    budget = int(np.floor(x.sum() / pack))
    r = round_to_packs(x, pack, caps, budget, np.arange(x.size)[::-1].copy())
    assert np.all(r.doses % pack == 0)
    assert int(r.doses.sum()) <= budget * pack
    assert np.all(r.doses // pack <= caps)
    assert np.all(np.abs(r.doses - x) < pack + 1e-6)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(1, 1e6), st.floats(0, 0.5), st.floats(0, 1e5)), min_size=1),
    st.floats(0, 1e6),
)
def test_no_floors_is_the_same_fill_as_zero_floors(
    rows: list[tuple[float, float, float]], total: float
) -> None:
    slopes, starts, caps = (np.array(c) for c in zip(*rows, strict=True))
    without = water_fill(total, slopes, starts, None, caps)
    zeros = water_fill(total, slopes, starts, np.zeros_like(caps), caps)
    assert without.level == zeros.level
    assert without.quantities.tolist() == zeros.quantities.tolist()


def test_spare_packs_go_to_the_largest_remainders_ties_by_tie_rank() -> None:
    shares = np.array([150.0, 170.0, 130.0, 170.0, 100.0])  # remainders .5 .7 .3 .7 0 packs
    ties = np.arange(5, dtype=np.int64)  # ISO3 order as listed (see test_ties.py otherwise)
    r = round_to_packs(shares, 100, np.full(5, 10, dtype=np.int64), 7, ties)
    assert r.doses.tolist() == [100, 200, 100, 200, 100]  # two spare packs: the two .7s
    assert r.direction.tolist() == [-1, 1, -1, 1, 0]
    capped = round_to_packs(shares, 100, np.array([2, 1, 2, 2, 1]), 7, ties)
    assert capped.doses.tolist() == [200, 100, 100, 200, 100]  # BBB at its cap: next is AAA


@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from(["spread", "clustered", "floors"]),
    st.floats(0.01, 0.99),
)
def test_many_participants_bracketed_first_give_what_sorting_every_kink_gives(
    seed: int, shape: str, share: float
) -> None:
    """From ``BRACKET_FROM`` participants the kinks are narrowed by bisection before
    sorting; the fill is the one sorting all kinks gives (same level, same quantities)."""
    import doseflow.allocation.waterfill as wf

    rng = np.random.default_rng(seed)
    n = wf.BRACKET_FROM + 1_000
    slopes = rng.integers(2_000, 400_000, n).astype(np.float64) * 2
    starts = rng.uniform(0, 0.3, n)
    if shape == "clustered":  # many participants on the same few kinks
        starts = np.round(starts, 1)
    ceiling = starts + rng.uniform(0, 0.5, n)
    caps = np.floor((ceiling - starts) * slopes / 10) * 10
    floors = np.minimum(caps, 1_000.0) if shape == "floors" else None
    total = share * float(caps.sum())
    got = water_fill(total, slopes, starts, floors, caps, checked=True)
    old = wf.BRACKET_FROM
    wf.BRACKET_FROM = 10**12
    try:
        want = water_fill(total, slopes, starts, floors, caps, checked=True)
    finally:
        wf.BRACKET_FROM = old
    assert abs(got.level - want.level) <= 1e-12 * max(1.0, abs(want.level))
    np.testing.assert_allclose(got.quantities, want.quantities, rtol=1e-9, atol=1e-6)
    assert abs(float(got.quantities.sum()) - total) <= 1e-9 * total
