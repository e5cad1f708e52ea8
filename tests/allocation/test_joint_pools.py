"""Pools available on the same date are shared as one problem (issue 12, finding 1)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from doseflow.allocation import Mode, Policy, Scenario, SevereSupply, run_rounds
from doseflow.allocation.joint import MAX_SUBSET_POOLS, joint_fill
from doseflow.domain.product import Financing
from doseflow.domain.supply import Membership
from doseflow.domain.temperature import TemperatureBand
from tests.allocation.builders import participant, product, scenario, tranche
from tests.allocation.lp_oracle import lex_max_min

PACK = 100


def _round(skb_code: str) -> dict[tuple[str, str], int]:
    """An SII pool for AMC participants and an SK Bio pool for everyone, same date."""
    prods = [
        product("AZ-SII", pack=PACK, licence_financing=frozenset({Financing.AMC})),
        product(skb_code, pack=PACK),
    ]
    parts = [
        participant("AAA", 10_000_000),
        participant("CCC", 5_000_000, financing=Financing.SELF_FINANCING),
        participant("DDD", 1_000_000, financing=Financing.SELF_FINANCING),
    ]
    sc = scenario(prods, parts, [[tranche("AZ-SII", 600_000), tranche(skb_code, 1_500_000)]])
    run = run_rounds(sc)
    out: dict[tuple[str, str], int] = {}
    for pr in run.rounds[0].pools:
        name = "SKB" if pr.product.code == skb_code else "SII"
        for i, p in enumerate(sc.participants):
            out[(p.iso3, name)] = int(pr.doses[i])
    return out


def test_renaming_a_product_does_not_move_allocations() -> None:
    """Finding 1: renaming AZ-SKB to AZ (it then sorts before AZ-SII) moved doses."""
    before = _round("AZ-SKB")
    after = _round("AZ")
    for key, doses in before.items():
        assert abs(after[key] - doses) <= PACK, (key, doses, after[key])


def test_same_date_pools_reach_one_common_level() -> None:
    """Everyone draws up to one coverage level across both pools (2.1 M doses for 16 M
    people, 2 doses a course: 6.56% each), not a level per pool in code order (SK Bio
    first would give 4.69% to all, then the SII pool to AAA alone)."""
    got = _round("AZ")
    pops = {"AAA": 10_000_000, "CCC": 5_000_000, "DDD": 1_000_000}
    level = 2_100_000 / 2 / sum(pops.values())
    for iso3, pop in pops.items():
        total = got[(iso3, "SII")] + got[(iso3, "SKB")]
        assert abs(total / 2 / pop - level) * pop * 2 <= 2 * PACK, (iso3, total)
    # the self-financing participants cannot draw from the SII pool
    assert got[("CCC", "SII")] == got[("DDD", "SII")] == 0


def test_disjoint_eligibility_gives_each_pool_its_own_level() -> None:
    """Two pools with disjoint participants are two problems (Feb 2021: SII for AMC
    participants, SK Bio for the others)."""
    prods = [
        product("SII", pack=PACK, licence_financing=frozenset({Financing.AMC})),
        product("SKB", pack=PACK, licence_financing=frozenset({Financing.SELF_FINANCING})),
    ]
    parts = [
        participant("AAA", 4_000_000),
        participant("BBB", 1_000_000, financing=Financing.SELF_FINANCING),
    ]
    sc = scenario(prods, parts, [[tranche("SII", 400_000), tranche("SKB", 40_000)]])
    pools = {pr.product.code: pr for pr in run_rounds(sc).rounds[0].pools}
    assert pools["SII"].doses.tolist() == [400_000, 0]
    assert pools["SKB"].doses.tolist() == [0, 40_000]
    assert pools["SII"].level is not None
    assert pools["SKB"].level is not None
    assert abs(pools["SII"].level - 0.05) < 1e-9
    assert abs(pools["SKB"].level - 0.02) < 1e-9


def test_participant_order_does_not_matter() -> None:
    prods = [
        product("AZ-SII", pack=PACK, licence_financing=frozenset({Financing.AMC})),
        product("AZ-SKB", pack=PACK),
    ]
    parts = [
        participant("AAA", 10_000_000),
        participant("BBB", 2_000_000),
        participant("CCC", 5_000_000, financing=Financing.SELF_FINANCING),
    ]
    rounds = [[tranche("AZ-SII", 600_000), tranche("AZ-SKB", 1_500_000)]]
    a = run_rounds(scenario(prods, parts, rounds)).rounds[0]
    b = run_rounds(scenario(prods, parts[::-1], [r[::-1] for r in rounds])).rounds[0]
    for pa in a.pools:
        pb = b.pool(pa.pool.id)
        assert np.array_equal(pa.doses, pb.doses[::-1])


# --- properties: the LP oracle, invariance ---------------------------------------------

ISO = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"]
LICENCES = [None, frozenset({Financing.AMC}), frozenset({Financing.SELF_FINANCING})]


@st.composite
def same_date_rounds(draw: st.DrawFn) -> Scenario:
    """One round of 2-3 vaccine pools available on the same date, random eligibility."""
    n = draw(st.integers(1, 6))
    parts = [
        participant(
            ISO[i],
            population=draw(st.integers(20_000, 5_000_000)),
            financing=draw(st.sampled_from(list(Financing))),
            ceiling=draw(st.floats(0.0, 1.0)),
            cold_chain=draw(st.sampled_from(BANDS)),
            other_sources_doses=draw(st.integers(0, 300_000)),
        )
        for i in range(n)
    ]
    k = draw(st.integers(2, 3))
    prods = [
        product(
            f"P{j}",
            pack=draw(st.sampled_from([10, 100, 1000])),
            doses_per_course=draw(st.sampled_from([1, 2])),
            licence_financing=draw(st.sampled_from(LICENCES)),
            storage_band=draw(st.sampled_from(list(BANDS[1]))),
        )
        for j in range(k)
    ]
    tranches = [
        tranche(
            p.code,
            draw(st.integers(0, 2_000_000)),
            earmarked=draw(st.sampled_from([None, frozenset(ISO[: max(1, n // 2)])])),
            members=draw(st.sampled_from(MEMBERSHIPS)),
        )
        for p in prods
    ]
    policy = Policy(severe=SevereSupply(enabled=False), count_other_sources=draw(st.booleans()))
    return scenario(prods, parts, [tranches], policy)


MEMBERSHIPS = [
    None,
    Membership(financing=frozenset({Financing.AMC})),
    Membership(financing=frozenset({Financing.SELF_FINANCING}), iso3=frozenset({ISO[0]})),
]

BANDS = [
    frozenset({TemperatureBand.CHILLED}),
    frozenset({TemperatureBand.CHILLED, TemperatureBand.ULTRA_COLD}),
]


def _courses(sc: Scenario, rounded: bool) -> dict[str, float]:
    """Courses each participant (by ISO3) received on the round's date."""
    pools = run_rounds(sc).rounds[0].pools
    out = {p.iso3: 0.0 for p in sc.participants}
    for pr in pools:
        unit = pr.product.doses_per_course
        got = pr.rule_doses if rounded else pr.unrounded
        for i, p in enumerate(sc.participants):
            out[p.iso3] += float(got[i]) / unit
    return out


