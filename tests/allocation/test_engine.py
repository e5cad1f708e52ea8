"""Behaviour of allocation rounds: eligibility, floors and caps, buffer, severe supply,
phase 2, top-up rounds, declines and coverage reporting."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from doseflow.allocation import (
    Binding,
    Decline,
    Exclusion,
    Mode,
    Phase,
    Policy,
    Redirect,
    RoundKind,
    RoundSpec,
    SevereSupply,
    apply_decline,
    make_participant,
    run_rounds,
)
from doseflow.domain.errors import DoseflowError
from doseflow.domain.participant import Demand, ThreatInputs
from doseflow.domain.product import Financing
from doseflow.domain.temperature import TemperatureBand
from tests.allocation.builders import DAY, participant, product, scenario, tranche

NO_SEVERE = SevereSupply(enabled=False)


def _pool(run, number=1, k=0):  # type: ignore[no-untyped-def]
    return run.round(number).pools[k]


def test_equal_coverage_is_shared_by_population() -> None:
    sc = scenario(
        [product("AZ", pack=10)],
        [participant("AAA", 1_000_000), participant("BBB", 3_000_000)],
        [[tranche("AZ", 80_000)]],
    )
    pr = _pool(run_rounds(sc))
    assert pr.doses.tolist() == [20_000, 60_000]  # 1% coverage each, two doses a course
    assert pr.mode is Mode.EQUAL_COVERAGE
    assert pr.level == pytest.approx(0.01)


def test_each_exclusion_reason_is_recorded() -> None:
    prods = [
        product("SII", pack=10, licence_financing=frozenset({Financing.AMC})),
        product("PF", pack=6, doses_per_vial=6, storage_band=TemperatureBand.ULTRA_COLD),
    ]
    parts = [
        participant("AAA"),
        participant("BBB", financing=Financing.SELF_FINANCING),
        participant("CCC", authorised=frozenset({"PF"})),
        participant("DDD", indemnified=frozenset()),
        participant("EEE", deployment_plan=False),
        participant("FFF", import_permit=False),
        participant("GGG", opt_outs=frozenset({"SII"})),
        participant("HHH", delays={"SII": date(2021, 6, 1)}),
    ]
    sc = scenario(prods, parts, [[tranche("SII", 100_000), tranche("PF", 6_000)]])
    run = run_rounds(sc)
    sii = next(p for p in run.round(1).pools if p.product.code == "SII")
    flags = {sc.participants[i].iso3: Exclusion(int(f)) for i, f in enumerate(sii.exclusions)}
    assert flags["AAA"] == 0
    assert Exclusion.NOT_LICENSED in flags["BBB"]
    assert Exclusion.NOT_AUTHORISED in flags["CCC"]
    assert Exclusion.NOT_INDEMNIFIED in flags["DDD"]
    assert Exclusion.NO_DEPLOYMENT_PLAN in flags["EEE"]
    assert Exclusion.NO_IMPORT_PERMIT in flags["FFF"]
    assert Exclusion.OPTED_OUT in flags["GGG"]
    assert Exclusion.DELAYED in flags["HHH"]
    assert sii.doses[0] == sii.allocated  # only AAA receives
    pf = next(p for p in run.round(1).pools if p.product.code == "PF")
    assert all(Exclusion.NO_COLD_CHAIN & int(f) for f in pf.exclusions)
    assert pf.allocated == 0
    assert pf.held == 6_000
    e = next(x for x in run.round(1).explain("GGG") if x.product == "SII")
    assert not e.eligible
    assert "OPTED_OUT" in e.exclusions
    assert "opted out" in e.render()


def test_expiry_before_use_excludes() -> None:
    sc = scenario(
        [product("AZ", pack=10)],
        [participant("AAA", lead_time_days=30), participant("BBB", lead_time_days=2)],
        [[tranche("AZ", 10_000, expiry=date(2021, 3, 20))]],
        Policy(min_days_before_expiry=7, severe=NO_SEVERE),
    )
    pr = _pool(run_rounds(sc))
    assert Exclusion.EXPIRES_BEFORE_USE & int(pr.exclusions[0])
    assert pr.exclusions[1] == 0
    assert pr.doses[1] == 10_000


def test_ceiling_ladder_and_held_remainder() -> None:
    sc = scenario(
        [product("AZ", pack=100)],
        [participant("AAA", 100_000, ceiling=0.05), participant("BBB", 100_000)],
        [[tranche("AZ", 1_000_000)]],
    )
    pr = _pool(run_rounds(sc))
    # AAA stops at 5% (10,000 doses), BBB at the 20% top rung (40,000): the rest is held
    assert pr.doses.tolist() == [10_000, 40_000]
    assert pr.held == 950_000
    assert [Binding(b) for b in pr.binding] == [Binding.CEILING, Binding.CEILING]


def test_floor_lifts_a_small_participant() -> None:
    sc = scenario(
        [product("PF", pack=6, doses_per_vial=6)],
        [
            participant("AAA", 100_000),
            participant("BBB", 10_000_000),
            participant("CCC", 10_000_000),
        ],
        [[tranche("PF", 300_000)]],
        Policy(floors={"PF": 6_000}, severe=NO_SEVERE),
    )
    pr = _pool(run_rounds(sc))
    assert pr.doses.tolist() == [6_000, 147_000, 147_000]
    assert [Binding(b) for b in pr.binding] == [Binding.FLOOR, Binding.LEVEL, Binding.LEVEL]


def test_cap_limits_each_participant_and_the_rest_is_held() -> None:
    sc = scenario(
        [product("PF", pack=6, doses_per_vial=6)],
        [participant("BBB", 10_000_000), participant("CCC", 20_000_000)],
        [[tranche("PF", 300_000)]],
        Policy(caps={"PF": 90_000}, severe=NO_SEVERE),
    )
    pr = _pool(run_rounds(sc))
    assert pr.doses.tolist() == [90_000, 90_000]
    assert all(Binding(b) is Binding.CAP for b in pr.binding)
    assert pr.held == 120_000


def test_humanitarian_buffer_set_aside_first() -> None:
    sc = scenario(
        [product("AZ", pack=100)],
        [participant("AAA", 10_000_000)],
        [[tranche("AZ", 1_000_000)]],
        Policy(humanitarian_buffer=0.05, severe=NO_SEVERE),
    )
    pr = _pool(run_rounds(sc))
    assert pr.buffer == 50_000
    assert pr.allocated == 950_000


def test_other_sources_count_toward_coverage_when_policy_says_so() -> None:
    parts = [
        participant("AAA", 1_000_000, other_sources_doses=20_000),
        participant("BBB", 1_000_000),
    ]
    counted = scenario([product("AZ", pack=10)], parts, [[tranche("AZ", 20_000)]])
    assert _pool(run_rounds(counted)).doses.tolist() == [0, 20_000]
    ignored = scenario(
        [product("AZ", pack=10)],
        parts,
        [[tranche("AZ", 20_000)]],
        Policy(count_other_sources=False, severe=NO_SEVERE),
    )
    assert _pool(run_rounds(ignored)).doses.tolist() == [10_000, 10_000]


def test_coverage_carries_across_rounds_and_products() -> None:
    sc = scenario(
        [product("AZ", pack=10), product("SV", pack=10)],
        [participant("AAA", 1_000_000), participant("BBB", 1_000_000)],
        [[tranche("AZ", 20_000, earmarked=frozenset({"AAA"}))], [tranche("SV", 40_000)]],
    )
    run = run_rounds(sc)
    assert _pool(run, 1).doses.tolist() == [20_000, 0]
    assert _pool(run, 2).doses.tolist() == [10_000, 30_000]  # both end at 1.5%


def test_severe_supply_gives_everyone_a_minimum_then_weights_by_threat() -> None:
    parts = [
        participant("AAA", 5_000_000, threat=ThreatInputs(0.2, 0.3, 500.0)),
        participant("BBB", 5_000_000, threat=ThreatInputs(0.05, 0.9, 0.0)),
        participant("CCC", 5_000_000, threat=ThreatInputs(0.1, 0.6, 50.0)),
    ]
    sc = scenario(
        [product("PF", pack=6, doses_per_vial=6)],
        parts,
        [[tranche("PF", 60_000)]],
        Policy(severe=SevereSupply(threshold=0.01, min_packs=100)),
    )
    pr = _pool(run_rounds(sc))
    assert pr.mode is Mode.THREAT_WEIGHTED
    assert np.all(pr.doses >= 600)  # every participant gets its minimum
    assert pr.doses[0] > pr.doses[2] > pr.doses[1]
    assert pr.ranks is not None
    assert pr.ranks.tolist() == [1, 3, 2]


def test_severe_supply_too_small_for_every_minimum_goes_in_threat_order() -> None:
    parts = [
        participant("AAA", threat=ThreatInputs(0.1, 0.9, 0.0)),
        participant("BBB", threat=ThreatInputs(0.3, 0.2, 900.0)),
    ]
    sc = scenario(
        [product("PF", pack=6, doses_per_vial=6)],
        parts,
        [[tranche("PF", 700)]],
        Policy(severe=SevereSupply(threshold=0.5, min_packs=100)),
    )
    pr = _pool(run_rounds(sc))
    assert pr.doses.tolist() == [0, 600]
    assert Binding(pr.binding[0]) is Binding.PRIORITY_EXHAUSTED


def test_phase_two_fills_within_absorption_and_shares_by_demand_when_short() -> None:
    parts = [
        participant("AAA", 1_000_000, demand=Demand(absorption_per_month=10_000)),
        participant("BBB", 1_000_000, demand=Demand(requests={"AZ": 60_000})),
    ]
    spec = RoundSpec(1, "p2", DAY, (tranche("AZ", 40_000),), phase=Phase.DEMAND_DRIVEN, months=3)
    pr = _pool(run_rounds(scenario([product("AZ", pack=10)], parts, [spec])))
    assert pr.mode is Mode.DEMAND_DRIVEN
    # demands 30,000 and 60,000 for 40,000 doses: shared in proportion to demand
    assert pr.doses.tolist() == [13_330, 26_670] or pr.doses.tolist() == [13_340, 26_660]
    plenty = RoundSpec(1, "p2", DAY, (tranche("AZ", 400_000),), phase=Phase.DEMAND_DRIVEN, months=3)
    pr = _pool(run_rounds(scenario([product("AZ", pack=10)], parts, [plenty])))
    assert pr.doses.tolist() == [30_000, 60_000]
    # what set each demand, said as such: AAA's absorption, BBB's request
    assert [Binding(b) for b in pr.binding] == [Binding.ABSORPTION, Binding.REQUEST]


def test_phase_two_absorption_capacity_is_for_the_round_not_for_each_pool() -> None:
    """A programme that can administer 10,000 doses a month can administer 10,000 doses a
    month whichever products they are: the round's pools share one capacity."""
    parts = [
        participant("AAA", 1_000_000, demand=Demand(absorption_per_month=10_000)),
        participant("BBB", 100_000),
    ]
    prods = [product("AZ", pack=10), product("SV", pack=10)]
    spec = RoundSpec(
        1,
        "p2",
        DAY,
        (tranche("AZ", 400_000), tranche("SV", 400_000)),
        phase=Phase.DEMAND_DRIVEN,
        months=2,
    )
    result = run_rounds(scenario(prods, parts, [spec])).rounds[0]
    found = {e.product: e for e in result.explain("AAA")}
    assert found["AZ"].doses + found["SV"].doses == 20_000
    assert found["AZ"].doses == 20_000
    assert found["SV"].doses == 0
    assert found["SV"].binding == Binding.ABSORPTION.label
    assert "absorption capacity" in found["SV"].render()
    # BBB has no stated capacity: the target (70% of 100,000 people, two-dose courses)
    bbb = {e.product: e for e in result.explain("BBB")}
    assert bbb["AZ"].doses == 140_000
    assert bbb["AZ"].binding == Binding.TARGET.label


