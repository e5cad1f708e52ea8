from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import numpy as np

from doseflow.data.population import country
from doseflow.deployment import (
    GroupKind,
    GroupSpec,
    age_share,
    apportion,
    plan_deployment,
    planned_events,
    size_group,
    stock_from_allocation,
    stock_from_ledger,
)

from .builders import group, lot, make, product, region


def test_apportion_keeps_the_total() -> None:
    assert apportion(10, [1, 1, 1]) == [4, 3, 3]
    assert sum(apportion(1_234_567, [3, 5, 7, 11])) == 1_234_567


def test_older_people_come_from_the_wpp_age_bands() -> None:
    bands = country("PRK").population_by_age()
    expected = bands[12:].sum() / bands.sum()
    assert age_share("PRK", 60, None) == expected
    regions = [region("A", population=1_000_000), region("B", population=3_000_000)]
    spec = GroupSpec("Older", GroupKind.OLDER_PEOPLE, 0.8, min_age=65)
    sizes = size_group(spec, regions, "PRK").population_by_region
    total = round(4_000_000 * age_share("PRK", 65, None))
    assert sum(sizes) == total
    assert abs(sizes[1] - 3 * sizes[0]) <= 3  # shared out by population


def test_border_areas_default_to_the_whole_population_of_the_regions_named() -> None:
    regions = [region("A", population=1_000), region("B", population=2_000)]
    spec = GroupSpec("Border", GroupKind.BORDER_AREAS, 1.0, regions=("B",))
    assert size_group(spec, regions, "PRK").population_by_region == (0, 2_000)


def test_stock_from_allocation_lines_and_ledger_lines() -> None:
    lines = [
        SimpleNamespace(iso3="PRK", product="AZ", doses=1_000, pool="r1-az"),
        SimpleNamespace(iso3="NGA", product="AZ", doses=5_000, pool="r1-az"),
    ]
    lots = stock_from_allocation(lines, "PRK", {"AZ": product()}, date(2021, 6, 1))
    assert [(s.lot, s.doses, s.expiry) for s in lots] == [("r1-az", 1_000, date(2021, 11, 28))]
    ledger = [
        SimpleNamespace(node="PRK-NS", product="AZ", lot="L1", expiry=None, doses=40),
        SimpleNamespace(node="DLC", product="AZ", lot="L2", expiry=None, doses=50),
    ]
    assert [s.lot for s in stock_from_ledger(ledger, "PRK-NS")] == ["L1"]


def test_planned_events_match_the_shipments_and_have_stable_ids() -> None:
    inp = make([region("A"), region("B")], [group("G", [5_000, 5_000])], [lot("AZ", "L", 9_000)])
    plan = plan_deployment(inp)
    events = planned_events(plan, reference="plan-1")
    assert sum(e.quantity for e in events) == plan.planned_doses()
    assert len({e.event_id for e in events}) == len(events)
    assert [e.event_id for e in planned_events(plan, reference="plan-1")] == [
        e.event_id for e in events
    ]
    assert np.all([e.origin == inp.origin for e in events])


def test_regions_from_the_network_keep_their_cold_chain() -> None:
    import pytest

    from doseflow.deployment import regions_from_network
    from doseflow.domain.errors import DoseflowError
    from doseflow.domain.network import Node, NodeKind, build_network
    from doseflow.domain.temperature import TemperatureBand

    net = build_network(
        [
            Node("PRK-NS", "National store", NodeKind.NATIONAL_STORE, country="PRK"),
            Node(
                "RG",
                "Hyesan store",
                NodeKind.REGIONAL_STORE,
                country="PRK",
                parent="PRK-NS",
                capacity_litres={TemperatureBand.CHILLED: 150.0},
                region="Ryanggang",
            ),
        ]
    )
    (rg,) = regions_from_network(net, {"RG": 719_269}, {"RG": 1_200}, lead_days={"RG": 5})
    assert (rg.name, rg.population, rg.lead_days) == ("Ryanggang", 719_269, 5)
    assert rg.capacity_litres[TemperatureBand.CHILLED] == 150.0
    with pytest.raises(DoseflowError) as info:
        regions_from_network(net, {}, {"RG": 1})
    assert info.value.code == "DEPLOY_UNKNOWN_REGION"
    assert info.value.detail.value == "RG"
