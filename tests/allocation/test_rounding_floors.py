"""Issue 12, findings 2 and 6: ceilings rounded to packs by the policy (down, nearest, up)
and floors given as a minimum shipment (or clipped by the ceiling, and said so)."""

from __future__ import annotations

from typing import Any

import pytest

from doseflow.allocation import (
    Binding,
    CeilingRounding,
    Policy,
    RoundResult,
    SevereSupply,
    parse_scenario,
    run_rounds,
)
from doseflow.domain.errors import DoseflowError
from tests.allocation.builders import participant, product, scenario, tranche

PACK = 2400


def _run(policy: Policy, people: dict[str, int], doses: int = 10_000_000) -> RoundResult:
    parts = [participant(iso3, population=n) for iso3, n in people.items()]
    sc = scenario([product("AZ", pack=PACK)], parts, [[tranche("AZ", doses)]], policy)
    return run_rounds(sc).rounds[0]


def _policy(**kw: Any) -> Policy:
    kw.setdefault("severe", SevereSupply(enabled=False))
    return Policy(**kw)


# -- finding 6: a small state's ceiling rounded to the nearest pack -----------------------


def test_nearest_is_the_default_and_gives_the_small_state_two_packs() -> None:
    assert Policy().ceiling_rounding is CeilingRounding.NEAREST
    result = _run(_policy(), {"TUV": 11_792, "KEN": 2_000_000})
    (e,) = result.explain("TUV")
    assert e.doses == 4_800  # owed 4,716.8: 1.97 packs, nearest is 2
    assert e.binding == Binding.CEILING.label
    assert e.ceiling_doses == pytest.approx(4_716.8)
    assert e.ceiling_packs == 2
    assert "ceiling 4,716.8 doses rounded to the nearest pack: 4,800" in e.render()
    assert "above its nominal ceiling by 83.2 doses" in e.render()


def test_down_keeps_the_old_rounding() -> None:
    result = _run(_policy(ceiling_rounding=CeilingRounding.DOWN), {"TUV": 11_792, "KEN": 2_000_000})
    (e,) = result.explain("TUV")
    assert e.doses == 2_400
    assert "ceiling 4,716.8 doses rounded down to whole packs: 2,400" in e.render()


def test_up_and_nearest_differ_below_half_a_pack() -> None:
    # 4,000 people: 20% x 2 doses = 1,600 doses, two thirds of a pack; 2,000 people: 800
    people = {"AAA": 4_000, "BBB": 2_000, "KEN": 2_000_000}
    near = _run(_policy(), people)
    up = _run(_policy(ceiling_rounding="up"), people)
    assert [near.explain(c)[0].doses for c in ("AAA", "BBB")] == [2_400, 0]
    assert [up.explain(c)[0].doses for c in ("AAA", "BBB")] == [2_400, 2_400]
    (bbb,) = near.explain("BBB")
    assert bbb.binding == Binding.CEILING.label
    assert "ceiling 800.0 doses rounded to the nearest pack: 0" in bbb.render()
    assert "reached its coverage ceiling" not in bbb.binding_text
    assert "rounds to no pack" in bbb.binding_text


def test_supply_is_never_exceeded_when_rounding_up() -> None:
    # three states each owed 1.5 packs, rounded to 2; the pool has 5 packs
    people = {"AAA": 9_000, "BBB": 9_000, "CCC": 9_000}
    result = _run(_policy(), people, doses=5 * PACK)
    (pr,) = result.pools
    assert pr.allocated == 5 * PACK
    assert sorted(int(d) for d in pr.doses) == [PACK, 2 * PACK, 2 * PACK]


def test_a_bad_rounding_is_refused() -> None:
    with pytest.raises(DoseflowError) as err:
        Policy(ceiling_rounding="sideways")  # type: ignore[arg-type]
    assert err.value.code == "ALLOC_BAD_ROUNDING"


# -- finding 2: a floor above a tiny ceiling ------------------------------------------------

TINY = {"NIU": 1_618, "KEN": 2_000_000}
FLOOR = {"AZ": 100_800}


def test_a_floor_prevails_over_a_tiny_ceiling_by_default() -> None:
    result = _run(_policy(floors=FLOOR), TINY)
    (e,) = result.explain("NIU")
    # one pack: 100,800 doses would be 31 courses per person; a floor is at most a full
    # course for everyone (3,236 doses, to the nearest pack: 1), and at least one pack
    assert e.doses == 2_400
    assert e.binding == Binding.FLOOR_ABOVE_CEILING.label
    assert e.floor_doses == 2_400
    text = e.render()
    assert "floor of 2,400 doses" in text
    assert "647.2 doses" in text
    assert "reached its coverage ceiling" not in text
    assert any(line.iso3 == "NIU" for line in result.lines())


