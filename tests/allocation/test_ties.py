"""Exact ties are broken by ISO3 code, never by where a participant is listed (issue 12).

Largest-remainder rounding, the delivery ranks of threat-and-vulnerability order and the
minimum given in that order when supply cannot cover it all meet exact ties whenever two
participants have equal inputs. Each breaks them by ISO3 code, so permuting participants,
renaming products (keeping their order) and permuting a round's tranches give the same
doses per participant, product and pool.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from doseflow.allocation import (
    CeilingRounding,
    Decline,
    Policy,
    Redirect,
    RoundSpec,
    Scenario,
    SevereSupply,
    run_rounds,
)
from doseflow.allocation.explanation import Binding, Mode
from doseflow.allocation.joint import MAX_SUBSET_POOLS
from doseflow.allocation.policy import Phase
from doseflow.allocation.rounding import round_to_packs
from doseflow.allocation.scenario import RoundKind
from doseflow.allocation.table import ParticipantTable
from doseflow.allocation.threat import delivery_ranks
from doseflow.domain.participant import Demand, Participant, ThreatInputs
from doseflow.domain.product import Financing
from doseflow.domain.supply import Origin

from .builders import DAY, participant, product, scenario, tranche

ISO = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"]


def _by_iso3(sc: Scenario) -> list[dict[str, int]]:
    """Doses per ISO3 code, pool after pool, of the first round."""
    pools = run_rounds(sc).rounds[0].pools
    return [
        {p.iso3: int(d) for p, d in zip(sc.participants, pr.doses, strict=True)} for pr in pools
    ]


def test_the_last_pack_goes_by_iso3_code_whatever_the_order() -> None:
    """Found by Hypothesis: four equal participants share 21 packs; the spare pack went to
    whoever was listed first. It goes to the first by ISO3 code, in every order (the
    example in docs/allocation.md, Rounding)."""
    parts = [participant(c, 10_000, ceiling=0.0 if c == "EEE" else 1.0) for c in ISO[:5]]
    want = {"AAA": 60, "BBB": 50, "CCC": 50, "DDD": 50, "EEE": 0}
    for order in itertools.permutations(parts):
        sc = scenario([product("AZ", pack=10)], order, [[tranche("AZ", 210)]])
        assert _by_iso3(sc) == [want], [p.iso3 for p in order]


def test_equal_remainders_go_by_the_tie_rank() -> None:
    shares = np.array([150.0, 170.0, 130.0, 170.0, 150.0])  # remainders .5 .7 .3 .7 .5
    caps = np.full(5, 10, dtype=np.int64)
    ties = np.array([4, 3, 2, 1, 0], dtype=np.int64)  # the last listed comes first
    r = round_to_packs(shares, 100, caps, 8, ties)
    assert r.doses.tolist() == [100, 200, 100, 200, 200]  # the .7s, then the later .5
    r = round_to_packs(shares, 100, caps, 7, ties)
    assert r.doses.tolist() == [100, 200, 100, 200, 100]
    r = round_to_packs(shares, 100, caps, 6, ties)
    assert r.doses.tolist() == [100, 100, 100, 200, 100]  # one .7: the higher tie rank


def test_remainders_equal_but_for_float_noise_are_a_tie() -> None:
    """Shares computed in another order differ in their last bits; such remainders are
    equal, so the tie rank decides, not the noise."""
    shares = np.array([150.0 + 1e-10, 150.0, 150.0 - 1e-10])
    caps = np.full(3, 10, dtype=np.int64)
    got = round_to_packs(shares, 100, caps, 4, np.array([2, 1, 0], dtype=np.int64))
    assert got.doses.tolist() == [100, 100, 200]


def test_equal_threat_scores_are_ranked_by_tie_rank() -> None:
    scores = np.array([0.5, 0.9, 0.5, 0.5, 0.1])
    among = np.array([True, True, True, False, True])
    ties = np.array([2, 4, 0, 1, 3], dtype=np.int64)
    assert delivery_ranks(scores, among, ties).tolist() == [3, 1, 2, 0, 4]


def test_tie_rank_is_the_position_in_iso3_order() -> None:
    table = ParticipantTable([participant(c) for c in ["CCC", "AAA", "DDD", "BBB"]])
    assert table.tie_rank.tolist() == [2, 0, 3, 1]
    assert not table.tie_rank.flags.writeable


def test_a_minimum_short_of_supply_goes_in_threat_order_then_iso3() -> None:
    """Severe supply, equal threat inputs, a minimum of 3 packs each and 7 packs: the two
    first by ISO3 code get their minimum, whatever the order they are listed in."""
    parts = [participant(c, 1_000_000) for c in ISO[:4]]
    policy = Policy(severe=SevereSupply(enabled=True, min_packs=3))
    want = {"AAA": 300, "BBB": 300, "CCC": 0, "DDD": 0}
    for order in itertools.permutations(parts):
        sc = scenario([product("AZ", pack=100)], order, [[tranche("AZ", 700)]], policy)
        result = run_rounds(sc).rounds[0].pools[0]
        assert result.mode is Mode.THREAT_WEIGHTED
        got = {p.iso3: int(d) for p, d in zip(order, result.doses, strict=True)}
        assert got == want, [p.iso3 for p in order]


def test_floors_beyond_supply_share_equally_then_by_iso3() -> None:
    """Floors of 5 packs for three equal participants, 10 packs in the pool: equal shares
    (3 1/3 packs each), the spare pack to the first by ISO3 code."""
    parts = [participant(c, 1_000_000) for c in ISO[:3]]
    policy = Policy(severe=SevereSupply(enabled=False), floors={"AZ": 500})
    want = {"AAA": 400, "BBB": 300, "CCC": 300}
    for order in itertools.permutations(parts):
        sc = scenario([product("AZ", pack=100)], order, [[tranche("AZ", 1_000)]], policy)
        result = run_rounds(sc).rounds[0].pools[0]
        assert result.mode is Mode.FLOOR_SHORTFALL
        got = {p.iso3: int(d) for p, d in zip(order, result.doses, strict=True)}
        assert got == want, [p.iso3 for p in order]


# --- the property: permuting and renaming changes nothing, ties included ----------------

CODES = ("AZ", "PF")
#: renamed so that the codes sort the other way round (pools of one date are shared in
#: an order set by what they are, not by their codes: engine.delivery_order)
RENAME = {"AZ": "ZZ-ASTRA", "PF": "AA-PFIZER"}


@st.composite
def tied_scenarios(draw: st.DrawFn) -> tuple[Scenario, list[Decline]]:
    """Scenarios drawn from few values, so equal participants (and so exact ties in
    rounding, threat order and floor shortfalls) are common."""
    n = draw(st.integers(2, 6))
    parts = []
    for k in range(n):
        requests = {
            c: draw(st.sampled_from([0, 1_000, 20_000]))
            for c in CODES
            if draw(st.booleans()) and draw(st.booleans())
        }
        parts.append(
            participant(
                ISO[k],
                draw(
                    st.one_of(
                        st.sampled_from([10_000, 10_000, 250_000, 1_000_000]),
                        st.integers(1_000, 5_000_000),
                    )
                ),
                financing=draw(
                    st.sampled_from([Financing.AMC, Financing.AMC, Financing.SELF_FINANCING])
                ),
                ceiling=draw(st.sampled_from([0.0, 0.2, 1.0, 1.0])),
                demand=Demand(requests=requests),
                awaiting_second_dose={"AZ": draw(st.sampled_from([0, 5_000]))},
                share_of_level=draw(st.sampled_from([None, None, 0.5])),
                threat=ThreatInputs(deaths_per_million=draw(st.sampled_from([0.0, 0.0, 50.0]))),
            )
        )
    prods = [
        product("AZ", pack=draw(st.sampled_from([10, 100]))),
        product("PF", pack=draw(st.sampled_from([6, 1170])), doses_per_vial=6),
    ]
    specs = []
    for r in range(draw(st.integers(1, 2))):
        kind = draw(st.sampled_from(["p1", "p1", "p1", "p2", "top-up"]))
        tranches = [
            tranche(
                draw(st.sampled_from(CODES)),
                draw(st.sampled_from([0, 210, 1_000, 7_000, 60_000, 333_333])),
                tid=f"r{r}t{k}",
                available=DAY + timedelta(days=draw(st.sampled_from([0, 0, 7]))),
                origin=Origin.DONATION if k % 2 else Origin.PURCHASE,
                donor="X" if k % 2 else None,
            )
            for k in range(draw(st.integers(1, 4)))
        ]
        specs.append(
            RoundSpec(
                r + 1,
                f"R{r + 1}",
                DAY + timedelta(days=30 * r),
                tuple(tranches),
                kind=RoundKind.TOP_UP if kind == "top-up" else RoundKind.REGULAR,
                phase=Phase.DEMAND_DRIVEN if kind == "p2" else None,
            )
        )
    policy = Policy(
        floors={c: draw(st.sampled_from([0, 0, 100, 6_000])) for c in CODES},
        floors_prevail=draw(st.booleans()),
        ceiling_rounding=draw(st.sampled_from(list(CeilingRounding))),
        humanitarian_buffer=draw(st.sampled_from([0.0, 0.05])),
        cap_share_of_pool=draw(st.sampled_from([None, None, 0.3])),
        severe=SevereSupply(enabled=draw(st.booleans()), min_packs=draw(st.sampled_from([1, 3]))),
    )
    declines = []
    if draw(st.booleans()):
        declines.append(
            Decline(
                round=1,
                product=specs[0].tranches[0].product,
                iso3=draw(st.sampled_from(ISO[:n])),
                redirect=draw(st.sampled_from(list(Redirect))),
                recipients=frozenset(
                    draw(st.lists(st.sampled_from(ISO[:n]), min_size=1, max_size=2))
                ),
            )
        )
    return scenario(prods, parts, specs, policy), declines


def _renamed_participant(p: Participant) -> Participant:
    def codes(m: Any) -> dict[str, Any]:
        return {RENAME[c]: v for c, v in m.items()}

    demand = replace(p.demand, requests=codes(p.demand.requests))
    return replace(p, demand=demand, awaiting_second_dose=codes(p.awaiting_second_dose))


def _transformed(sc: Scenario, declines: list[Decline], rnd: Any) -> tuple[Scenario, list[Decline]]:
    """``sc`` with participants permuted, products renamed (their codes sorting the other
    way round) and each round's tranches permuted."""
    parts = [_renamed_participant(p) for p in sc.participants]
    rnd.shuffle(parts)
    prods = {RENAME[c]: replace(p, code=RENAME[c], name=RENAME[c]) for c, p in sc.products.items()}
    rounds = []
    for spec in sc.rounds:
        tranches = [replace(t, product=RENAME[t.product]) for t in spec.tranches]
        rnd.shuffle(tranches)
        rounds.append(replace(spec, tranches=tuple(tranches)))
    policy = replace(sc.policy, floors={RENAME[c]: v for c, v in sc.policy.floors.items()})
    moved = replace(
        sc, products=prods, participants=tuple(parts), rounds=tuple(rounds), policy=policy
    )
    return moved, [replace(d, product=RENAME[d.product]) for d in declines]


