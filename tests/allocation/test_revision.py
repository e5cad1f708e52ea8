"""Revising a round's supply and the difference between two revisions (issue 12)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseflow.allocation import Decline, Policy, SevereSupply, run_rounds
from doseflow.allocation.revision import (
    SupplyChange,
    revise,
    revise_round,
    supply_changes,
    tranche_from_dict,
    tranche_to_dict,
)
from doseflow.allocation.revision_diff import (
    RoundDiff,
    RoundSnapshot,
    diff_rounds,
    snapshot,
)
from doseflow.domain.errors import DoseflowError
from doseflow.domain.supply import Origin
from tests.allocation.builders import participant, product, scenario, tranche
from tests.allocation.test_properties import scenarios


def _base(policy: Policy | None = None) -> Any:
    parts = [
        participant("AAA", 10_000_000, ceiling=0.2),
        participant("BBB", 20_000_000, ceiling=0.2),
        participant("CCC", 1_000_000, ceiling=0.01),
    ]
    rounds = [[tranche("AZ", 600_000, tid="T1")], [tranche("AZ", 300_000, tid="T2")]]
    return scenario(
        [product("AZ", pack=100)],
        parts,
        rounds,
        policy or Policy(severe=SevereSupply(enabled=False)),
    )


def _numbers(d: RoundDiff) -> list[tuple[str, str, int, int, float, float]]:
    return [
        (r.iso3, r.product, r.doses_from, r.doses_to, r.coverage_from, r.coverage_to)
        for r in d.participants
    ]


def test_revise_changes_only_that_round_supply_and_reruns_later_rounds() -> None:
    s = _base()
    before = run_rounds(s)
    after = revise(s, 1, SupplyChange(doses={"T1": 900_000}))
    assert after.round(1).supply == 900_000
    assert after.round(2).supply == before.round(2).supply == 300_000
    # coverage carries: round 2 starts from round 1's revised state
    assert (after.round(2).state_before.doses == after.round(1).state_after.doses).all()
    assert after.round(1).allocated > before.round(1).allocated
    revised = revise_round(s, 1, SupplyChange(doses={"T1": 900_000}))
    [change] = supply_changes(s, revised, 1)
    assert (change.tranche, change.before, change.after, change.change) == (
        "T1",
        600_000,
        900_000,
        300_000,
    )


def test_add_and_remove_tranches() -> None:
    s = _base()
    added = tranche("AZ", 50_000, tid="NEW", origin=Origin.DONATION, donor="X")
    revised = revise_round(s, 2, SupplyChange(added=(added,), removed=frozenset({"T2"})))
    assert [t.id for t in revised.round(2).tranches] == ["NEW"]
    changes = supply_changes(s, revised, 2)
    assert [(c.tranche, c.before, c.after) for c in changes] == [
        ("NEW", None, 50_000),
        ("T2", 300_000, None),
    ]
    assert tranche_from_dict(tranche_to_dict(added)) == added


def test_bad_changes_name_their_fields_all_at_once() -> None:
    s = _base()
    change = SupplyChange(
        doses={"NOPE": 1},
        removed=frozenset({"GONE"}),
        added=(tranche("XX", 10, tid="T2", earmarked=frozenset({"ZZZ"})),),
    )
    with pytest.raises(DoseflowError) as err:
        revise_round(s, 1, change)
    found = {(d.code, d.location.field) for d in err.value.details}
    assert found == {
        ("ALLOC_UNKNOWN_TRANCHE", "supply.NOPE"),
        ("ALLOC_UNKNOWN_TRANCHE", "remove"),
        ("ALLOC_DUPLICATE", "add[0].id"),
        ("ALLOC_UNKNOWN_PRODUCT", "add[0].product"),
        ("ALLOC_UNKNOWN_PARTICIPANT", "add[0].earmarked"),
    }
    with pytest.raises(DoseflowError) as err:
        revise_round(s, 1, SupplyChange())
    assert err.value.code == "ALLOC_EMPTY_REVISION"
    with pytest.raises(DoseflowError) as err:
        revise_round(s, 9, SupplyChange(doses={"T1": 1}))
    assert err.value.code == "ALLOC_UNKNOWN_ROUND"


def test_reasons_come_from_the_explanations() -> None:
    s = _base()
    a = snapshot(run_rounds(s).round(1))
    b = snapshot(revise(s, 1, SupplyChange(doses={"T1": 900_000})).round(1))
    d = diff_rounds(a, b)
    rows = {r.iso3: r for r in d.participants}
    ea = {e.iso3: e for e in a.explanations}
    eb = {e.iso3: e for e in b.explanations}
    # AAA and BBB share the common level: it rose, with 300,000 more doses in the pool
    for iso3 in ("AAA", "BBB"):
        r = rows[iso3]
        assert r.change == eb[iso3].doses - ea[iso3].doses > 0
        [reason] = r.reasons
        assert reason.code == "level-rose"
        assert f"from {ea[iso3].level:.2%} to {eb[iso3].level:.2%}" in reason.text
        assert "with 300,000 more doses" in reason.text
    # CCC's ceiling (1%) is reached in the revision: "now at its ceiling"
    assert eb["CCC"].binding == "ceiling"
    assert ea["CCC"].binding != "ceiling"
    assert rows["CCC"].reasons[0].code == "ceiling"
    assert rows["CCC"].reasons[0].text.startswith("now at its ceiling of 1.00%")
    [pool] = d.pools
    assert (pool.supply_from, pool.supply_to) == (600_000, 900_000)
    assert d.allocated_change == sum(r.change for r in d.participants)


def test_floors_caps_and_declines_are_kept() -> None:
    policy = Policy(severe=SevereSupply(enabled=False), floors={"AZ": 20_000}, caps={"AZ": 250_000})
    s = _base(policy)
    t300, t600 = (revise(s, 1, SupplyChange(doses={"T1": n})) for n in (300_000, 600_000))
    d = diff_rounds(snapshot(t300.round(1)), snapshot(t600.round(1)))
    rows = {r.iso3: r for r in d.participants}
    assert {x.code for r in d.participants for x in r.reasons} == {"cap"}
    assert rows["BBB"].doses_to == 250_000
    assert rows["BBB"].reasons[0].text.startswith("now limited by the cap")
    # fewer doses: the floor holds (AAA raised to it), the others' common level falls
    t60 = revise(s, 1, SupplyChange(doses={"T1": 60_000}))
    d = diff_rounds(snapshot(t300.round(1)), snapshot(t60.round(1)))
    rows = {r.iso3: r for r in d.participants}
    assert rows["AAA"].doses_to == 20_000
    assert rows["AAA"].why() == (
        "now raised to the floor in pool AZ, with 240,000 fewer doses in the pool"
    )
    assert rows["BBB"].reasons[0].code == "level-fell"
    assert "CCC" not in rows  # at its ceiling in both, with the same doses
    # a decline of the scenario is applied in every revision
    declined = replace(s, declines=(Decline(1, "AZ", "CCC", doses=None, reason="no"),))
    for n in (300_000, 600_000):
        lines = revise(declined, 1, SupplyChange(doses={"T1": n})).round(1).lines(include_zero=True)
        ccc = next(line.explanation for line in lines if line.iso3 == "CCC")
        assert (ccc.binding, ccc.doses) == ("declined", 0)


def test_added_and_removed_pools_are_reasons() -> None:
    s = _base()
    a = snapshot(run_rounds(s).round(1))
    extra = tranche("AZ", 100_000, tid="DON", origin=Origin.DONATION, donor="X")
    b = snapshot(revise(s, 1, SupplyChange(added=(extra,))).round(1))
    d = diff_rounds(a, b)
    codes = {x.code for r in d.participants for x in r.reasons}
    assert "pool-added" in codes
    back = diff_rounds(b, a)
    assert "pool-removed" in {x.code for r in back.participants for x in r.reasons}


def test_pools_shared_jointly_count_their_supply_together() -> None:
    s = scenario(
        [product("AZ", pack=100), product("SV", pack=100)],
        [participant("AAA", 10_000_000), participant("BBB", 20_000_000)],
        [[tranche("AZ", 300_000, tid="A1"), tranche("SV", 300_000, tid="S1")]],
    )
    a = snapshot(run_rounds(s).round(1))
    b = snapshot(revise(s, 1, SupplyChange(doses={"A1": 600_000})).round(1))
    assert {e.shared_with for e in b.explanations} == {("AZ", "SV")}
    d = diff_rounds(a, b)
    reasons = [x for r in d.participants if r.change for x in r.reasons]
    assert reasons
    assert {x.code for x in reasons} == {"level-rose"}
    # rows whose doses did not change are there for their coverage (vaccines share one)
    assert all(
        [x.code for x in r.reasons] == ["coverage-only"] for r in d.participants if not r.change
    )
    for x in reasons:
        assert x.text.startswith(f"its level in pool {x.pool} rose from ")
        assert x.text.endswith("with 300,000 more doses in the pools shared jointly (AZ, SV)")


def test_snapshot_round_trips_through_json() -> None:
    snap = snapshot(run_rounds(_base()).round(1))
    assert RoundSnapshot.from_dict(snap.to_dict()) == snap


# -- invariants (Hypothesis) --------------------------------------------------------------


@st.composite
def revisions(draw: st.DrawFn) -> Any:
    case, declines = draw(scenarios())
    spec = case.rounds[0]
    doses = {t.id: draw(st.integers(0, 3_000_000)) for t in spec.tranches}
    return case, declines, SupplyChange(doses=doses)


def _pair(case: Any, declines: Any, change: SupplyChange) -> tuple[RoundSnapshot, RoundSnapshot]:
    from hypothesis import assume

    a = run_rounds(case, declines)
    try:
        b = revise(case, 1, change, declines)
    except DoseflowError:  # a decline of more than the revision gives
        assume(False)
        raise
    return snapshot(a.round(1)), snapshot(b.round(1))


@settings(max_examples=30, deadline=None)
@given(revisions())
def test_diff_invariants(case: Any) -> None:
    s, declines, change = case
    a, b = _pair(s, declines, change)
    assert diff_rounds(a, a).empty
    ab, ba = diff_rounds(a, b), diff_rounds(b, a)
    assert _numbers(ab) == [(i, p, t, f, ct, cf) for i, p, f, t, cf, ct in _numbers(ba)]
    assert [(p.pool, p.supply_from, p.supply_to) for p in ab.pools] == [
        (p.pool, p.supply_to, p.supply_from) for p in ba.pools
    ]
    assert (
        sum(r.change for r in ab.participants) == ab.allocated_change == b.allocated - a.allocated
    )
    assert all(r.reasons for r in ab.participants)


@settings(max_examples=20, deadline=None)
@given(revisions(), st.randoms(use_true_random=False))
def test_diff_does_not_depend_on_participant_order(case: Any, rnd: Any) -> None:
    """The diff of the same two rounds, their participants listed in another order, is the
    same diff: rows are keyed and sorted by product and ISO3 code. (Pools keep their
    delivery order, which is part of the round, not an order of input.)"""
    s, declines, change = case
    a, b = _pair(s, declines, change)
    shuffled = []
    for snap in (a, b):
        explanations = list(snap.explanations)
        rnd.shuffle(explanations)
        shuffled.append(RoundSnapshot(snap.round, snap.pools, tuple(explanations)))
    one, two = diff_rounds(a, b), diff_rounds(*shuffled)
    assert _numbers(one) == _numbers(two)
    assert one.pools == two.pools
    assert [[x.code for x in r.reasons] for r in one.participants] == [
        [x.code for x in r.reasons] for r in two.participants
    ]


def test_a_revision_keeps_pool_membership() -> None:
    """Issue 12: a revised round keeps who may draw from each pool (its tranches' members),
    in the engine, through the store's JSON and for added tranches."""
    from doseflow.allocation import load_scenario
    from doseflow.allocation.revision_input import parse_supply_change
    from doseflow.cli.demo import example_path
    from doseflow.domain.product import Financing
    from doseflow.domain.supply import Membership

    s = load_scenario(example_path("covax_2021.yaml"))
    sii = next(t for t in s.round(1).tranches if t.id == "AZ-SII-H1")
    assert sii.members is not None
    assert tranche_from_dict(tranche_to_dict(sii)) == sii
    change = parse_supply_change(
        {
            "supply": {"AZ-SII-H1": sii.doses // 2},
            "add": [
                {
                    "id": "DON-PRK",
                    "product": "AZ-SKB",
                    "doses": 240_000,
                    "members": {"iso3": ["PRK"]},
                }
            ],
        },
        s,
        1,
    )
    (added,) = change.added
    assert added.members == Membership(iso3=frozenset({"PRK"}))
    revised = revise(s, 1, change).round(1)
    amc = {p.iso3 for p in s.participants if p.financing is Financing.AMC}
    for line in revised.lines():
        if line.explanation.pool == "AZ-SII":
            assert line.iso3 in amc
    (don,) = [e for e in revised.explain("PRK") if e.product == "AZ-SKB" and e.doses > 0]
    assert don.doses == 240_000
    (nga,) = [e for e in revised.explain("NGA") if e.pool == don.pool]
    assert nga.doses == 0
    assert "not a member" in nga.render()
    bad = {"add": [{"id": "X", "product": "AZ-SKB", "doses": 10, "members": {"iso3": ["ZZZ"]}}]}
    with pytest.raises(DoseflowError) as err:
        revise_round(s, 1, parse_supply_change(bad, s, 1))
    assert ("ALLOC_UNKNOWN_PARTICIPANT", "add[0].members.iso3") in {
        (d.code, d.location.field) for d in err.value.details
    }


@settings(max_examples=20, deadline=None)
@given(revisions(), st.randoms(use_true_random=False))
def test_a_revision_does_not_depend_on_the_order_of_participants_or_tranches(
    case: Any, rnd: Any
) -> None:
    """The same revision of the same scenario, its participants and its tranches listed in
    another order, gives the same diff, ties included (exact ties are broken by ISO3 code):
    revised and compared again, not only the rows reordered."""
    s, declines, change = case
    parts = list(s.participants)
    rnd.shuffle(parts)
    rounds = []
    for spec in s.rounds:
        tranches = list(spec.tranches)
        rnd.shuffle(tranches)
        rounds.append(replace(spec, tranches=tuple(tranches)))
    moved = replace(s, participants=tuple(parts), rounds=tuple(rounds))
    one, two = (
        diff_rounds(*_pair(s, declines, change)),
        diff_rounds(*_pair(moved, declines, change)),
    )
    assert _numbers(one) == _numbers(two)
    assert one.pools == two.pools
    assert [[x.code for x in r.reasons] for r in one.participants] == [
        [x.code for x in r.reasons] for r in two.participants
    ]