def _slack(sc: Scenario) -> dict[str, float]:
    """One pack of every pool, in courses: what rounding may move a participant by."""
    return {
        p.iso3: sum(q.pack_doses / q.doses_per_course for q in sc.products.values())
        for p in sc.participants
    }


#: the policy's rounding of the room under a ceiling to whole packs (half up for nearest)
_OFFSET = {"down": 1e-9, "nearest": 0.5 + 1e-9, "up": 1.0 - 1e-9}


def _oracle(sc: Scenario) -> dict[str, float]:
    """The LP's lexicographic max-min courses, from the inputs the engine shares."""
    pools = run_rounds(sc).rounds[0].pools
    first = pools[0]
    pop = np.array([p.population for p in sc.participants], dtype=np.float64)
    start = first.coverage_before
    ceiling = np.minimum([p.ceiling for p in sc.participants], sc.policy.top_rung)
    edges, supply, rounded = [], [], []
    for pr in pools:
        pack, unit = pr.product.pack_doses, pr.product.doses_per_course
        room = np.maximum(ceiling - start, 0.0) * pr.doses_per_coverage / pack
        hp = np.floor(room + _OFFSET[sc.policy.ceiling_rounding])
        hp[pr.exclusions != 0] = 0
        edges.append(hp * pack / unit)
        rounded.append(np.where(pr.exclusions == 0, hp * pack / unit, np.inf))
        supply.append((pr.pool.doses - pr.buffer) / unit)
    # a ceiling rounded up to the packs of every pool a participant may draw on holds more
    # than the nominal one (nearest, up): the smallest of those
    least = np.min(rounded, axis=0)
    least[~np.isfinite(least)] = 0.0
    caps = np.maximum(np.maximum(ceiling - start, 0.0) * pop, least)
    totals = lex_max_min(np.array(supply), pop, start, caps, np.column_stack(edges))
    return {p.iso3: float(totals[i]) for i, p in enumerate(sc.participants)}


