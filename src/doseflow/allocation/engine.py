"""Allocation rounds: pure functions from a scenario (and the state so far) to results.

Within a round each pool (product, origin, earmark, expiry) is shared in delivery order
(in a phase-1 round, the pools available on the same date together, as one problem:
:mod:`doseflow.allocation.joint_pools`): eligibility first, the humanitarian buffer set
aside, then

* phase 1 (supply-driven): equal coverage by water-filling up to each participant's ceiling
  (its request, at most the top of the coverage ladder), with floors and caps; when supply
  is severely constrained, shares weighted by threat and vulnerability after a minimum
  to every participant;
* phase 2 (demand-driven): each request within absorption capacity and the target, shared
  by weight when the pool is short;
* top-up rounds: doses completing started courses, in proportion to the need.

Shares are rounded to whole packs by largest remainder; what is left is held and carried to
the next round. Coverage carries from date to date and round to round.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from doseflow.allocation.eligibility import Exclusion, pool_exclusions
from doseflow.allocation.explanation import Binding, Mode
from doseflow.allocation.policy import Phase, Policy
from doseflow.allocation.pools import Pool, build_pools
from doseflow.allocation.readiness import (
    COMPLIANCE_GATE,
    ExtraGate,
    GateFailures,
    RoundGates,
    gate_failures,
)
from doseflow.allocation.results import (
    AllocationRun,
    AllocationState,
    FloatArray,
    IntArray,
    JointShare,
    PoolResult,
    RoundResult,
    RunContext,
    coverage_share,
    per_person,
)
from doseflow.allocation.rounding import ceiling_packs as to_packs
from doseflow.allocation.rounding import round_to_packs
from doseflow.allocation.scenario import Decline, RoundKind, RoundSpec, Scenario
from doseflow.allocation.table import ParticipantTable
from doseflow.allocation.threat import delivery_ranks, threat_scores
from doseflow.allocation.waterfill import water_fill
from doseflow.domain.errors import DoseflowError
from doseflow.domain.participant import Participant
from doseflow.domain.product import Product, ProductKind

_EPS = 1e-9


def make_context(participants: Sequence[Participant], products: Iterable[Product]) -> RunContext:
    """The shared context of a run (participants as columns, products in a fixed order)."""
    by_code = {p.code: p for p in products}
    return RunContext(ParticipantTable(participants), by_code, tuple(by_code))


def _packs_floor(doses: FloatArray, pack: int, *, scratch: bool = False) -> IntArray:
    """Whole packs in ``doses`` (none below zero); ``scratch`` lets it reuse ``doses``."""
    out = np.maximum(doses, 0.0, out=doses if scratch else None)
    out /= pack
    out += _EPS
    np.floor(out, out=out)
    return out.astype(np.int64)


_NO_CAP = np.iinfo(np.int64).max // 4
_NO_CAP_PACKS = np.asarray(_NO_CAP, dtype=np.int64)


def _cap_packs(product: Product, policy: Policy, available: int, n: int) -> IntArray:
    """The policy's cap per participant, in packs (a 0-d array broadcasting to everyone)."""
    cap = math.inf
    if product.code in policy.caps:
        cap = float(policy.caps[product.code])
    if policy.cap_share_of_pool is not None:
        cap = min(cap, policy.cap_share_of_pool * available)
    if not math.isfinite(cap):
        return _NO_CAP_PACKS
    return np.asarray(int(cap // product.pack_doses), dtype=np.int64)


def request_left(
    ctx: RunContext, state: AllocationState, product: Product, unit: float
) -> FloatArray | None:
    """Doses each participant still requests of ``product`` in this round (its request, in
    doses or coverage, less what the round's earlier pools gave it; inf: no request), or
    None when nobody limits its request of the product."""
    table = ctx.table
    if not table.has_requests(product.code):
        return None
    requested = table.requests(product.code, unit)
    received = state.received_in_round(ctx.column(product.code))
    if received is None:
        return requested
    return np.maximum(requested - received, 0.0)


def request_packs(left: FloatArray | None, pack: int) -> IntArray | None:
    """Whole packs within each remaining request, rounded DOWN (a request is the most a
    participant asked for; no cap where no request)."""
    if left is None:
        return None
    finite = np.isfinite(left)
    packs = np.floor(np.where(finite, left, 0.0) / pack + _EPS).astype(np.int64)
    return np.where(finite, packs, _NO_CAP)


def mark_limits(
    binding: npt.NDArray[np.int8],
    at_cap: npt.NDArray[np.bool_],
    hp: IntArray,
    ceiling_packs: IntArray | None,
    req_packs: IntArray | None,
) -> None:
    """Mark who stopped at its limit: its ceiling, the policy's cap, or its request (the
    request wins when it is what set the limit, i.e. it is below the ceiling)."""
    if ceiling_packs is not None:
        binding[at_cap & (hp >= ceiling_packs)] = Binding.CEILING
        binding[at_cap & (hp < ceiling_packs)] = Binding.CAP
    if req_packs is not None:
        by_request = at_cap & (hp >= req_packs)
        if ceiling_packs is not None:
            by_request &= req_packs < ceiling_packs
        binding[by_request] = Binding.REQUEST


@dataclass(frozen=True)
class FloorBounds:
    """What bounds a floor given above a participant's ceiling (per participant)."""

    room: FloatArray  # doses left under its ceiling
    whole: FloatArray  # its whole ceiling, in doses
    most: IntArray  # packs the policy's caps and its remaining request allow


def within_request(cap_packs: IntArray, req_packs: IntArray | None) -> IntArray:
    """The packs a participant may take at most by the caps and what is left of its request."""
    return cap_packs if req_packs is None else np.minimum(cap_packs, req_packs)


def asked_floor(policy: Policy, packs: int, everyone: FloatArray, pack: int) -> IntArray:
    """The floor asked for each participant, in whole packs: ``packs`` (the policy's floor,
    or the severe-supply minimum when larger), but never more than a full course for every
    person it has (``everyone``: doses for 100% coverage, rounded to packs by the policy's
    rounding, at least one pack). A floor is a minimum shipment, not doses for more people
    than live there: a state of 1,618 people is not asked 100,800 doses."""
    full = np.maximum(to_packs(everyone, pack, policy.ceiling_rounding), 1)
    return np.minimum(packs, full)


def take_packs(
    eligible: npt.NDArray[np.bool_],
    ceiling_packs: IntArray,
    cap_packs: IntArray,
    req_packs: IntArray | None,
) -> IntArray:
    """Packs each participant may take from a pool: the room under its ceiling, within the
    policy's caps and what is left of its request; none where it is not eligible. One rule
    for a pool shared alone, the severe-supply mode and pools shared jointly."""
    limit = ceiling_packs
    if int(cap_packs) < _NO_CAP:
        limit = np.minimum(limit, cap_packs)
    if req_packs is not None:
        limit = np.minimum(limit, req_packs)
    return np.where(eligible, limit, 0)


def floor_packs(
    policy: Policy,
    asked: IntArray | int,
    hp: IntArray,
    eligible: npt.NDArray[np.bool_],
    bounds: FloorBounds,
    pack: int,
) -> tuple[IntArray, IntArray]:
    """The packs each participant is given first (its floor) and the packs it may take.

    ``asked``: the floor in whole packs; ``hp``: packs within ceiling, caps, request and
    eligibility. With ``floors_prevail``, a participant whose whole ceiling holds less than
    its floor and that is still below its ceiling gets its floor even above the ceiling, but
    never more than the caps and its request allow. Otherwise a floor is clipped to what the
    ceiling (and caps) allow."""
    asked_packs = np.where(eligible, asked, 0)
    clipped = np.minimum(hp, asked_packs)
    if not policy.floors_prevail:
        return clipped, hp
    prevails = eligible & (bounds.room > 1e-6 * pack) & (bounds.whole < asked_packs * float(pack))
    given = np.where(prevails, np.minimum(asked_packs, bounds.most), clipped)
    return given, np.maximum(hp, given)


def floor_bindings(
    binding: npt.NDArray[np.int8],
    x: FloatArray,
    asked: FloatArray,
    given: FloatArray,
    ceiling_packs: IntArray,
    room: FloatArray,
    pack: int,
    at_cap: npt.NDArray[np.bool_],
    room_packs: IntArray | None = None,
) -> None:
    """Mark (in place) who got a floor above its rounded ceiling and whose floor the ceiling
    clipped (for them "reached its coverage ceiling" would hide the floor).

    ``ceiling_packs`` is the ceiling the floors were set against; ``room``/``room_packs`` the
    room left when the pool was rounded (the same, unless pools before it on the same date
    took some: joint sharing)."""
    tol = 1e-6 * pack
    ceiling_doses = ceiling_packs * float(pack)
    room_doses = ceiling_doses if room_packs is None else room_packs * float(pack)
    above = (given > ceiling_doses + tol) & (x >= given - tol)
    clipped = at_cap & (asked > given + tol) & (given >= room_doses - tol) & (room > tol)
    binding[clipped] = Binding.FLOOR_CLIPPED
    binding[above & (given >= asked - tol)] = Binding.FLOOR_ABOVE_CEILING
    binding[above & (given < asked - tol)] = Binding.CAP  # a prevailing floor, cut by a cap


def _finish(
    pool: Pool,
    product: Product,
    mode: Mode,
    level: float | None,
    buffer: int,
    flags: IntArray,
    before: FloatArray,
    per_cov: FloatArray,
    ceiling: FloatArray | None,
    shares: FloatArray,
    cap_packs: IntArray,
    classify: Callable[[], npt.NDArray[np.int8]],
    *,
    ties: IntArray,
    threat: FloatArray | None = None,
    weights: FloatArray | None = None,
    ranks: IntArray | None = None,
    request: FloatArray | None = None,
    share_of_level: FloatArray | None = None,
    floors: FloatArray | None = None,
    joint: JointShare | None = None,
) -> PoolResult:
    pack = product.pack_doses
    budget = min(
        math.floor(float(np.add.reduce(shares)) / pack + _EPS), (pool.doses - buffer) // pack
    )
    rounded = round_to_packs(shares, pack, cap_packs, budget, ties)
    return PoolResult(
        pool=pool,
        product=product,
        mode=mode,
        level=level,
        buffer=buffer,
        exclusions=flags,
        coverage_before=before,
        doses_per_coverage=per_cov,
        ceiling=ceiling,
        unrounded=shares,
        rule_doses=rounded.doses,
        doses=rounded.doses,
        classify=classify,
        rounding=rounded.direction,
        threat=threat,
        weights=weights,
        ranks=ranks,
        request=request,
        share_of_level=share_of_level,
        floors=floors,
        joint=joint,
    )


def allocate_pool(
    ctx: RunContext,
    pool: Pool,
    policy: Policy,
    phase: Phase,
    spec: RoundSpec,
    state: AllocationState,
    gates: GateFailures | None = None,
) -> PoolResult:
    """Share one pool among the run's participants given the state before it."""
    table = ctx.table
    n = len(table)
    product, buffer, available, flags = pool_offer(ctx, pool, policy, gates)
    before = coverage_share(ctx, state, product, policy)
    unit = per_person(product, policy)
    per_cov = table.scaled_population(unit)
    cap_packs = _cap_packs(product, policy, available, n)
    left = request_left(ctx, state, product, unit)
    common = (pool, product, buffer, flags, before, per_cov, left)
    if spec.kind is RoundKind.TOP_UP:
        return _top_up(ctx, spec, state, available, cap_packs, *common)
    if phase is Phase.DEMAND_DRIVEN:
        return _demand(ctx, spec, policy, state, available, cap_packs, *common)
    return _supply(ctx, policy, available, cap_packs, *common)


def pool_offer(
    ctx: RunContext, pool: Pool, policy: Policy, gates: GateFailures | None
) -> tuple[Product, int, int, IntArray]:
    """What ``pool`` offers and to whom: its product, the humanitarian buffer held back (whole
    packs), the doses left to share, and each participant's exclusion flags (0: eligible).
    One place for both ways of sharing (a pool alone, or jointly with its date's pools)."""
    product = ctx.products[pool.product]
    pack = product.pack_doses
    buffer = (int(pool.new_doses * policy.humanitarian_buffer) // pack) * pack
    flags = pool_exclusions(
        ctx.table,
        product,
        pool,
        lead_time_days=policy.lead_time_days,
        min_days_before_expiry=policy.min_days_before_expiry,
        gate_failed=gates.failed if gates is not None and gates.notes else None,
    )
    return product, buffer, pool.doses - buffer, flags


def _supply(
    ctx: RunContext,
    policy: Policy,
    available: int,
    cap_packs: IntArray,
    pool: Pool,
    product: Product,
    buffer: int,
    flags: IntArray,
    before: FloatArray,
    per_cov: FloatArray,
    left: FloatArray | None,
) -> PoolResult:
    table = ctx.table
    pack = product.pack_doses
    eligible = flags == 0
    ceiling = table.capped_ceiling(policy.top_rung)
    room = ceiling - before
    room *= per_cov
    ceiling_packs = to_packs(room, pack, policy.ceiling_rounding)
    req_packs = request_packs(left, pack)
    hp = take_packs(eligible, ceiling_packs, cap_packs, req_packs)
    floor = -(-policy.floors.get(product.code, 0) // pack)
    asked = asked_floor(policy, floor, per_cov, pack)
    bounds = FloorBounds(room, ceiling * per_cov, within_request(cap_packs, req_packs))
    given, hp = floor_packs(policy, asked, hp, eligible, bounds, pack)
    caps: FloatArray = hp.astype(np.float64) * pack
    floors: FloatArray | None = given.astype(np.float64) * pack if floor else None
    asked_doses: FloatArray | None = np.where(eligible, asked * float(pack), 0.0) if floor else None
    share = table.share_of_level
    slopes, starts = level_terms(per_cov, before, share)
    fill = water_fill(float(available), slopes, starts, floors, caps, checked=True)
    severe = policy.severe
    constrained = not fill.floors_met or fill.level < severe.threshold
    if severe.enabled and eligible.any() and available >= pack and constrained:
        return _weighted(
            ctx,
            policy,
            available,
            cap_packs,
            ceiling_packs,
            pool,
            product,
            buffer,
            flags,
            before,
            per_cov,
            ceiling,
            left,
            req_packs,
            room,
        )
    x = fill.quantities
    mode = Mode.EQUAL_COVERAGE if fill.floors_met else Mode.FLOOR_SHORTFALL

    def classify() -> npt.NDArray[np.int8]:
        tol = 1e-6 * pack
        binding = np.zeros(x.size, dtype=np.int8)
        if not fill.floors_met:
            binding[eligible] = Binding.FLOOR
        else:
            binding[eligible] = Binding.LEVEL
            if floors is not None:
                gain = slopes * (fill.level - starts)
                on_floor = eligible & (floors > 0) & (x <= floors + tol) & (gain < floors)
                binding[on_floor] = Binding.FLOOR
            binding[eligible & (x <= tol) & (starts >= fill.level)] = Binding.ABOVE_LEVEL
        at_cap = eligible & (x >= caps - tol)
        mark_limits(binding, at_cap, hp, ceiling_packs, req_packs)
        if floors is not None and asked_doses is not None:
            floor_bindings(binding, x, asked_doses, floors, ceiling_packs, room, pack, at_cap)
        return binding

    level = fill.level if fill.floors_met else None
    return _finish(
        pool,
        product,
        mode,
        level,
        buffer,
        flags,
        before,
        per_cov,
        ceiling,
        x,
        hp,
        classify,
        ties=table.tie_rank,
        request=left,
        share_of_level=share,
        floors=asked_doses,
    )


def level_terms(
    per_cov: FloatArray, before: FloatArray, share: FloatArray | None
) -> tuple[FloatArray, FloatArray]:
    """Slopes and starts for the water-fill so that a participant held at ``share`` of the
    common level ``L`` reaches coverage ``share * L``: its doses
    ``per_cov * (share * L - before)`` are ``(share * per_cov) * (L - before / share)``.
    The solvers are unchanged; only their inputs are scaled."""
    if share is None:
        return per_cov, before
    return per_cov * share, before / share


def _weighted(
    ctx: RunContext,
    policy: Policy,
    available: int,
    cap_packs: IntArray,
    ceiling_packs: IntArray,
    pool: Pool,
    product: Product,
    buffer: int,
    flags: IntArray,
    before: FloatArray,
    per_cov: FloatArray,
    ceiling: FloatArray,
    left: FloatArray | None,
    req_packs: IntArray | None,
    room: FloatArray,
) -> PoolResult:
    """Severely constrained supply: a minimum to each (threat-and-vulnerability order while
    it lasts), then shares in proportion to the threat-and-vulnerability weight (times a
    participant's share of the level, when it has one). The minimum (the larger of the
    severe-supply minimum and the floor) is a floor like any other: it prevails over a small
    participant's ceiling, or is clipped by it, as the policy says."""
    table = ctx.table
    pack = product.pack_doses
    eligible = flags == 0
    score = threat_scores(table, policy.threat, eligible)
    weights = policy.threat.base + score
    if table.share_of_level is not None:
        weights = weights * table.share_of_level
    hp = take_packs(eligible, ceiling_packs, cap_packs, req_packs)
    min_packs = max(policy.severe.min_packs, -(-policy.floors.get(product.code, 0) // pack))
    asked_packs = asked_floor(policy, min_packs, per_cov, pack)
    bounds = FloorBounds(room, ceiling * per_cov, within_request(cap_packs, req_packs))
    given, hp = floor_packs(policy, asked_packs, hp, eligible, bounds, pack)
    receiving = eligible & (hp > 0)
    ranks = delivery_ranks(score, receiving, table.tie_rank)
    minimum = given.astype(np.float64) * pack
    asked: FloatArray = np.where(eligible, asked_packs * float(pack), 0.0)
    caps = hp.astype(np.float64) * pack
    binding = np.zeros(table.population.size, dtype=np.int8)
    tol = 1e-6 * pack
    if minimum.sum() > available:
        # in delivery order (ranks are unique among those receiving; ISO3 order after them)
        order = np.lexsort((table.tie_rank, np.where(receiving, ranks, np.iinfo(np.int64).max)))
        cum = np.cumsum(minimum[order])
        fits = cum <= available + _EPS
        x = np.zeros(table.population.size, dtype=np.float64)
        x[order[fits]] = minimum[order[fits]]
        binding[receiving] = Binding.PRIORITY_EXHAUSTED
        binding[(x > 0)] = Binding.MINIMUM
        level: float | None = None
    else:
        fill = water_fill(float(available), weights * per_cov, np.zeros_like(before), minimum, caps)
        x = fill.quantities
        binding[eligible] = Binding.WEIGHTED_SHARE
        binding[eligible & (minimum > 0) & (x <= minimum + tol)] = Binding.MINIMUM
        level = fill.level
    at_cap = eligible & (x >= caps - tol)
    mark_limits(binding, at_cap, hp, ceiling_packs, req_packs)
    if min_packs:
        floor_bindings(binding, x, asked, minimum, ceiling_packs, room, pack, at_cap)
    return _finish(
        pool,
        product,
        Mode.THREAT_WEIGHTED,
        level,
        buffer,
        flags,
        before,
        per_cov,
        ceiling,
        x,
        hp,
        lambda: binding,
        ties=table.tie_rank,
        threat=score,
        weights=weights,
        ranks=ranks,
        request=left,
        floors=asked if min_packs else None,
    )


def _demand(
    ctx: RunContext,
    spec: RoundSpec,
    policy: Policy,
    state: AllocationState,
    available: int,
    cap_packs: IntArray,
    pool: Pool,
    product: Product,
    buffer: int,
    flags: IntArray,
    before: FloatArray,
    per_cov: FloatArray,
    left: FloatArray | None,
) -> PoolResult:
    """Phase 2: fill requests within absorption capacity and the target; share by weight.
    The request is what is left of the round's request of the product after its earlier
    pools; the absorption capacity (doses of any product a month, times the round's months)
    is the round's too, less what its earlier pools gave the participant."""
    from doseflow.allocation.policy import SharingWeight

    table = ctx.table
    pack = product.pack_doses
    requests = np.full(len(table), np.inf) if left is None else left
    flags = flags.copy()
    if left is not None:
        asked = table.requests(product.code, per_person(product, policy))
        flags[asked <= 0] |= int(Exclusion.NO_REQUEST)
    eligible = flags == 0
    to_target = np.maximum(policy.target - before, 0.0) * per_cov
    absorb = table.absorption_per_month * spec.months
    if state.round_start is not None:
        absorb = np.maximum(absorb - (state.doses - state.round_start).sum(axis=1), 0.0)
    demand = np.minimum(np.minimum(to_target, requests), absorb)
    hp = np.minimum(_packs_floor(demand, pack), cap_packs)
    hp[~eligible] = 0
    caps = hp.astype(np.float64) * pack
    threat = None
    if policy.phase2_weight is SharingWeight.POPULATION:
        slopes = table.population.copy()
    elif policy.phase2_weight is SharingWeight.THREAT:
        threat = threat_scores(table, policy.threat, eligible)
        slopes = policy.threat.base + threat
    else:
        slopes = caps.copy()
    zeros = np.zeros_like(before)
    fill = water_fill(float(available), slopes, zeros, None, caps)
    x = fill.quantities
    binding = np.zeros(table.population.size, dtype=np.int8)
    binding[eligible] = Binding.WEIGHTED_SHARE
    at_cap = eligible & (x >= caps - 1e-6 * pack)
    # what set the demand: the request, else the absorption capacity, else the target
    # (a policy cap below all three is the cap)
    by_request = requests <= np.minimum(to_target, absorb)
    by_absorption = ~by_request & (absorb <= to_target)
    binding[at_cap] = Binding.TARGET
    binding[at_cap & by_absorption] = Binding.ABSORPTION
    binding[at_cap & by_request] = Binding.REQUEST
    binding[at_cap & (hp < _packs_floor(demand, pack))] = Binding.CAP
    ceiling = np.full(table.population.size, policy.target)
    return _finish(
        pool,
        product,
        Mode.DEMAND_DRIVEN,
        None,
        buffer,
        flags,
        before,
        per_cov,
        ceiling,
        x,
        hp,
        lambda: binding,
        ties=table.tie_rank,
        threat=threat,
        weights=slopes,
        request=left,
    )


def _top_up(
    ctx: RunContext,
    spec: RoundSpec,
    state: AllocationState,
    available: int,
    cap_packs: IntArray,
    pool: Pool,
    product: Product,
    buffer: int,
    flags: IntArray,
    before: FloatArray,
    per_cov: FloatArray,
    left: FloatArray | None,
) -> PoolResult:
    """An exceptional round completing started courses, in proportion to the outstanding
    second doses (ceilings and the ladder do not apply: these people are already counted;
    a request of the pool's product still bounds what a participant receives)."""
    table = ctx.table
    pack = product.pack_doses
    completes = spec.completes or frozenset({product.code})
    remaining = {
        code: ctx.products[code].doses_per_course - 1 for code in completes if code in ctx.products
    }
    need = table.awaiting_second_dose(remaining) - state.topped_up.sum(axis=1)
    flags = flags.copy()
    flags[need <= 0] |= int(Exclusion.NO_STARTED_COURSES)
    eligible = flags == 0
    hp = np.minimum(np.ceil(np.maximum(need, 0.0) / pack - _EPS).astype(np.int64), cap_packs)
    req_packs = request_packs(left, pack)
    if req_packs is not None:
        hp = np.minimum(hp, req_packs)
    hp[~eligible] = 0
    caps = hp.astype(np.float64) * pack
    zeros = np.zeros_like(before)
    fill = water_fill(float(available), np.maximum(need, 0.0), zeros, None, caps)
    x = fill.quantities
    binding = np.zeros(table.population.size, dtype=np.int8)
    binding[eligible] = Binding.WEIGHTED_SHARE
    at_cap = eligible & (x >= caps - 1e-6 * pack)
    binding[at_cap] = Binding.DEMAND_MET
    mark_limits(binding, at_cap, hp, None, req_packs)
    return _finish(
        pool,
        product,
        Mode.TOP_UP,
        None,
        buffer,
        flags,
        before,
        per_cov,
        None,
        x,
        hp,
        lambda: binding,
        ties=table.tie_rank,
        request=left,
    )


def _check_gates(spec: RoundSpec, policy: Policy, gates: Sequence[ExtraGate]) -> None:
    if policy.compliance_gate.enabled and not any(g.name == COMPLIANCE_GATE for g in gates):
        raise DoseflowError(
            "ALLOC_GATE_RESULTS_MISSING",
            f"round {spec.number} uses reporting compliance as a readiness gate, but no "
            "compliance results were given to the run",
            field="policy.compliance_gate",
            expected="the run's gates to include the 'reporting compliance' gate (the store "
            "and `doseflow allocate run` fetch it from the reporting data), or the gate off",
            value=spec.number,
        )


def record_shared(ctx: RunContext, state: AllocationState, pr: PoolResult) -> None:
    """Add what ``pr`` gave each participant to the round's working ``state`` (the state the
    next pool is shared from), top-ups also to the doses that completed courses."""
    col = ctx.column(pr.product.code)
    state.doses[:, col] += pr.doses
    if pr.mode is Mode.TOP_UP:
        state.topped_up[:, col] += pr.doses


def delivery_order(ctx: RunContext, pools: Sequence[Pool]) -> list[Pool]:
    """Pools in the order they are shared: by date available, and pools of one date by
    what they are rather than what they are called (largest first, then the product's
    course, pack, storage, shelf life, licence, then the pool's expiry, origin, donor,
    earmark and members), so renaming a product never changes the order in which the
    pools of a date are shared one after another (phase 2, top-up rounds), split across
    or rounded (pools shared jointly). Only pools that differ in nothing but their
    product's code are taken in code order."""

    def content(pool: Pool) -> tuple[object, ...]:
        product = ctx.products[pool.product]
        return (
            pool.available,
            -pool.doses,
            product.kind.value,
            product.doses_per_course,
            product.pack_doses,
            product.doses_per_vial,
            product.storage_band.value,
            product.shelf_life_days,
            tuple(sorted(product.licence_iso3 or ())),
            tuple(sorted(f.value for f in product.licence_financing or ())),
            pool.expiry or date.max,
            pool.origin.value,
            pool.donor or "",
            tuple(sorted(pool.earmarked or ())),
            pool.members.key if pool.members is not None else (),
            pool.product,
            pool.id,
        )

    return sorted(pools, key=content)


def _same_date_groups(ctx: RunContext, pools: Sequence[Pool], jointly: bool) -> list[list[Pool]]:
    """Pools in delivery order, those available on the same date and counted in the same
    coverage (every vaccine; each other supply on its own) grouped to be shared jointly."""
    if not jointly:
        return [[p] for p in pools]
    groups: dict[tuple[object, str], list[Pool]] = {}
    for pool in pools:
        product = ctx.products[pool.product]
        kind = "vaccine" if product.kind is ProductKind.VACCINE else f"supply:{product.code}"
        groups.setdefault((pool.available, kind), []).append(pool)
    return list(groups.values())


def run_round(
    ctx: RunContext,
    spec: RoundSpec,
    policy: Policy,
    state: AllocationState | None = None,
    carried: Iterable[Pool] = (),
    gates: Sequence[ExtraGate] = (),
) -> RoundResult:
    """One round: every pool of ``spec`` (plus doses ``carried`` from the previous round)
    shared in delivery order, coverage carrying from date to date; in a phase-1 round the
    pools available on the same date are shared jointly (:mod:`doseflow.allocation.joint`).

    ``gates`` are readiness gates decided outside allocation (see
    :mod:`doseflow.allocation.readiness`); a participant failing any is excluded from
    every pool of the round (``FAILED_GATE``), with the gate's reasons in its explanation.
    """
    pol = spec.policy or policy
    phase = spec.phase or pol.phase
    _check_gates(spec, pol, gates)
    failures = gate_failures(ctx.table, gates) if gates else None
    start = state or AllocationState.empty(len(ctx.table), len(ctx.order))
    # one working copy per round, updated in place pool after pool (a pool reads the state
    # only while it is shared; results keep none of it)
    current = AllocationState(start.doses.copy(), start.topped_up.copy(), start.doses)
    results: list[PoolResult] = []
    jointly = spec.kind is not RoundKind.TOP_UP and phase is Phase.SUPPLY_DRIVEN
    from doseflow.allocation.joint_pools import share_jointly

    pools = delivery_order(ctx, build_pools(spec.tranches, carried))
    for group in _same_date_groups(ctx, pools, jointly):
        if len(group) > 1:
            results.extend(share_jointly(ctx, group, pol, spec, current, failures))
            continue
        pr = allocate_pool(ctx, group[0], pol, phase, spec, current, failures)
        results.append(pr)
        record_shared(ctx, current, pr)
    result = RoundResult(
        number=spec.number,
        name=spec.name,
        date=spec.date,
        kind=spec.kind,
        phase=phase,
        policy=pol,
        context=ctx,
        pools=tuple(results),
        state_before=start,
        gate_notes=failures.notes if failures is not None else MappingProxyType({}),
    )
    # the working state is the state after the round: keep it rather than add the pools up
    # again (a cached property, so a result re-made by a decline works it out afresh)
    result.__dict__["state_after"] = current
    return result


def run_rounds(
    scenario: Scenario,
    declines: Sequence[Decline] | None = None,
    *,
    context: RunContext | None = None,
    gates: RoundGates | None = None,
) -> AllocationRun:
    """Every round of ``scenario`` in order, each decline applied (and its doses
    redistributed) in its round before coverage carries to the next.

    ``gates`` maps a round number to the extra readiness gates of that round (e.g. the
    reporting compliance gate as of the round's date)."""
    from doseflow.allocation.redistribution import apply_decline

    ctx = context or make_context(scenario.participants, scenario.products.values())
    chosen = tuple(scenario.declines if declines is None else declines)
    known = {r.number for r in scenario.rounds}
    for d in chosen:
        if d.round not in known:
            scenario.round(d.round)  # raises ALLOC_UNKNOWN_ROUND
    state: AllocationState | None = None
    carried: tuple[Pool, ...] = ()
    results: list[RoundResult] = []
    for spec in sorted(scenario.rounds, key=lambda r: r.number):
        round_gates = tuple(gates.get(spec.number, ())) if gates else ()
        result = run_round(ctx, spec, scenario.policy, state, carried, round_gates)
        for d in chosen:
            if d.round == spec.number:
                result = apply_decline(result, d)
        results.append(result)
        state = result.state_after
        carried = result.carry_out()
    return AllocationRun(scenario.name, tuple(results))
