"""Pools available on the same date are shared as one problem (issue 12, finding 1)."""

from __future__ import annotations

import numpy as np

from doseflow.allocation import run_rounds
from doseflow.domain.product import Financing
from tests.allocation.builders import participant, product, scenario, tranche

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
