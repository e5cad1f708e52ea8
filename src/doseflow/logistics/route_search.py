"""The shortest-path search behind feasibility and routing: Dijkstra over (node, band, clock).

A search state is a node, the band the load is in, and its *thaw clock*: days spent in that
band since it left its long-term band (a product never goes back to a colder band). A label
also carries the day and the cost per dose so far. From a node a load may:

- wait for the lane's next departure (trips per week give departures every 7/f days from
  day 0; on-demand lanes leave at once); waiting counts on the clock unless the load is in
  its long-term band;
- leave in its band or in a warmer band the product tolerates and the lane carries
  ("thawed before departure"), the clock restarting in the new band;
- arrive in the lane's band if the next node stores it, or be moved into a warmer band the
  node stores ("thawed on arrival").

Every node passed must store the band the load is in; every lane must carry it; the clock
must stay within the days the product allows in that band. At the destination the days
left must cover the planned use. Labels are settled in order of the objective (arrival day
for *fastest*, cost for *cheapest*, days out of the long-term band for the explanation of an
infeasible product), ties broken by the other criteria; a label is dropped when another at
the same node and band is no later, no dearer and would have a clock no higher even after
waiting until the later one's day. Keys never decrease along a path, so the first label
that satisfies the destination is optimal (label-setting, as in Dijkstra).

Lane capacity per trip is tracked by the caller in ``residual`` (doses left on each
scheduled trip); a search only uses a trip that can still take ``need`` doses.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from doseflow.domain.network import Lane, Network
from doseflow.domain.temperature import TemperatureBand
from doseflow.logistics.storage_profiles import StorageProfile, band_rank

EPS = 1e-9

#: (lane index, trip index) -> doses still free on that trip.
Residual = dict[tuple[int, int], float]


class Objective(StrEnum):
    FASTEST = "fastest"
    CHEAPEST = "cheapest"


class _Key(StrEnum):
    FASTEST = "fastest"
    CHEAPEST = "cheapest"
    EXCURSION = "excursion"


@dataclass(frozen=True)
class BandChange:
    """The load moved to a warmer band at ``node`` (``on_arrival`` or before departure)."""

    node: str
    from_band: TemperatureBand
    to_band: TemperatureBand
    day: float
    on_arrival: bool


@dataclass(frozen=True)
class Leg:
    """One lane travelled: which trip, in which band, when, and how long it waited for it."""

    lane_index: int
    lane: Lane
    band: TemperatureBand
    wait_days: float
    depart_day: float
    arrive_day: float
    trip: int | None  # index of the scheduled departure; None for an on-demand lane


@dataclass(frozen=True)
class Route:
    """A feasible way from ``origin`` to ``destination``, with the thaw clock at arrival."""

    origin: str
    destination: str
    start_day: float
    legs: tuple[Leg, ...]
    changes: tuple[BandChange, ...]
    start_band: TemperatureBand
    arrival_band: TemperatureBand
    arrival_day: float
    cost_per_dose: float
    clock_days: float  # days already spent in arrival_band
    days_left: float  # days still allowed in arrival_band (inf in the long-term band)

    @property
    def transit_days(self) -> float:
        return self.arrival_day - self.start_day

    @property
    def nodes(self) -> tuple[str, ...]:
        return (self.origin, *(leg.lane.destination for leg in self.legs))

    @property
    def wait_days(self) -> float:
        return sum(leg.wait_days for leg in self.legs)


class RoutingGraph:
    """Lanes by origin node, built once per network and shared by many searches."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.lanes: tuple[Lane, ...] = network.lanes
        self.out: dict[str, list[int]] = {code: [] for code in network.nodes}
        for index, lane in enumerate(self.lanes):
            self.out[lane.origin].append(index)

    def reachable(self, origin: str) -> set[str]:
        """Nodes reachable from ``origin`` along lanes, whatever their temperature."""
        seen = {origin}
        stack = [origin]
        while stack:
            code = stack.pop()
            for index in self.out.get(code, ()):
                nxt = self.lanes[index].destination
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    def reaching(self, destination: str) -> set[str]:
        """Nodes from which ``destination`` can be reached along lanes."""
        back: dict[str, list[str]] = {}
        for lane in self.lanes:
            back.setdefault(lane.destination, []).append(lane.origin)
        seen = {destination}
        stack = [destination]
        while stack:
            code = stack.pop()
            for prev in back.get(code, ()):
                if prev not in seen:
                    seen.add(prev)
                    stack.append(prev)
        return seen


def next_departure(
    lane_index: int,
    lane: Lane,
    ready: float,
    need: float,
    residual: Mapping[tuple[int, int], float] | None,
    last_day: float,
) -> tuple[float, int | None] | None:
    """The first departure at or after ``ready`` with room for ``need`` doses, if any by
    ``last_day``. Scheduled lanes leave every 7/f days from day 0; on-demand lanes leave at
    once with as many vehicles as the load needs."""
    if lane.trips_per_week is None:
        return ready, None
    capacity = math.inf if lane.capacity_doses_per_trip is None else lane.capacity_doses_per_trip
    if capacity < need:
        return None
    headway = 7.0 / lane.trips_per_week
    trip = max(0, math.ceil((ready - EPS) / headway))
    while trip * headway <= last_day + EPS:
        room = capacity if residual is None else residual.get((lane_index, trip), capacity)
        if room >= need:
            return trip * headway, trip
        trip += 1
    return None


@dataclass
class _Label:
    node: str
    band: TemperatureBand
    day: float
    cost: float
    clock: float
    excursion: float
    parent: _Label | None = None
    leg: Leg | None = None
    changes: tuple[BandChange, ...] = ()


