"""Declines: a participant gives back all or part of a product in one round, and the doses
are shared again at once, under the same rules, so none sit idle.

The decliner is left out of that pool's redistribution only: it stays in for later rounds
and other products. The decliner may name recipients, or ask that the doses go to the most
severely affected (weighted by threat and vulnerability). Whatever nobody can take (every
candidate at its ceiling or ineligible) is held in the pool and carried to the next round:
a declined dose is never lost.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from doseflow.allocation.engine import request_left, request_packs
from doseflow.allocation.explanation import Mode
from doseflow.allocation.policy import CeilingRounding
from doseflow.allocation.results import (
    AllocationState,
    DeclineRecord,
    PoolResult,
    RoundResult,
    coverage_share,
    per_person,
)
from doseflow.allocation.rounding import ceiling_packs, round_to_packs
from doseflow.allocation.scenario import Decline, Redirect
from doseflow.allocation.threat import threat_scores
from doseflow.allocation.waterfill import water_fill
from doseflow.domain.errors import DoseflowError

_EPS = 1e-9


def _check(result: RoundResult, decline: Decline) -> tuple[int, list[int]]:
    table = result.context.table
    i = table.position(decline.iso3)
    if i is None:
        raise DoseflowError(
            "ALLOC_UNKNOWN_PARTICIPANT",
            f"{decline.iso3} is not a participant of this scenario",
            field="iso3",
            expected="the ISO3 code of a participant",
            value=decline.iso3,
        )
    for code in decline.recipients:
        if table.position(code) is None:
            raise DoseflowError(
                "ALLOC_UNKNOWN_PARTICIPANT",
                f"decline names recipient {code}, which is not a participant",
                field="recipients",
                expected="ISO3 codes of participants",
                value=code,
            )
    chosen = [
        k
        for k, pr in enumerate(result.pools)
        if pr.product.code == decline.product
        and (decline.pool is None or pr.pool.id == decline.pool)
    ]
    if not chosen:
        raise DoseflowError(
            "ALLOC_UNKNOWN_PRODUCT",
            f"round {result.number} has no pool of {decline.product}"
            + (f" with id {decline.pool}" if decline.pool else ""),
            field="product",
            expected="a product (and pool) shared in that round: "
            + ", ".join(pr.pool.id for pr in result.pools),
            value=decline.product if decline.pool is None else decline.pool,
        )
    held = sum(int(result.pools[k].doses[i]) for k in chosen)
    if decline.doses is not None:
        if decline.doses < 0:
            raise DoseflowError(
                "ALLOC_NEGATIVE_QUANTITY",
                "a declined quantity cannot be negative",
                field="doses",
                expected="a whole number of doses >= 0, or nothing to decline all",
                value=decline.doses,
            )
        if decline.doses > held:
            raise DoseflowError(
                "ALLOC_DECLINE_EXCEEDS_ALLOCATION",
                f"{decline.iso3} was allocated {held:,} doses of {decline.product} in round "
                f"{result.number}; it cannot decline {decline.doses:,}",
                field="doses",
                expected=f"at most {held:,} doses",
                value=decline.doses,
            )
        pack = result.pools[chosen[0]].product.pack_doses
        if decline.doses % pack:
            raise DoseflowError(
                "ALLOC_DECLINE_NOT_WHOLE_PACKS",
                f"{decline.product} is shipped in packs of {pack:,} doses; a decline must be "
                "whole packs",
                field="doses",
                expected=f"a multiple of {pack:,} doses",
                value=decline.doses,
            )
    return i, chosen


def _redistribute(
    result: RoundResult,
    pr: PoolResult,
    taken: int,
    decline: Decline,
    i: int,
    state: AllocationState,
) -> tuple[list[tuple[int, int]], int, float | None]:
    ctx = result.context
    table = ctx.table
    policy = result.policy
    product = pr.product
    pack = product.pack_doses
    eligible = pr.exclusions == 0
    eligible[i] = False
    for rec in pr.declines:
        j = table.position(rec.decline.iso3)
        if j is not None:
            eligible[j] = False
    if decline.redirect is Redirect.NAMED:
        eligible &= np.isin(table.iso3, np.array(sorted(decline.recipients), dtype=object))
    before = coverage_share(ctx, state, product, policy)
    per_cov = pr.doses_per_coverage
    default_ceiling = np.minimum(table.ceiling, policy.top_rung)
    ceiling = pr.ceiling if pr.ceiling is not None else default_ceiling
    # phase-1 pools round the room under a ceiling as the policy says; others round down
    rounding = (
        policy.ceiling_rounding
        if pr.mode in (Mode.EQUAL_COVERAGE, Mode.FLOOR_SHORTFALL, Mode.THREAT_WEIGHTED)
        else CeilingRounding.DOWN
    )
    hp = ceiling_packs((ceiling - before) * per_cov, pack, rounding)
    cap = np.inf
    if product.code in policy.caps:
        cap = float(policy.caps[product.code])
    if policy.cap_share_of_pool is not None:
        cap = min(cap, policy.cap_share_of_pool * (pr.pool.doses - pr.buffer))
    if np.isfinite(cap):
        hp = np.minimum(hp, np.maximum(int(cap // pack) - pr.doses // pack, 0))
    # a recipient's request for the round still binds (what the round already gave it,
    # from every pool of the product, counts against it)
    req_packs = request_packs(request_left(ctx, state, product, per_person(product, policy)), pack)
    if req_packs is not None:
        hp = np.minimum(hp, req_packs)
    hp[~eligible] = 0
    caps = hp.astype(np.float64) * pack
    zeros = np.zeros_like(before)
    if decline.redirect is Redirect.MOST_AFFECTED:
        weights = policy.threat.base + threat_scores(table, policy.threat, eligible)
        fill = water_fill(float(taken), weights * per_cov, zeros, None, caps)
    else:
        fill = water_fill(float(taken), per_cov, before, None, caps)
    budget = min(int(np.floor(fill.quantities.sum() / pack + _EPS)), taken // pack)
    rounded = round_to_packs(fill.quantities, pack, hp, budget, table.tie_rank)
    given = [(int(j), int(rounded.doses[j])) for j in np.flatnonzero(rounded.doses)]
    level = fill.level if np.isfinite(fill.level) else None
    return given, taken - int(rounded.doses.sum()), level


def apply_decline(result: RoundResult, decline: Decline) -> RoundResult:
    """``result`` with ``decline`` applied and the declined doses shared again at once.

    Raises ``ALLOC_UNKNOWN_PARTICIPANT``, ``ALLOC_UNKNOWN_PRODUCT``,
    ``ALLOC_DECLINE_EXCEEDS_ALLOCATION`` or ``ALLOC_DECLINE_NOT_WHOLE_PACKS``.
    """
    i, chosen = _check(result, decline)
    pools = list(result.pools)
    remaining = None if decline.doses is None else decline.doses
    state = result.state_after
    for k in chosen:
        pr = pools[k]
        own = int(pr.doses[i])
        take = own if remaining is None else min(remaining, own)
        doses = pr.doses.copy()
        doses[i] -= take
        col = result.context.column(pr.product.code)
        after_take = state.doses.copy()
        after_take[i, col] -= take
        taken_state = AllocationState(after_take, state.topped_up, result.state_before.doses)
        given: list[tuple[int, int]] = []
        held = take
        level: float | None = None
        if take > 0:
            given, held, level = _redistribute(result, pr, take, decline, i, taken_state)
            for j, q in given:
                doses[j] += q
                after_take[j, col] += q
        record = DeclineRecord(decline, take, tuple(given), held, level)
        pools[k] = replace(pr, doses=doses, declines=(*pr.declines, record))
        state = AllocationState(after_take, state.topped_up)
        if remaining is not None:
            remaining -= take
    return replace(result, pools=tuple(pools))


__all__ = ["Mode", "apply_decline"]
