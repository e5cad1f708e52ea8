"""Requests (in doses or coverage) bound every phase; relative shares of the common level.

Issue 12, finding 5: a participant asking for 120,000 doses in a phase-1 round got 357,600.
A request is the most a participant wants of a product in a round: it binds like a ceiling,
rounded DOWN to whole packs, and it is cumulative over the product's pools of the round.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from doseflow.allocation import Policy, RoundSpec, SevereSupply, parse_scenario, run_rounds
from doseflow.allocation.explanation import Binding, Mode
from doseflow.allocation.policy import Phase
from doseflow.allocation.scenario import RoundKind
from doseflow.domain.participant import Demand
from doseflow.domain.supply import Origin

from .builders import DAY, participant, product, scenario, tranche

FINDING_5 = """\
name: finding-5
products:
  - {code: AZ, pack_doses: 2400}
participants:
  - {iso3: NGA, financing: amc, requests: {AZ: 120000}}
  - {iso3: GHA, financing: amc}
  - {iso3: KEN, financing: amc}
rounds:
  - date: 2021-02-03
    tranches:
      - {product: AZ, doses: 6000000}
"""


def test_finding_5_a_phase_one_request_bounds_the_allocation() -> None:
    run = run_rounds(parse_scenario(FINDING_5))
    pr = run.rounds[0].pools[0]
    i = run.rounds[0].context.table.index["NGA"]
    # 120,000 doses rounded down to whole packs of 2,400: 50 packs exactly
    assert int(pr.doses[i]) == 120_000
    assert Binding(int(pr.binding[i])) is Binding.REQUEST
    text = run.rounds[0].explanation(pr, i).render()
    # the sentence docs/allocation.md quotes ("Requests")
    assert (
        "limited by its request: 120,000 doses of AZ in this round; at most 120,000 doses in "
        "whole packs of 2,400 (rounded down)"
    ) in text
    # what NGA did not take went to the others (it is not held back)
    assert pr.held < 2400 * 3


def test_a_request_is_rounded_down_to_whole_packs() -> None:
    parts = [participant("AAA", demand=Demand(requests={"AZ": 1_050})), participant("BBB")]
    sc = scenario([product("AZ", pack=100)], parts, [[tranche("AZ", 100_000)]])
    pr = run_rounds(sc).rounds[0].pools[0]
    assert int(pr.doses[0]) == 1_000  # never above the request: 10 packs, not 11


def test_a_coverage_request_bounds_the_doses_of_that_product() -> None:
    # 1% of 1,000,000 people with a 2-dose course: 20,000 doses
    parts = [
        participant("AAA", demand=Demand(requested_coverage={"AZ": 0.01})),
        participant("BBB"),
    ]
    sc = scenario([product("AZ", pack=100)], parts, [[tranche("AZ", 200_000)]])
    run = run_rounds(sc)
    pr = run.rounds[0].pools[0]
    assert int(pr.doses[0]) == 20_000
    assert Binding(int(pr.binding[0])) is Binding.REQUEST
    assert "1.00% of its population" in run.rounds[0].explanation(pr, 0).render()


def test_a_request_is_cumulative_over_the_products_pools_of_a_round() -> None:
    parts = [participant("AAA", demand=Demand(requests={"AZ": 30_000})), participant("BBB")]
    later = DAY + timedelta(days=10)
    sc = scenario(
        [product("AZ", pack=100)],
        parts,
        [
            [
                tranche("AZ", 100_000, "A1"),
                tranche("AZ", 100_000, "A2", available=later, origin=Origin.DONATION, donor="X"),
            ]
        ],
    )
    rnd = run_rounds(sc).rounds[0]
    assert len(rnd.pools) == 2
    total = sum(int(pr.doses[0]) for pr in rnd.pools)
    assert total == 30_000
    assert int(rnd.pools[1].doses[0]) == 0  # filled by the first pool
    # a request is per round: the next round asks again
    parts = [participant("AAA", demand=Demand(requests={"AZ": 15_000})), participant("BBB")]
    two = scenario([product("AZ", pack=100)], parts, [[tranche("AZ", 40_000)]] * 2)
    run = run_rounds(two)
    assert [int(r.pools[0].doses[0]) for r in run.rounds] == [15_000, 15_000]


def test_a_request_binds_in_same_date_joint_sharing() -> None:
    parts = [
        participant("AAA", demand=Demand(requests={"AZ": 10_000, "PF": 5_000})),
        participant("BBB"),
    ]
    sc = scenario(
        [product("AZ", pack=100), product("PF", pack=100)],
        parts,
        [
            [
                tranche("AZ", 100_000),
                tranche("PF", 100_000),
                tranche("AZ", 50_000, "AZ-2", origin=Origin.DONATION, donor="X"),
            ]
        ],
    )
    rnd = run_rounds(sc).rounds[0]
    az = sum(int(pr.doses[0]) for pr in rnd.pools if pr.product.code == "AZ")
    pf = sum(int(pr.doses[0]) for pr in rnd.pools if pr.product.code == "PF")
    assert az == 10_000
    assert pf == 5_000


def test_a_request_binds_in_threat_weighted_sharing() -> None:
    parts = [
        participant("AAA", demand=Demand(requests={"AZ": 300})),
        participant("BBB"),
        participant("CCC"),
    ]
    policy = Policy(severe=SevereSupply(enabled=True, threshold=0.5, min_packs=1))
    sc = scenario([product("AZ", pack=100)], parts, [[tranche("AZ", 30_000)]], policy)
    pr = run_rounds(sc).rounds[0].pools[0]
    assert pr.mode is Mode.THREAT_WEIGHTED
    assert int(pr.doses[0]) <= 300
    assert int(pr.doses.sum()) == 30_000


def test_a_request_binds_in_top_up_and_phase_two_rounds() -> None:
    parts = [
        participant(
            "AAA", awaiting_second_dose={"AZ": 30_000}, demand=Demand(requests={"AZ": 5_000})
        ),
        participant(
            "BBB", awaiting_second_dose={"AZ": 10_000}, demand=Demand(requests={"AZ": 10_000})
        ),
    ]
    top = RoundSpec(1, "t", DAY, (tranche("AZ", 20_000),), kind=RoundKind.TOP_UP)
    pr = run_rounds(scenario([product("AZ", pack=10)], parts, [top])).rounds[0].pools[0]
    assert int(pr.doses[0]) == 5_000
    assert int(pr.doses[1]) == 10_000
    p2 = RoundSpec(
        1,
        "p2",
        DAY,
        (
            tranche("AZ", 10_000, "a"),
            tranche("AZ", 10_000, "b", origin=Origin.DONATION, donor="X"),
        ),
        phase=Phase.DEMAND_DRIVEN,
    )
    rnd = run_rounds(scenario([product("AZ", pack=10)], parts, [p2])).rounds[0]
    assert sum(int(pr.doses[0]) for pr in rnd.pools) == 5_000  # not 5,000 from each pool


def test_share_of_level_holds_coverage_at_a_fraction_of_the_common_level() -> None:
    parts = [participant("AAA", share_of_level=0.9), participant("BBB"), participant("CCC")]
    sc = scenario([product("AZ", pack=10)], parts, [[tranche("AZ", 116_000)]])
    rnd = run_rounds(sc).rounds[0]
    pr = rnd.pools[0]
    level = float(pr.level or 0.0)
    gain = pr.doses / pr.doses_per_coverage
    assert abs(gain[0] - 0.9 * level) * 2_000_000 <= 10
    assert abs(gain[1] - level) * 2_000_000 <= 10
    text = rnd.explanation(pr, 0).render()
    assert f"held at 90% of the common level {level:.2%}: {0.9 * level:.2%}" in text
    # the sentence docs/allocation.md quotes ("Shares of the common level")
    assert "Its coverage is held at 90% of the common level 2.00%: 1.80%." in text


def test_share_of_level_scales_with_supply() -> None:
    parts = [participant("AAA", share_of_level=0.5), participant("BBB")]
    for doses in (30_000, 90_000):
        sc = scenario([product("AZ", pack=10)], parts, [[tranche("AZ", doses)]])
        pr = run_rounds(sc).rounds[0].pools[0]
        assert abs(int(pr.doses[0]) * 2 - int(pr.doses[1])) <= 20


def test_share_of_level_in_joint_sharing() -> None:
    parts = [participant("AAA", share_of_level=0.5), participant("BBB")]
    sc = scenario(
        [product("AZ", pack=10), product("PF", pack=10)],
        parts,
        [[tranche("AZ", 30_000), tranche("PF", 30_000)]],
    )
    rnd = run_rounds(sc).rounds[0]
    assert rnd.pools[0].joint is not None
    got = np.sum([pr.doses for pr in rnd.pools], axis=0)
    assert abs(int(got[0]) * 2 - int(got[1])) <= 40


def test_declined_doses_do_not_push_a_recipient_past_its_request() -> None:
    from doseflow.allocation import Decline

    parts = [
        participant("PRK"),
        participant("AAA", demand=Demand(requests={"AZ": 12_000})),
        participant("BBB"),
    ]
    sc = scenario(
        [product("AZ", pack=100)],
        parts,
        [[tranche("AZ", 30_000)]],
        declines=(Decline(round=1, product="AZ", iso3="PRK"),),
    )
    pr = run_rounds(sc).rounds[0].pools[0]
    assert int(pr.doses[0]) == 0
    assert int(pr.doses[1]) == 12_000  # 10,000 by the rules, +2,000 of PRK's, not more
    assert int(pr.doses[2]) == 18_000
