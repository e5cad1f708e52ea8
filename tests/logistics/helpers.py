"""Small networks built in code for the logistics tests."""

from __future__ import annotations

from types import MappingProxyType

from doseflow.domain.network import Lane, LaneMode, Network, Node, NodeKind, build_network
from doseflow.domain.temperature import TemperatureBand as B

UC, FR, C, AMB = B.ULTRA_COLD, B.FROZEN, B.CHILLED, B.AMBIENT


def node(
    code: str, *bands: B, kind: NodeKind = NodeKind.NATIONAL_STORE, litres: float = 1000.0
) -> Node:
    return Node(
        code, code.title(), kind, capacity_litres=MappingProxyType(dict.fromkeys(bands, litres))
    )


def lane(
    a: str,
    b: str,
    days: float,
    *bands: B,
    cost: float = 0.0,
    cap: int | None = None,
    per_week: float | None = None,
    mode: LaneMode = LaneMode.ROAD,
) -> Lane:
    return Lane(a, b, mode, days, frozenset(bands), cost, cap, per_week)


def chain(hub_to_store_days: float = 12.0) -> Network:
    """Supplier (ultra-cold) -> hub (ultra-cold, 2-8) -> store (2-8 only)."""
    return build_network(
        [
            node("SUP", UC, C, kind=NodeKind.SUPPLIER),
            node("HUB", UC, C, kind=NodeKind.HUB),
            node("STORE", C),
        ],
        [lane("SUP", "HUB", 3, UC, C), lane("HUB", "STORE", hub_to_store_days, C)],
    )