@pytest.mark.parametrize(
    ("population", "rounding", "expected"),
    [
        (20_000, CeilingRounding.NEAREST, 40_800),  # 40,000 doses for everyone: 17 packs
        (20_000, CeilingRounding.DOWN, 38_400),  # 16 whole packs
        (20_000, CeilingRounding.UP, 40_800),
        (500, CeilingRounding.NEAREST, 2_400),  # 1,000 doses rounds to none: one pack
        (500, CeilingRounding.DOWN, 2_400),
    ],
)
def test_a_prevailing_floor_is_at_most_a_full_course_for_everyone(
    population: int, rounding: CeilingRounding, expected: int
) -> None:
    """A floor is a minimum shipment, never doses for more people than live there: it is
    bounded by a full course for every person (in packs by the policy's rounding), and is
    at least one pack."""
    policy = _policy(floors=FLOOR, ceiling_rounding=rounding)
    result = _run(policy, {"NIU": population, "KEN": 2_000_000})
    (e,) = result.explain("NIU")
    assert (e.doses, e.floor_doses) == (expected, expected)
    assert e.binding == Binding.FLOOR_ABOVE_CEILING.label
    assert "at most a full course for every person" in e.render()


def test_a_clipped_floor_that_leaves_nothing_is_explained_as_such() -> None:
    result = _run(_policy(floors=FLOOR, floors_prevail=False), TINY)
    (e,) = result.explain("NIU")
    assert e.doses == 0
    assert e.binding == Binding.FLOOR_CLIPPED.label
    text = e.render()
    assert "reached its coverage ceiling" not in text
    assert "floor of 2,400 doses was clipped by its coverage ceiling" in text
    assert "ceiling 647.2 doses rounded to the nearest pack: 0" in text
    assert "nothing" in text
    assert [line.doses for line in result.lines(include_zero=True) if line.iso3 == "NIU"] == [0]


def test_a_floor_does_not_lift_a_large_participant_above_its_ceiling() -> None:
    # KEN's whole ceiling (400,000 doses) holds the floor: after round 1 leaves it 1,600 doses
    # under its ceiling (rounded down), round 2's floor is clipped, not given above it
    policy = _policy(floors=FLOOR, ceiling_rounding=CeilingRounding.DOWN)
    parts = [participant("NIU", population=1_618), participant("KEN", population=1_000_000)]
    first = [tranche("AZ", 10_000_000, tid="a")]
    second = [tranche("AZ", 10_000_000, tid="b")]
    sc = scenario([product("AZ", pack=PACK)], parts, [first, second], policy)
    run = run_rounds(sc)
    assert run.rounds[0].explain("KEN")[0].doses == 398_400  # 166 packs
    assert run.rounds[0].explain("NIU")[0].doses == 2_400  # small: its floor prevails
    (ken,) = run.rounds[1].explain("KEN")
    assert (ken.doses, ken.binding) == (0, Binding.FLOOR_CLIPPED.label)
    assert "ceiling 1,600.0 doses rounded down to whole packs: 0" in ken.binding_text
    (niu,) = run.rounds[1].explain("NIU")
    assert (niu.doses, niu.binding) == (0, Binding.CEILING.label)  # already above it


def test_floors_prevail_in_the_severe_supply_mode() -> None:
    severe = SevereSupply(enabled=True, threshold=0.5, min_packs=1)
    result = _run(_policy(severe=severe), TINY, doses=100 * PACK)
    (e,) = result.explain("NIU")
    assert e.mode == "threat-weighted"
    assert e.doses == PACK  # the minimum shipment, above a ceiling of 647.2 doses
    assert e.binding == Binding.FLOOR_ABOVE_CEILING.label
    clipped = _run(_policy(severe=severe, floors_prevail=False), TINY, doses=100 * PACK)
    (c,) = clipped.explain("NIU")
    assert (c.doses, c.binding) == (0, Binding.FLOOR_CLIPPED.label)
    assert "reached its coverage ceiling" not in c.render()


