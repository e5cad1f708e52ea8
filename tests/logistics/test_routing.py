"""Routing: capacity splits in whole packs, frequency waits, fastest vs cheapest, undelivered."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseflow.domain.errors import DoseflowError
from doseflow.domain.network import NodeKind, build_network
from doseflow.logistics import (
    ReasonKind,
    ShipmentRequest,
    example_network_path,
    load_network_file,
    plan_route,
    plan_shipments,
    reference_product,
)
from tests.logistics.helpers import UC, C, chain, lane, node

AZ = reference_product("AZ")  # packs of 2,400 doses
PFIZER = reference_product("PFIZER-BNT")


def _two_routes():  # type: ignore[no-untyped-def]
    """SUP -> STORE by air (fast, dear) or via HUB by sea (slow, cheap)."""
    return build_network(
        [
            node("SUP", C, kind=NodeKind.SUPPLIER),
            node("HUB", C, kind=NodeKind.HUB),
            node("STORE", C),
        ],
        [
            lane("SUP", "STORE", 2, C, cost=0.5),
            lane("SUP", "HUB", 10, C, cost=0.05),
            lane("HUB", "STORE", 3, C, cost=0.05),
        ],
    )


def test_fastest_and_cheapest_differ() -> None:
    net = _two_routes()
    fast = plan_route(net, AZ, "SUP", "STORE", objective="fastest")
    cheap = plan_route(net, AZ, "SUP", "STORE", objective="cheapest")
    assert (fast.nodes, fast.transit_days, fast.cost_per_dose) == (("SUP", "STORE"), 2, 0.5)
    assert cheap.nodes == ("SUP", "HUB", "STORE")
    assert (cheap.transit_days, cheap.cost_per_dose) == (13, pytest.approx(0.1))


def test_frequency_gives_departure_waits() -> None:
    # 2 trips a week: departures on days 0, 3.5, 7, ...; ready on day 1 -> leaves on day 3.5
    net = build_network(
        [node("SUP", C, kind=NodeKind.SUPPLIER), node("STORE", C)],
        [lane("SUP", "STORE", 2, C, per_week=2)],
    )
    route = plan_route(net, AZ, "SUP", "STORE", start_day=1)
    (leg,) = route.legs
    assert (leg.depart_day, leg.wait_days, leg.trip, route.arrival_day) == (3.5, 2.5, 1, 5.5)


def test_waiting_after_the_thaw_counts_on_the_clock_but_not_before() -> None:
    def net(hub_has_ultra_cold: bool):  # type: ignore[no-untyped-def]
        hub = node("HUB", UC, C, kind=NodeKind.HUB) if hub_has_ultra_cold else node("HUB", C)
        return build_network(
            [node("SUP", UC, kind=NodeKind.SUPPLIER), hub, node("STORE", C)],
            [lane("SUP", "HUB", 1, UC), lane("HUB", "STORE", 3, C, per_week=1)],
        )

    # no freezer at the hub: thawed on arrival (day 1), 6 days waiting + 3 travelling at 2-8
    thawed_early = plan_route(net(False), PFIZER, "SUP", "STORE", use_days=22)
    assert (thawed_early.legs[1].wait_days, thawed_early.clock_days) == (6, 9)
    with pytest.raises(DoseflowError):
        plan_route(net(False), PFIZER, "SUP", "STORE", use_days=23)
    # with a freezer the load waits ultra-cold and is thawed at departure: only 3 days count
    late = plan_route(net(True), PFIZER, "SUP", "STORE", use_days=28)
    assert (late.clock_days, late.days_left) == (3, 28)


def test_capacity_split_in_whole_packs_over_several_trips() -> None:
    net = build_network(
        [node("SUP", C, kind=NodeKind.SUPPLIER), node("STORE", C)],
        [lane("SUP", "STORE", 2, C, cap=10_000, per_week=1)],
    )
    plan = plan_shipments(net, [ShipmentRequest(AZ, "STORE", 24_000, ("SUP",))])
    # 10,000 a trip holds 4 packs (9,600 doses): 9,600 + 9,600 + 4,800
    assert [s.doses for s in plan.shipments] == [9_600, 9_600, 4_800]
    assert [s.route.legs[0].trip for s in plan.shipments] == [0, 1, 2]
    assert [s.route.legs[0].depart_day for s in plan.shipments] == [0, 7, 14]
    assert all(s.doses % AZ.pack_doses == 0 for s in plan.shipments)
    assert plan.delivered(0) == 24_000
    assert plan.trip_loads[(0, 0)] == 9_600


def test_split_uses_a_second_route_when_the_first_is_full() -> None:
    net = build_network(
        [
            node("SUP", C, kind=NodeKind.SUPPLIER),
            node("HUB", C, kind=NodeKind.HUB),
            node("STORE", C),
        ],
        [
            lane("SUP", "STORE", 2, C, cap=4_800, per_week=1),
            lane("SUP", "HUB", 1, C),
            lane("HUB", "STORE", 2, C),
        ],
    )
    plan = plan_shipments(net, [ShipmentRequest(AZ, "STORE", 12_000, ("SUP",))], horizon_days=1)
    routes = sorted((s.route.nodes, s.doses) for s in plan.shipments)
    assert routes == [(("SUP", "HUB", "STORE"), 7_200), (("SUP", "STORE"), 4_800)]


def test_what_cannot_be_delivered_is_reported_with_a_reason() -> None:
    net = build_network(
        [node("SUP", C, kind=NodeKind.SUPPLIER), node("STORE", C)],
        [lane("SUP", "STORE", 2, C, cap=2_400, per_week=1)],
    )
    plan = plan_shipments(
        net, [ShipmentRequest(AZ, "STORE", 12_000 + 100, ("SUP",))], horizon_days=14
    )
    assert plan.delivered(0) == 3 * 2_400  # trips on days 0, 7 and 14
    kinds = {u.reason.kind: u.doses for u in plan.undelivered}
    assert kinds == {ReasonKind.PART_PACK: 100, ReasonKind.LANE_CAPACITY: 12_000 - 7_200}
    text = next(
        u.reason.render() for u in plan.undelivered if u.reason.kind is ReasonKind.LANE_CAPACITY
    )
    assert "Sup -> Store (2,400 doses a trip, 3 trips by day 14) is full" in text


def test_infeasible_product_is_undelivered_and_plan_route_raises() -> None:
    net = load_network_file(example_network_path())
    plan = plan_shipments(
        net.network,
        [ShipmentRequest(PFIZER, "PRK-NS", 11_700, ("PFIZER-PUURS",))],
        planned_use_days=net.planned_use_days,
    )
    assert not plan.shipments
    (missing,) = plan.undelivered
    assert missing.reason.kind is ReasonKind.THAW_BUDGET
    with pytest.raises(DoseflowError) as exc:
        plan_route(net.network, PFIZER, "PFIZER-PUURS", "PRK-NS", use_days=25)
    assert exc.value.code == "LOGISTICS_INFEASIBLE"
    assert exc.value.detail.value == "PRK-NS"
    assert "no ultra-cold storage beyond Dalian" in exc.value.detail.message


def test_bad_request() -> None:
    with pytest.raises(DoseflowError) as exc:
        plan_shipments(chain(), [ShipmentRequest(AZ, "STORE", 0, ("SUP",))])
    assert (exc.value.code, exc.value.detail.value) == ("LOGISTICS_BAD_REQUEST", 0)


@settings(max_examples=40, deadline=None)
@given(
    packs=st.integers(1, 40),
    cap_packs=st.integers(1, 12),
    per_week=st.sampled_from([1.0, 2.0, 3.5]),
    horizon=st.integers(0, 30),
)
def test_split_never_loses_or_overfills(
    packs: int, cap_packs: int, per_week: float, horizon: int
) -> None:
    net = build_network(
        [node("SUP", C, kind=NodeKind.SUPPLIER), node("STORE", C)],
        [lane("SUP", "STORE", 1, C, cap=cap_packs * AZ.pack_doses, per_week=per_week)],
    )
    doses = packs * AZ.pack_doses
    plan = plan_shipments(
        net, [ShipmentRequest(AZ, "STORE", doses, ("SUP",))], horizon_days=horizon
    )
    assert plan.delivered(0) + plan.missing(0) == doses
    assert all(load <= cap_packs * AZ.pack_doses for load in plan.trip_loads.values())
    assert all(s.route.legs[0].depart_day <= horizon for s in plan.shipments)
    trips = int(horizon * per_week / 7 + 1e-9) + 1
    assert plan.delivered(0) == min(doses, trips * cap_packs * AZ.pack_doses)
