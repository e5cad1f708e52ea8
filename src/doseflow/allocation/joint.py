"""Sharing several pools available on the same date as one problem.

Participants ``i`` rise to one common coverage level ``t``; each draws only along its edges
``(i, p)`` (the pools it is eligible for), at most ``edge_caps[i, p]`` courses per edge, and
the pools' supplies bound the total through each pool. The result is the lexicographic
max-min fair allocation: the coverage vector, sorted ascending, is as large as possible.

Work is in courses (doses / doses per person), the unit every pool of the group shares.
Participant ``i`` asks ``D_i(t) = min(N_i * max(0, t - start_i), cap_i)`` courses at level
``t``. Level ``t`` is feasible iff a flow routes every ``D_i(t)`` (max-flow / min-cut); the
cuts of this bipartite network give, for every set ``B`` of pools,

    sum_i max(0, D_i(t) - U_i(B))  <=  S(B)

where ``U_i(B)`` is what ``i`` may draw from pools outside ``B`` and ``S(B)`` the supply of
``B``. Each left side is a water-fill in ``t`` (:func:`~doseflow.allocation.waterfill.water_fill`
with starts shifted by ``U_i(B) / N_i``), so the largest feasible level is the least of one
exact water-fill level per set ``B`` (progressive filling with an exact Hall-type check).
Of the ``2^k`` sets only those that can be tight are checked (:func:`_candidate_sets`: a
set with a pool that none of its participants still needs is never tight before the set
without that pool; a handful of sets remain on real problems), and each level screens
them all at once before water-filling the few that may bind. The participants of a tight
set cannot rise further: they are frozen at that level (``B`` names the pools that bound
them) and the rest rise on. The per-participant totals are unique; how a participant's
courses split across its pools is not, and is built directly (:func:`_split`: the most
restricted pools first, participants in a canonical order, then augmenting paths through
the pools; a transportation LP only if that ever fails), so the split does not depend on
input order either (the caller passes pools sorted by product code and pool id).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import linprog

from doseflow.allocation.waterfill import water_fill

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_REL = 1e-9
#: Above this many pools on one date, the ``2^k`` set checks give way to linear programmes.
MAX_SUBSET_POOLS = 12


@dataclass(frozen=True)
class JointFill:
    """Courses per participant and pool, and why each participant stopped.

    ``level[i]`` is the common level at which ``i`` was frozen by the pools
    ``bound_by[i]`` (a bit mask over the group's pools; ``level`` +inf and mask 0 for a
    participant that reached its ceiling or caps, or took nothing)."""

    courses: FloatArray  # [n, k]
    totals: FloatArray  # [n]
    level: FloatArray  # [n]
    bound_by: IntArray  # [n] bit masks
    pool_level: FloatArray  # [k]: the level at which the pool ran out (+inf: it did not)


def joint_fill(
    supply: FloatArray,
    slopes: FloatArray,
    starts: FloatArray,
    ceilings: FloatArray,
    edge_caps: FloatArray,
    order: IntArray | None = None,
    max_subset_pools: int = MAX_SUBSET_POOLS,
) -> JointFill:
    """The lexicographic max-min fair sharing of ``supply[k]`` courses.

    ``slopes[i]``: courses one unit of coverage costs ``i`` (its population);
    ``starts[i]``: its coverage before; ``ceilings[i]``: courses it may take at most in
    all; ``edge_caps[i, p]``: courses it may take from pool ``p`` (0: not eligible).
    ``order`` lists participants in a canonical order (e.g. by ISO3) for the split.
    More than ``max_subset_pools`` pools are shared by :func:`_by_lp` instead of the
    ``2^k`` set checks.
    """
    k = edge_caps.shape[1]
    supply = np.maximum(supply.astype(np.float64), 0.0)
    edge_caps = np.maximum(edge_caps, 0.0)
    caps = np.minimum(np.maximum(ceilings, 0.0), edge_caps.sum(axis=1))
    caps[slopes <= 0] = 0.0
    if k > max_subset_pools:
        return _by_lp(supply, slopes, starts, caps, edge_caps, order)
    masks = _candidate_sets(supply, slopes, starts, caps, edge_caps)
    totals, level, bound_by, pool_level = _fill_sets(supply, slopes, starts, caps, edge_caps, masks)
    courses = _split(totals, supply, edge_caps, order)
    return JointFill(courses, courses.sum(axis=1), level, bound_by, pool_level)


def all_sets(k: int) -> IntArray:
    """Every non-empty set of ``k`` pools, as bit masks in increasing order."""
    return np.arange(1, 1 << k, dtype=np.int64)


def _candidate_sets(
    supply: FloatArray,
    slopes: FloatArray,
    starts: FloatArray,
    caps: FloatArray,
    edge_caps: FloatArray,
) -> IntArray:
    """The sets of pools that can ever be tight; the others need no check.

    A participant ``i`` adds to the left side of set ``B`` only while what it may draw
    outside ``B`` is below its cap: ``U_i(B) < cap_i``, i.e. the pools of its
    neighbourhood ``N_i`` left out of ``B`` form a *light* set ``Q`` (their edge caps add up
    to less than ``cap_i``). If a pool ``p`` of ``B`` has no such participant eligible for
    it, dropping ``p`` leaves the left side unchanged for every level and lowers the right
    side by ``S_p > 0``: ``B - {p}`` is tight strictly earlier, so ``B`` never sets a level
    (nor is it tight within the level tolerance, given the margin on ``S_p`` below).
    Repeating the argument, the least level over the kept sets is the least over all.

    Light sets are read from each participant's sorted edge caps: the empty set, the
    single pools below its cap; a participant with a light pair is taken to add to every
    set meeting its neighbourhood (safe: it only keeps more sets). Participants sharing a
    neighbourhood and light pools are checked once (a few kinds on real problems).

    The same argument by amounts prunes the sets left: dropping ``p`` lowers the left side
    by at most ``sum_i R_i(B)`` over ``p``'s participants (``R_i(B) = max(0, cap_i -
    U_i(B))``), so ``B`` goes if ``S_p`` exceeds that (pack rounding leaves many sets
    whose only participants add a few courses)."""
    k = edge_caps.shape[1]
    live = caps > 0
    if not live.any():
        return all_sets(k)[:0]
    bits = np.int64(1) << np.arange(k, dtype=np.int64)
    elig = (edge_caps > 0) & live[:, None]
    nbhd = elig.astype(np.int64) @ bits
    light = (elig & (edge_caps < caps[:, None])).astype(np.int64) @ bits
    if k > 1:  # a light pair: any subset may matter (flag bit k)
        two = np.sort(np.where(elig, edge_caps, np.inf), axis=1)[:, :2]
        light = np.where(two[:, 0] + two[:, 1] < caps, 1 << k, light)
    kinds = np.unique(((nbhd << (k + 1)) | light)[live])
    # a pool this small may tie with the set without it within the level tolerance: keep
    safe = np.where(slopes > 0, slopes, 1.0)
    reach = float(np.max(np.abs(starts), initial=0.0)) + float(np.max(caps / safe, initial=0.0))
    margin = 1e-8 * float(slopes[live].sum()) * max(1.0, reach + 1.0)
    small = int((supply <= margin).astype(np.int64) @ bits)
    masks = _structural_sets(k, tuple(kinds.tolist()), small)
    if masks.size == 0:
        return masks
    # by amounts, on the sets left: dropping p from B lowers the left side by at most
    # what p's participants may still add to B (R_i(B) = cap_i - U_i(B), if positive)
    inside = ((masks[:, None] >> np.arange(k)[None, :]) & 1).astype(bool)  # [m, k]
    outside = edge_caps @ (~inside).T.astype(np.float64)  # [n, m]
    most = np.maximum(caps[:, None] - outside, 0.0)
    most[~live] = 0.0
    adds = elig.T.astype(np.float64) @ most  # [k, m]
    dominated = inside.T & (supply[:, None] > adds + margin)
    return masks[~dominated.any(axis=0)]


@lru_cache(maxsize=64)
def _structural_sets(k: int, kinds: tuple[int, ...], small: int) -> IntArray:
    """The sets kept by the structural rule of :func:`_candidate_sets`, for participants
    of the given kinds (``neighbourhood << (k + 1) | light pools``, light bit ``k``: a
    light pair) and the pools in ``small`` (always kept). Pure; cached, because dates of
    one scenario mostly repeat the same few kinds."""
    masks = all_sets(k)
    bits = np.int64(1) << np.arange(k, dtype=np.int64)
    hoods: list[int] = []
    meets: list[int] = []
    everything: list[int] = []
    for kind in kinds:
        hood, lt = kind >> (k + 1), kind & ((1 << (k + 1)) - 1)
        if lt >> k & 1:
            everything.append(hood)
            continue
        hoods.append(hood)
        meets.append(hood)
        for p in range(k):
            if lt >> p & 1:
                hoods.append(hood)
                meets.append(hood & ~(1 << p))
    # covered[p, B]: some participant eligible for p adds to B (B n N_i = N_i - light)
    covered = ((small & bits) != 0)[:, None] & np.ones(masks.size, dtype=bool)[None, :]
    if hoods:
        pairs = np.unique(np.array([hoods, meets], dtype=np.int64), axis=1)
        for at in range(0, pairs.shape[1], 256):  # in chunks: memory stays small
            h, w = pairs[:, at : at + 256]
            sel = (masks[None, :] & h[:, None]) == w[:, None]  # [pattern, B]
            in_w = (w[:, None] & bits[None, :]) != 0  # [pattern, p]
            covered |= (in_w.T.astype(np.float64) @ sel.astype(np.float64)) > 0
    for hood in everything:
        covered |= ((masks & hood) != 0)[None, :] & ((bits & hood) != 0)[:, None]
    inside = (masks[None, :] & bits[:, None]) != 0  # [p, B]
    out: IntArray = masks[(~inside | covered).all(axis=0)]
    out.flags.writeable = False
    return out


def _fill_sets(
    supply: FloatArray,
    slopes: FloatArray,
    starts: FloatArray,
    caps: FloatArray,
    edge_caps: FloatArray,
    masks: IntArray,
) -> tuple[FloatArray, FloatArray, IntArray, FloatArray]:
    """Progressive filling with the exact check of every set in ``masks``: totals, the
    level each participant was frozen at, the pools that froze it, the pools' levels.

    Each level screens all sets at once (what the frozen participants hold and the most
    the rising ones may add, per set); only sets that might bind are water-filled."""
    n, k = edge_caps.shape
    inside = ((masks[:, None] >> np.arange(k)[None, :]) & 1).astype(bool)  # [m, k]
    # sums per set, pool after pool, so each is added in the same order whichever sets are
    # checked (a matrix product's blocking would depend on how many there are)
    outside_caps = np.zeros((n, masks.size))  # [n, m]: U_i(B)
    s_of = np.zeros(masks.size)  # [m]: S(B)
    for p in range(k):
        outside_caps += np.where(inside[:, p][None, :], 0.0, edge_caps[:, p][:, None])
        s_of += np.where(inside[:, p], supply[p], 0.0)
    cap_left = np.maximum(caps[:, None] - outside_caps, 0.0)  # [n, m]
    frozen = np.zeros(n, dtype=bool)
    fixed = np.zeros(n, dtype=np.float64)
    level = np.full(n, np.inf)
    bound_by = np.zeros(n, dtype=np.int64)
    pool_level = np.full(k, np.inf)
    safe_slopes = np.where(slopes > 0, slopes, 1.0)
    t_prev = -np.inf
    for _ in range(n + 1):
        if np.isfinite(t_prev):  # whoever reached its caps is done (level +inf)
            full = ~frozen & (slopes * (t_prev - starts) >= caps * (1 - _REL))
            frozen |= full
            fixed[full] = caps[full]
        rising = ~frozen & (caps > 0)
        if not rising.any() or masks.size == 0:
            break
        # screen: a set whose room covers all its rising participants may add is not bound
        const_all = np.maximum(fixed[frozen][:, None] - outside_caps[frozen], 0.0).sum(axis=0)
        cap_all = cap_left[rising].sum(axis=0)
        room_all = s_of - const_all
        slack = room_all - cap_all * (1 - _REL)
        maybe = slack <= 1e-9 * (np.abs(s_of) + const_all + cap_all)
        levels = np.full(masks.size, np.inf)
        for b in np.flatnonzero(maybe).tolist():
            u = outside_caps[:, b]
            const = float(np.maximum(fixed[frozen] - u[frozen], 0.0).sum())
            room = s_of[b] - const
            cap_b = np.where(rising, np.maximum(caps - u, 0.0), 0.0)
            if room >= float(cap_b.sum()) * (1 - _REL):
                continue
            fill = water_fill(
                max(room, 0.0), slopes, starts + u / safe_slopes, None, cap_b, checked=True
            )
            levels[b] = fill.level
        t_star = float(levels.min())
        if not np.isfinite(t_star):
            break
        t_star = max(t_star, t_prev)
        demand = np.minimum(np.maximum(slopes * (t_star - starts), 0.0), caps)
        tol_t = _REL * max(1.0, abs(t_star))
        newly = np.zeros(n, dtype=bool)
        for tight in np.flatnonzero(levels <= t_star + tol_t).tolist():
            u = outside_caps[:, tight]
            # i cannot rise when all it could still take lies in the tight set's pools
            blocked = rising & (demand >= u - 1e-6 - _REL * u) & (demand < caps - 1e-9 * caps)
            blocked &= (edge_caps[:, inside[tight]] > 0).any(axis=1)
            newly |= blocked
            bound_by[blocked] |= int(masks[tight])
            hit = inside[tight] & ~np.isfinite(pool_level)
            pool_level[hit] = t_star
        if not newly.any():  # cannot happen in exact arithmetic; never loop for ever
            newly = rising & (demand < caps)
            if not newly.any():
                break
        frozen |= newly
        fixed[newly] = demand[newly]
        level[newly] = t_star
        t_prev = t_star
    totals = np.where(frozen, fixed, caps)
    return totals, level, bound_by, pool_level


def _by_lp(
    supply: FloatArray,
    slopes: FloatArray,
    starts: FloatArray,
    caps: FloatArray,
    edge_caps: FloatArray,
    order: IntArray | None,
) -> JointFill:
    """The same sharing by linear programmes, for many pools: maximise the common level
    ``t`` (HiGHS), fix every participant whose level constraint has a non-zero dual (it
    cannot rise while the others hold ``t``; the duals add up to 1, so at least one is
    fixed per solve), repeat. The pools whose supply constraint has a non-zero dual are
    the ones that stopped them (named for up to 62 pools)."""
    n, k = edge_caps.shape
    rows, cols = np.nonzero(edge_caps > 0)
    m = rows.size
    inc = sparse.csr_matrix((np.ones(m), (rows, np.arange(m))), shape=(n, m))
    pools = sparse.csr_matrix((np.ones(m), (cols, np.arange(m))), shape=(k, m))
    fixed = np.where(caps <= 0, 0.0, np.nan)
    level = np.full(n, np.inf)
    bound_by = np.zeros(n, dtype=np.int64)
    pool_level = np.full(k, np.inf)
    safe = np.where(slopes > 0, slopes, 1.0)
    top = float(np.max(starts + caps / safe, initial=0.0)) + 1.0
    while np.isnan(fixed).any():
        active = np.flatnonzero(np.isnan(fixed))
        done = np.flatnonzero(~np.isnan(fixed))
        need = sparse.hstack(
            [-(sparse.diags(1.0 / safe[active]) @ inc[active]), np.ones((active.size, 1))]
        )
        a_ub = sparse.vstack(
            [
                sparse.hstack([pools, np.zeros((k, 1))]),
                sparse.hstack([inc, np.zeros((n, 1))]),
                sparse.hstack([-inc[done], np.zeros((done.size, 1))]),
                need,
            ],
            format="csr",
        )
        b_ub = np.concatenate((supply, caps, -fixed[done] * (1 - 1e-12), starts[active]))
        c = np.zeros(m + 1)
        c[-1] = -1.0
        bounds = np.column_stack((np.zeros(m + 1), np.append(edge_caps[rows, cols], top)))
        bounds[-1, 0] = float(np.min(starts, initial=0.0)) - 1.0
        res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
        if res.status != 0:  # pragma: no cover - always feasible (t low enough)
            raise RuntimeError(f"joint pools: {res.message}")
        t = float(res.x[-1])
        if t >= top - 1e-9:
            fixed[active] = caps[active]
            break
        duals = np.abs(res.ineqlin.marginals)
        level_duals = duals[-active.size :]
        stuck = active[level_duals > 1e-9 * float(level_duals.max())]
        demand = np.minimum(np.maximum(slopes[stuck] * (t - starts[stuck]), 0.0), caps[stuck])
        fixed[stuck] = demand
        at_cap = demand >= caps[stuck] * (1 - 1e-9)
        level[stuck[~at_cap]] = t
        tight = duals[:k] > 1e-9 * float(max(duals[:k].max(initial=0.0), 1e-300))
        pool_level[tight & ~np.isfinite(pool_level)] = t
        if k <= 62:
            mask = int(sum(1 << p for p in np.flatnonzero(tight).tolist()))
            bound_by[stuck[~at_cap]] |= mask
    courses = _split(fixed, supply, edge_caps, order)
    return JointFill(courses, courses.sum(axis=1), level, bound_by, pool_level)


def _split(
    totals: FloatArray, supply: FloatArray, edge_caps: FloatArray, order: IntArray | None
) -> FloatArray:
    """A flow giving each participant its total, in a canonical order so the result is
    reproducible: participants in ``order``, the most restricted pools (fewest eligible
    participants, then the order given) drawn on first.

    Built directly (:func:`_flow_split`): pools in that order, each to participants in
    canonical order, then augmenting paths through the (few) pools for whoever is short.
    Should that leave anyone short by more than rounding (it cannot in exact arithmetic:
    the totals come from a feasible level), the split is one transportation LP instead
    (:func:`_lp_split`)."""
    n, k = edge_caps.shape
    out = np.zeros((n, k))
    who = np.flatnonzero(totals > 0) if order is None else order[totals[order] > 0]
    if who.size == 0:
        return out
    single = (edge_caps[who] > 0).sum(axis=1) == 1
    if bool(single.all()):
        out[who, np.argmax(edge_caps[who] > 0, axis=1)] = totals[who]
        return out
    pref = np.lexsort((np.arange(k), (edge_caps > 0).sum(axis=0)))  # pools, drawn first first
    flow = _flow_split(totals[who], supply[pref], edge_caps[who][:, pref])
    if flow is None:
        return _lp_split(totals, supply, edge_caps, who)
    out[np.ix_(who, pref)] = flow
    return _within(out, supply, edge_caps, who)


def _flow_split(need: FloatArray, supply: FloatArray, caps: FloatArray) -> FloatArray | None:
    """Courses ``x[i, p]`` with row sums ``need`` (rows and columns already in canonical
    order), within ``caps`` and ``supply``; ``None`` if someone stays short.

    Greedy first (each pool, in order, to participants in order: one pass of cumulative
    sums per pool), then for each participant still short, in order, the shortest
    augmenting path: from its pools with edge room, through participants who may move
    courses from a full pool to another of theirs, to a pool with supply left (a search
    over the pools, at most ``k`` steps)."""
    w, k = caps.shape
    scale = max(float(need.max()), float(supply.max(initial=0.0)), 1.0)
    tol = 1e-12 * scale
    # the totals may sit a hair above what the flow can carry (float noise): allow that
    caps = np.where(caps > 0, caps * (1 + 1e-12) + 1e-9, 0.0)
    left = np.where(supply > 0, supply * (1 + 1e-12) + 1e-9, 0.0)
    rest = need.astype(np.float64)
    x = np.zeros((w, k))
    for p in range(k):
        take = np.minimum(rest, caps[:, p])
        before = take.cumsum() - take
        take = np.minimum(take, np.maximum(left[p] - before, 0.0))
        x[:, p] = take
        rest -= take
        left[p] -= float(take.sum())
    short = np.flatnonzero(rest > tol).tolist()
    budget = 4 * w * k + 16
    while short and budget > 0:
        budget -= 1
        i = short[0]
        path = _augmenting_path(x, caps, left, i, tol)
        if path is None:
            return None
        last, hops = path
        amount = min(float(rest[i]), float(left[last]))
        q = last
        for p, j in hops:
            amount = min(amount, float(x[j, p]), float(caps[j, q] - x[j, q]))
            q = p
        amount = min(amount, float(caps[i, q] - x[i, q]))
        q = last
        for p, j in hops:
            x[j, q] += amount
            x[j, p] -= amount
            q = p
        x[i, q] += amount
        rest[i] -= amount
        left[last] -= amount
        if rest[i] <= tol:
            short.pop(0)
    if short or bool((rest > 1e-9 * np.maximum(need, 1.0)).any()):
        return None
    return x


def _augmenting_path(
    x: FloatArray, caps: FloatArray, left: FloatArray, i: int, tol: float
) -> tuple[int, list[tuple[int, int]]] | None:
    """Breadth-first search over the pools from participant ``i``: the pool with supply
    left that ends the path, and the hops back to ``i``'s pool as (previous pool,
    participant moving its courses from the previous pool to the next)."""
    k = caps.shape[1]
    room = caps - x
    reached = room[i] > tol
    prev = np.full(k, -1)
    via = np.full(k, -1)
    frontier = np.flatnonzero(reached).tolist()
    while frontier:
        for p in frontier:
            if left[p] > tol:
                hops = []
                q = p
                while prev[q] >= 0:
                    hops.append((int(prev[q]), int(via[q])))
                    q = int(prev[q])
                return p, hops
        nxt: list[int] = []
        for p in frontier:
            movers = (x[:, p] > tol)[:, None] & (room > tol) & ~reached[None, :]
            for q in np.flatnonzero(movers.any(axis=0)).tolist():
                reached[q] = True
                prev[q] = p
                via[q] = int(np.argmax(movers[:, q]))
                nxt.append(q)
        frontier = nxt
    return None


def _within(
    out: FloatArray, supply: FloatArray, edge_caps: FloatArray, who: IntArray
) -> FloatArray:
    """Never above a pool or an edge because of the slack allowed for float noise (pools
    summed over ``who``, the canonical order, so the rounding does not follow the input's)."""
    out = np.minimum(out, edge_caps)
    over = out[who].sum(axis=0)
    scale = np.where(over > supply, supply / np.where(over > 0, over, 1.0), 1.0)
    return np.asarray(out * scale[None, :], dtype=np.float64)


def _lp_split(
    totals: FloatArray, supply: FloatArray, edge_caps: FloatArray, who: IntArray
) -> FloatArray:
    """The split as one transportation LP (HiGHS): variables in canonical order, cheapest
    on the most restricted pools."""
    n, k = edge_caps.shape
    out = np.zeros((n, k))
    caps = edge_caps[who]
    rows, cols = np.nonzero(caps > 0)
    # restricted pools first (fewest eligible participants), then the order given
    rank = np.lexsort((np.arange(k), (edge_caps > 0).sum(axis=0))).argsort()
    m = rows.size
    a_eq = sparse.csr_matrix((np.ones(m), (rows, np.arange(m))), shape=(who.size, m))
    a_ub = sparse.csr_matrix((np.ones(m), (cols, np.arange(m))), shape=(k, m))
    # a total may sit a hair above what the flow can carry (float noise): allow that slack
    res = linprog(
        c=rank[cols].astype(np.float64) + 1.0,
        A_ub=a_ub,
        b_ub=supply * (1 + 1e-12) + 1e-9,
        A_eq=a_eq,
        b_eq=totals[who],
        bounds=np.column_stack((np.zeros(m), caps[rows, cols] * (1 + 1e-12) + 1e-9)),
        method="highs",
    )
    if res.status != 0:  # pragma: no cover - the totals come from a feasible level
        raise RuntimeError(f"joint pools: no flow for the levels found ({res.message})")
    out[who[rows], cols] = np.maximum(res.x, 0.0)
    return _within(out, supply, edge_caps, who)