def test_one_floor_per_date_prevails_in_joint_sharing() -> None:
    policy = _policy(floors={"AZ": 100_800, "SV": 48_000})
    parts = [participant("NIU", population=1_618), participant("KEN", population=2_000_000)]
    prods = [product("AZ", pack=PACK), product("SV", pack=PACK)]
    sc = scenario(prods, parts, [[tranche("AZ", 5_000_000), tranche("SV", 5_000_000)]], policy)
    result = run_rounds(sc).rounds[0]
    found = {e.product: e for e in result.explain("NIU")}
    assert found["AZ"].shared_with  # shared jointly
    assert (found["AZ"].doses, found["SV"].doses) == (2_400, 0)
    assert found["AZ"].binding == Binding.FLOOR_ABOVE_CEILING.label
    assert "reached its coverage ceiling" not in found["AZ"].binding_text
    off = run_rounds(
        scenario(prods, parts, sc.rounds, Policy(**{**_kw(policy), "floors_prevail": False}))
    ).rounds[0]
    clipped = {e.product: e for e in off.explain("NIU")}
    assert (clipped["AZ"].doses, clipped["SV"].doses) == (0, 0)
    assert clipped["AZ"].binding == Binding.FLOOR_CLIPPED.label


def _kw(policy: Policy) -> dict[str, Any]:
    from dataclasses import fields

    return {f.name: getattr(policy, f.name) for f in fields(policy)}


# -- the scenario file ----------------------------------------------------------------------

FILE = """\
name: small-states
products:
  - {code: AZ, pack_doses: 2400}
participants:
  - {iso3: TUV, financing: amc, population: 11792}
  - {iso3: KEN, financing: amc}
policy:
  severe: {enabled: false}
  ceiling_rounding: ROUNDING
rounds:
  - date: 2021-02-03
    tranches: [{product: AZ, doses: 10000000}]
  - date: 2021-04-03
    policy: {ceiling_rounding: up}
    tranches: [{product: AZ, doses: 10000000}]
"""


def test_the_scenario_file_names_the_rounding_and_a_round_may_override_it() -> None:
    sc = parse_scenario(FILE.replace("ROUNDING", "down"), "yaml", "upload.yaml")
    assert sc.policy.ceiling_rounding is CeilingRounding.DOWN
    assert sc.policy.floors_prevail is True
    assert sc.rounds[1].policy is not None
    assert sc.rounds[1].policy.ceiling_rounding is CeilingRounding.UP
    run = run_rounds(sc)
    assert run.rounds[0].explain("TUV")[0].doses == 2_400


def test_a_bad_rounding_in_the_file_is_located() -> None:
    with pytest.raises(DoseflowError) as err:
        parse_scenario(FILE.replace("ROUNDING", "sideways"), "yaml", "upload.yaml")
    found = [(d.code, d.location.field, d.location.line) for d in err.value.details]
    assert found == [("ALLOC_BAD_ROUNDING", "policy.ceiling_rounding", 9)]


# -- the docs quote what the engine says ----------------------------------------------------


def _doc_section(title: str) -> str:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "allocation.md").read_text("utf-8")
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return " ".join(text[start : end if end != -1 else None].split())


def test_the_docs_quote_the_explanations_the_engine_gives() -> None:
    rounding = _doc_section("Rounding ceilings to packs")
    (tuv,) = _run(_policy(), {"TUV": 11_792, "KEN": 2_000_000}).explain("TUV")
    sentence = next(s for s in tuv.render().splitlines() if s.startswith("Room under"))
    assert sentence in rounding
    (down,) = _run(_policy(ceiling_rounding="down"), {"TUV": 11_792, "KEN": 2_000_000}).explain(
        "TUV"
    )
    assert f"gave it one ({down.doses:,})" in rounding
    (bbb,) = _run(_policy(), {"BBB": 2_000, "KEN": 2_000_000}).explain("BBB")
    assert bbb.binding_text in rounding
    floors = _doc_section("Floors")
    (above,) = _run(_policy(floors=FLOOR), TINY).explain("NIU")
    assert above.binding_text in floors
    (clipped,) = _run(_policy(floors=FLOOR, floors_prevail=False), TINY).explain("NIU")
    assert clipped.binding_text.split(" (the policy")[0] in floors


def test_nearest_holds_when_pools_of_a_date_are_shared_jointly() -> None:
    parts = [participant("TUV", population=11_792), participant("KEN", population=2_000_000)]
    prods = [product("AZ", pack=PACK), product("SV", pack=PACK)]
    sc = scenario(prods, parts, [[tranche("AZ", 5_000_000), tranche("SV", 5_000_000)]], _policy())
    result = run_rounds(sc).rounds[0]
    found = result.explain("TUV")
    assert all(e.shared_with for e in found)
    assert sum(e.doses for e in found) == 4_800
    down = run_rounds(
        scenario(prods, parts, sc.rounds, _policy(ceiling_rounding=CeilingRounding.DOWN))
    ).rounds[0]
    assert sum(e.doses for e in down.explain("TUV")) == 2_400
