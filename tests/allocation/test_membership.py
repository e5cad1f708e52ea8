"""Pool membership: which financing groups or participants may draw from a pool (as AMC
participants drew from the Serum Institute pool), apart from a product's licence territory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from doseflow.allocation import (
    Decline,
    Exclusion,
    Policy,
    Redirect,
    Scenario,
    SevereSupply,
    load_scenario,
    run_rounds,
)
from doseflow.domain.errors import DoseflowError
from doseflow.domain.participant import Participant
from doseflow.domain.product import Financing
from doseflow.domain.supply import Membership
from tests.allocation.builders import participant, product, scenario, tranche

AMC = Membership(financing=frozenset({Financing.AMC}))
SFP = Membership(financing=frozenset({Financing.SELF_FINANCING}))
NO_SEVERE = Policy(severe=SevereSupply(enabled=False))


def _parts() -> list[Participant]:
    return [
        participant("AAA", 1_000_000),
        participant("BBB", 3_000_000),
        participant("CCC", 2_000_000, financing=Financing.SELF_FINANCING),
    ]


def test_non_members_get_nothing_and_are_told_why() -> None:
    sc = scenario([product("AZ", pack=10)], _parts(), [[tranche("AZ", 80_000, members=AMC)]])
    result = run_rounds(sc).round(1)
    pr = result.pools[0]
    assert pr.pool.members == AMC
    assert pr.doses.tolist() == [20_000, 60_000, 0]  # 1% each of the AMC participants
    assert int(pr.exclusions[2]) == int(Exclusion.NOT_A_MEMBER)
    e = result.explanation(pr, 2)
    assert not e.eligible
    assert e.exclusions == ("NOT_A_MEMBER",)
    assert e.exclusion_text == ("not a member of the pool: the pool is for AMC participants",)
    assert "Not eligible: not a member of the pool: the pool is for AMC participants." in (
        e.render()
    )


def test_members_by_iso3_and_financing_group() -> None:
    members = Membership(financing=frozenset({Financing.SELF_FINANCING}), iso3=frozenset({"BBB"}))
    sc = scenario([product("AZ", pack=10)], _parts(), [[tranche("AZ", 100_000, members=members)]])
    result = run_rounds(sc).round(1)
    pr = result.pools[0]
    assert pr.doses.tolist() == [0, 60_000, 40_000]
    assert result.explanation(pr, 0).exclusion_text == (
        "not a member of the pool: the pool is for self-financing participants and BBB",
    )


def test_licence_and_membership_are_independent() -> None:
    # licensed to CCC (self-financing) and BBB only; the pool is for AMC participants
    prod = product("AZ", pack=10, licence_iso3=frozenset({"BBB", "CCC"}))
    sc = scenario([prod], _parts(), [[tranche("AZ", 80_000, members=AMC)]])
    pr = run_rounds(sc).round(1).pools[0]
    assert pr.exclusions.tolist() == [
        int(Exclusion.NOT_LICENSED),  # AAA: a member, outside the licence
        0,  # BBB: a member, licensed
        int(Exclusion.NOT_A_MEMBER),  # CCC: licensed, not a member
    ]
    assert pr.doses.tolist() == [0, 80_000, 0]


def test_tranches_with_different_members_form_different_pools() -> None:
    sc = scenario(
        [product("AZ", pack=10)],
        _parts(),
        [
            [
                tranche("AZ", 80_000, "for-amc", members=AMC),
                tranche("AZ", 40_000, "sfp", members=SFP),
            ]
        ],
    )
    pools = run_rounds(sc).round(1).pools
    assert len(pools) == 2
    assert len({pr.pool.id for pr in pools}) == 2
    by_members = {pr.pool.members: pr for pr in pools}
    assert by_members[AMC].doses.tolist() == [20_000, 60_000, 0]
    assert by_members[SFP].doses.tolist() == [0, 0, 40_000]
    assert {pr.pool.id for pr in pools} == {"AZ/members-amc", "AZ/members-self-financing"}


def test_same_members_in_another_order_pool_together() -> None:
    one = Membership(financing=frozenset({Financing.AMC}), iso3=frozenset({"CCC", "BBB"}))
    two = Membership(financing=frozenset({Financing.AMC}), iso3=frozenset({"BBB", "CCC"}))
    sc = scenario(
        [product("AZ", pack=10)],
        _parts(),
        [[tranche("AZ", 50_000, "a", members=one), tranche("AZ", 70_000, "b", members=two)]],
    )
    pools = run_rounds(sc).round(1).pools
    assert len(pools) == 1
    assert pools[0].pool.doses == 120_000


def test_carried_pool_keeps_its_members() -> None:
    parts = [
        participant("AAA", 100_000, ceiling=0.10),
        participant("CCC", 10_000_000, financing=Financing.SELF_FINANCING),
    ]
    sc = scenario(
        [product("AZ", pack=10)], parts, [[tranche("AZ", 50_000, members=AMC)], []], NO_SEVERE
    )
    run = run_rounds(sc)
    first = run.round(1).pools[0]
    assert first.doses.tolist() == [20_000, 0]  # AAA at its 10% ceiling, the rest held
    assert first.held == 30_000
    second = run.round(2).pools[0]
    assert second.pool.carried_in == 30_000
    assert second.pool.members == AMC
    assert second.doses[1] == 0
    assert int(second.exclusions[1]) & Exclusion.NOT_A_MEMBER


def test_declined_doses_go_to_members_only() -> None:
    parts = [
        participant("PRK", 1_000_000),
        participant("AAA", 1_000_000),
        participant("CCC", 1_000_000, financing=Financing.SELF_FINANCING),
    ]
    sc = scenario([product("SV", pack=10)], parts, [[tranche("SV", 40_000, members=AMC)]])
    for redirect in (Redirect.SAME_RULES, Redirect.MOST_AFFECTED):
        d = Decline(1, "SV", "PRK", redirect=redirect)
        pr = run_rounds(sc, [d]).round(1).pools[0]
        assert pr.doses.tolist() == [0, 40_000, 0], redirect
    named = Decline(1, "SV", "PRK", redirect=Redirect.NAMED, recipients=frozenset({"CCC"}))
    pr = run_rounds(sc, [named]).round(1).pools[0]
    assert pr.doses[2] == 0  # a named non-member gets nothing; the doses are held
    assert pr.held == 20_000


def test_renaming_and_reordering_keep_membership_results() -> None:
    sc = scenario(
        [product("AZ", pack=10), product("SV", pack=10)],
        _parts(),
        [[tranche("AZ", 80_000, "x", members=AMC), tranche("SV", 30_000, "y", members=SFP)]],
    )
    renamed = scenario(
        [product("ZZ", pack=10), product("AA", pack=10)],
        list(reversed(_parts())),
        [
            [
                tranche("AA", 30_000, "b", members=SFP),
                tranche("ZZ", 80_000, "a", members=AMC),
            ]
        ],
    )
    names = {"AZ": "ZZ", "SV": "AA"}

    def totals(s: Scenario) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for pr in run_rounds(s).round(1).pools:
            for i, p in enumerate(s.participants):
                out[(pr.product.code, p.iso3)] = int(pr.doses[i])
        return out

    a, b = totals(sc), totals(renamed)
    assert {(names[k], c): v for (k, c), v in a.items()} == b


def test_an_empty_membership_is_refused() -> None:
    with pytest.raises(DoseflowError) as exc:
        Membership()
    assert exc.value.code == "ALLOC_INVALID_FIELD"


# -- scenario files ---------------------------------------------------------------------

FILE = """\
name: t
products:
  - {code: AZ, pack_doses: 100}
