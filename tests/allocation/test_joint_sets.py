"""The fast paths of the joint sharing (issue 12, benchmark): only the sets of pools that can
be tight are checked, and the split is built by augmenting paths. Both must give what the
full enumeration and the transportation LP give."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from doseflow.allocation.joint import (
    _candidate_sets,
    _fill_sets,
    _flow_split,
    _lp_split,
    _split,
    all_sets,
    joint_fill,
)
from tests.allocation.lp_oracle import lex_max_min


@st.composite
def problems(draw: st.DrawFn) -> tuple[Any, ...]:
    """Random problems with up to 6 pools: eligibility by a few patterns or at random,
    edge caps at the headroom less a little (as whole packs leave them), partly capped,
    or tiny; supplies from none to plenty."""
    n = draw(st.integers(1, 9))
    k = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    slopes = rng.uniform(1e3, 1e6, n)
    starts = rng.uniform(0, 0.1, n) * (rng.random(n) < 0.5)
    headroom = np.maximum(rng.uniform(0, 0.3, n) - starts, 0) * slopes
    if draw(st.booleans()):  # a few eligibility patterns, as licences and cold chains give
        patterns = rng.random((draw(st.integers(1, 3)), k)) < 0.7
        elig = patterns[rng.integers(0, patterns.shape[0], n)]
    else:
        elig = rng.random((n, k)) < 0.6
    style = draw(st.sampled_from(["packs", "partial", "tiny"]))
    if style == "packs":
        factor = 1.0 - rng.uniform(0, 1e-3, (n, k))
    elif style == "partial":
        factor = np.where(rng.random((n, k)) < 0.3, rng.uniform(0, 1, (n, k)), 1.0)
    else:
        factor = rng.uniform(0, 0.2, (n, k))
    edge = np.where(elig, factor * headroom[:, None], 0.0)
    supply = rng.uniform(0, 1, k) * headroom.sum() / k * draw(st.sampled_from([0.2, 1.5, 5]))
    supply[rng.random(k) < 0.15] = 0.0
    caps = np.minimum(headroom, edge.sum(axis=1))
    return supply, slopes, starts, caps, edge


@settings(max_examples=150, deadline=None)
@given(problems())
def test_checking_only_the_candidate_sets_equals_checking_every_set(
    problem: tuple[Any, ...],
) -> None:
    supply, slopes, starts, caps, edge = problem
    k = edge.shape[1]
    kept = _candidate_sets(supply, slopes, starts, caps, edge)
    assert set(kept.tolist()) <= set(all_sets(k).tolist())
    pruned = _fill_sets(supply, slopes, starts, caps, edge, kept)
    full = _fill_sets(supply, slopes, starts, caps, edge, all_sets(k))
    for a, b in zip(pruned, full, strict=True):
        assert np.array_equal(a, b), (a, b)


def test_pack_rounding_leaves_few_sets_to_check() -> None:
    """Ten pools, three eligibility patterns, edges a few courses below each cap (whole
    packs): a handful of the 1,023 sets can bind, and the result is the LP oracle's."""
    rng = np.random.default_rng(3)
    n, k = 60, 10
    slopes = rng.uniform(1e5, 1e7, n)
    starts = rng.uniform(0, 0.05, n)
    caps = (0.6 - starts) * slopes
    restricted = np.array([j % 5 == 0 for j in range(k)])
    cold = np.array([j % 5 == 1 for j in range(k)])
    kind = rng.integers(0, 3, n)
    elig = np.ones((n, k), dtype=bool)
    elig[kind == 1] &= ~restricted
    elig[kind == 2] &= ~cold
    edge = np.where(elig, caps[:, None] - rng.uniform(0, 50, (n, k)), 0.0)
    supply = rng.uniform(0.5, 1.5, k) * caps.sum() / k * 0.3
    kept = _candidate_sets(supply, slopes, starts, caps, edge)
    assert 0 < kept.size <= 16
    full = _fill_sets(supply, slopes, starts, caps, edge, all_sets(k))
    pruned = _fill_sets(supply, slopes, starts, caps, edge, kept)
    for a, b in zip(pruned, full, strict=True):
        assert np.array_equal(a, b)
    # the oracle in thousands of courses (its HiGHS tolerances are absolute: at tens of
    # millions of courses it fixes participants too early)
    want = lex_max_min(supply / 1e3, slopes / 1e3, starts, caps / 1e3, edge / 1e3) * 1e3
    assert np.allclose(pruned[0], want, rtol=1e-6, atol=1.0)


def test_a_participant_short_after_the_greedy_pass_is_served_by_an_augmenting_path() -> None:
    """Pools P (a, b eligible) and Q (a, c), one course each; a and b need one each. The
    greedy pass gives P to a (first in order) and leaves b short: the path b -> P, a moves
    from P to Q, ends in Q's supply."""
    caps = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    x = _flow_split(np.array([1.0, 1.0, 0.0]), np.array([1.0, 1.0]), caps)
    assert x is not None
    assert np.allclose(x, [[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]])


def test_the_split_says_so_when_no_flow_carries_the_totals() -> None:
    caps = np.array([[1.0, 0.0], [1.0, 0.0]])
    assert _flow_split(np.array([1.0, 1.0]), np.array([1.0, 5.0]), caps) is None


@settings(max_examples=100, deadline=None)
@given(problems(), st.randoms(use_true_random=False))
def test_the_split_carries_every_total_within_pools_and_edges_in_any_input_order(
    problem: tuple[Any, ...], rnd: Any
) -> None:
    supply, slopes, starts, caps, edge = problem
    n = edge.shape[0]
    order = np.arange(n)
    fill = joint_fill(supply, slopes, starts, caps, edge, order)
    totals = fill.totals
    courses = _split(totals, supply, edge, order)
    assert np.allclose(courses.sum(axis=1), totals, rtol=1e-9, atol=1e-6)
    assert np.all(courses >= 0)
    assert np.all(courses <= edge)
    assert np.all(courses.sum(axis=0) <= supply * (1 + 1e-12) + 1e-9)
    # as the LP would: same totals per participant
    who = np.flatnonzero(totals > 0)
    if who.size:
        lp = _lp_split(totals, supply, edge, who)
        assert np.allclose(lp.sum(axis=1), courses.sum(axis=1), rtol=1e-9, atol=1e-6)
    # participants listed in another order, the canonical order following them
    perm = list(range(n))
    rnd.shuffle(perm)
    p = np.array(perm)
    inverse = np.argsort(p)
    again = _split(totals[p], supply, edge[p], inverse[order])
    assert np.array_equal(again, courses[p])
