"""Simulation engine throughput (issue 16) against a plain event-by-event SimPy model.

1. A generated four-level network: 1 national store, regional stores, district stores and
   service points (46 stores in all for the HERMES-sized case: 1 + 3 + 6 + 36). Lanes
   national -> regional -> district -> service point with lead times (fixed for the
   agreement check, triangular for the timed runs), demand at every service point, a start
   state with four lots of different expiries at the national store, older lots at the
   district stores, two shipments on their way to the national store, and one disruption:
   the national store's lane to the first region closed for 30 days.
2. doseflow's engine (``doseflow.simulation.engine.run``): the median time of one
   replication, and R replications sequentially and across 2 processes
   (``concurrent.futures.ProcessPoolExecutor``, each worker a half of the replications).
3. The baseline: the same model written as a plain event-by-event SimPy 4 simulation
   (a process per node and day, a process per shipment, one per lot for its expiry),
   with fixed lead times its totals (doses administered, doses expired) must equal the
   engine's: the benchmark asserts it before timing. The baseline records totals only;
   the engine also builds every ledger event (its ids, lots and timestamps), which is
   part of its cost.
4. Scaling: time of one replication against stores (service points) and days.

Ratios are from the same run. Run:
``python benchmarks/simulation.py [--replications 100] [--national-points 10000]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Generator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import simpy

from doseflow.domain.network import Node, NodeKind
from doseflow.simulation.engine import run
from doseflow.simulation.scenario import Closure, Demand, Scenario, SimLane
from doseflow.simulation.start import LotStock, PipelineShipment, StartState
from doseflow.simulation.streams import Distribution, LeadTime

AS_OF = date(2021, 6, 1)
PRODUCT = "AZ"
NATIONAL = "N"


@dataclass(frozen=True)
class Shape:
    """How many stores of each level: regions, districts per region, points per district."""

    regions: int
    districts: int
    points: int

    @property
    def stores(self) -> int:
        return 1 + self.regions * (1 + self.districts * (1 + self.points))

    @property
    def service_points(self) -> int:
        return self.regions * self.districts * self.points


HERMES = Shape(3, 2, 6)  # 46 stores


def shape_for(points: int) -> Shape:
    """A shape with about ``points`` service points (50 points per district, 20 districts
    per region; smaller networks keep HERMES's 6 points per district)."""
    if points <= 36:
        return HERMES
    if points < 1000:
        return Shape(5, max(1, round(points / 30)), 6)
    return Shape(max(1, points // 1000), 20, 50)


@dataclass(frozen=True)
class Model:
    start: StartState
    scenario: Scenario


def build(shape: Shape, days: int, *, fixed: bool) -> Model:
    """The network, its lanes, demand, start state and the closure (deterministic)."""
    nodes = [Node(NATIONAL, "National store", NodeKind.NATIONAL_STORE, "KEN")]
    lanes: list[SimLane] = []
    demand: list[Demand] = []
    stock = [
        LotStock(NATIONAL, PRODUCT, f"N{i}", AS_OF + timedelta(days=e), 1, doses)
        for i, (e, doses) in enumerate(
            [
                (40, 30 * shape.service_points),
                (120, 60 * shape.service_points),
                (250, 90 * shape.service_points),
                (400, 60 * shape.service_points),
            ]
        )
    ]

    def lead(low: float, mode: float, high: float) -> LeadTime:
        if fixed:
            return LeadTime.fixed(mode)
        return LeadTime(Distribution.TRIANGULAR, low, high, mode)

    for r in range(shape.regions):
        region = f"R{r:02d}"
        nodes.append(Node(region, region, NodeKind.REGIONAL_STORE, "KEN", NATIONAL))
        lanes.append(SimLane(NATIONAL, region, lead(2, 4, 9)))
        for d in range(shape.districts):
            district = f"{region}D{d:02d}"
            nodes.append(Node(district, district, NodeKind.DISTRICT_STORE, "KEN", region))
            lanes.append(SimLane(region, district, lead(1, 2, 5)))
            stock.append(
                LotStock(district, PRODUCT, "OLD", AS_OF + timedelta(days=20), 1, 50 * shape.points)
            )
            for p in range(shape.points):
                point = f"{district}P{p:03d}"
                nodes.append(Node(point, point, NodeKind.SERVICE_POINT, "KEN", district))
                lanes.append(SimLane(district, point, lead(1, 1, 3)))
                demand.append(Demand(point, 5 + (p * 7 + d * 3 + r) % 11))
    pipeline = tuple(
        PipelineShipment(
            f"IN{i}",
            PRODUCT,
            f"P{i}",
            AS_OF + timedelta(days=expiry),
            40 * shape.service_points,
            ("SUP", NATIONAL),
            NATIONAL,
            AS_OF + timedelta(days=arrive),
        )
        for i, (arrive, expiry) in enumerate([(min(90, days - 1), 300), (min(180, days - 1), 500)])
    )
    closure = Closure(NATIONAL, "R00", AS_OF + timedelta(days=10), AS_OF + timedelta(days=39))
    scenario = Scenario(
        nodes=tuple(nodes), lanes=tuple(lanes), closures=(closure,), demand=tuple(demand)
    )
    return Model(StartState(AS_OF, tuple(stock), pipeline), scenario)


@dataclass(frozen=True)
class Totals:
    administered: int
    expired: int


def engine_totals(model: Model, days: int, replication: int = 0) -> Totals:
    result = run(model.start, model.scenario, 1, days, replication=replication)
    return Totals(int(result.administered.sum()), int(result.expired.sum()))


# -- the SimPy baseline -----------------------------------------------------------------

# Phases within a day, the engine's step order: arrivals, expiry, administration, dispatch.
_ARRIVE, _EXPIRE, _ADMINISTER, _DISPATCH = 0.1, 0.3, 0.5, 0.7


class SimPyModel:
    """The same model, event by event: each shipment a process that waits its lead time,
    each node a process that wakes every day, each lot a process that writes it off the day
    after its expiry. Lead times come from the lanes' fixed value (the agreement check) or,
    for timing only, the lane's ``mode``."""

    def __init__(self, model: Model, days: int) -> None:
        self.env = simpy.Environment()
        self.days = days
        self.as_of = model.start.as_of
        scenario = model.scenario
        self.expiry: dict[str, int | None] = {}
        self.stock: dict[str, dict[str, int]] = {n.code: {} for n in scenario.nodes}
        self.asked: dict[str, int] = {}
        for dm in scenario.demand:
            self.asked[dm.node] = self.asked.get(dm.node, 0) + dm.doses_per_day
        self.out: dict[str, list[tuple[str, int]]] = {}
        for lane in sorted(scenario.lanes, key=lambda ln: ln.code):
            days_ = lane.lead_time.mode if lane.lead_time.mode is not None else lane.lead_time.low
            self.out.setdefault(lane.origin, []).append((lane.destination, int(days_)))
        self.closed = [
            (c.origin, c.destination, (c.start - self.as_of).days, (c.end - self.as_of).days)
            for c in scenario.closures
        ]
        self.administered = 0
        self.expired = 0
        for s in model.start.stock:
            self._lot(s.lot, s.expiry)
            self.stock[s.node][s.lot] = self.stock[s.node].get(s.lot, 0) + s.doses
        for p in model.start.pipeline:
            self._lot(p.lot, p.expiry)
            due = 0 if p.expected_arrival is None else (p.expected_arrival - self.as_of).days
            node = p.next_node or p.destination
            self.env.process(self._shipment(node, p.lot, p.doses, due + _ARRIVE))
        for lot, last in self.expiry.items():
            if last is not None and last + 1 < days:
                self.env.process(self._expire(lot, last + 1 + _EXPIRE))
        for code in self.stock:
            if code in self.asked:
                self.env.process(self._service_point(code))
            elif code in self.out:
                self.env.process(self._store(code))

    def _lot(self, lot: str, expiry: date | None) -> None:
        self.expiry[lot] = None if expiry is None else (expiry - self.as_of).days

    def _fefo(self, node: str) -> list[str]:
        held = self.stock[node]
        return sorted(
            (lot for lot, doses in held.items() if doses > 0),
            key=lambda lot: (self.expiry[lot] is None, self.expiry[lot] or 0, lot),
        )

    def _shipment(self, node: str, lot: str, doses: int, at: float) -> Generator[Any, Any, None]:
        yield self.env.timeout(at - self.env.now)
        last = self.expiry[lot]
        if last is not None and int(at) > last:
            self.expired += doses  # arrives expired: written off where it arrives
            return
        self.stock[node][lot] = self.stock[node].get(lot, 0) + doses

    def _expire(self, lot: str, at: float) -> Generator[Any, Any, None]:
        yield self.env.timeout(at)
        for held in self.stock.values():
            self.expired += held.pop(lot, 0)

    def _service_point(self, node: str) -> Generator[Any, Any, None]:
        yield self.env.timeout(_ADMINISTER)
        asked = self.asked[node]
        held = self.stock[node]
        for _ in range(self.days):
            left = asked
            for lot in self._fefo(node):
                given = min(left, held[lot])
                held[lot] -= given
                left -= given
                self.administered += given
                if left == 0:
                    break
            yield self.env.timeout(1)

    def _store(self, node: str) -> Generator[Any, Any, None]:
        yield self.env.timeout(_DISPATCH)
        held = self.stock[node]
        for day in range(self.days):
            lanes = [
                (dest, lead)
                for dest, lead in self.out[node]
                if not any(o == node and d == dest and a <= day <= b for o, d, a, b in self.closed)
            ]
            lots = self._fefo(node)
            total = sum(held[lot] for lot in lots)
            if lanes and total:
                share, extra = divmod(total, len(lanes))
                for i, (dest, lead) in enumerate(lanes):
                    amount = share + (1 if i < extra else 0)
                    for lot in lots:
                        if amount == 0:
                            break
                        taken = min(amount, held[lot])
                        if taken:
                            held[lot] -= taken
                            amount -= taken
                            arrive = day + max(1, lead) + _ARRIVE
                            self.env.process(self._shipment(dest, lot, taken, arrive))
            yield self.env.timeout(1)

    def run(self) -> Totals:
        self.env.run(until=self.days)
        return Totals(self.administered, self.expired)


def simpy_totals(model: Model, days: int) -> Totals:
    return SimPyModel(model, days).run()


# -- timing -----------------------------------------------------------------------------


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _replications(shape: Shape, days: int, first: int, count: int) -> int:
    """Run replications ``first .. first+count-1`` of the random-lead-time model (a worker's
    share); returns the doses administered over them (so the work cannot be skipped)."""
    model = build(shape, days, fixed=False)
    return sum(engine_totals(model, days, r).administered for r in range(first, first + count))


def replications_wall(shape: Shape, days: int, count: int, workers: int) -> float:
    t0 = time.perf_counter()
    if workers == 1:
        _replications(shape, days, 0, count)
    else:
        half = count // workers
        chunks = [(i * half, half if i < workers - 1 else count - i * half) for i in range(workers)]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_replications, shape, days, a, n) for a, n in chunks]
            for f in futures:
                f.result()
    return time.perf_counter() - t0


@dataclass(frozen=True)
class Row:
    label: str
    stores: int
    days: int
    engine_s: float
    simpy_s: float
    totals: Totals

    @property
    def ratio(self) -> float:
        return self.engine_s / self.simpy_s if self.simpy_s > 0 else float("nan")


@dataclass(frozen=True)
class Figures:
    one: Row
    random_one_s: float
    replications: int
    sequential_s: float
    parallel_s: float
    scaling: tuple[Row, ...]
    national: Row | None


def compare(label: str, shape: Shape, days: int, repeat: int) -> Row:
    """Check both models agree on the deterministic (fixed lead time) model, then time both."""
    model = build(shape, days, fixed=True)
    ours = engine_totals(model, days)
    theirs = simpy_totals(model, days)
    assert ours == theirs, f"{label}: engine {ours} != SimPy {theirs}"
    engine_s = timed(lambda: run(model.start, model.scenario, 1, days), repeat)
    simpy_s = timed(lambda: simpy_totals(model, days), repeat)
    return Row(label, shape.stores, days, engine_s, simpy_s, ours)


def measure(
    *,
    shape: Shape = HERMES,
    days: int = 364,
    repeat: int = 5,
    replications: int = 100,
    workers: int = 2,
    scale_points: tuple[int, ...] = (360, 1080),
    scale_days: tuple[int, ...] = (91, 182),
    national_points: int | None = 10_000,
    national_days: int = 7,
) -> Figures:
    one = compare("HERMES-sized", shape, days, repeat)
    random_model = build(shape, days, fixed=False)
    random_one_s = timed(lambda: run(random_model.start, random_model.scenario, 1, days), repeat)
    sequential_s = replications_wall(shape, days, replications, 1)
    parallel_s = replications_wall(shape, days, replications, workers) if workers > 1 else 0.0
    scaling = [compare(f"{d} days", shape, d, repeat) for d in scale_days]
    scaling += [
        compare(f"{shape_for(p).service_points} points", shape_for(p), days, 1)
        for p in scale_points
    ]
    national = None
    if national_points:
        # the engine's cost grows with stores x stock cells per day (see docs/benchmarks.md):
        # the full year at 10,000 points takes hours, so a few days are timed
        national = compare(
            f"{shape_for(national_points).service_points} points",
            shape_for(national_points),
            national_days,
            1,
        )
    return Figures(
        one, random_one_s, replications, sequential_s, parallel_s, tuple(scaling), national
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=364)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--national-points", type=int, default=10_000, help="0: skip")
    parser.add_argument("--national-days", type=int, default=7)
    parser.add_argument("--scale-points", type=int, nargs="*", default=[360, 1080])
    args = parser.parse_args()
    f = measure(
        days=args.days,
        repeat=args.repeat,
        replications=args.replications,
        workers=args.workers,
        scale_points=tuple(args.scale_points),
        national_points=args.national_points or None,
        national_days=args.national_days,
    )
    print(f"cpus: {os.cpu_count()}; load: {os.getloadavg()[0]:.1f}")
    print(
        f"{'run':<16}{'stores':>8}{'days':>6}{'engine s':>11}{'SimPy s':>10}{'ratio':>7}"
        f"{'administered':>14}{'expired':>10}"
    )
    rows = [f.one, *f.scaling, *([f.national] if f.national else [])]
    for r in rows:
        print(
            f"{r.label:<16}{r.stores:>8}{r.days:>6}{r.engine_s:>11.3f}{r.simpy_s:>10.3f}"
            f"{r.ratio:>7.2f}{r.totals.administered:>14}{r.totals.expired:>10}"
        )
    print(f"one replication, triangular lead times: {f.random_one_s:.3f} s (aim < 0.2 s)")
    print(
        f"{f.replications} replications: sequential {f.sequential_s:.2f} s, "
        f"{args.workers} processes {f.parallel_s:.2f} s"
    )


if __name__ == "__main__":
    main()
