"""The deployment planner: national stock -> whole-pack shipments per region and lot.

Products are planned one after the other, earliest-expiring first; each one uses what
the earlier ones left (people still to vaccinate, cold-chain room, administration
capacity). For one product:

1. **Room** in each region, in doses: its free cold-chain volume in the product's band
   divided by the volume per dose, and its administration capacity over the horizon
   (doses per day x days) less the doses already planned there; whichever is smaller.
2. **Shares** of the national supply, in people (a person counts the doses of a whole
   course when later doses are reserved, one dose otherwise), by the strategy: priority
   levels served in turn with spill-over, or all groups at once in proportion to
   population (optionally weighted); no region above its room, no group above its target
   (see :mod:`doseflow.deployment.shares`).
3. **Whole packs**: each region's doses are rounded down to packs, and the packs left are
   given one each to the regions with the largest remainders, if the pack fits their room.
4. **Lots, first expiry first out**: lots are handed out earliest expiry first; a region
   takes a lot only as far as it will have given those doses before the lot expires, by
   its administration schedule (see :mod:`doseflow.deployment.schedule`). So short-dated
   lots go to the regions that will use them in time. If the lots cannot fill a region's
   packs in time, its plan is cut to what they can fill and the lots are handed out again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from doseflow.deployment.model import DeploymentInput, Strategy
from doseflow.deployment.result import DeploymentPlan, LotPlan, ProductPlan
from doseflow.deployment.schedule import Administration, administer
from doseflow.deployment.shares import share, share_by_levels, share_with_room
from doseflow.domain.errors import DoseflowError

I64 = npt.NDArray[np.int64]

#: Day index standing for "no known expiry".
NO_EXPIRY = 10**9

#: Weights are whole numbers: a user weight is kept to this many parts per unit.
WEIGHT_SCALE = 1000


@dataclass(frozen=True)
class Arrays:
    """The plan's inputs as aligned arrays (regions x groups)."""

    target: I64  # target population per region and group
    demand: I64  # people to vaccinate: target x coverage, rounded
    weight: I64  # how cells share supply, by strategy
    levels: tuple[tuple[int, ...], ...]  # group indexes served together, in order
    daily: I64  # doses per day per region
    arrival: I64  # day index of arrival per region
    sim_days: int


def prepare(plan_input: DeploymentInput) -> Arrays:
    """Arrays for :func:`plan_deployment` (checked for consistent shapes)."""
    regions = plan_input.regions
    groups = plan_input.groups
    n_r, n_g = len(regions), len(groups)
    for group in groups:
        if len(group.population_by_region) != n_r:
            raise DoseflowError(
                "DEPLOY_GROUP_REGIONS",
                f"group '{group.name}' gives {len(group.population_by_region)} regional "
                f"populations for {n_r} regions",
                source=plan_input.source,
                field="groups",
                expected=f"one population per region ({n_r})",
                value=len(group.population_by_region),
            )
    target = np.zeros((n_r, n_g), dtype=np.int64)
    coverage = np.zeros(n_g, dtype=np.float64)
    for g, group in enumerate(groups):
        target[:, g] = group.population_by_region
        coverage[g] = group.coverage
    demand = np.floor(target * coverage[None, :] + 0.5).astype(np.int64)
    if plan_input.strategy is Strategy.PRIORITY:
        weight = demand.copy()
        ranks = sorted({g.priority for g in groups})
        levels = tuple(
            tuple(i for i, g in enumerate(groups) if g.priority == rank) for rank in ranks
        )
    else:
        factors = np.ones(n_g, dtype=np.int64)
        if plan_input.strategy is Strategy.WEIGHTED:
            factors = np.array(
                [round(g.weight * WEIGHT_SCALE) for g in groups], dtype=np.int64
            ).reshape(n_g)
        weight = target * factors[None, :]
        levels = (tuple(range(n_g)),)
    longest = max(
        ((p.doses_per_person - 1) * p.interval_days for p in plan_input.products), default=0
    )
    lead = max((r.lead_days for r in regions), default=0)
    return Arrays(
        target=target,
        demand=demand,
        weight=weight,
        levels=levels,
        daily=np.array([r.doses_per_day for r in regions], dtype=np.int64).reshape(n_r),
        arrival=np.array([r.lead_days for r in regions], dtype=np.int64).reshape(n_r),
        sim_days=plan_input.horizon_days + lead + longest + 1,
    )


def expiry_day(plan_input: DeploymentInput, expiry: object) -> int:
    """Day index (0 = plan start) of the last day a lot may be used."""
    if expiry is None:
        return NO_EXPIRY
    from datetime import date

    assert isinstance(expiry, date)
    return (expiry - plan_input.start).days


def product_order(plan_input: DeploymentInput) -> tuple[str, ...]:
    """Products in planning order: earliest-expiring stock first, then by code."""
    first: dict[str, int] = {p.product.code: NO_EXPIRY + 1 for p in plan_input.products}
    for lot in plan_input.stock:
        if lot.product in first and lot.doses > 0:
            first[lot.product] = min(first[lot.product], expiry_day(plan_input, lot.expiry))
    return tuple(sorted(first, key=lambda code: (first[code], code)))


def round_to_packs(want: I64, pack: int, packs: int, room: I64) -> I64:
    """Whole packs per region: ``want`` doses rounded down, then the ``packs`` left (of
    the national total) one each to the largest remainders whose room takes a pack more."""
    base = want // pack
    rem = want - base * pack
    extra = packs - int(base.sum())
    eligible = (rem > 0) & ((base + 1) * pack <= room)
    if extra > 0 and eligible.any():
        idx = np.flatnonzero(eligible)
        order = idx[np.lexsort((idx, -rem[idx]))]
        base[order[:extra]] += 1
    return base