def _outcome(sc: Scenario, declines: list[Decline], back: dict[str, str]) -> dict[Any, Any]:
    """Per round, pool (its id with the original product code) and ISO3 code: doses before
    and after declines, the rounding direction, what bound, the delivery rank; per pool
    the doses held."""
    out: dict[Any, Any] = {}
    for result in run_rounds(sc, declines).rounds:
        iso3 = [p.iso3 for p in result.context.table.participants]
        for pr in result.pools:
            head, _, rest = pr.pool.id.partition("/")
            pool = "/".join(filter(None, (back.get(head, head), rest)))
            out[(result.number, pool)] = (pr.mode, pr.held)
            for i, code in enumerate(iso3):
                rank = None if pr.ranks is None else int(pr.ranks[i])
                out[(result.number, pool, code)] = (
                    int(pr.rule_doses[i]),
                    int(pr.doses[i]),
                    int(pr.rounding[i]),
                    Binding(int(pr.binding[i])),
                    rank,
                )
    return out


@settings(max_examples=200, deadline=None)
@given(tied_scenarios(), st.randoms(use_true_random=False))
def test_permuting_and_renaming_change_nothing_ties_included(case: Any, rnd: Any) -> None:
    sc, declines = case
    moved, moved_declines = _transformed(sc, declines, rnd)
    back = {v: k for k, v in RENAME.items()}
    assert _outcome(moved, moved_declines, back) == _outcome(sc, declines, {})