participants:
  - {iso3: PRK, financing: amc}
  - {iso3: NGA, financing: amc}
  - {iso3: KOR, financing: self-financing}
rounds:
  - date: 2021-02-03
    tranches:
      - {product: AZ, doses: 100000, members: MEMBERS}
"""


def _load(tmp_path: Path, members: str) -> Scenario:
    path = tmp_path / "s.yaml"
    path.write_text(FILE.replace("MEMBERS", members), encoding="utf-8")
    return load_scenario(path)


def test_members_are_read_from_the_scenario_file(tmp_path: Path) -> None:
    sc = _load(tmp_path, "{financing: [amc], iso3: [kor]}")
    t = sc.rounds[0].tranches[0]
    assert t.members == Membership(financing=frozenset({Financing.AMC}), iso3=frozenset({"KOR"}))
    pr = run_rounds(sc).round(1).pools[0]
    assert np.all(pr.exclusions == 0)
    document: Any = sc.document
    assert document["rounds"][0]["tranches"][0]["members"] == {
        "financing": ["amc"],
        "iso3": ["kor"],
    }


def test_unknown_participant_in_members_is_located(tmp_path: Path) -> None:
    with pytest.raises(DoseflowError) as exc:
        _load(tmp_path, "{iso3: [NGA, KEN]}")
    d = exc.value.detail
    assert d.code == "ALLOC_UNKNOWN_PARTICIPANT"
    assert d.value == "KEN"
    assert d.location.field == "rounds[0].tranches[0].members.iso3[1]"
    assert d.location.line == 11
    assert "members" in d.message


def test_empty_members_in_a_file_is_located(tmp_path: Path) -> None:
    with pytest.raises(DoseflowError) as exc:
        _load(tmp_path, "{}")
    d = exc.value.detail
    assert d.code == "ALLOC_INVALID_FIELD"
    assert (d.location.field or "").startswith("rounds[0].tranches[0].members")
    assert d.location.line == 11


def test_unknown_financing_group_in_members(tmp_path: Path) -> None:
    with pytest.raises(DoseflowError) as exc:
        _load(tmp_path, "{financing: [donor]}")
    d = exc.value.detail
    assert d.location.field == "rounds[0].tranches[0].members.financing[0]"
    assert d.value == "donor"
