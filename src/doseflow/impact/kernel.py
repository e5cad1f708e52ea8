"""The model's equations and their RK4 integration, compiled by numba: one scenario at a time.

This is the only place the integrator's right-hand side is written (the SciPy check in
:mod:`doseflow.impact.reference` writes the same equations again, independently, in NumPy).
Band ``a``, stratum ``k`` (0 unvaccinated and willing, 1 refusing, then one responder and, when
all-or-nothing efficacy is used, one non-responder stratum per product)::

    force_a   = u_a * beta * sum_b C_ab * I_b / N_b          (I_b: infectious, all strata)
    dS_ak/dt  = -sigma_k * force_a * S_ak  -/+ vaccination
    dE_ak/dt  =  sigma_k * force_a * S_ak - E_ak / latent
    dI_ak/dt  =  E_ak / latent - I_ak / infectious
    dR_ak/dt  = (1 - ifr_a * phi_k) * I_ak / infectious  -/+ vaccination
    dD_a/dt   =  sum_k ifr_a * phi_k * I_ak / infectious
    dV_a/dt   =  vaccination out of S_a0 and R_a0

Why a compiled kernel: a scenario's state is (4 K + 2) x A numbers (about 1.8 KB for 16 bands),
so all four RK4 stages of a step fit in the first-level cache. Written as NumPy array operations
over a batch, every one of the ~15 operations of a right-hand side streams the whole batch
through memory; here each scenario is advanced through its whole horizon while its state stays
in cache, and nothing is allocated inside the loop.

How the loops are written, and why (measured: 1.5x faster than a plain transcription):

* ``fastmath=False``: IEEE arithmetic in a fixed order, so a scenario's result is bit-for-bit
  the same whatever batch it is in and however the batch is cut into threads (tested). No
  reduction is therefore vectorised, and numba leaves LLVM's SLP vectoriser off, so only
  *loops* are vectorised: every long loop runs over bands or a whole block with no reduction
  inside (sums over bands are sums of rows).
* Inner loops index views (``y[lo:hi]``, a row of a 2-D array) by the loop variable alone.
  numba wraps negative indices; an index such as ``row + a`` may be negative as far as LLVM
  knows, and the wrap-around test turns a vector load into element-by-element gathers.
* ``force`` is a sum of columns of the transmission matrix, eight at a time: the partial sum
  stays in registers for eight columns instead of going through memory after each one. The
  matrix arrives divided by ``N_b`` (:func:`doseflow.impact.model.compile_batch`), so the step
  has no division.
* The infectious total and the death rate, both sums over strata, are taken in one pass; the
  day's record of cumulative infections is also a sum of rows.
* Few arrays per loop: LLVM checks at run time that the arrays a loop writes do not overlap
  those it reads, and gives up vectorising (silently) when there are too many pairs, so
  derivative and RK4 update stay separate loops.

``nogil=True``: the caller runs slices of a batch on several threads (see
:func:`doseflow.impact.model.integrate`); threads rather than numba's ``prange`` keep the kernel
safe to call from any thread (a web server's pool, Dask's worker threads) whatever threading
layer numba finds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

from doseflow.impact.numba_cache import install as _use_user_cache

_use_user_cache()  # the compiled kernel goes to the user's cache, not the package folder

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

F = TypeVar("F", bound=Callable[..., Any])


def _compiled(fn: F) -> F:
    """numba ``njit``: compiled on first use, cached on disk, IEEE arithmetic, GIL released."""
    return cast(F, numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy")(fn))


def _inlined(fn: F) -> F:
    """A helper of the kernel, inlined into it (no call or reference counting per use)."""
    return cast(
        F,
        numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy", inline="always")(
            fn
        ),
    )


@_inlined
def _rhs(
    y: FloatArray,  # (C * A,) state of one scenario, compartment-major
    out: FloatArray,  # (C * A,) derivative, written
    k: int,
    transmission: FloatArray,  # (A, A): [b, a] = beta * u_a * C_ab / N_b
    kappa: float,
    gamma: float,
    sigma: FloatArray,  # (K,)
    death_rate: FloatArray,  # (K * A,): gamma * ifr_a * phi_k
    total: float,  # courses given today (0: no vaccination)
    into: FloatArray,  # (M,): share of today's courses into each vaccinated stratum
    group_start: IntArray,  # (G + 1,): group g is group_bands[group_start[g]:group_start[g+1]]
    group_bands: IntArray,  # (A,): bands in priority order (the first group's first)
    n_groups: int,
    weights: FloatArray,  # (A,): relative rate within a group (max 1 in each group)
    reach_days: float,
    infectious: FloatArray,  # work (A,)
    force: FloatArray,  # work (K * A,)
) -> None:
    """d(state)/dt. Blocks of ``K * A`` (one row of bands per stratum): S, E, I, R; then D and
    V rows of ``A``."""
    n_bands = infectious.shape[0]
    block = k * n_bands
    e0, i0, r0, d, v = block, 2 * block, 3 * block, 4 * block, 4 * block + n_bands
    # infectious people of each band and deaths, both summed over strata, in one pass
    dying = out[d : d + n_bands]
    row = y[i0 : i0 + n_bands]
    for a in range(n_bands):
        infectious[a] = row[a]
        dying[a] = death_rate[a] * row[a]
    for s in range(1, k):
        row = y[i0 + s * n_bands : i0 + (s + 1) * n_bands]
        rate = death_rate[s * n_bands : (s + 1) * n_bands]
        for a in range(n_bands):
            infectious[a] += row[a]
            dying[a] += rate[a] * row[a]
    # force_a = sum_b transmission[b, a] * I_b, eight columns b at a time
    base = force[:n_bands]
    for a in range(n_bands):
        base[a] = 0.0
    b = 0
    while b + 8 <= n_bands:
        t0, t1 = transmission[b], transmission[b + 1]
        t2, t3 = transmission[b + 2], transmission[b + 3]
        t4, t5 = transmission[b + 4], transmission[b + 5]
        t6, t7 = transmission[b + 6], transmission[b + 7]
        p0, p1, p2, p3 = infectious[b], infectious[b + 1], infectious[b + 2], infectious[b + 3]
        p4, p5, p6, p7 = infectious[b + 4], infectious[b + 5], infectious[b + 6], infectious[b + 7]
        for a in range(n_bands):
            base[a] += ((t0[a] * p0 + t1[a] * p1) + (t2[a] * p2 + t3[a] * p3)) + (
                (t4[a] * p4 + t5[a] * p5) + (t6[a] * p6 + t7[a] * p7)
            )
        b += 8
    while b < n_bands:  # the last columns (fewer than 8) one at a time
        t0, p0 = transmission[b], infectious[b]
        for a in range(n_bands):
            base[a] += t0[a] * p0
        b += 1
    for s in range(k - 1, -1, -1):  # force of stratum s: sigma_s * force_a (row 0 last)
        sig = sigma[s]
        row = force[s * n_bands : (s + 1) * n_bands]
        for a in range(n_bands):
            row[a] = sig * base[a]
    for i in range(block):
        infections = force[i] * y[i]
        progression = kappa * y[e0 + i]
        infected = y[i0 + i]
        leaving = gamma * infected
        out[i] = -infections
        out[e0 + i] = infections - progression
        out[i0 + i] = progression - leaving
        out[r0 + i] = leaving - death_rate[i] * infected
    courses = out[v : v + n_bands]
    for a in range(n_bands):
        courses[a] = 0.0
    # Vaccination: doses go to the first group with eligible people (S and R of stratum 0),
    # a group absorbing at most sum(w * eligible) / reach_days a day, the rest spilling over
    # to the next group; groups after the one where the day's courses run out get none.
    remaining = total
    for g in range(n_groups):
        if remaining <= 0.0:
            break
        lo, hi = group_start[g], group_start[g + 1]
        weighted = 0.0
        for i in range(lo, hi):
            a = group_bands[i]
            weighted += weights[a] * (y[a] + y[r0 + a])
        capacity = weighted / reach_days
        given = min(remaining, capacity)
        remaining -= capacity
        if given <= 0.0:
            continue
        scale = given / weighted
        for i in range(lo, hi):
            a = group_bands[i]
            hazard = weights[a] * scale
            from_s = hazard * y[a]
            from_r = hazard * y[r0 + a]
            out[a] -= from_s
            out[r0 + a] -= from_r
            for m in range(into.shape[0]):
                row = (2 + m) * n_bands + a
                out[row] += into[m] * from_s
                out[r0 + row] += into[m] * from_r
            out[v + a] = from_s + from_r


@_inlined
def _record(
    y: FloatArray,
    k: int,
    seeds: FloatArray,
    infections: FloatArray,  # (A_rec,) row of the recorder for this day
    deaths: FloatArray,
    vaccinated: FloatArray,
    infected: FloatArray,  # work (A,)
) -> None:
    """Cumulative infections (excluding the seed), deaths and courses, by band or in total."""
    n_bands = seeds.shape[0]
    d = 4 * k * n_bands
    dead = y[d : d + n_bands]
    courses = y[d + n_bands : d + 2 * n_bands]
    for a in range(n_bands):
        infected[a] = 0.0
    for c in range(k, 4 * k):  # everyone in E, I or R, of every stratum
        row = y[c * n_bands : (c + 1) * n_bands]
        for a in range(n_bands):
            infected[a] += row[a]
    for a in range(n_bands):
        infected[a] += dead[a] - seeds[a]
    if infections.shape[0] == n_bands:
        for a in range(n_bands):
            infections[a] = infected[a]
            deaths[a] = dead[a]
            vaccinated[a] = courses[a]
    else:
        all_infected = all_dead = all_courses = 0.0
        for a in range(n_bands):
            all_infected += infected[a]
            all_dead += dead[a]
            all_courses += courses[a]
        infections[0] = all_infected
        deaths[0] = all_dead
        vaccinated[0] = all_courses


@_compiled
def integrate_range(
    first: int,
    stop: int,
    steps_per_day: int,
    k: int,
    responders_per_product: int,
    reach_days: float,
    transmission: FloatArray,  # (S, A, A): [j, b, a] = beta * u_a * C_ab / N_b
    kappa: FloatArray,  # (S,)
    gamma: FloatArray,  # (S,)
    sigma: FloatArray,  # (S, K)
    death_rate: FloatArray,  # (S, K * A)
    courses: FloatArray,  # (S, P, H)
    split: FloatArray,  # (S, P * R)
    group_start: IntArray,  # (S, G + 1)
    group_bands: IntArray,  # (S, A)
    n_groups: IntArray,  # (S,)
    weights: FloatArray,  # (S, A)
    seeds: FloatArray,  # (S, A)
    state: FloatArray,  # (S, C * A): initial state in, final state out
    infections: FloatArray,  # (S, H + 1, A or 1): cumulative by day
    deaths: FloatArray,
    vaccinated: FloatArray,
) -> None:
    """Advance scenarios ``first`` to ``stop - 1`` over the horizon with classical RK4 at a
    fixed step of ``1 / steps_per_day`` days (vaccination rates are constant within a day)."""
    n_bands = seeds.shape[1]
    size = state.shape[1]
    n_products = courses.shape[1]
    horizon = courses.shape[2]
    n_into = split.shape[1]
    h = 1.0 / steps_per_day
    half, sixth = 0.5 * h, h / 6.0
    stage, acc, tmp = np.empty(size), np.empty(size), np.empty(size)
    work, force = np.empty(n_bands), np.empty(k * n_bands)
    into = np.zeros(n_into)
    for j in range(first, stop):
        y = state[j]
        trans, sig, rate = transmission[j], sigma[j], death_rate[j]
        kap, gam, w, starts, bands = kappa[j], gamma[j], weights[j], group_start[j], group_bands[j]
        groups = n_groups[j]
        _record(y, k, seeds[j], infections[j, 0], deaths[j, 0], vaccinated[j, 0], work)
        for day in range(horizon):
            total = 0.0
            for p in range(n_products):
                total += courses[j, p, day]
            if total > 0.0:
                for m in range(n_into):
                    into[m] = courses[j, m // responders_per_product, day] / total * split[j, m]
            for _ in range(steps_per_day):
                for rk in range(4):  # the four RK4 stages, one call site (compiled once)
                    _rhs(y if rk == 0 else tmp, stage, k, trans, kap, gam, sig, rate, total,
                         into, starts, bands, groups, w, reach_days, work, force)  # fmt: skip
                    if rk == 0:  # acc = k1, tmp = y + h/2 k1
                        for i in range(size):
                            acc[i] = stage[i]
                            tmp[i] = y[i] + half * stage[i]
                    elif rk < 3:  # acc += 2 k2 (k3), tmp = y + h/2 k2 (h k3)
                        step = half if rk == 1 else h
                        for i in range(size):
                            acc[i] += 2.0 * stage[i]
                            tmp[i] = y[i] + step * stage[i]
                    else:  # y += h/6 (k1 + 2 k2 + 2 k3 + k4)
                        for i in range(size):
                            y[i] += sixth * (acc[i] + stage[i])
            row = day + 1
            _record(y, k, seeds[j], infections[j, row], deaths[j, row], vaccinated[j, row], work)
