"""Invariants of allocation rounds on random scenarios (Hypothesis)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from doseflow.allocation import (
    Binding,
    CeilingRounding,
    Decline,
    Explanation,
    Mode,
    Policy,
    Redirect,
    SevereSupply,
    run_rounds,
)
from doseflow.domain.product import Financing
from doseflow.domain.supply import Membership
from doseflow.domain.temperature import TemperatureBand
from tests.allocation.builders import participant, product, scenario, tranche

MEMBERSHIPS: list[Membership | None] = [
    None,
    None,
    Membership(financing=frozenset({Financing.AMC})),
    Membership(financing=frozenset({Financing.SELF_FINANCING})),
]
ISO = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH", "III", "JJJ"]


@st.composite
def scenarios(draw: st.DrawFn) -> Any:
    n = draw(st.integers(2, 8))
    parts = [
        participant(
            ISO[i],
            population=draw(st.integers(1_000, 5_000_000)),
            financing=draw(st.sampled_from(list(Financing))),
            ceiling=draw(st.floats(0.0, 1.0)),
            cold_chain=draw(
                st.sampled_from(
                    [
                        frozenset({TemperatureBand.CHILLED}),
                        frozenset({TemperatureBand.CHILLED, TemperatureBand.ULTRA_COLD}),
                    ]
                )
            ),
            other_sources_doses=draw(st.integers(0, 200_000)),
        )
        for i in range(n)
    ]
    prods = [
        product("AZ", pack=draw(st.sampled_from([10, 100, 2400]))),
        product("SII", pack=100, licence_financing=frozenset({Financing.AMC})),
        product("PF", pack=1170, doses_per_vial=6, storage_band=TemperatureBand.ULTRA_COLD),
    ]
    rounds = []
    for r in range(draw(st.integers(1, 3))):
        ts = []
        for k, code in enumerate(
            draw(st.lists(st.sampled_from(["AZ", "SII", "PF"]), min_size=1, max_size=3))
        ):
            earmark = None
            if draw(st.booleans()) and draw(st.booleans()):
                earmark = frozenset(
                    draw(st.lists(st.sampled_from(ISO[:n]), min_size=1, max_size=3))
                )
            members = draw(st.sampled_from([*MEMBERSHIPS, Membership(iso3=frozenset(ISO[:1]))]))
            ts.append(
                tranche(
                    code,
                    draw(st.integers(0, 3_000_000)),
                    tid=f"r{r}t{k}",
                    earmarked=earmark,
                    members=members,
                )
            )
        rounds.append(ts)
    policy = Policy(
        floors={
            "PF": draw(st.sampled_from([0, 1170, 5850])),
            "AZ": draw(st.sampled_from([0, 2_400, 100_800])),
        },
        ceiling_rounding=draw(st.sampled_from(list(CeilingRounding))),
        floors_prevail=draw(st.booleans()),
        humanitarian_buffer=draw(st.sampled_from([0.0, 0.05])),
        cap_share_of_pool=draw(st.sampled_from([None, 0.5])),
        count_other_sources=draw(st.booleans()),
        severe=SevereSupply(enabled=draw(st.booleans())),
    )
    declines = []
    if draw(st.booleans()):
        declines.append(
            Decline(
                round=1,
                product=rounds[0][0].product,
                iso3=draw(st.sampled_from(ISO[:n])),
                redirect=draw(st.sampled_from(list(Redirect.__members__.values()))),
                recipients=frozenset(
                    draw(st.lists(st.sampled_from(ISO[:n]), min_size=1, max_size=2))
                ),
            )
        )
    return scenario(prods, parts, rounds, policy), declines


@settings(max_examples=40, deadline=None)
@given(scenarios())
def test_round_invariants(case: Any) -> None:
    sc, declines = case
    run = run_rounds(sc, declines)
    ceilings = {p.iso3: min(p.ceiling, sc.policy.top_rung) for p in sc.participants}
    for result in run.rounds:
        for pr in result.pools:
            pack = pr.product.pack_doses
            # supply never exceeded; nothing lost: allocated + buffer + held == supply
            assert pr.allocated + pr.buffer + pr.held == pr.supply
            assert pr.held >= 0
            assert pr.allocated <= pr.supply - pr.buffer
            # whole packs, never negative
            assert np.all(pr.doses % pack == 0)
            assert np.all(pr.doses >= 0)
            # earmarks and eligibility respected
            assert np.all(pr.rule_doses[pr.exclusions != 0] == 0)
            if pr.pool.earmarked is not None:
                for i, p in enumerate(sc.participants):
                    if p.iso3 not in pr.pool.earmarked:
                        assert pr.doses[i] == 0
            if pr.pool.members is not None:  # non-members get nothing, declines included
                for i, p in enumerate(sc.participants):
                    if not pr.pool.members.admits(p.iso3, p.financing):
                        assert pr.doses[i] == 0
            _ceilings_hold(result.policy, pr, ceilings, sc.participants)
            after = pr.coverage_before + pr.rule_doses / pr.doses_per_coverage
            if (
                pr.mode is Mode.EQUAL_COVERAGE
                and pr.joint is None
                and pr.level is not None
                and np.isfinite(pr.level)
            ):
                free = pr.binding == Binding.LEVEL
                gap = np.abs(after[free] - pr.level) * pr.doses_per_coverage[free]
                assert np.all(gap <= pack + 1e-6)  # equal coverage within one pack
            for rec in pr.declines:
                # declined doses all reallocated or held
                assert rec.declined == sum(q for _, q in rec.given) + rec.held
                if rec.decline.redirect is Redirect.NAMED:
                    assert {sc.participants[i].iso3 for i, _ in rec.given} <= rec.decline.recipients
                assert rec.decline.iso3 not in {sc.participants[i].iso3 for i, _ in rec.given}
        _joint_levels_hold(result)
    # identical on re-run
    again = run_rounds(sc, declines)
    for a, b in zip(run.rounds, again.rounds, strict=True):
        for pa, pb in zip(a.pools, b.pools, strict=True):
            assert np.array_equal(pa.doses, pb.doses)
    # what is held in one round is carried into the next (never lost between rounds)
    for prev, nxt in zip(run.rounds, run.rounds[1:], strict=False):
        assert sum(p.carried_in for p in (pr.pool for pr in nxt.pools)) == prev.held


#: How far above its nominal ceiling a rule share may take a participant, in packs of the
#: pool: down never; nearest at most half a pack (exactly half only when the room is a whole
#: number of packs and a half); up less than one pack.
_OVER = {CeilingRounding.DOWN: 0.0, CeilingRounding.NEAREST: 0.5, CeilingRounding.UP: 1.0}


def _ceilings_hold(policy: Policy, pr: Any, ceilings: dict[str, float], parts: Any) -> None:
    """Phase-1 pools: a rule share takes nobody above its ceiling by more than the rounding
    allows, except a floor given in full to a small participant while floors prevail; a
    floor is given (in whole packs, caps allowing) or, if the ceiling clipped it, said so."""
    if pr.mode not in (Mode.EQUAL_COVERAGE, Mode.FLOOR_SHORTFALL, Mode.THREAT_WEIGHTED):
        return
    pack = pr.product.pack_doses
    room = (np.array([ceilings[p.iso3] for p in parts]) - pr.coverage_before) * (
        pr.doses_per_coverage
    )
    whole = np.array([ceilings[p.iso3] for p in parts]) * pr.doses_per_coverage
    floors = pr.floors if pr.floors is not None else np.zeros(len(parts))
    prevails = policy.floors_prevail & (whole < floors) & (room > 1e-6 * pack)
    over = pr.rule_doses - np.maximum(room, 0.0)
    got = pr.rule_doses > 0
    limit = _OVER[policy.ceiling_rounding] * pack + 1e-6 * pack
    assert np.all(over[got & ~prevails] <= limit)
    if policy.ceiling_rounding is CeilingRounding.UP:
        assert np.all(over[got & ~prevails] < pack)
    # a prevailing floor is the most a small participant gets, and (caps allowing, the pool
    # sufficing) what it gets
    assert np.all(pr.rule_doses[prevails] <= floors[prevails])
    binding = pr.binding
    clipped = binding == Binding.FLOOR_CLIPPED
    assert np.all(pr.rule_doses[clipped] < floors[clipped])
    assert np.all(room[clipped] > 0)
    above = binding == Binding.FLOOR_ABOVE_CEILING
    assert np.all(pr.rule_doses[above] == floors[above])
    assert np.all(pr.rule_doses[above] > room[above])
    if (
        pr.mode is Mode.EQUAL_COVERAGE
        and pr.joint is None
        and policy.cap_share_of_pool is None
        and not policy.caps
    ):
        # a pool that meets every floor gives each its floor: in full where it prevails,
        # else as far as its ceiling (in whole packs by the policy's rounding) allows
        offset = {"down": 1e-9, "nearest": 0.5 + 1e-9, "up": 1.0 - 1e-9}
        packs = np.floor(np.maximum(room, 0.0) / pack + offset[policy.ceiling_rounding])
        owed = np.where(prevails, floors, np.minimum(floors, packs * pack))
        eligible = pr.exclusions == 0
        assert np.all(pr.rule_doses[eligible] >= owed[eligible])


def _joint_levels_hold(result: Any) -> None:
    """Pools shared jointly: a participant stopped by pools at a common level ends the date
    at that level, within one pack of each pool it may draw from."""
    groups: dict[int, list[Any]] = {}
    for pr in result.pools:
        if pr.joint is not None:
            groups.setdefault(id(pr.joint), []).append(pr)
    for prs in groups.values():
        joint = prs[0].joint
        start = prs[0].coverage_before
        last = prs[-1]
        after = last.coverage_before + last.rule_doses / last.doses_per_coverage
        slack = sum(
            np.where(pr.exclusions == 0, pr.product.pack_doses / pr.doses_per_coverage, 0.0)
            for pr in prs
        )
        level = np.any([pr.binding == Binding.LEVEL for pr in prs], axis=0)
        other = np.any([(pr.binding != Binding.LEVEL) & (pr.exclusions == 0) for pr in prs], axis=0)
        free = np.isfinite(joint.levels) & (start < joint.levels) & level & ~other
        assert np.all(np.abs(after[free] - joint.levels[free]) <= slack[free] + 1e-9)
        # nobody ends a date above the level it was stopped at (beyond rounding)
        assert np.all(after[free] <= joint.levels[free] + slack[free] + 1e-9)


def _quantity_from(e: Explanation) -> int:
    """A line's doses worked out from its explanation alone: what the pool's rules gave it
    (from the binding's own numbers where the binding names them, else from the continuous
    share and the direction it was rounded), less what it declined, plus what it received."""
    pack = e.pack_doses
    packs = math.floor(e.unrounded_doses / pack + 1e-9) + (1 if e.rounding == "up" else 0)
    if e.rounding == "cut":  # more packs than its room: cut to the room in whole packs
        assert e.ceiling_packs is not None
        assert e.ceiling_packs < packs
        packs = e.ceiling_packs
    rule = packs * pack if e.eligible else 0
    if e.binding == Binding.FLOOR_ABOVE_CEILING.label:
        assert e.ceiling_packs is not None
        assert e.floor_doses > e.ceiling_packs * pack
        assert rule == e.floor_doses, e.render()
    elif e.binding == Binding.FLOOR_CLIPPED.label:
        assert e.ceiling_packs is not None
        assert e.ceiling_doses is not None
        assert e.floor_doses > e.ceiling_packs * pack
        assert e.ceiling_doses > 0
        assert rule == e.ceiling_packs * pack, e.render()
    elif e.binding == Binding.CEILING.label and e.ceiling_packs is not None and not e.shared_with:
        assert rule == e.ceiling_packs * pack, e.render()
    elif e.binding == Binding.NOT_ELIGIBLE.label:
        assert rule == 0
    assert rule == e.rule_doses, e.render()
    return rule - sum(n.doses for n in e.declined) + sum(n.doses for n in e.received)


@settings(max_examples=40, deadline=None)
@given(scenarios())
def test_every_line_quantity_follows_from_its_explanation(case: Any) -> None:
    sc, declines = case
    run = run_rounds(sc, declines)
    for result in run.rounds:
        for line in result.lines(include_zero=True):
            e = line.explanation
            assert _quantity_from(e) == line.doses == e.doses
            again = Explanation.from_dict(e.to_dict())
            assert _quantity_from(again) == line.doses
