"""Can a product reach a destination within the cold chain? And if not, why not, in words.

Compatibility is checked on every node (it must store the band the load is in) and every
lane (it must carry that band). Where the destination has no storage in the product's
long-term band, the product is thawed at the last node that has it (or on arrival there)
and is feasible only if the days it may spend in the warmer band cover the rest of the route
plus the planned use at the destination. Each failure has a structured :class:`Reason` and a
sentence, e.g. "Pfizer cannot reach Pyongyang: no ultra-cold storage beyond Dalian and
31 days at 2-8 °C do not cover 12 days of transport plus 25 days of use".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from doseflow.domain.errors import DoseflowError
from doseflow.domain.network import Network, NodeKind
from doseflow.domain.product import Product
from doseflow.domain.temperature import TemperatureBand
from doseflow.logistics.network_file import NetworkFile
from doseflow.logistics.route_search import Objective, Route, RoutingGraph, search
from doseflow.logistics.storage_profiles import (
    ProfileTable,
    StorageProfile,
    band_phrase,
    band_rank,
    band_words,
    bundled_profiles,
    format_days,
)


class ReasonKind(StrEnum):
    ORIGIN_STORAGE = "origin-storage"
    NO_ROUTE = "no-route"
    DESTINATION_STORAGE = "destination-storage"
    COLD_CHAIN_BREAK = "cold-chain-break"
    THAW_BUDGET = "thaw-budget"
    LANE_CAPACITY = "lane-capacity"
    PART_PACK = "part-pack"


@dataclass(frozen=True)
class Reason:
    """Why a product (or part of a shipment) cannot reach a destination.

    Fields not relevant to ``kind`` are ``None``; :meth:`render` gives the sentence.
    """

    kind: ReasonKind
    product: str  # short product name, as used in sentences
    origin: str  # node names
    destination: str
    band: TemperatureBand | None = None  # the band that ran out or is missing
    long_term: TemperatureBand | None = None
    last_node: str | None = None  # last node holding the long-term band
    allowed_days: float | None = None
    transport_days: float | None = None
    use_days: float | None = None
    lane: str | None = None  # "A -> B" of the lane or node that breaks the chain
    bands: tuple[TemperatureBand, ...] = ()  # what the product tolerates / what is offered
    doses: int | None = None
    detail: str = ""

    def render(self) -> str:
        head = f"{self.product} cannot reach {self.destination}"
        if self.kind is ReasonKind.ORIGIN_STORAGE:
            return (
                f"{self.product} cannot leave {self.origin}: it has no "
                f"{_band_list(self.bands)} storage"
            )
        if self.kind is ReasonKind.NO_ROUTE:
            return f"{head}: no lane leads there from {self.origin}"
        if self.kind is ReasonKind.DESTINATION_STORAGE:
            return (
                f"{head}: it has no storage at {_band_list(self.bands)}, the only bands "
                f"{self.product} tolerates"
            )
        if self.kind is ReasonKind.COLD_CHAIN_BREAK:
            return f"{head}: no route keeps it {_band_list(self.bands)}; {self.detail}"
        if self.kind is ReasonKind.THAW_BUDGET:
            assert self.band is not None
            assert self.long_term is not None
            need = f"{format_days(self.transport_days or 0.0)} of transport"
            if self.use_days:
                need += f" plus {format_days(self.use_days)} of use"
            verb = "does" if self.allowed_days == 1 else "do"
            if self.allowed_days is not None and self.allowed_days < 1:
                verb = "do"
            return (
                f"{head}: no {band_words(self.long_term)} storage beyond {self.last_node} and "
                f"{format_days(self.allowed_days or 0.0)} {band_phrase(self.band)} {verb} not "
                f"cover {need}"
            )
        if self.kind is ReasonKind.LANE_CAPACITY:
            return (
                f"{self.doses:,} doses of {self.product} cannot reach {self.destination} "
                f"in time: {self.detail}"
            )
        return (
            f"{self.doses:,} doses of {self.product} for {self.destination} are not "
            f"shipped: {self.detail}"
        )


def _band_list(bands: Sequence[TemperatureBand]) -> str:
    words = [band_words(b) for b in bands]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


@dataclass(frozen=True)
class Feasibility:
    """The verdict for one product, origin and destination: a route or a reason."""

    product: str  # product code
    origin: str
    destination: str
    use_days: float
    route: Route | None
    reason: Reason | None
    thaw_node: str | None = None

    @property
    def feasible(self) -> bool:
        return self.route is not None

    def describe(self, network: Network, profile: StorageProfile) -> str:
        """A sentence for people: the route's thaw point and days left, or the reason."""
        if self.reason is not None:
            return self.reason.render()
        route = self.route
        assert route is not None
        dest = network.node(self.destination).name
        text = (
            f"{profile.short} reaches {dest} in {format_days(route.transit_days)} "
            f"via {' -> '.join(network.node(c).name for c in route.nodes)}"
        )
        if route.arrival_band is not profile.long_term:
            thawed = route.changes[-1] if route.changes else None
            if thawed is None:
                where = f"already {band_words(route.arrival_band)} at the start"
            elif thawed.on_arrival:
                where = f"thawed on arrival at {network.node(thawed.node).name}"
            else:
                where = f"thawed at {network.node(thawed.node).name} before departure"
            allowed = format_days(profile.days_in(route.arrival_band))
            text += (
                f"; {where}: {format_days(route.clock_days)} of {allowed} "
                f"{band_phrase(route.arrival_band)} used in transport, "
                f"{format_days(route.days_left)} left for {format_days(self.use_days)} of use"
            )
        return text