def _priority(label: _Label, key: _Key) -> tuple[float, float, float]:
    if key is _Key.FASTEST:
        return (label.day, label.cost, label.clock)
    if key is _Key.CHEAPEST:
        return (label.cost, label.day, label.clock)
    return (label.excursion, label.day, label.cost)


def _dominates(a: _Label, b: _Label, long_term: TemperatureBand) -> bool:
    """``a`` can do whatever ``b`` can: no later, no dearer, and its clock after waiting
    until ``b``'s day is no higher."""
    if a.day > b.day + EPS or a.cost > b.cost + EPS:
        return False
    if a.band is long_term:
        return a.excursion <= b.excursion + EPS
    catch_up = b.day - a.day
    return a.clock + catch_up <= b.clock + EPS and a.excursion + catch_up <= b.excursion + EPS


def search(
    graph: RoutingGraph,
    profile: StorageProfile,
    origin: str,
    destination: str,
    *,
    objective: Objective | str = Objective.FASTEST,
    minimise_excursion: bool = False,
    start_day: float = 0.0,
    start_band: TemperatureBand | None = None,
    start_clock: float = 0.0,
    use_days: float = 0.0,
    need: float = 0.0,
    residual: Mapping[tuple[int, int], float] | None = None,
    horizon_days: float = math.inf,
    relax_budget: bool = False,
) -> Route | None:
    """The best route by ``objective`` (or by least time out of the long-term band when
    ``minimise_excursion``), or ``None`` if no route satisfies every rule.

    ``relax_budget`` lifts the time limits (keeping forbidden bands forbidden): used to
    explain why a product fails.
    """
    key = _Key.EXCURSION if minimise_excursion else _Key(str(objective))
    nodes = graph.network.nodes
    long_term = profile.long_term
    band0 = start_band or long_term
    if origin not in nodes or destination not in nodes or not nodes[origin].can_store(band0):
        return None
    last_day = start_day + horizon_days

    def allowed(band: TemperatureBand) -> float:
        if band is long_term:
            return math.inf
        if relax_budget:
            return math.inf if profile.tolerates(band) else 0.0
        return profile.days_in(band)

    counter = itertools.count()
    first = _Label(
        origin, band0, start_day, 0.0, start_clock, start_clock if band0 is not long_term else 0.0
    )
    heap: list[tuple[tuple[float, float, float], int, _Label]] = [
        (_priority(first, key), next(counter), first)
    ]
    settled: dict[tuple[str, TemperatureBand], list[_Label]] = {}
    tolerated = profile.bands if band_rank(band0) >= band_rank(long_term) else (band0,)
    while heap:
        _, _, label = heapq.heappop(heap)
        bucket = settled.setdefault((label.node, label.band), [])
        if any(_dominates(other, label, long_term) for other in bucket):
            continue
        bucket.append(label)
        if label.node == destination and allowed(label.band) - label.clock >= use_days - EPS:
            return _route(label, origin, destination, start_day, band0, allowed(label.band))
        for lane_index in graph.out.get(label.node, ()):
            lane = graph.lanes[lane_index]
            target = nodes[lane.destination]
            departure = next_departure(lane_index, lane, label.day, need, residual, last_day)
            if departure is None:
                continue
            depart_day, trip = departure
            wait = depart_day - label.day
            waiting_counts = label.band is not long_term
            clock_at_departure = label.clock + (wait if waiting_counts else 0.0)
            if clock_at_departure > allowed(label.band) + EPS:
                continue
            for band in tolerated:
                if band_rank(band) < band_rank(label.band) or band not in lane.temperature:
                    continue
                changed = band is not label.band
                clock = (0.0 if changed else clock_at_departure) + (
                    lane.lead_time_days if band is not long_term else 0.0
                )
                if clock > allowed(band) + EPS:
                    continue
                arrive = depart_day + lane.lead_time_days
                excursion = (
                    label.excursion
                    + (wait if waiting_counts else 0.0)
                    + (lane.lead_time_days if band is not long_term else 0.0)
                )
                leg = Leg(lane_index, lane, band, wait, depart_day, arrive, trip)
                depart_change = (
                    (BandChange(label.node, label.band, band, depart_day, False),)
                    if changed
                    else ()
                )
                for stored in tolerated:
                    if band_rank(stored) < band_rank(band) or not target.can_store(stored):
                        continue
                    thaw = stored is not band
                    if thaw and allowed(stored) <= EPS:
                        continue
                    nxt = _Label(
                        lane.destination,
                        stored,
                        arrive,
                        label.cost + lane.cost_per_dose,
                        0.0 if thaw else clock,
                        excursion,
                        label,
                        leg,
                        depart_change
                        + (
                            (BandChange(lane.destination, band, stored, arrive, True),)
                            if thaw
                            else ()
                        ),
                    )
                    others = settled.get((nxt.node, nxt.band), ())
                    if any(_dominates(o, nxt, long_term) for o in others):
                        continue
                    heapq.heappush(heap, (_priority(nxt, key), next(counter), nxt))
    return None


def _route(
    label: _Label,
    origin: str,
    destination: str,
    start_day: float,
    start_band: TemperatureBand,
    allowed: float,
) -> Route:
    legs: list[Leg] = []
    changes: list[BandChange] = []
    cursor: _Label | None = label
    while cursor is not None and cursor.leg is not None:
        legs.append(cursor.leg)
        changes[:0] = cursor.changes
        cursor = cursor.parent
    legs.reverse()
    return Route(
        origin=origin,
        destination=destination,
        start_day=start_day,
        legs=tuple(legs),
        changes=tuple(changes),
        start_band=start_band,
        arrival_band=label.band,
        arrival_day=label.day,
        cost_per_dose=label.cost,
        clock_days=label.clock,
        days_left=allowed - label.clock,
    )