def test_top_up_round_completes_started_courses_in_proportion_to_need() -> None:
    parts = [
        participant("AAA", awaiting_second_dose={"SII": 30_000}),
        participant("BBB", awaiting_second_dose={"SII": 10_000}),
        participant("CCC"),
    ]
    spec = RoundSpec(
        1,
        "top-up",
        DAY,
        (tranche("SKB", 20_000),),
        kind=RoundKind.TOP_UP,
        completes=frozenset({"SII"}),
    )
    sc = scenario([product("SII", pack=10), product("SKB", pack=10)], parts, [spec])
    pr = _pool(run_rounds(sc))
    assert pr.mode is Mode.TOP_UP
    assert pr.doses.tolist() == [15_000, 5_000, 0]
    assert Exclusion.NO_STARTED_COURSES & int(pr.exclusions[2])


def test_decline_redistributes_at_once_and_decliner_stays_in_later_rounds() -> None:
    parts = [
        participant("PRK", 1_000_000),
        participant("AAA", 1_000_000),
        participant("BBB", 1_000_000),
    ]
    sc = scenario(
        [product("SV", pack=10)], parts, [[tranche("SV", 60_000)], [tranche("SV", 30_000)]]
    )
    d = Decline(
        1,
        "SV",
        "PRK",
        reason="for severely affected countries",
        redirect=Redirect.NAMED,
        recipients=frozenset({"BBB"}),
    )
    run = run_rounds(sc, [d])
    first = _pool(run, 1)
    assert first.doses.tolist() == [0, 20_000, 40_000]
    assert first.rule_doses.tolist() == [20_000, 20_000, 20_000]
    second = _pool(run, 2)
    assert second.doses[0] > 0  # still in for the next round
    e = run.round(1).explain("BBB")[0]
    assert e.received[0].from_iso3 == "PRK"
    assert e.received[0].doses == 20_000
    assert "declined by PRK" in e.render()


