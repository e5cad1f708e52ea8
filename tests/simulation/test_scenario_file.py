"""A what-if scenario read from a YAML file into the engine's Scenario (issue 16)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.domain.network import NodeKind
from doseflow.simulation.scenario import (
    Closure,
    Demand,
    LotOrder,
    PowerOutage,
    Quarantine,
    RandomOutages,
    SimLane,
)
from doseflow.simulation.scenario_file import read_scenario_file, scenario_from_yaml
from doseflow.simulation.streams import Distribution, LeadTime

YAML = """\
nodes:
  - {code: DLC, name: Dalian hub, kind: hub, country: CHN}
  - {code: PRK-NS, kind: national, country: PRK}
lanes:
  - from: DLC
    to: PRK-NS
    lead_time: {distribution: triangular, low: 2, mode: 4, high: 9}
    capacity_per_day: 5000
closures:
  - {from: DLC, to: PRK-NS, start: 2021-06-01, end: 2021-07-15}
quarantines:
  - {node: PRK-NS, days: 21}
outages:
  - {node: PRK-NS, start: 2021-06-10, days: 3}
random_outages:
  - {node: DLC, per_year: 4, days: 2}
demand:
  - {node: PRK-NS, doses_per_day: 100, start: 2021-06-05}
policy:
  lot_order: fifo
  batch_size: 1000
  stockpile_until: {DLC: 2021-07-31}
days_per_vvm_stage: 3
variants:
  open:
    closures: []
  fefo:
    policy: {lot_order: fefo}
"""


def _errors(text: str) -> DoseflowError:
    with pytest.raises(DoseflowError) as caught:
        scenario_from_yaml(text, "s.yaml")
    return caught.value


def test_every_part_of_the_file_reaches_the_scenario(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(YAML, encoding="utf-8")
    read = read_scenario_file(path)
    s = read.scenario
    assert [(n.code, n.name, n.kind, n.country) for n in s.nodes] == [
        ("DLC", "Dalian hub", NodeKind.HUB, "CHN"),
        ("PRK-NS", "PRK-NS", NodeKind.NATIONAL_STORE, "PRK"),
    ]
    assert s.lanes == (SimLane("DLC", "PRK-NS", LeadTime(Distribution.TRIANGULAR, 2, 9, 4), 5000),)
    assert s.closures == (Closure("DLC", "PRK-NS", date(2021, 6, 1), date(2021, 7, 15)),)
    assert s.quarantines == (Quarantine("PRK-NS", 21),)
    assert s.outages == (PowerOutage("PRK-NS", date(2021, 6, 10), 3),)
    assert s.random_outages == (RandomOutages("DLC", 4.0, 2),)
    assert s.demand == (Demand("PRK-NS", 100, date(2021, 6, 5), None),)
    assert s.policy.lot_order is LotOrder.FIFO
    assert s.policy.batch_size == 1000
    assert dict(s.policy.stockpile_until) == {"DLC": date(2021, 7, 31)}
    assert s.days_per_vvm_stage == 3
    # a variant replaces only what it names
    assert read.variant("open").closures == ()
    assert read.variant("open").policy == s.policy
    fefo = read.variant("fefo")
    assert fefo.policy.lot_order is LotOrder.FEFO
    assert fefo.policy.batch_size is None
    assert fefo.closures == s.closures
    assert read.variant(None) is s


def test_an_unknown_variant_names_the_ones_there_are() -> None:
    read = scenario_from_yaml(YAML, "s.yaml")
    with pytest.raises(DoseflowError) as caught:
        read.variant("nope", "s.yaml")
    assert caught.value.code == "SIMULATION_SCENARIO_UNKNOWN_VARIANT"
    assert caught.value.detail.expected == "one of: fefo, open"


def test_every_problem_is_located_at_once() -> None:
    text = (
        YAML.replace("capacity_per_day: 5000", "capacity_per_day: -5")
        .replace("end: 2021-07-15", "end: 2021-05-15")
        .replace("days: 21", "days: many")
        .replace("lot_order: fifo", "lot_order: lifo")
        .replace("per_year: 4", "per_year: 4, colour: red")
    )
    err = _errors(text)
    found = {(d.code, d.location.line, d.location.field) for d in err.details}
    assert found == {
        ("SIMULATION_SCENARIO_BAD_FIELD", 8, "lanes.0.capacity_per_day"),
        ("SIMULATION_SCENARIO_BAD_FIELD", 10, "closures.0"),
        ("SIMULATION_SCENARIO_BAD_FIELD", 12, "quarantines.0.days"),
        ("SIMULATION_SCENARIO_UNKNOWN_FIELD", 16, "random_outages.0.colour"),
        ("SIMULATION_SCENARIO_BAD_FIELD", 20, "policy.lot_order"),
    }
    assert all(d.location.source == "s.yaml" and d.expected for d in err.details)


def test_a_lead_time_that_is_no_distribution_is_located() -> None:
    err = _errors(YAML.replace("mode: 4, high: 9", "mode: 12, high: 9"))
    (detail,) = err.details
    assert (detail.code, detail.location.line, detail.location.field) == (
        "SIMULATION_SCENARIO_BAD_FIELD",
        7,
        "lanes.0.lead_time",
    )
    assert detail.expected is not None
    assert "is not a distribution of days: 0 <= low <= mode <= high" in detail.expected


def test_nodes_not_in_the_network_are_located() -> None:
    text = (
        YAML.replace("{node: PRK-NS, doses_per_day", "{node: PRK-XX, doses_per_day")
        .replace("stockpile_until: {DLC:", "stockpile_until: {SHE:")
        .replace(
            "policy: {lot_order: fefo}",
            "closures: [{from: DLC, to: KOR, start: 2021-06-01, end: 2021-06-02}]",
        )
    )
    err = _errors(text)
    found = {(d.code, d.location.line, d.location.field, d.value) for d in err.details}
    assert found == {
        ("SIMULATION_SCENARIO_UNKNOWN_NODE", 18, "demand.0.node", "PRK-XX"),
        ("SIMULATION_SCENARIO_UNKNOWN_NODE", 22, "policy.stockpile_until.SHE", "SHE"),
        ("SIMULATION_SCENARIO_UNKNOWN_NODE", 28, "variants.fefo.closures.0.to", "KOR"),
    }


def test_a_lane_given_twice_is_refused_in_the_file() -> None:
    twice = YAML.replace(
        "closures:\n", "  - {from: DLC, to: PRK-NS, lead_time: {low: 1}}\nclosures:\n", 1
    )
    err = _errors(twice)
    (detail,) = err.details
    assert detail.code == "SIMULATION_BAD_SCENARIO"
    assert detail.location.source == "s.yaml"
    assert "DLC>PRK-NS" in detail.message


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("- just a list\n", "SIMULATION_SCENARIO_BAD_YAML"),
        ("nodes: [\n", "SIMULATION_SCENARIO_BAD_YAML"),
        ("lanes: []\n", "SIMULATION_SCENARIO_MISSING_FIELD"),
    ],
)
def test_a_file_that_is_no_scenario(text: str, code: str) -> None:
    assert _errors(text).code == code


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DoseflowError) as caught:
        read_scenario_file(tmp_path / "none.yaml")
    assert caught.value.code == "SIMULATION_SCENARIO_FILE_NOT_FOUND"
