"""Pools available on the same date, shared as one problem in a phase-1 round.

Every pool of the date is prepared as when shared alone (eligibility, buffer, ceilings in
whole packs of that pool, caps, floors); then one common coverage level rises across all of
them, each participant drawing only on the pools it is eligible for
(:func:`~doseflow.allocation.joint.joint_fill`). Floors are given first (a floor counts
towards the level, as in a single pool), one per participant: the largest of its pools'.
Two cases keep the single-pool rules, pool by pool in delivery order before the joint
sharing of the rest:

* a pool whose floors exceed its supply (shared by the floor-shortfall rule);
* with the severe-supply policy on, a pool that runs out below the policy's threshold
  level when shared jointly (shared alone: by threat-and-vulnerability weights when it is
  short on its own too).

Each pool's continuous shares are then rounded to whole packs of that pool (largest
remainder), pools in delivery order, each participant's packs capped so that its coverage
stays within its ceiling after the pools before it: no participant ends above its ceiling
and none moves by a pack or more per pool.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from doseflow.allocation.engine import (
    FloorBounds,
    _cap_packs,
    _finish,
    allocate_pool,
    asked_floor,
    floor_bindings,
    floor_packs,
    level_terms,
    mark_limits,
    pool_offer,
    record_shared,
    request_left,
    request_packs,
    take_packs,
    within_request,
)
from doseflow.allocation.explanation import Binding, Mode
from doseflow.allocation.joint import joint_fill
from doseflow.allocation.policy import Phase, Policy
from doseflow.allocation.pools import Pool
from doseflow.allocation.readiness import GateFailures
from doseflow.allocation.results import (
    AllocationState,
    FloatArray,
    IntArray,
    JointShare,
    PoolResult,
    RunContext,
    coverage_share,
    per_person,
)
from doseflow.allocation.rounding import ceiling_packs as to_packs
from doseflow.allocation.scenario import RoundSpec
from doseflow.domain.product import Product


@dataclass(frozen=True)
class _Prepared:
    pool: Pool
    product: Product
    buffer: int
    available: int
    flags: IntArray
    per_cov: FloatArray
    unit: float  # doses per person (a course), the group's common unit is courses
    ceiling_packs: IntArray  # the room under each ceiling, in packs by the policy's rounding
    hp: IntArray  # packs a participant may take from this pool (ceiling, caps, request, ...)
    floors: FloatArray  # doses given first
    left: FloatArray | None  # doses still requested of the pool's product (None: no requests)
    req_packs: IntArray | None  # whole packs within the request (rounded down)
    asked: FloatArray  # the floor asked for (whole packs, eligible only), before clipping
    room: FloatArray  # doses left under each ceiling
    whole: FloatArray  # each whole ceiling, in doses
    cap_packs: IntArray


def _prepare(
    ctx: RunContext,
    pool: Pool,
    policy: Policy,
    before: FloatArray,
    current: AllocationState,
    gates: GateFailures | None,
) -> _Prepared:
    table = ctx.table
    product, buffer, available, flags = pool_offer(ctx, pool, policy, gates)
    pack = product.pack_doses
    unit = per_person(product, policy)
    per_cov = table.scaled_population(unit)
    ceiling = table.capped_ceiling(policy.top_rung)
    room = (ceiling - before) * per_cov
    ceiling_packs = to_packs(room, pack, policy.ceiling_rounding)
    cap_packs = _cap_packs(product, policy, available, len(table))
    left = request_left(ctx, current, product, unit)
    req_packs = request_packs(left, pack)
    hp = take_packs(flags == 0, ceiling_packs, cap_packs, req_packs)
    floor_packs = -(-policy.floors.get(product.code, 0) // pack)
    if floor_packs:
        asked = np.where(
            flags == 0, asked_floor(policy, floor_packs, per_cov, pack) * float(pack), 0.0
        )
        floors = np.minimum(hp * float(pack), asked)
    else:  # no floor for the product: nothing asked, nothing given first
        asked = floors = np.zeros(len(table))
    return _Prepared(
        pool,
        product,
        buffer,
        available,
        flags,
        per_cov,
        unit,
        ceiling_packs,
        hp,
        floors,
        left,
        req_packs,
        asked,
        room,
        ceiling * per_cov,
        cap_packs,
    )


def _with_floors(pp: _Prepared, policy: Policy) -> _Prepared:
    """The floors given first (after one floor each): clipped to the ceiling, or prevailing
    over a small participant's ceiling (:func:`~doseflow.allocation.engine.floor_packs`)."""
    if not pp.asked.any():
        # no floor asked (none for the product, or another pool's floor taken instead)
        return replace(pp, floors=np.zeros_like(pp.asked)) if pp.floors.any() else pp
    pack = pp.product.pack_doses
    asked = (pp.asked // pack).astype(np.int64)
    bounds = FloorBounds(pp.room, pp.whole, within_request(pp.cap_packs, pp.req_packs))
    given, hp = floor_packs(policy, asked, pp.hp, pp.flags == 0, bounds, pack)
    return replace(pp, hp=hp, floors=given.astype(np.float64) * pack)


def share_jointly(
    ctx: RunContext,
    group: Sequence[Pool],
    policy: Policy,
    spec: RoundSpec,
    current: AllocationState,
    gates: GateFailures | None,
) -> list[PoolResult]:
    """Share the pools of one date (``group``, in delivery order) and update ``current``."""
    results: list[PoolResult] = []
    remaining = list(group)
    while remaining:
        first = ctx.products[remaining[0].product]
        before = coverage_share(ctx, current, first, policy)
        prepared = [
            _with_floors(pp, policy)
            for pp in _one_floor_each(
                [_prepare(ctx, p, policy, before, current, gates) for p in remaining]
            )
        ]
        alone = [pp.pool for pp in prepared if float(pp.floors.sum()) > pp.available]
        if not alone:
            alone = _requested_twice(ctx, remaining)
        solved = None
        if not alone and len(remaining) > 1:
            solved = _solve(ctx, prepared, policy, before)
            alone = _severe(prepared, policy, solved[3])
        if solved is None or alone:
            for pool in alone or remaining:
                pr = allocate_pool(ctx, pool, policy, Phase.SUPPLY_DRIVEN, spec, current, gates)
                record_shared(ctx, current, pr)
                results.append(pr)
                remaining.remove(pool)
            continue
        results.extend(_joint(ctx, prepared, policy, before, current, solved))
        break
    return results


def _requested_twice(ctx: RunContext, pools: Sequence[Pool]) -> list[Pool]:
    """Pools of a product with two or more pools on the date that someone limits its
    request of: all but the last, to be shared one by one in delivery order. A request is
    for the product in the whole round, so it must shrink as each pool fills it; the joint
    sharing bounds each pool on its own and could fill it once per pool."""
    last: dict[str, Pool] = {}
    for pool in pools:
        last[pool.product] = pool
    counts: dict[str, int] = {}
    for pool in pools:
        counts[pool.product] = counts.get(pool.product, 0) + 1
    return [
        pool
        for pool in pools
        if counts[pool.product] > 1
        and pool is not last[pool.product]
        and ctx.table.has_requests(pool.product)
    ]


def _one_floor_each(prepared: list[_Prepared]) -> list[_Prepared]:
    """A participant gets one floor on a date, not one per pool: the largest (in courses)
    of its pools' floors as asked (before any ceiling clips them), from that pool (ties:
    the most restricted pool, i.e. fewest eligible participants, then delivery order)."""
    if len(prepared) < 2 or not any(pp.asked.any() for pp in prepared):
        return prepared
    courses = np.column_stack([pp.asked / pp.unit for pp in prepared])
    eligible = np.array([int((pp.flags == 0).sum()) for pp in prepared])
    rank = np.lexsort((np.arange(len(prepared)), eligible)).argsort()
    best = courses.max(axis=1, keepdims=True)
    candidates = (courses > 0) & (courses >= best * (1 - 1e-12))
    chosen = np.where(candidates, rank[None, :], len(prepared)).argmin(axis=1)
    keep = candidates[np.arange(courses.shape[0]), chosen]
    return [
        replace(pp, asked=np.where(keep & (chosen == p), pp.asked, 0.0))
        for p, pp in enumerate(prepared)
    ]


def _solve(
    ctx: RunContext, prepared: Sequence[_Prepared], policy: Policy, before: FloatArray
) -> tuple[FloatArray, FloatArray, IntArray, FloatArray]:
    """Doses per participant and pool (continuous), with the joint fill's levels."""
    table = ctx.table
    population = table.population.astype(np.float64)
    units = np.array([pp.unit for pp in prepared])
    floors = np.column_stack([pp.floors for pp in prepared])
    floor_courses = (floors / units).sum(axis=1)
    starts = before + floor_courses / population
    # a ceiling rounded up to the packs of every pool it may draw on holds more than the
    # nominal one (nearest, up): the smallest of those is the most it can take from any of
    # them; each pool's own packs are checked again when it is rounded (_joint)
    nominal = (table.capped_ceiling(policy.top_rung) - before) * population
    rounded = np.column_stack(
        [
            np.where(
                pp.flags == 0, pp.ceiling_packs * float(pp.product.pack_doses) / pp.unit, np.inf
            )
            for pp in prepared
        ]
    ).min(axis=1)
    rounded[~np.isfinite(rounded)] = 0.0
    ceilings = np.maximum(np.maximum(nominal, rounded) - floor_courses, 0.0)
    edge = np.column_stack(
        [(pp.hp * float(pp.product.pack_doses) - pp.floors) / pp.unit for pp in prepared]
    )
    supply = np.array([pp.available - float(pp.floors.sum()) for pp in prepared]) / units
    order = table.iso3_order
    # a participant held at a share w of the common level: slope w * population, start / w
    slopes, starts = level_terms(population, starts, table.share_of_level)
    fill = joint_fill(supply, slopes, starts, ceilings, edge, order)
    doses = floors + fill.courses * units[None, :]
    return doses, fill.level, fill.bound_by, fill.pool_level


def _severe(prepared: Sequence[_Prepared], policy: Policy, pool_level: FloatArray) -> list[Pool]:
    """Pools that run out below the severe-supply threshold when shared jointly."""
    severe = policy.severe
    if not severe.enabled:
        return []
    return [
        pp.pool
        for pp, level in zip(prepared, pool_level, strict=True)
        if level < severe.threshold
        and bool((pp.flags == 0).any())
        and pp.available >= pp.product.pack_doses
    ]


def _joint(
    ctx: RunContext,
    prepared: Sequence[_Prepared],
    policy: Policy,
    start: FloatArray,
    current: AllocationState,
    solved: tuple[FloatArray, FloatArray, IntArray, FloatArray],
) -> list[PoolResult]:
    doses, levels, bound_by, pool_level = solved
    joint = JointShare(tuple(pp.pool.id for pp in prepared), levels, bound_by)
    ceiling = ctx.table.capped_ceiling(policy.top_rung)
    out: list[PoolResult] = []
    for p, pp in enumerate(prepared):
        pack = pp.product.pack_doses
        before = coverage_share(ctx, current, pp.product, policy)
        left = (ceiling - before) * pp.per_cov
        room = to_packs(left, pack, policy.ceiling_rounding)
        # only a floor that prevails over the ceiling is given beyond the room the pools
        # before this one left; a clipped floor stays within it
        prevailing = np.where(pp.hp > pp.ceiling_packs, pp.floors // pack, 0).astype(np.int64)
        caps = np.minimum(pp.hp, np.maximum(room, prevailing))
        x = doses[:, p]
        share = ctx.table.share_of_level
        slopes, starts = level_terms(pp.per_cov, start, share)
        classify = _classifier(pp, x, levels, slopes, starts, pack, left, room)
        level = float(pool_level[p])
        pr = _finish(
            pp.pool,
            pp.product,
            Mode.EQUAL_COVERAGE,
            level,
            pp.buffer,
            pp.flags,
            before,
            pp.per_cov,
            ceiling,
            x,
            caps,
            classify,
            ties=ctx.table.tie_rank,
            request=pp.left,
            share_of_level=share,
            floors=pp.asked if pp.asked.any() else None,
            joint=joint,
        )
        record_shared(ctx, current, pr)
        out.append(pr)
    return out


def _classifier(
    pp: _Prepared,
    x: FloatArray,
    levels: FloatArray,
    slopes: FloatArray,
    start: FloatArray,
    pack: int,
    left: FloatArray,
    room: IntArray,
) -> Callable[[], npt.NDArray[np.int8]]:
    """What limited each participant; ``slopes`` and ``start`` are in level terms (scaled by
    a participant's share of the level, see :func:`~doseflow.allocation.engine.level_terms`);
    floors are judged against the room under its ceiling when this pool was rounded
    (``left`` doses, ``room`` packs), as its explanation is."""

    def classify() -> npt.NDArray[np.int8]:
        tol = 1e-6 * pack
        eligible = pp.flags == 0
        binding = np.zeros(x.size, dtype=np.int8)
        binding[eligible] = Binding.LEVEL
        gain = slopes * (levels - start)
        on_floor = eligible & (pp.floors > 0) & (x <= pp.floors + tol) & (gain < pp.floors)
        binding[on_floor] = Binding.FLOOR
        binding[eligible & (x <= tol) & (start >= levels)] = Binding.ABOVE_LEVEL
        caps = pp.hp * float(pack)
        at_cap = eligible & ((x >= caps - tol) | ~np.isfinite(levels))
        mark_limits(binding, at_cap, pp.hp, pp.ceiling_packs, pp.req_packs)
        if pp.asked.any():
            floor_bindings(
                binding, x, pp.asked, pp.floors, pp.ceiling_packs, left, pack, at_cap, room
            )
        return binding

    return classify
