"""Benchmark: a deployment plan for a national network of 10,000 service points and 20
products, against a baseline computing the same plan item by item in pure Python.

Run: ``python benchmarks/deployment_plan.py [--points N] [--products P] [--repeat K]``.
Both plans must be identical (packs per product, region and lot; people per region and
group); the table reports the time of each and the ratio.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import date, timedelta
from types import MappingProxyType

import numpy as np

from doseflow.deployment import (
    DeploymentInput,
    GroupKind,
    PriorityGroup,
    ProductPolicy,
    Region,
    StockLot,
    Strategy,
    plan_deployment,
)
from doseflow.deployment.planner import WEIGHT_SCALE, expiry_day, product_order
from doseflow.domain.product import Product
from doseflow.domain.temperature import TemperatureBand

PlanKey = tuple[dict[tuple[str, int, str], int], dict[tuple[str, int, int], int]]

START = date(2021, 6, 1)


def make_input(
    points: int = 10_000,
    products: int = 20,
    *,
    seed: int = 7,
    strategy: Strategy = Strategy.PRIORITY,
) -> DeploymentInput:
    """A synthetic national network: service points with population, daily capacity, a
    fridge, lead time; four priority groups; products with one or two lots each."""
    rng = np.random.default_rng(seed)
    pops = rng.integers(2_000, 40_000, points)
    regions = tuple(
        Region(
            code=f"SP{i:05d}",
            name=f"Service point {i}",
            population=int(pops[i]),
            doses_per_day=int(rng.integers(20, 400)),
            capacity_litres=MappingProxyType(
                {
                    TemperatureBand.CHILLED: float(rng.integers(20, 200)),
                    TemperatureBand.FROZEN: float(rng.integers(0, 30)),
                }
            ),
            lead_days=int(rng.integers(0, 10)),
        )
        for i in range(points)
    )
    shares = (
        ("Health workers", 0.01, 1.0, 1),
        ("Older people", 0.12, 0.8, 2),
        ("Comorbidities", 0.08, 0.7, 3),
        ("Teachers", 0.02, 0.9, 3),
    )
    groups = tuple(
        PriorityGroup(
            name=name,
            kind=GroupKind.CUSTOM,
            population_by_region=tuple(int(p * share) for p in pops),
            coverage=cov,
            priority=rank,
            weight=float(1 + g),
        )
        for g, (name, share, cov, rank) in enumerate(shares)
    )
    policies = []
    stock = []
    total_people = sum(sum(g.population_by_region) for g in groups)
    for p in range(products):
        course = 1 if p % 4 == 0 else 2
        frozen = p % 5 == 4
        pack = int(rng.choice([100, 200, 500, 1000]))
        product = Product(
            code=f"P{p:02d}",
            name=f"Vaccine {p}",
            manufacturer="M",
            doses_per_course=course,
            storage_band=TemperatureBand.FROZEN if frozen else TemperatureBand.CHILLED,
            shelf_life_days=180,
            doses_per_vial=10,
            pack_doses=pack,
        )
        policies.append(
            ProductPolicy(
                product=product,
                interval_days=int(rng.choice([21, 28, 56])),
                reserve_later_doses=bool(p % 3),
                cm3_per_dose=float(rng.choice([1.8, 2.5, 3.0])),
                store_band=product.storage_band,
                days_in_store_band=30 if p % 7 == 6 else None,
            )
        )
        doses = int(total_people * 2 / products * rng.uniform(0.05, 0.2))
        split = int(doses * rng.uniform(0.2, 0.6))
        stock.append(
            StockLot(
                product.code, f"L{p:02d}A", split, START + timedelta(days=int(rng.integers(20, 60)))
            )
        )
        stock.append(
            StockLot(
                product.code,
                f"L{p:02d}B",
                doses - split,
                START + timedelta(days=int(rng.integers(60, 400))),
            )
        )
    return DeploymentInput(
        country="XXX",
        start=START,
        horizon_days=90,
        strategy=strategy,
        regions=regions,
        groups=groups,
        products=tuple(policies),
        stock=tuple(stock),
    )


# -- the baseline: the same rules, one item at a time, in plain Python ----------------------


def py_share(supply: int, demand: Sequence[int], weight: Sequence[int]) -> list[int]:
    n = len(demand)
    x = [0] * n
    active = [demand[i] > 0 and weight[i] > 0 for i in range(n)]
    left = supply
    while True:
        wsum = sum(weight[i] for i in range(n) if active[i])
        if left <= 0 or wsum <= 0:
            return x
        q = [float(left) * float(weight[i]) / float(wsum) if active[i] else 0.0 for i in range(n)]
        hit = [i for i in range(n) if active[i] and q[i] >= demand[i]]
        if hit:
            for i in hit:
                x[i] = demand[i]
                left -= demand[i]
                active[i] = False
            continue
        cells = [i for i in range(n) if active[i]]
        frac = [0.0] * n
        for i in cells:
            f = math.floor(q[i])
            x[i] += int(f)
            frac[i] = q[i] - f
            left -= int(f)
        order = sorted(cells, key=lambda i: (-frac[i], i))
        while left > 0:
            moved = False
            for i in order:
                if left and x[i] < demand[i]:
                    x[i] += 1
                    left -= 1
                    moved = True
            if not moved:
                break
        while left < 0:
            moved = False
            for i in sorted(cells, key=lambda i: (frac[i], i)):
                if left and x[i] > 0:
                    x[i] -= 1
                    left += 1
                    moved = True
            if not moved:
                break
        return x


def py_administer(people: int, kp: int, interval: int, cap: list[int], arrival: int) -> list[int]:
    """Doses given per day in one region (the capacity list is updated in place)."""
    days = len(cap)
    waiting = people
    backlog = [0] * kp
    given = [[0] * days for _ in range(kp)]
    total = [0] * days
    for t in range(days):
        if t < arrival:
            continue
        avail = cap[t]
        for j in range(kp - 1, 0, -1):
            if t - interval >= 0:
                backlog[j] += given[j - 1][t - interval]
            g = min(backlog[j], avail)
            backlog[j] -= g
            avail -= g
            given[j][t] = g
            total[t] += g
        g = min(waiting, avail)
        waiting -= g
        avail -= g
        given[0][t] = g
        total[t] += g
        cap[t] = avail
    return total


def baseline_plan(inp: DeploymentInput) -> PlanKey:
    """The plan of ``plan_deployment``, computed region by region and cell by cell."""
    regions, groups = inp.regions, inp.groups
    n_r, n_g = len(regions), len(groups)
    demand = [
        [math.floor(g.population_by_region[r] * g.coverage + 0.5) for g in groups]
        for r in range(n_r)
    ]
    if inp.strategy is Strategy.PRIORITY:
        weight = [row[:] for row in demand]
        ranks = sorted({g.priority for g in groups})
        levels = [[i for i, g in enumerate(groups) if g.priority == k] for k in ranks]
    else:
        f = [
            round(g.weight * WEIGHT_SCALE) if inp.strategy is Strategy.WEIGHTED else 1
            for g in groups
        ]
        weight = [
            [groups[g].population_by_region[r] * f[g] for g in range(n_g)] for r in range(n_r)
        ]
        levels = [list(range(n_g))]
    longest = max((p.doses_per_person - 1) * p.interval_days for p in inp.products)
    days = inp.horizon_days + max(r.lead_days for r in regions) + longest + 1
    bands = sorted({p.store_band for p in inp.products})
    litres = [[float(r.capacity_litres.get(b, 0.0)) for b in bands] for r in regions]
    planned = [0] * n_r
    cap = [[r.doses_per_day] * days for r in regions]
    packs_out: dict[tuple[str, int, str], int] = {}
    people_out: dict[tuple[str, int, int], int] = {}
    for code in product_order(inp):
        pol = inp.policy(code)
        pack, kp, b = pol.product.pack_doses, pol.doses_per_person, bands.index(pol.store_band)
        lots = sorted(
            (lt for lt in inp.stock if lt.product == code),
            key=lambda lt: (expiry_day(inp, lt.expiry), lt.lot),
        )
        lot_days = [expiry_day(inp, lt.expiry) for lt in lots]
        if pol.days_in_store_band is not None:
            lot_days = [min(d, pol.days_in_store_band - 1) for d in lot_days]
        lot_packs = [lt.doses // pack for lt in lots]
        total = sum(lot_packs)
        room = []
        for r in range(n_r):
            cold = max(math.floor(litres[r][b] * 1000.0 / pol.cm3_per_dose), 0)
            admin = max(regions[r].doses_per_day * inp.horizon_days - planned[r], 0)
            room.append(min(cold, admin))
        # national shares, level by level, no region above its room
        x = [[0] * n_g for _ in range(n_r)]
        room_people = [v // kp for v in room]
        left = total * pack // kp
        for level in levels:
            free = [
                r for r in range(n_r) if room_people[r] > 0 and sum(demand[r][g] for g in level) > 0
            ]
            while left > 0 and free:
                y = py_share(
                    left,
                    [demand[r][g] for r in free for g in level],
                    [weight[r][g] for r in free for g in level],
                )
                tot = {r: sum(y[i * len(level) : (i + 1) * len(level)]) for i, r in enumerate(free)}
                over = [r for r in free if tot[r] > room_people[r]]
                if not over:
                    for i, r in enumerate(free):
                        for j, g in enumerate(level):
                            x[r][g] += y[i * len(level) + j]
                        left -= tot[r]
                        room_people[r] -= tot[r]
                    break
                for r in over:
                    z = py_share(
                        room_people[r], [demand[r][g] for g in level], [weight[r][g] for g in level]
                    )
                    for j, g in enumerate(level):
                        x[r][g] += z[j]
                    left -= sum(z)
                    room_people[r] -= sum(z)
                free = [r for r in free if r not in set(over)]
        # whole packs
        want = [sum(x[r]) * kp for r in range(n_r)]
        packs = [w // pack for w in want]
        extra = total - sum(packs)
        elig = sorted(
            (r for r in range(n_r) if want[r] % pack and (packs[r] + 1) * pack <= room[r]),
            key=lambda r: (-(want[r] % pack), r),
        )
        for r in elig[: max(extra, 0)]:
            packs[r] += 1
        # lots, first expiry first out, used before expiry
        while True:
            cells = []
            used: list[list[int]] = []
            trial_cap = [row[:] for row in cap]
            for r in range(n_r):
                budget = packs[r] * pack // kp
                row = [0] * n_g
                for level in levels:
                    z = py_share(
                        budget, [demand[r][g] for g in level], [weight[r][g] for g in level]
                    )
                    for j, g in enumerate(level):
                        row[g] = z[j]
                    budget -= sum(z)
                cells.append(row)
                given = py_administer(
                    sum(row), kp, pol.interval_days, trial_cap[r], regions[r].lead_days
                )
                cum, acc = [], 0
                for v in given:
                    acc += v
                    cum.append(acc)
                used.append(cum)
            need = packs[:]
            before = [0] * n_r
            by_lot = []
            for li, lp in enumerate(lot_packs):
                got = [0] * n_r
                if lp and any(need):
                    d = lot_days[li]
                    if d >= days:
                        slot = need[:]
                    elif d < 0:
                        slot = [0] * n_r
                    else:
                        slot = [max((used[r][d] - before[r]) // pack, 0) for r in range(n_r)]
                    got = py_share(lp, [min(need[r], slot[r]) for r in range(n_r)], need)
                    for r in range(n_r):
                        need[r] -= got[r]
                        before[r] += got[r] * pack
                by_lot.append(got)
            if not any(need):
                break
            packs = [packs[r] - need[r] for r in range(n_r)]
        cap = trial_cap
        for li, got in enumerate(by_lot):
            for r in range(n_r):
                if got[r]:
                    packs_out[(code, r, lots[li].lot)] = got[r]
        for r in range(n_r):
            for g in range(n_g):
                if cells[r][g]:
                    people_out[(code, r, g)] = cells[r][g]
                demand[r][g] -= cells[r][g]
            planned[r] += packs[r] * pack
            litres[r][b] = litres[r][b] - packs[r] * pack * pol.cm3_per_dose / 1000.0
    return packs_out, people_out


def vector_plan(inp: DeploymentInput) -> PlanKey:
    """``plan_deployment``'s plan in the baseline's form."""
    plan = plan_deployment(inp)
    packs: dict[tuple[str, int, str], int] = {}
    people: dict[tuple[str, int, int], int] = {}
    for pp in plan.products:
        for lp in pp.lots:
            for r in np.flatnonzero(lp.packs_by_region):
                packs[(pp.product.code, int(r), lp.lot.lot)] = int(lp.packs_by_region[r])
        for r, g in zip(*np.nonzero(pp.people), strict=True):
            people[(pp.product.code, int(r), int(g))] = int(pp.people[r, g])
    return packs, people


def run(points: int, products: int, repeat: int = 3) -> dict[str, float]:
    inp = make_input(points, products)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fast = vector_plan(inp)
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    slow = baseline_plan(inp)
    base = time.perf_counter() - t0
    if fast != slow:
        raise SystemExit("the vectorised plan and the baseline differ")
    doses = sum(v * inp.policy(k[0]).product.pack_doses for k, v in fast[0].items())
    return {
        "points": points,
        "products": products,
        "vector_s": statistics.median(times),
        "baseline_s": base,
        "ratio": base / statistics.median(times),
        "lines": len(fast[0]),
        "doses": doses,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    res = run(args.points, args.products, args.repeat)
    print(
        f"{'service points':>15} {'products':>9} {'shipment lines':>15} {'doses planned':>14} "
        f"{'vectorised (s)':>15} {'baseline (s)':>13} {'ratio':>7}  same plan"
    )
    print(
        f"{res['points']:>15,} {res['products']:>9} {res['lines']:>15,} {res['doses']:>14,} "
        f"{res['vector_s']:>15.3f} {res['baseline_s']:>13.2f} {res['ratio']:>6.1f}x  yes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