@settings(max_examples=40, deadline=None)
@given(same_date_rounds())
def test_joint_pools_equal_the_lp_lexicographic_max_min(sc: Scenario) -> None:
    pools = run_rounds(sc).rounds[0].pools
    assert all(pr.joint is not None for pr in pools)
    oracle = _oracle(sc)
    before = _courses(sc, rounded=False)
    after = _courses(sc, rounded=True)
    slack = _slack(sc)
    for iso3, want in oracle.items():
        assert abs(before[iso3] - want) <= 1e-6 * max(1.0, want) + 1e-3, (iso3, before, oracle)
        assert abs(after[iso3] - want) <= slack[iso3] + 1e-6, (iso3, after, oracle)
    for pr in pools:  # supply never exceeded, whole packs
        assert pr.allocated + pr.buffer + pr.held == pr.supply
        assert int(pr.rule_doses.sum()) <= pr.supply - pr.buffer
        assert np.all(pr.rule_doses % pr.product.pack_doses == 0)


def _renamed(sc: Scenario, codes: dict[str, str], order: list[int]) -> Scenario:
    prods = [replace(p, code=codes[p.code], name=codes[p.code]) for p in sc.products.values()]
    parts = [sc.participants[i] for i in order]
    spec = sc.rounds[0]
    tranches = [
        replace(t, product=codes[t.product], id=codes[t.product]) for t in spec.tranches[::-1]
    ]
    return scenario(prods, parts, [tranches], sc.policy)


@settings(max_examples=40, deadline=None)
@given(same_date_rounds(), st.randoms(use_true_random=False))
def test_renaming_and_reordering_do_not_change_results(sc: Scenario, rnd: Any) -> None:
    """Renaming products (so they sort in another order), permuting participants and
    reversing the tranches move nobody's courses beyond pack rounding."""
    old = list(sc.products)
    new = [f"Z{len(old) - j}" for j in range(len(old))]  # reverses the code order
    rnd.shuffle(new)
    order = list(range(len(sc.participants)))
    rnd.shuffle(order)
    other = _renamed(sc, dict(zip(old, new, strict=True)), order)
    a, b = _courses(sc, rounded=False), _courses(other, rounded=False)
    for iso3, want in a.items():
        assert abs(b[iso3] - want) <= 1e-6 * max(1.0, want) + 1e-3
    a, b = _courses(sc, rounded=True), _courses(other, rounded=True)
    slack = _slack(sc)
    for iso3, want in a.items():
        assert abs(b[iso3] - want) <= slack[iso3] + 1e-6


def test_explanation_names_the_pools_that_set_the_level() -> None:
    prods = [
        product("AZ-SII", pack=PACK, licence_financing=frozenset({Financing.AMC})),
        product("AZ-SKB", pack=PACK),
    ]
    parts = [
        participant("AAA", 10_000_000),
        participant("CCC", 5_000_000, financing=Financing.SELF_FINANCING),
    ]
    sc = scenario(prods, parts, [[tranche("AZ-SII", 600_000), tranche("AZ-SKB", 1_500_000)]])
    result = run_rounds(sc).rounds[0]
    ccc = result.explanation(result.pool("AZ-SKB"), 1)
    assert ccc.binding == "level"
    # pools are named in delivery order: the larger (SK Bio, 1.5 M doses) first
    assert "shared jointly with the pools available on 2021-03-01 (AZ-SKB, AZ-SII)" in (
        ccc.binding_text
    )
    assert ccc.binding_text.startswith(
        "raised to the common coverage level where pool(s) AZ-SKB, AZ-SII ran out, "
    )
    assert "the most restricted pool is drawn on first" in ccc.binding_text
    assert ccc.level is not None
    assert abs(ccc.level - 2_100_000 / 2 / 15_000_000) < 1e-9
    aaa = result.explanation(result.pool("AZ-SKB"), 0)
    assert aaa.level == ccc.level
    # the rendered text says whose level it is, and across which pools
    assert ccc.shared_with == ("AZ-SKB", "AZ-SII")
    text = ccc.render()
    assert "Common coverage level of the pool:" not in text
    assert f"across the pools shared jointly (AZ-SKB, AZ-SII): {ccc.level:.2%}" in text
    # and survives the store's round trip
    assert type(ccc).from_dict(ccc.to_dict()) == ccc


@st.composite
def sharing_problems(draw: st.DrawFn) -> tuple[Any, ...]:
    """Random small problems for :func:`joint_fill`: some edges capped below the ceiling."""
    n = draw(st.integers(1, 7))
    k = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    slopes = rng.uniform(1e3, 1e6, n)
    starts = rng.uniform(0, 0.1, n) * (rng.random(n) < 0.5)
    headroom = np.maximum(rng.uniform(0, 0.3, n) - starts, 0) * slopes
    elig = rng.random((n, k)) < 0.6
    partial = rng.random((n, k)) < 0.3
    edge = np.where(
        elig, np.where(partial, rng.uniform(0, 1, (n, k)), 1.0) * headroom[:, None], 0.0
    )
    supply = rng.uniform(0, 1, k) * headroom.sum() / k * 1.5
    return supply, slopes, starts, headroom, edge