def assign_lots(
    want: I64, lot_packs: I64, lot_days: I64, used: Administration, pack: int
) -> tuple[I64, I64, I64]:
    """Hand lots (earliest expiry first) to regions wanting ``want`` packs.

    A region takes packs of a lot only as far as its schedule (``used``: doses given each
    day) uses them by the lot's last day, after the earlier lots it took. Returns (packs
    per lot and region, packs still wanted per region, packs of each lot that no region
    could use in time while some region still wanted packs).
    """
    n_lots = len(lot_packs)
    regions, days = used.capacity_left.shape
    cum = np.cumsum(used.total, axis=1) if len(used.rows) else None
    need = want.copy()
    before = np.zeros(regions, dtype=np.int64)
    out = np.zeros((n_lots, regions), dtype=np.int64)
    too_late = np.zeros(n_lots, dtype=np.int64)
    for lot in range(n_lots):
        if lot_packs[lot] == 0 or not need.any():
            continue
        day = int(lot_days[lot])
        if day >= days:
            slot = need
        elif day < 0:
            slot = np.zeros(regions, dtype=np.int64)
        else:
            by_day = np.zeros(regions, dtype=np.int64)
            if cum is not None:
                by_day[used.rows] = cum[:, day]
            slot = np.maximum((by_day - before) // pack, 0)
        cap = np.minimum(need, slot)
        got = share(int(lot_packs[lot]), cap, need)
        out[lot] = got
        need = need - got
        before = before + got * pack
        spare = int(lot_packs[lot]) - int(got.sum())
        if spare and need.any():
            too_late[lot] = spare
    return out, need, too_late


def plan_deployment(plan_input: DeploymentInput) -> DeploymentPlan:
    """The deployment plan for ``plan_input`` (see the module docstring for the rules)."""
    arrays = prepare(plan_input)
    n_r = len(plan_input.regions)
    bands = sorted({p.store_band for p in plan_input.products})
    litres = np.array(
        [[float(r.capacity_litres.get(b, 0.0)) for b in bands] for r in plan_input.regions],
        dtype=np.float64,
    ).reshape(n_r, len(bands))
    remaining = arrays.demand.copy()
    planned = np.zeros(n_r, dtype=np.int64)
    capacity = np.repeat(arrays.daily[:, None], arrays.sim_days, axis=1)
    horizon_doses = arrays.daily * plan_input.horizon_days
    products: list[ProductPlan] = []
    for code in product_order(plan_input):
        policy = plan_input.policy(code)
        product = policy.product
        pack = product.pack_doses
        kp = policy.doses_per_person
        band = bands.index(policy.store_band)
        lots = sorted(
            (lot for lot in plan_input.stock if lot.product == code),
            key=lambda lot: (expiry_day(plan_input, lot.expiry), lot.lot),
        )
        lot_days = np.array([expiry_day(plan_input, lot.expiry) for lot in lots], dtype=np.int64)
        if policy.days_in_store_band is not None:
            lot_days = np.minimum(lot_days, policy.days_in_store_band - 1)
        lot_doses = np.array([lot.doses for lot in lots], dtype=np.int64)
        lot_packs = lot_doses // pack
        total_packs = int(lot_packs.sum())
        cold = np.floor(litres[:, band] * 1000.0 / policy.cm3_per_dose).astype(np.int64)
        cold = np.maximum(cold, 0)
        admin = np.maximum(horizon_doses - planned, 0)
        room = np.minimum(cold, admin)
        need_people = remaining.sum(axis=1)
        cells = share_with_room(
            total_packs * pack // kp, remaining, arrays.weight, arrays.levels, room // kp
        )
        share_people = cells.sum(axis=1)
        rounded = round_to_packs(share_people * kp, pack, total_packs, room)
        packs = rounded.copy()
        late = np.zeros(len(lots), dtype=np.int64)
        while True:
            cells = share_by_levels(packs * pack // kp, remaining, arrays.weight, arrays.levels)
            people = cells.sum(axis=1)
            given = administer(people, kp, policy.interval_days, capacity, arrays.arrival)
            by_lot, short, too_late = assign_lots(packs, lot_packs, lot_days, given, pack)
            late = np.maximum(late, too_late)
            if not short.any():
                break
            packs = packs - short
        products.append(
            ProductPlan(
                product=product,
                policy=policy,
                packs=packs,
                people=cells,
                need_people=need_people,
                cold_room_doses=cold,
                admin_room_doses=admin,
                share_people=share_people,
                rounded_packs=rounded,
                lots=tuple(
                    LotPlan(
                        lot=lot,
                        expiry_day=int(lot_days[i]),
                        packs_by_region=by_lot[i],
                        loose_doses=int(lot_doses[i] - lot_packs[i] * pack),
                        unused_packs=int(lot_packs[i] - by_lot[i].sum()),
                        too_late_packs=int(min(late[i], lot_packs[i] - by_lot[i].sum())),
                    )
                    for i, lot in enumerate(lots)
                ),
            )
        )
        remaining = remaining - cells
        doses = packs * pack
        planned = planned + doses
        litres[:, band] = litres[:, band] - doses * policy.cm3_per_dose / 1000.0
        capacity = given.capacity_left
    return DeploymentPlan(
        input=plan_input,
        target=arrays.target,
        demand=arrays.demand,
        levels=arrays.levels,
        products=tuple(products),
        sim_days=arrays.sim_days,
    )