def check_feasibility(
    network: Network,
    product: Product | StorageProfile,
    destination: str,
    *,
    origins: str | Iterable[str],
    use_days: float = 0.0,
    profiles: ProfileTable | None = None,
    objective: Objective | str = Objective.FASTEST,
    start_day: float = 0.0,
    graph: RoutingGraph | None = None,
) -> Feasibility:
    """Whether ``product`` can reach ``destination`` from any of ``origins`` within its
    cold-chain limits, with ``use_days`` of planned use left at the destination.

    Returns the best route by ``objective`` over all origins, or the reason from the origin
    that came closest (the most specific reason). Raises ``NETWORK_UNKNOWN_NODE`` for an
    unknown node code and ``LOGISTICS_BAD_REQUEST`` for negative use days.
    """
    profile = _profile(product, profiles)
    network.node(destination)
    starts = [origins] if isinstance(origins, str) else list(origins)
    if not starts:
        raise DoseflowError(
            "LOGISTICS_BAD_REQUEST",
            f"no origin given for {profile.short} to {destination}",
            field="origin",
            expected="at least one origin node (or a supplier listing the product)",
            value=profile.product,
        )
    for code in starts:
        network.node(code)
    if use_days < 0 or math.isnan(use_days):
        raise DoseflowError(
            "LOGISTICS_BAD_REQUEST",
            "planned use must be zero or more days",
            field="use_days",
            expected="a number of days >= 0",
            value=use_days,
        )
    graph = graph or RoutingGraph(network)
    best: Feasibility | None = None
    failures: list[Feasibility] = []
    for origin in starts:
        route = search(
            graph,
            profile,
            origin,
            destination,
            objective=objective,
            use_days=use_days,
            start_day=start_day,
        )
        if route is None:
            failures.append(
                Feasibility(
                    profile.product,
                    origin,
                    destination,
                    use_days,
                    None,
                    explain(graph, profile, origin, destination, use_days, start_day),
                )
            )
            continue
        found = Feasibility(
            profile.product,
            origin,
            destination,
            use_days,
            route,
            None,
            route.changes[-1].node if route.changes else None,
        )
        if best is None or _better(found, best, objective):
            best = found
    if best is not None:
        return best
    return min(failures, key=lambda f: _SPECIFICITY[f.reason.kind] if f.reason else 0)


_SPECIFICITY = {
    ReasonKind.THAW_BUDGET: 0,
    ReasonKind.COLD_CHAIN_BREAK: 1,
    ReasonKind.DESTINATION_STORAGE: 2,
    ReasonKind.ORIGIN_STORAGE: 3,
    ReasonKind.NO_ROUTE: 4,
    ReasonKind.LANE_CAPACITY: 5,
    ReasonKind.PART_PACK: 6,
}


def _better(a: Feasibility, b: Feasibility, objective: Objective | str) -> bool:
    ra, rb = a.route, b.route
    assert ra is not None
    assert rb is not None
    if Objective(str(objective)) is Objective.CHEAPEST:
        return (ra.cost_per_dose, ra.arrival_day) < (rb.cost_per_dose, rb.arrival_day)
    return (ra.arrival_day, ra.cost_per_dose) < (rb.arrival_day, rb.cost_per_dose)


def _profile(product: Product | StorageProfile, profiles: ProfileTable | None) -> StorageProfile:
    if isinstance(product, StorageProfile):
        return product
    return (profiles or bundled_profiles()).for_product(product)


def explain(
    graph: RoutingGraph,
    profile: StorageProfile,
    origin: str,
    destination: str,
    use_days: float,
    start_day: float = 0.0,
) -> Reason:
    """The most specific reason no route exists, found by relaxing one rule at a time."""
    nodes = graph.network.nodes
    names = (nodes[origin].name, nodes[destination].name)
    product = profile.short
    tolerated = profile.bands
    if not nodes[origin].can_store(profile.long_term):
        return Reason(ReasonKind.ORIGIN_STORAGE, product, *names, bands=(profile.long_term,))
    if destination not in graph.reachable(origin):
        return Reason(ReasonKind.NO_ROUTE, product, *names)
    if not any(nodes[destination].can_store(b) for b in tolerated):
        return Reason(ReasonKind.DESTINATION_STORAGE, product, *names, bands=tolerated)
    relaxed = search(
        graph,
        profile,
        origin,
        destination,
        minimise_excursion=True,
        relax_budget=True,
        start_day=start_day,
    )
    if relaxed is None:
        return Reason(
            ReasonKind.COLD_CHAIN_BREAK,
            product,
            *names,
            bands=tolerated,
            detail=_break_point(graph, profile, origin, destination),
        )
    band = relaxed.arrival_band
    last = relaxed.changes[-1].node if relaxed.changes else origin
    for change in relaxed.changes:
        if change.from_band is profile.long_term:
            last = change.node
            if change.on_arrival:
                index = relaxed.nodes.index(change.node)
                last = relaxed.nodes[max(0, index - 1)] if index else change.node
    return Reason(
        ReasonKind.THAW_BUDGET,
        product,
        *names,
        band=band,
        long_term=profile.long_term,
        last_node=nodes[last].name,
        allowed_days=profile.days_in(band),
        transport_days=relaxed.clock_days,
        use_days=use_days,
        bands=tolerated,
    )


