"""Planning shipments through hubs: fastest or cheapest feasible routes, within lane capacity.

Each request (a product, a quantity in doses, candidate origins, a destination) is planned in
the order given, so earlier requests have first call on lane capacity. A request is routed
by :func:`~doseflow.logistics.route_search.search` with the cold-chain rules; its doses go
on the first departures that still have room for a whole pack. What does not fit on the
chosen trips goes on the next trips or another route (a split), until everything is
planned or no departure within the horizon has room. Quantities move in whole packs
(:mod:`doseflow.domain.units`); a remainder smaller than a pack is reported, not shipped.
What cannot be delivered is listed with its reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from doseflow.domain.errors import DoseflowError
from doseflow.domain.network import Network
from doseflow.domain.product import Product
from doseflow.domain.units import round_down_to_packs, split_packs
from doseflow.logistics.feasibility import Reason, ReasonKind, check_feasibility
from doseflow.logistics.route_search import (
    Objective,
    Residual,
    Route,
    RoutingGraph,
    next_departure,
    search,
)
from doseflow.logistics.storage_profiles import ProfileTable, bundled_profiles, format_days

DEFAULT_HORIZON_DAYS = 90.0


@dataclass(frozen=True)
class ShipmentRequest:
    """Doses of a product wanted at a destination, from one of ``origins``."""

    product: Product
    destination: str
    doses: int
    origins: tuple[str, ...]
    ready_day: float = 0.0  # day the doses are ready at the origin
    use_days: float | None = None  # planned use at the destination (None: the node's own)
    reference: str = ""  # the caller's id (allocation line, ledger shipment, ...)


@dataclass(frozen=True)
class PlannedShipment:
    """A part of a request on one route and one set of trips."""

    request_index: int
    reference: str
    product: Product
    doses: int
    route: Route

    @property
    def packs(self) -> int:
        return split_packs(self.product, self.doses)[0]

    @property
    def vehicles(self) -> tuple[int, ...]:
        """Vehicles needed on each leg: 1 on a scheduled trip; on an on-demand lane with a
        capacity per trip, as many as the load needs."""
        out: list[int] = []
        for leg in self.route.legs:
            cap = leg.lane.capacity_doses_per_trip
            out.append(1 if leg.trip is not None or cap is None else math.ceil(self.doses / cap))
        return tuple(out)


@dataclass(frozen=True)
class Undelivered:
    """Doses of a request that cannot be delivered, and why."""

    request_index: int
    reference: str
    product: Product
    destination: str
    doses: int
    reason: Reason


@dataclass(frozen=True)
class ShipmentPlan:
    """Every planned shipment and every undelivered remainder, plus lane trip loads."""

    network: Network
    objective: Objective
    horizon_days: float
    requests: tuple[ShipmentRequest, ...]
    shipments: tuple[PlannedShipment, ...]
    undelivered: tuple[Undelivered, ...]
    trip_loads: Mapping[tuple[int, int], int] = field(default_factory=lambda: MappingProxyType({}))
    use_days: Mapping[int, float] = field(default_factory=lambda: MappingProxyType({}))

    def delivered(self, request_index: int) -> int:
        return sum(s.doses for s in self.shipments if s.request_index == request_index)

    def missing(self, request_index: int) -> int:
        return sum(u.doses for u in self.undelivered if u.request_index == request_index)


def plan_route(
    network: Network,
    product: Product,
    origin: str | Iterable[str],
    destination: str,
    *,
    objective: Objective | str = Objective.FASTEST,
    use_days: float = 0.0,
    profiles: ProfileTable | None = None,
    start_day: float = 0.0,
) -> Route:
    """The best feasible route for one product, ignoring lane capacity (trip schedules and
    frequency waits count). Raises ``LOGISTICS_INFEASIBLE`` with the reason in words."""
    verdict = check_feasibility(
        network,
        product,
        destination,
        origins=origin,
        use_days=use_days,
        profiles=profiles,
        objective=objective,
        start_day=start_day,
    )
    if verdict.route is None:
        assert verdict.reason is not None
        raise DoseflowError(
            "LOGISTICS_INFEASIBLE",
            verdict.reason.render(),
            field="destination",
            expected="a destination the product can reach within its cold-chain limits",
            value=destination,
        )
    return verdict.route


def _check_request(index: int, request: ShipmentRequest, network: Network) -> None:
    if request.doses <= 0:
        raise DoseflowError(
            "LOGISTICS_BAD_REQUEST",
            f"shipment request {index + 1} ({request.product.code} to {request.destination}) "
            "asks for no doses",
            field="doses",
            expected="a positive number of doses",
            value=request.doses,
        )
    if not request.origins:
        raise DoseflowError(
            "LOGISTICS_BAD_REQUEST",
            f"shipment request {index + 1} ({request.product.code} to {request.destination}) "
            "has no origin",
            field="origin",
            expected="at least one origin node",
            value=request.product.code,
        )
    for code in (*request.origins, request.destination):
        network.node(code)


def plan_shipments(
    network: Network,
    requests: Sequence[ShipmentRequest],
    *,
    objective: Objective | str = Objective.FASTEST,
    profiles: ProfileTable | None = None,
    horizon_days: float = DEFAULT_HORIZON_DAYS,
    planned_use_days: Mapping[str, float] | None = None,
) -> ShipmentPlan:
    """Route every request in order, splitting where lane capacity runs out.

    All requests are checked before anything is planned (``LOGISTICS_BAD_REQUEST``,
    ``NETWORK_UNKNOWN_NODE``).
    """
    objective = Objective(str(objective))
    for index, request in enumerate(requests):
        _check_request(index, request, network)
    table = profiles or bundled_profiles()
    graph = RoutingGraph(network)
    residual: Residual = {}
    shipments: list[PlannedShipment] = []
    undelivered: list[Undelivered] = []
    use_by_request: dict[int, float] = {}
    for index, request in enumerate(requests):
        product = request.product
        profile = table.for_product(product)
        use = request.use_days
        if use is None:
            use = (planned_use_days or {}).get(request.destination, 0.0)
        use_by_request[index] = use
        whole = round_down_to_packs(product, request.doses)
        dest_name = network.node(request.destination).name
        if whole < request.doses:
            undelivered.append(
                Undelivered(
                    index,
                    request.reference,
                    product,
                    request.destination,
                    request.doses - whole,
                    Reason(
                        ReasonKind.PART_PACK,
                        profile.short,
                        network.node(request.origins[0]).name,
                        dest_name,
                        doses=request.doses - whole,
                        detail=f"less than one pack ({product.pack_doses:,} doses)",
                    ),
                )
            )
        if whole == 0:
            continue
        verdict = check_feasibility(
            network,
            profile,
            request.destination,
            origins=request.origins,
            use_days=use,
            objective=objective,
            start_day=request.ready_day,
            graph=graph,
        )
        if verdict.route is None:
            assert verdict.reason is not None
            undelivered.append(
                Undelivered(
                    index, request.reference, product, request.destination, whole, verdict.reason
                )
            )
            continue
        remaining = whole
        while remaining > 0:
            best: Route | None = None
            for origin in request.origins:
                found = search(
                    graph,
                    profile,
                    origin,
                    request.destination,
                    objective=objective,
                    start_day=request.ready_day,
                    use_days=use,
                    need=product.pack_doses,
                    residual=residual,
                    horizon_days=max(0.0, horizon_days - request.ready_day),
                )
                if found is not None and (
                    best is None or _rank(found, objective) < _rank(best, objective)
                ):
                    best = found
            if best is None:
                undelivered.append(
                    Undelivered(
                        index,
                        request.reference,
                        product,
                        request.destination,
                        remaining,
                        Reason(
                            ReasonKind.LANE_CAPACITY,
                            profile.short,
                            network.node(verdict.route.origin).name,
                            dest_name,
                            doses=remaining,
                            detail=_full_lanes(
                                graph, verdict.route, residual, product, horizon_days
                            ),
                        ),
                    )
                )
                break
            room = min(
                (
                    residual.get(
                        (leg.lane_index, leg.trip), _capacity(leg.lane.capacity_doses_per_trip)
                    )
                    for leg in best.legs
                    if leg.trip is not None
                ),
                default=math.inf,
            )
            amount = remaining if room >= remaining else round_down_to_packs(product, int(room))
            for leg in best.legs:
                if leg.trip is not None:
                    slot = (leg.lane_index, leg.trip)
                    residual[slot] = (
                        residual.get(slot, _capacity(leg.lane.capacity_doses_per_trip)) - amount
                    )
            shipments.append(PlannedShipment(index, request.reference, product, amount, best))
            remaining -= amount
    loads = {
        slot: int(_capacity(graph.lanes[slot[0]].capacity_doses_per_trip) - left)
        for slot, left in residual.items()
        if graph.lanes[slot[0]].capacity_doses_per_trip is not None
    }
    for s in shipments:
        for leg in s.route.legs:
            if leg.trip is not None and leg.lane.capacity_doses_per_trip is None:
                slot = (leg.lane_index, leg.trip)
                loads[slot] = loads.get(slot, 0) + s.doses
    return ShipmentPlan(
        network=network,
        objective=objective,
        horizon_days=horizon_days,
        requests=tuple(requests),
        shipments=tuple(shipments),
        undelivered=tuple(undelivered),
        trip_loads=MappingProxyType(loads),
        use_days=MappingProxyType(use_by_request),
    )


def _capacity(per_trip: int | None) -> float:
    return math.inf if per_trip is None else float(per_trip)


def _rank(route: Route, objective: Objective) -> tuple[float, float]:
    if objective is Objective.CHEAPEST:
        return (route.cost_per_dose, route.arrival_day)
    return (route.arrival_day, route.cost_per_dose)


def _full_lanes(
    graph: RoutingGraph,
    route: Route,
    residual: Residual,
    product: Product,
    horizon_days: float,
) -> str:
    """Words naming the lanes of ``route`` with no trip left that can take a pack."""
    nodes = graph.network.nodes
    full: list[str] = []
    for leg in route.legs:
        lane = leg.lane
        if lane.trips_per_week is None:
            continue
        if (
            next_departure(leg.lane_index, lane, 0.0, product.pack_doses, residual, horizon_days)
            is None
        ):
            trips = math.floor(horizon_days * lane.trips_per_week / 7.0) + 1
            full.append(
                f"{nodes[lane.origin].name} -> {nodes[lane.destination].name} "
                f"({lane.capacity_doses_per_trip or 0:,} doses a trip, {trips} trips by day "
                f"{horizon_days:g}) is full"
            )
    if full:
        return "; ".join(full)
    return (
        f"no trip with room leaves early enough to arrive within the cold-chain limits by day "
        f"{horizon_days:g} ({format_days(horizon_days)} horizon)"
    )
