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
exact water-fill level per set ``B`` (progressive filling with an exact Hall-type check:
``2^k`` sets for ``k`` pools, which is small for pools on one date). The participants of a
tight set cannot rise further: they are frozen at that level (``B`` names the pools that
bound them) and the rest rise on. The per-participant totals are unique; how a participant's
courses split across its pools is not, and is chosen by one transportation LP (HiGHS) whose
variables are in a canonical order and which prefers pools in the order given (the caller
passes them sorted by product code and pool id), so the split does not depend on input
order either.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    n, k = edge_caps.shape
    supply = np.maximum(supply.astype(np.float64), 0.0)
    edge_caps = np.maximum(edge_caps, 0.0)
    caps = np.minimum(np.maximum(ceilings, 0.0), edge_caps.sum(axis=1))
    caps[slopes <= 0] = 0.0
    if k > max_subset_pools:
        return _by_lp(supply, slopes, starts, caps, edge_caps, order)
    masks = np.arange(1, 1 << k, dtype=np.int64)
    inside = ((masks[:, None] >> np.arange(k)[None, :]) & 1).astype(bool)  # [m, k]
    outside_caps = edge_caps @ (~inside).T.astype(np.float64)  # [n, m]: U_i(B)
    s_of = inside.astype(np.float64) @ supply  # [m]
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
        if not rising.any():
            break
        levels = np.empty(masks.size)
        for b in range(masks.size):
            u = outside_caps[:, b]
            const = float(np.maximum(fixed[frozen] - u[frozen], 0.0).sum())
            room = s_of[b] - const
            cap_b = np.where(rising, np.maximum(caps - u, 0.0), 0.0)
            if room >= float(cap_b.sum()) * (1 - _REL):
                levels[b] = np.inf
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
    courses = _split(totals, supply, edge_caps, order)
    return JointFill(courses, courses.sum(axis=1), level, bound_by, pool_level)


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
    """A flow giving each participant its total: one LP, variables in canonical order,
    cheapest on the most restricted pools, so the result is reproducible."""
    n, k = edge_caps.shape
    out = np.zeros((n, k))
    who = np.flatnonzero(totals > 0) if order is None else order[totals[order] > 0]
    if who.size == 0:
        return out
    single = (edge_caps[who] > 0).sum(axis=1) == 1
    if bool(single.all()):
        for i in who:
            out[i, int(np.argmax(edge_caps[i] > 0))] = totals[i]
        return out
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
    # never above a pool or an edge because of the slack above
    out = np.minimum(out, edge_caps)
    over = out.sum(axis=0)
    scale = np.where(over > supply, supply / np.where(over > 0, over, 1.0), 1.0)
    return np.asarray(out * scale[None, :], dtype=np.float64)