def _break_point(
    graph: RoutingGraph, profile: StorageProfile, origin: str, destination: str
) -> str:
    """Words for the first lane or node where every cold-chain-compatible route stops."""
    nodes = graph.network.nodes
    tolerated = set(profile.bands)
    towards = graph.reaching(destination)
    # nodes reachable with budgets lifted, and the bands the load can be in there
    reach: dict[str, set[TemperatureBand]] = {origin: {profile.long_term}}
    stack = [origin]
    while stack:
        code = stack.pop()
        for index in graph.out.get(code, ()):
            lane = graph.lanes[index]
            carried = {
                b
                for b in lane.temperature & tolerated
                if any(band_rank(b) >= band_rank(have) for have in reach[code])
            }
            stored = {
                b
                for b in tolerated
                if nodes[lane.destination].can_store(b)
                and any(band_rank(b) >= band_rank(c) for c in carried)
            }
            new = stored - reach.get(lane.destination, set())
            if new:
                reach.setdefault(lane.destination, set()).update(new)
                stack.append(lane.destination)
    for code, bands in sorted(reach.items()):
        for index in graph.out.get(code, ()):
            lane = graph.lanes[index]
            if lane.destination in reach or lane.destination not in towards:
                continue
            src, dst = nodes[code].name, nodes[lane.destination].name
            usable = {
                b
                for b in lane.temperature & tolerated
                if any(band_rank(b) >= band_rank(h) for h in bands)
            }
            if not usable:
                offered = sorted(lane.temperature, key=band_rank)
                return f"the lane {src} -> {dst} carries only {_band_list(offered)}"
            stores = sorted(
                (b for b, litres in nodes[lane.destination].capacity_litres.items() if litres > 0),
                key=band_rank,
            )
            return f"{dst} stores only {_band_list(stores) or 'nothing'}"
    return "every lane towards it breaks the cold chain"


def feasibility_matrix(
    net: NetworkFile,
    products: Sequence[str] = (),
    destinations: Sequence[str] = (),
    *,
    origins: Sequence[str] = (),
    use_days: float | None = None,
    objective: Objective | str = Objective.FASTEST,
) -> list[tuple[StorageProfile, Feasibility]]:
    """Feasibility of every product for every destination of a loaded network file.

    Defaults: products supplied by some node of the file; destinations every national,
    regional, district store and service point; origins the suppliers listing the product;
    planned use the destination's ``planned_use_days`` (0 if not given).
    """
    table = net.profile_table()
    network = net.network
    # each product's profile and where it is made (AZ-SII and AZ-SKB share a profile, not a plant)
    wanted: list[tuple[StorageProfile, tuple[str, ...]]]
    if products:
        wanted = []
        for code in products:
            profile = table.require(code)
            wanted.append((profile, net.origins_for_code(code, profile)))
    else:
        found = (table.require(p) for supplied in net.supplies.values() for p in supplied)
        profiles = list({p.product: p for p in found}.values())
        wanted = [(profile, net.suppliers_of(profile)) for profile in profiles]
    if destinations:
        for code in destinations:
            network.node(code)
        dests = list(destinations)
    else:
        dests = [
            code
            for code, node in network.nodes.items()
            if node.kind not in (NodeKind.SUPPLIER, NodeKind.HUB)
        ]
    graph = RoutingGraph(network)
    out: list[tuple[StorageProfile, Feasibility]] = []
    for profile, made_at in wanted:
        starts = list(origins) or list(made_at)
        if not starts:
            raise DoseflowError(
                "LOGISTICS_BAD_REQUEST",
                f"no origin for {profile.short}: give --origin, or list the product under a "
                "supplier's 'products' in the network file",
                field="origin",
                expected="an origin node code",
                value=profile.product,
            )
        for dest in dests:
            use = use_days if use_days is not None else net.planned_use_days.get(dest, 0.0)
            out.append(
                (
                    profile,
                    check_feasibility(
                        network,
                        profile,
                        dest,
                        origins=starts,
                        use_days=use,
                        objective=objective,
                        graph=graph,
                    ),
                )
            )
    return out
