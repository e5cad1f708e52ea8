"""Cold-chain rules: temperature compatibility on nodes and lanes, and the thaw-time budget."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseflow.domain.errors import DoseflowError
from doseflow.domain.network import NodeKind, build_network
from doseflow.logistics import (
    ReasonKind,
    bundled_profiles,
    check_feasibility,
    example_network_path,
    feasibility_matrix,
    load_network_file,
)
from tests.logistics.helpers import AMB, FR, UC, C, chain, lane, node

PFIZER = bundled_profiles().require("PFIZER-BNT")
MODERNA = bundled_profiles().require("MODERNA")
AZ = bundled_profiles().require("AZ")


def test_pfizer_is_infeasible_for_pyongyang_with_the_reason_in_words() -> None:
    net = load_network_file(example_network_path())
    verdict = check_feasibility(net.network, PFIZER, "PRK-NS", origins="PFIZER-PUURS", use_days=25)
    assert not verdict.feasible
    assert verdict.reason is not None
    assert verdict.reason.kind is ReasonKind.THAW_BUDGET
    assert verdict.reason.render() == (
        "Pfizer cannot reach Pyongyang: no ultra-cold storage beyond Dalian and 31 days at "
        "2-8 °C do not cover 12 days of transport plus 25 days of use"
    )
    assert (verdict.reason.allowed_days, verdict.reason.transport_days) == (31, 12)


def test_thaw_budget_boundary() -> None:
    # 12 days of transport at 2-8 °C: 19 days of use fit in 31 days, 20 do not... plus a margin
    net = chain(12)
    fits = check_feasibility(net, PFIZER, "STORE", origins="SUP", use_days=19)
    assert fits.feasible
    assert fits.route is not None
    assert fits.route.clock_days == 12
    assert fits.route.days_left == 19
    assert fits.thaw_node == "HUB"  # thawed at the last ultra-cold node, not earlier
    assert not check_feasibility(net, PFIZER, "STORE", origins="SUP", use_days=19.5).feasible


def test_thaw_happens_as_late_as_possible() -> None:
    # both lanes carry ultra-cold and 2-8; thawing at SUP would waste 3 days of the budget
    net = chain(12)
    verdict = check_feasibility(net, PFIZER, "STORE", origins="SUP", use_days=19)
    assert verdict.route is not None
    assert [leg.band for leg in verdict.route.legs] == [UC, C]


def test_thaw_on_arrival_where_the_store_lacks_the_long_term_band() -> None:
    net = build_network(
        [node("SUP", UC, kind=NodeKind.SUPPLIER), node("STORE", C)],
        [lane("SUP", "STORE", 5, UC)],
    )
    verdict = check_feasibility(net, PFIZER, "STORE", origins="SUP", use_days=31)
    assert verdict.route is not None
    assert verdict.route.arrival_band is C
    change = verdict.route.changes[-1]
    assert (change.node, change.on_arrival, change.from_band) == ("STORE", True, UC)
    assert verdict.route.clock_days == 0  # the 5 days of transport were ultra-cold


def test_lane_temperature_must_be_compatible() -> None:
    net = build_network(
        [node("SUP", C, kind=NodeKind.SUPPLIER), node("STORE", C)],
        [lane("SUP", "STORE", 2, AMB)],
    )
    verdict = check_feasibility(net, AZ, "STORE", origins="SUP")
    assert verdict.reason is not None
    assert verdict.reason.kind is ReasonKind.COLD_CHAIN_BREAK
    assert "the lane Sup -> Store carries only ambient" in verdict.reason.render()


def test_intermediate_node_must_store_the_band() -> None:
    # the hub only has ultra-cold freezers: AstraZeneca (2-8 °C, never frozen) cannot pass
    net = build_network(
        [
            node("SUP", C, kind=NodeKind.SUPPLIER),
            node("HUB", UC, kind=NodeKind.HUB),
            node("STORE", C),
        ],
        [lane("SUP", "HUB", 2, C, UC), lane("HUB", "STORE", 2, C, UC)],
    )
    verdict = check_feasibility(net, AZ, "STORE", origins="SUP")
    assert verdict.reason is not None
    assert verdict.reason.kind is ReasonKind.COLD_CHAIN_BREAK
    assert "Hub stores only ultra-cold" in verdict.reason.render()


def test_destination_without_any_tolerated_band() -> None:
    net = build_network(
        [node("SUP", C, kind=NodeKind.SUPPLIER), node("STORE", UC)],
        [lane("SUP", "STORE", 2, C)],
    )
    verdict = check_feasibility(net, AZ, "STORE", origins="SUP")
    assert verdict.reason is not None
    assert verdict.reason.kind is ReasonKind.DESTINATION_STORAGE
    assert verdict.reason.render() == (
        "AstraZeneca cannot reach Store: it has no storage at 2-8 °C, the only bands "
        "AstraZeneca tolerates"
    )


def test_origin_must_store_the_long_term_band_and_lanes_must_connect() -> None:
    net = chain(1)
    frozen = check_feasibility(net, MODERNA, "STORE", origins="SUP")
    assert frozen.reason is not None
    assert frozen.reason.kind is ReasonKind.ORIGIN_STORAGE
    assert frozen.reason.render() == "Moderna cannot leave Sup: it has no frozen storage"
    back = check_feasibility(net, AZ, "SUP", origins="STORE")
    assert back.reason is not None
    assert back.reason.kind is ReasonKind.NO_ROUTE
    assert back.reason.render() == "AstraZeneca cannot reach Sup: no lane leads there from Store"


def test_frozen_band_budget_for_pfizer() -> None:
    # a frozen-only leg of 20 days exceeds Pfizer's 14 days at -25..-15 °C
    net = build_network(
        [node("SUP", UC, kind=NodeKind.SUPPLIER), node("STORE", FR)],
        [lane("SUP", "STORE", 20, FR)],
    )
    verdict = check_feasibility(net, PFIZER, "STORE", origins="SUP")
    assert verdict.reason is not None
    assert verdict.reason.kind is ReasonKind.THAW_BUDGET
    assert "14 days frozen do not cover 20 days of transport" in verdict.reason.render()


def test_bad_use_days_and_unknown_nodes() -> None:
    with pytest.raises(DoseflowError) as exc:
        check_feasibility(chain(), PFIZER, "STORE", origins="SUP", use_days=-1)
    assert (exc.value.code, exc.value.detail.value) == ("LOGISTICS_BAD_REQUEST", -1)
    with pytest.raises(DoseflowError) as exc:
        check_feasibility(chain(), PFIZER, "NOWHERE", origins="SUP")
    assert exc.value.code == "NETWORK_UNKNOWN_NODE"


def test_matrix_on_the_example_has_feasible_and_infeasible_pairs() -> None:
    results = feasibility_matrix(load_network_file(example_network_path()))
    pfizer = {v.destination: v.feasible for p, v in results if p.product == "PFIZER-BNT"}
    assert pfizer["BGD-NS"]
    assert not pfizer["PRK-NS"]
    assert all(v.feasible for p, v in results if p.product == "AZ")


@settings(max_examples=60, deadline=None)
@given(
    first=st.floats(0, 20),
    second=st.floats(0, 40),
    use=st.floats(0, 40),
    per_week=st.sampled_from([None, 1.0, 2.0, 7.0]),
)
def test_a_feasible_route_obeys_every_rule(
    first: float, second: float, use: float, per_week: float | None
) -> None:
    net = build_network(
        [
            node("SUP", UC, kind=NodeKind.SUPPLIER),
            node("HUB", C, kind=NodeKind.HUB),
            node("STORE", C),
        ],
        [lane("SUP", "HUB", first, UC, C), lane("HUB", "STORE", second, C, per_week=per_week)],
    )
    verdict = check_feasibility(net, PFIZER, "STORE", origins="SUP", use_days=use)
    # after the thaw (at SUP or on arrival at HUB), 2-8 time = waits + lanes spent at 2-8
    if verdict.route is None:
        assert verdict.reason is not None
        assert verdict.reason.kind is ReasonKind.THAW_BUDGET
        assert (verdict.reason.transport_days or 0) + use > 31 - 1e-6
        return
    route = verdict.route
    for leg in route.legs:
        assert leg.band in leg.lane.temperature
        assert leg.depart_day >= leg.arrive_day - leg.lane.lead_time_days - 1e-9
    spent = route.legs[1].wait_days + second if route.legs[0].band is UC else route.transit_days
    assert route.clock_days == pytest.approx(spent)
    assert route.days_left + 1e-6 >= use
    assert route.days_left == pytest.approx(31 - spent)
    assert not math.isinf(route.days_left)
