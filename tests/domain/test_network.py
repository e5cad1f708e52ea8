from __future__ import annotations

import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.domain.network import Lane, LaneMode, Node, NodeKind, build_network
from doseflow.domain.temperature import TemperatureBand

CHILLED = frozenset({TemperatureBand.CHILLED})


def _nodes() -> list[Node]:
    return [
        Node("SII", "Serum Institute, Pune", NodeKind.SUPPLIER),
        Node(
            "DLC",
            "Dalian port",
            NodeKind.HUB,
            country="CHN",
            capacity_litres={TemperatureBand.CHILLED: 40_000.0},
        ),
        Node(
            "PRK-NS",
            "Pyongyang national store",
            NodeKind.NATIONAL_STORE,
            country="PRK",
            parent="DLC",
            capacity_litres={TemperatureBand.CHILLED: 20_000.0},
        ),
    ]


def test_valid_network_resolves_nodes_and_lanes() -> None:
    net = build_network(
        _nodes(),
        [
            Lane("SII", "DLC", LaneMode.SEA, 18, CHILLED),
            Lane("DLC", "PRK-NS", LaneMode.RAIL, 2, CHILLED),
        ],
    )
    assert net.node("DLC").kind is NodeKind.HUB
    assert net.node("PRK-NS").can_store(TemperatureBand.CHILLED)
    assert not net.node("PRK-NS").can_store(TemperatureBand.ULTRA_COLD)
    assert [lane.destination for lane in net.lanes_from("SII")] == ["DLC"]
    assert [n.code for n in net.children("DLC")] == ["PRK-NS"]


def test_every_problem_is_reported_at_once() -> None:
    nodes = [
        *_nodes(),
        Node("DLC", "again", NodeKind.HUB),
        Node("X", "x", NodeKind.HUB, parent="NOPE"),
    ]
    lanes = [
        Lane("SII", "GHOST", LaneMode.AIR, 1, CHILLED),
        Lane("DLC", "DLC", LaneMode.ROAD, 1, CHILLED),
    ]
    with pytest.raises(DoseflowError) as exc:
        build_network(nodes, lanes, source="net.yaml")
    codes = [d.code for d in exc.value.details]
    assert codes.count("NETWORK_DUPLICATE_NODE") == 1
    assert codes.count("NETWORK_UNKNOWN_NODE") == 2
    assert codes.count("NETWORK_BAD_LANE") == 1
    assert all(d.location.source == "net.yaml" for d in exc.value.details)
    unknown = [d for d in exc.value.details if d.code == "NETWORK_UNKNOWN_NODE"]
    assert {d.value for d in unknown} == {"GHOST", "NOPE"}


def test_unknown_node_lookup() -> None:
    net = build_network(_nodes())
    with pytest.raises(DoseflowError) as exc:
        net.node("ZZZ")
    assert exc.value.code == "NETWORK_UNKNOWN_NODE"
    assert exc.value.detail.value == "ZZZ"