@settings(max_examples=60, deadline=None)
@given(sharing_problems(), st.sampled_from([MAX_SUBSET_POOLS, 0]))
def test_joint_fill_equals_the_lp_oracle(problem: tuple[Any, ...], limit: int) -> None:
    """Both methods (set checks; linear programmes for many pools) give the LP oracle's
    totals, within the pools and the edges."""
    supply, slopes, starts, headroom, edge = problem
    got = joint_fill(supply, slopes, starts, headroom, edge, max_subset_pools=limit)
    want = lex_max_min(supply, slopes, starts, headroom, edge)
    assert np.allclose(got.totals, want, rtol=1e-6, atol=1e-3)
    assert np.all(got.courses.sum(axis=0) <= supply * (1 + 1e-9) + 1e-6)
    assert np.all(got.courses <= edge * (1 + 1e-9) + 1e-6)


def test_many_pools_on_one_date_share_one_level() -> None:
    """More pools than the set checks take (13 > 12): shared by linear programmes."""
    prods = [product(f"P{j:02d}", pack=10) for j in range(MAX_SUBSET_POOLS + 1)]
    parts = [participant("AAA", 1_000_000), participant("BBB", 3_000_000)]
    tranches = [tranche(p.code, 20_000) for p in prods]
    pools = run_rounds(scenario(prods, parts, [tranches])).rounds[0].pools
    total = np.sum([pr.doses for pr in pools], axis=0)
    level = 13 * 20_000 / 2 / 4_000_000
    assert np.all(np.abs(total / 2 / np.array([1e6, 3e6]) - level) * 2e6 <= 13 * 10)
    assert all(int(pr.doses.sum()) <= pr.supply for pr in pools)
    assert pools[0].joint is not None
    assert pools[0].joint.bound_names(0) == tuple(pr.pool.id for pr in pools)


def test_a_participant_gets_one_floor_per_date_not_one_per_pool() -> None:
    """Finding 1: the floors of both pools applied to the same participant."""
    prods = [product("A", pack=PACK), product("B", pack=PACK)]
    parts = [participant("AAA", 50_000_000), participant("BBB", 100_000)]
    policy = Policy(severe=SevereSupply(enabled=False), floors={"A": 1_000, "B": 1_000})
    sc = scenario(prods, parts, [[tranche("A", 3_000), tranche("B", 3_000)]], policy)
    pools = run_rounds(sc).rounds[0].pools
    total = np.sum([pr.doses for pr in pools], axis=0)
    assert total.tolist() == [5_000, 1_000]
    renamed = scenario(
        [product("Z", pack=PACK), product("B", pack=PACK)],
        parts,
        [[tranche("Z", 3_000), tranche("B", 3_000)]],
        Policy(severe=SevereSupply(enabled=False), floors={"Z": 1_000, "B": 1_000}),
    )
    again = np.sum([pr.doses for pr in run_rounds(renamed).rounds[0].pools], axis=0)
    assert again.tolist() == total.tolist()


def test_a_pool_short_below_the_severe_threshold_is_shared_alone_by_weights() -> None:
    """With the severe-supply rule on, a pool that runs out below the threshold when shared
    jointly is shared alone, by threat-and-vulnerability weights; the rest jointly."""
    prods = [
        product("A", pack=PACK, licence_financing=frozenset({Financing.AMC})),
        product("B", pack=PACK, licence_financing=frozenset({Financing.SELF_FINANCING})),
        product("C", pack=PACK, licence_financing=frozenset({Financing.SELF_FINANCING})),
    ]
    parts = [
        participant("AAA", 10_000_000),
        participant("BBB", 8_000_000),
        participant("CCC", 1_000_000, financing=Financing.SELF_FINANCING),
        participant("DDD", 3_000_000, financing=Financing.SELF_FINANCING),
    ]
    policy = Policy(severe=SevereSupply(enabled=True, threshold=0.01))
    tranches = [tranche("A", 2_000), tranche("B", 100_000), tranche("C", 100_000)]
    pools = {
        pr.product.code: pr
        for pr in run_rounds(scenario(prods, parts, [tranches], policy)).rounds[0].pools
    }
    assert pools["A"].mode is Mode.THREAT_WEIGHTED
    assert pools["A"].joint is None
    assert pools["B"].mode is Mode.EQUAL_COVERAGE
    assert pools["B"].joint is not None
    assert pools["C"].joint is pools["B"].joint