def test_packs_taken_back_go_from_the_smallest_remainders_last_iso3_first() -> None:
    """The guard for shares above the budget: a pack is taken back from the smallest
    remainder first; among equal remainders, from the last by ISO3 code."""
    shares = np.array([150.0, 150.0, 120.0, 180.0])
    got = round_to_packs(shares, 100, np.full(4, 10), 2, np.array([3, 0, 1, 2]))
    assert got.doses.tolist() == [0, 100, 0, 100]


def test_explanations_say_how_ties_are_broken() -> None:
    parts = [participant(c, 1_000_000) for c in ISO[:4]]
    policy = Policy(severe=SevereSupply(enabled=True, min_packs=3))
    sc = scenario([product("AZ", pack=100)], parts[::-1], [[tranche("AZ", 700)]], policy)
    result = run_rounds(sc).rounds[0]
    ccc = result.explanation(result.pools[0], 1)  # listed second, third by ISO3 code
    assert ccc.iso3 == "CCC"
    assert ccc.binding_text.endswith("threat-and-vulnerability order (equal scores by ISO3 code)")
    parts = [participant(c, 10_000, ceiling=0.0 if c == "EEE" else 1.0) for c in ISO[:5]]
    sc = scenario([product("AZ", pack=10)], parts[::-1], [[tranche("AZ", 210)]])
    result = run_rounds(sc).rounds[0]
    aaa = result.explanation(result.pools[0], 4)
    assert aaa.iso3 == "AAA"
    assert aaa.doses == 60
    assert "rounded up to whole packs (largest remainder; equal remainders by ISO3 code)" in (
        aaa.render()
    )


@settings(max_examples=15, deadline=None)
@given(
    st.lists(st.sampled_from([10_000, 50_000, 1_000_000]), min_size=2, max_size=6),
    st.integers(1, 50),
    st.randoms(use_true_random=False),
)
def test_many_pools_on_one_date_ties_included(pops: list[int], k: int, rnd: Any) -> None:
    """More pools on a date than the set checks take (shared by linear programmes):
    equal participants, listed and supplied in another order, get the same doses."""
    prods = [product(f"P{j:02d}", pack=10) for j in range(MAX_SUBSET_POOLS + 1)]
    parts = [participant(ISO[i], p, ceiling=1.0) for i, p in enumerate(pops)]
    tranches = [tranche(p.code, 10 * k * (j + 1)) for j, p in enumerate(prods)]
    moved_parts, moved_tranches = list(parts), list(tranches)
    rnd.shuffle(moved_parts)
    rnd.shuffle(moved_tranches)
    a = _by_iso3(scenario(prods, parts, [tranches]))
    b = _by_iso3(scenario(prods, moved_parts, [moved_tranches]))
    assert a == b
