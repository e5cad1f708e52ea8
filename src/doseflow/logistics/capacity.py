"""Capacity gaps: storage volume a plan needs at each node and band, against what is there.

Volume is the packed storage volume per dose of the product's presentation
(:mod:`doseflow.logistics.storage_profiles`), in litres. A node holds a product in its
long-term band if it can, otherwise in the first warmer band it tolerates and the node
stores. For a shipment plan the need is the *peak* over time: a delivery occupies its
destination from arrival for the planned use period (at least one day), and a hub from
arrival until the load leaves again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from doseflow.domain.network import Network, Node
from doseflow.domain.product import Product
from doseflow.domain.temperature import TemperatureBand
from doseflow.logistics.route_search import Route
from doseflow.logistics.routing import ShipmentPlan
from doseflow.logistics.storage_profiles import (
    ProfileTable,
    StorageProfile,
    band_rank,
    bundled_profiles,
)


@dataclass(frozen=True)
class Holding:
    """Doses of a product held at a node (``band`` None: the band the node would use)."""

    node: str
    product: Product
    doses: int
    band: TemperatureBand | None = None


@dataclass(frozen=True)
class CapacityGap:
    """Needed against available storage at one node and band, in litres."""

    node: str
    name: str
    country: str | None
    band: TemperatureBand
    needed_litres: float
    available_litres: float

    @property
    def gap_litres(self) -> float:
        """Needed minus available: positive is a shortfall, negative is room to spare."""
        return self.needed_litres - self.available_litres

    @property
    def shortfall_litres(self) -> float:
        return max(0.0, self.gap_litres)

    @property
    def utilisation(self) -> float:
        """Needed as a share of available (``inf`` where nothing is available)."""
        if self.available_litres <= 0:
            return math.inf if self.needed_litres > 0 else 0.0
        return self.needed_litres / self.available_litres

    @property
    def short(self) -> bool:
        return self.gap_litres > 1e-9


def holding_band(node: Node, profile: StorageProfile) -> TemperatureBand:
    """The band ``node`` would keep the product in: its long-term band if stored there,
    otherwise the coldest tolerated warmer band the node stores (else the long-term band,
    which then shows as a gap)."""
    for band in profile.bands:
        if node.can_store(band):
            return band
    return profile.long_term


def band_capacity_litres(network: Network, node: str, band: TemperatureBand) -> float:
    """Storage available at ``node`` in ``band`` (0 if the node does not store it)."""
    return float(network.node(node).capacity_litres.get(band, 0.0))


def capacity_gaps(
    network: Network,
    holdings: Iterable[Holding],
    *,
    profiles: ProfileTable | None = None,
    include_idle: bool = False,
) -> tuple[CapacityGap, ...]:
    """Gaps for the stock in ``holdings`` held at the same time, per node and band.

    Raises ``LOGISTICS_NO_VOLUME`` for a product presentation with no packed volume and
    ``NETWORK_UNKNOWN_NODE`` for an unknown node. ``include_idle`` adds every stored band
    with nothing needed, so a table shows the whole network.
    """
    table = profiles or bundled_profiles()
    needs: dict[tuple[str, TemperatureBand], float] = {}
    for holding in holdings:
        node = network.node(holding.node)
        profile = table.for_product(holding.product)
        band = holding.band or holding_band(node, profile)
        litres = holding.doses * profile.volume(holding.product.doses_per_vial).storage_cm3 / 1000
        needs[(node.code, band)] = needs.get((node.code, band), 0.0) + litres
    return gaps_from_needs(network, needs, include_idle=include_idle)


def gaps_from_needs(
    network: Network,
    needs: Mapping[tuple[str, TemperatureBand], float],
    *,
    include_idle: bool = False,
) -> tuple[CapacityGap, ...]:
    """:class:`CapacityGap` rows from litres needed per (node, band), in network order."""
    rows: list[CapacityGap] = []
    for code, node in network.nodes.items():
        bands = {b for (c, b) in needs if c == code}
        if include_idle:
            bands |= {b for b, litres in node.capacity_litres.items() if litres > 0}
        for band in sorted(bands, key=band_rank):
            rows.append(
                CapacityGap(
                    code,
                    node.name,
                    node.country,
                    band,
                    needs.get((code, band), 0.0),
                    float(node.capacity_litres.get(band, 0.0)),
                )
            )
    return tuple(rows)


def plan_storage_needs(
    plan: ShipmentPlan, *, profiles: ProfileTable | None = None
) -> dict[tuple[str, TemperatureBand], float]:
    """Peak litres held at each node and band over the plan's time line."""
    table = profiles or bundled_profiles()
    events: dict[tuple[str, TemperatureBand], list[tuple[float, int, float]]] = {}
    for shipment in plan.shipments:
        profile = table.for_product(shipment.product)
        litres = shipment.doses * profile.volume(shipment.product.doses_per_vial).storage_cm3 / 1000
        route = shipment.route
        legs = route.legs
        for position, leg in enumerate(legs):
            node = leg.lane.destination
            band = _band_at(route, position)
            start = leg.arrive_day
            if position + 1 < len(legs):
                end = legs[position + 1].depart_day
            else:
                end = start + max(1.0, plan.use_days.get(shipment.request_index, 0.0))
            series = events.setdefault((node, band), [])
            series.append((start, 0, litres))  # arrivals sort before departures at a tie
            series.append((end, 1, -litres))
    peaks: dict[tuple[str, TemperatureBand], float] = {}
    for key, series in events.items():
        level = peak = 0.0
        for _, _, delta in sorted(series):
            level += delta
            peak = max(peak, level)
        peaks[key] = peak
    return peaks


def _band_at(route: Route, position: int) -> TemperatureBand:
    """The band a load is stored in at the end of leg ``position`` of ``route``."""
    leg = route.legs[position]
    band = leg.band
    for change in route.changes:
        if (
            change.on_arrival
            and change.node == leg.lane.destination
            and change.day == leg.arrive_day
        ):
            band = change.to_band
    return band


def plan_capacity_gaps(
    plan: ShipmentPlan, *, profiles: ProfileTable | None = None, include_idle: bool = False
) -> tuple[CapacityGap, ...]:
    """Capacity gaps of a shipment plan at its peak."""
    return gaps_from_needs(
        plan.network, plan_storage_needs(plan, profiles=profiles), include_idle=include_idle
    )