def test_partial_decline_and_unplaceable_doses_are_held() -> None:
    parts = [participant("PRK", 1_000_000), participant("AAA", 1_000, ceiling=0.01)]
    sc = scenario([product("SV", pack=10)], parts, [[tranche("SV", 10_000)]])
    result = run_rounds(sc).round(1)
    after = apply_decline(result, Decline(1, "SV", "PRK", doses=5_000))
    pr = after.pools[0]
    assert pr.doses[0] == result.pools[0].doses[0] - 5_000
    rec = pr.declines[0]
    assert rec.declined == 5_000
    assert rec.held == 5_000 - sum(q for _, q in rec.given)
    assert pr.allocated + pr.held + pr.buffer == pr.supply


def test_decline_errors() -> None:
    sc = scenario(
        [product("SV", pack=10)], [participant("PRK"), participant("AAA")], [[tranche("SV", 1_000)]]
    )
    result = run_rounds(sc).round(1)
    with pytest.raises(DoseflowError) as exc:
        apply_decline(result, Decline(1, "SV", "PRK", doses=10_000))
    assert exc.value.code == "ALLOC_DECLINE_EXCEEDS_ALLOCATION"
    assert exc.value.detail.value == 10_000
    with pytest.raises(DoseflowError) as exc:
        apply_decline(result, Decline(1, "SV", "PRK", doses=5))
    assert exc.value.code == "ALLOC_DECLINE_NOT_WHOLE_PACKS"
    assert "packs of 10" in str(exc.value)
    with pytest.raises(DoseflowError) as exc:
        apply_decline(result, Decline(1, "SV", "ZZZ"))
    assert exc.value.code == "ALLOC_UNKNOWN_PARTICIPANT"
    assert exc.value.detail.value == "ZZZ"
    with pytest.raises(DoseflowError) as exc:
        apply_decline(result, Decline(1, "XX", "PRK"))
    assert exc.value.code == "ALLOC_UNKNOWN_PRODUCT"
    assert exc.value.detail.value == "XX"
    with pytest.raises(DoseflowError) as exc:
        run_rounds(sc, [Decline(9, "SV", "PRK")])
    assert exc.value.code == "ALLOC_UNKNOWN_ROUND"
    assert exc.value.detail.value == 9


def test_coverage_reports_doses_per_100_and_share_fully_covered() -> None:
    # 1.9 M two-dose doses for 26 M people: 7.3 per 100 but 3.7% fully covered
    sc = scenario(
        [product("AZ", pack=100)],
        [participant("AAA", 26_000_000, ceiling=1.0)],
        [[tranche("AZ", 1_900_000)]],
    )
    row = run_rounds(sc).coverage()[0]
    assert row.doses == 1_900_000
    assert round(row.doses_per_100, 1) == 7.3
    assert round(row.fully_covered * 100, 1) == 3.7


def test_make_participant_takes_population_from_bundled_data() -> None:
    prk = make_participant("prk", "amc")
    assert prk.population == 25_778_815
    assert prk.name == "North Korea"
    assert make_participant("PRK", Financing.AMC, population=1_000).population == 1_000
    with pytest.raises(DoseflowError) as exc:
        make_participant("XYZ", "amc")
    assert exc.value.code == "ALLOC_UNKNOWN_ISO3"
    assert exc.value.detail.value == "XYZ"
