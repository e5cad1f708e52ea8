"""Capacity gaps: volume needed per node and band against what is available."""

from __future__ import annotations

import pytest

from doseflow.domain.network import NodeKind, build_network
from doseflow.logistics import (
    Holding,
    ShipmentRequest,
    band_capacity_litres,
    capacity_gaps,
    holding_band,
    plan_capacity_gaps,
    plan_shipments,
    reference_product,
    storage_profile,
)
from tests.logistics.helpers import UC, C, lane, node

AZ = reference_product("AZ")  # 2.5 cm3 per dose
PFIZER = reference_product("PFIZER-BNT")  # 1.79 cm3 per dose


def test_gap_per_node_and_band() -> None:
    net = build_network(
        [node("NS", UC, C, litres=10.0), node("RS", C, litres=100.0)],
    )
    gaps = capacity_gaps(
        net,
        [
            Holding("NS", AZ, 2_400),  # 6 L at 2-8
            Holding("NS", PFIZER, 11_700),  # 20.9 L ultra-cold
            Holding("RS", PFIZER, 11_700),  # no freezer at RS: held thawed at 2-8
        ],
    )
    rows = {(g.node, g.band): g for g in gaps}
    assert rows[("NS", C)].needed_litres == pytest.approx(6.0)
    assert not rows[("NS", C)].short
    ultra = rows[("NS", UC)]
    assert ultra.gap_litres == pytest.approx(11_700 * 1.79 / 1000 - 10)
    assert ultra.short
    assert ultra.shortfall_litres == pytest.approx(ultra.gap_litres)
    assert rows[("RS", C)].needed_litres == pytest.approx(11_700 * 1.79 / 1000)
    assert holding_band(net.node("RS"), storage_profile(PFIZER)) is C
    assert band_capacity_litres(net, "RS", UC) == 0


def test_include_idle_lists_every_stored_band() -> None:
    net = build_network([node("NS", UC, C)])
    assert capacity_gaps(net, []) == ()
    idle = capacity_gaps(net, [], include_idle=True)
    assert {(g.band, g.needed_litres) for g in idle} == {(UC, 0.0), (C, 0.0)}


def test_plan_gap_is_the_peak_of_overlapping_deliveries() -> None:
    net = build_network(
        [node("SUP", C, kind=NodeKind.SUPPLIER), node("STORE", C, litres=10.0)],
        [lane("SUP", "STORE", 1, C, cap=2_400, per_week=1)],
    )
    requests = [ShipmentRequest(AZ, "STORE", 7_200, ("SUP",), use_days=10)]
    plan = plan_shipments(net, requests, horizon_days=30)
    # deliveries on days 1, 8, 15, each held 10 days: at most two overlap (2 x 6 L)
    (gap,) = plan_capacity_gaps(plan)
    assert gap.needed_litres == pytest.approx(2 * 2_400 * 2.5 / 1000)
    assert gap.available_litres == 10.0
    assert gap.gap_litres == pytest.approx(2.0)
