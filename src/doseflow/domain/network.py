"""The supply network: nodes (suppliers, hubs, stores, service points) and lanes between them.

A hub is a port or warehouse used for stockpiling and onward dispatch (Dalian for shipments
to North Korea). Storage capacity is per temperature band, in litres; lanes carry a
temperature capability, a lead time and optional capacity, frequency and cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.domain.temperature import TemperatureBand


class NodeKind(StrEnum):
    SUPPLIER = "supplier"
    HUB = "hub"
    NATIONAL_STORE = "national"
    REGIONAL_STORE = "regional"
    DISTRICT_STORE = "district"
    SERVICE_POINT = "service-point"


class LaneMode(StrEnum):
    AIR = "air"
    SEA = "sea"
    ROAD = "road"
    RAIL = "rail"


@dataclass(frozen=True)
class Node:
    """A place that holds stock. ``capacity_litres`` maps band to usable storage volume;
    a band absent from it means the node cannot store that band at all."""

    code: str
    name: str
    kind: NodeKind
    country: str | None = None  # ISO3; None for international suppliers
    parent: str | None = None  # code of the node that normally supplies this one
    capacity_litres: Mapping[TemperatureBand, float] = field(
        default_factory=lambda: MappingProxyType({})
    )
    region: str | None = None  # sub-national region name, for regional and lower stores
    #: IANA zone whose midnights cut this node's days (periods, stock at a date); None: the
    #: country's default (``doseflow.data.time_zones``), UTC without a country
    time_zone: str | None = None

    def can_store(self, band: TemperatureBand) -> bool:
        return self.capacity_litres.get(band, 0.0) > 0.0


@dataclass(frozen=True)
class Lane:
    """A transport link. ``temperature`` lists the bands it can keep a load in."""

    origin: str
    destination: str
    mode: LaneMode
    lead_time_days: float
    temperature: frozenset[TemperatureBand]
    cost_per_dose: float = 0.0
    capacity_doses_per_trip: int | None = None  # None: unlimited
    trips_per_week: float | None = None  # None: on demand

    @property
    def key(self) -> tuple[str, str, LaneMode]:
        return (self.origin, self.destination, self.mode)


@dataclass(frozen=True)
class Network:
    """Nodes and lanes, checked for consistency when built (see :func:`build_network`)."""

    nodes: Mapping[str, Node]
    lanes: tuple[Lane, ...] = ()

    def node(self, code: str) -> Node:
        found = self.nodes.get(code)
        if found is None:
            raise DoseflowError(
                "NETWORK_UNKNOWN_NODE",
                f"no node with code '{code}' in the network",
                field="node",
                expected="a node code defined in the network file",
                value=code,
            )
        return found

    def lanes_from(self, code: str) -> tuple[Lane, ...]:
        return tuple(lane for lane in self.lanes if lane.origin == code)

    def children(self, code: str) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes.values() if n.parent == code)


def build_network(
    nodes: Iterable[Node], lanes: Iterable[Lane] = (), *, source: str | None = None
) -> Network:
    """A :class:`Network`, after checking codes are unique and every reference resolves.

    All problems are reported together (``NETWORK_DUPLICATE_NODE``, ``NETWORK_UNKNOWN_NODE``,
    ``NETWORK_BAD_LANE``).
    """
    problems: list[ErrorDetail] = []
    by_code: dict[str, Node] = {}
    for node in nodes:
        if node.code in by_code:
            problems.append(
                ErrorDetail(
                    "NETWORK_DUPLICATE_NODE",
                    f"node code '{node.code}' is defined twice",
                    ErrorLocation(source=source, field="code"),
                    expected="unique node codes",
                    value=node.code,
                )
            )
        by_code[node.code] = node
    for node in by_code.values():
        if node.parent is not None and node.parent not in by_code:
            problems.append(
                ErrorDetail(
                    "NETWORK_UNKNOWN_NODE",
                    f"node '{node.code}' names parent '{node.parent}', which is not defined",
                    ErrorLocation(source=source, field="parent"),
                    expected="a node code defined in the network",
                    value=node.parent,
                )
            )
    lane_list = tuple(lanes)
    for lane in lane_list:
        for end, fld in ((lane.origin, "from"), (lane.destination, "to")):
            if end not in by_code:
                problems.append(
                    ErrorDetail(
                        "NETWORK_UNKNOWN_NODE",
                        f"lane {lane.origin} -> {lane.destination} names node '{end}', "
                        "which is not defined",
                        ErrorLocation(source=source, field=fld),
                        expected="a node code defined in the network",
                        value=end,
                    )
                )
        if lane.origin == lane.destination or lane.lead_time_days < 0:
            problems.append(
                ErrorDetail(
                    "NETWORK_BAD_LANE",
                    f"lane {lane.origin} -> {lane.destination} is a loop or has a negative "
                    "lead time",
                    ErrorLocation(source=source, field="lead_time_days"),
                    expected="two different nodes and a lead time >= 0 days",
                    value=lane.lead_time_days,
                )
            )
    if problems:
        raise DoseflowError.from_details(problems)
    return Network(nodes=MappingProxyType(by_code), lanes=lane_list)
