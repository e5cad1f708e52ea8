"""The model's equations and their RK4 integration, compiled by numba: one scenario at a time.

This is the only place the integrator's right-hand side is written (the SciPy check in
:mod:`doseflow.impact.reference` writes the same equations again, independently, in NumPy).
Band ``a``, stratum ``k`` (0 unvaccinated and willing, 1 refusing or vaccinated after
infection, then one responder and, when all-or-nothing efficacy is used, one non-responder
stratum per product, then one waned stratum per product when a product wanes)::

    force_a   = u_a * beta * sum_b C_ab * sum_k rho_bk I_bk / N_b     (N_b: initial or living)
    dS_ak/dt  = -sigma_ak * force_a * S_ak                 - vaccination - waning
    dE_ak/dt  =  sigma_ak * force_a * S_ak - E_ak / latent - vaccination - waning
    dI_ak/dt  =  E_ak / latent - I_ak / infectious                      - waning
    dR_ak/dt  = (1 - ifr_a * phi_ak) * I_ak / infectious   - vaccination - waning
    dD_a/dt   =  sum_k ifr_a * phi_ak * I_ak / infectious
    dV_a/dt   =  vaccination out of S_a0, E_a0 (by default) and R_a0
    dY_a/dt   =  sum_k clinical_a * psi_ak * sigma_ak * force_a * S_ak  (symptomatic cases)

Vaccinated susceptible people go to the product strata; vaccinated exposed and recovered
people to stratum 1, whose multipliers are all 1 (the dose changes nothing for them) and who
are never vaccinated (again): the refusers' stratum, shared because a stratum of their own
cost a quarter of the kernel's time. Waning
moves everyone of a product's strata (S, E, I and R) into its waned stratum at its rate.

Why a compiled kernel: a scenario's state is (4 K + 3) x A numbers (about 2.4 KB for 16 bands),
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
    sigma: FloatArray,  # (K * A,): susceptibility multiplier of stratum k in band a
    death_rate: FloatArray,  # (K * A,): gamma * ifr_a * phi_ka
    infectiousness: FloatArray,  # (K * A,): rho_ka
    symptomatic: FloatArray,  # (K * A,): clinical_a * psi_ka
    waning: FloatArray,  # (K,): rate out of stratum k (0: none)
    wane_into: IntArray,  # (K,): the stratum it wanes into
    wanes: bool,  # any waning in this scenario
    living: float,  # 1: force divided by the living population instead of the initial one
    population: FloatArray,  # (A,): N_a at day 0
    exposed: float,  # 1: exposed people are vaccinated too (with no effect); 0: deferred
    total: float,  # courses given today (0: no vaccination)
    into: FloatArray,  # (M * A,): share of band a's courses today into vaccinated stratum m
    group_start: IntArray,  # (G + 1,): group g is group_bands[group_start[g]:group_start[g+1]]
    group_bands: IntArray,  # (A,): bands in priority order (the first group's first)
    n_groups: int,
    weights: FloatArray,  # (A,): relative rate within a group (max 1 in each group)
    reach_days: float,
    infectious: FloatArray,  # work (A,)
    force: FloatArray,  # work (K * A,)
) -> None:
    """d(state)/dt. Blocks of ``K * A`` (one row of bands per stratum): S, E, I, R; then D,
    V (courses) and Y (symptomatic cases) rows of ``A``."""
    n_bands = infectious.shape[0]
    block = k * n_bands
    e0, i0, r0, d = block, 2 * block, 3 * block, 4 * block
    v, cases = d + n_bands, d + 2 * n_bands
    # infectious people of each band (weighted by infectiousness) and deaths, both summed
    # over strata, in one pass
    dying = out[d : d + n_bands]
    row = y[i0 : i0 + n_bands]
    rho = infectiousness[:n_bands]
    for a in range(n_bands):
        infectious[a] = rho[a] * row[a]
        dying[a] = death_rate[a] * row[a]
    for s in range(1, k):
        row = y[i0 + s * n_bands : i0 + (s + 1) * n_bands]
        rate = death_rate[s * n_bands : (s + 1) * n_bands]
        rho = infectiousness[s * n_bands : (s + 1) * n_bands]
        for a in range(n_bands):
            infectious[a] += rho[a] * row[a]
            dying[a] += rate[a] * row[a]
    # transmission is divided by N_b at day 0: rescaled to the living N_b - D_b when
    # ``living`` is 1 (no branch: a branch here cost 13% of the kernel's time even when not
    # taken; with ``living`` 0 the factor is exactly 1)
    dead = y[d : d + n_bands]
    for a in range(n_bands):
        infectious[a] = infectious[a] * (population[a] / (population[a] - living * dead[a]))
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
    for s in range(k - 1, -1, -1):  # force on stratum s: sigma_sa * force_a (row 0 last)
        sig = sigma[s * n_bands : (s + 1) * n_bands]
        row = force[s * n_bands : (s + 1) * n_bands]
        for a in range(n_bands):
            row[a] = sig[a] * base[a]
    for i in range(block):
        infections = force[i] * y[i]
        progression = kappa * y[e0 + i]
        infected = y[i0 + i]
        leaving = gamma * infected
        out[i] = -infections
        out[e0 + i] = infections - progression
        out[i0 + i] = progression - leaving
        out[r0 + i] = leaving - death_rate[i] * infected
    # symptomatic cases: new infections of each stratum x its probability of symptoms
    new_cases = out[cases : cases + n_bands]
    for a in range(n_bands):
        new_cases[a] = symptomatic[a] * (force[a] * y[a])
    for s in range(1, k):
        rate = symptomatic[s * n_bands : (s + 1) * n_bands]
        row = force[s * n_bands : (s + 1) * n_bands]
        people = y[s * n_bands : (s + 1) * n_bands]
        for a in range(n_bands):
            new_cases[a] += rate[a] * (row[a] * people[a])
    if wanes:  # everyone of a waning stratum, whatever their compartment, at its rate
        for s in range(k):
            rate_out = waning[s]
            if rate_out > 0.0:
                for c in range(4):
                    src = c * block + s * n_bands
                    dst = c * block + wane_into[s] * n_bands
                    here = y[src : src + n_bands]
                    lose = out[src : src + n_bands]
                    gain = out[dst : dst + n_bands]
                    for a in range(n_bands):
                        flow = rate_out * here[a]
                        lose[a] -= flow
                        gain[a] += flow
    courses = out[v : v + n_bands]
    for a in range(n_bands):
        courses[a] = 0.0
    # Vaccination: doses go to the first group with eligible people (S, E when ``exposed``,
    # and R of stratum 0), a group absorbing at most sum(w * eligible) / reach_days a day,
    # the rest spilling over to the next group; groups after the one where the day's courses
    # run out get none. Susceptible people move into the product strata (2, 3, ...); exposed
    # and recovered people into stratum 1, where their infection runs its course unchanged.
    remaining = total
    after_e, after_r = e0 + n_bands, r0 + n_bands
    for g in range(n_groups):
        if remaining <= 0.0:
            break
        lo, hi = group_start[g], group_start[g + 1]
        weighted = 0.0
        for i in range(lo, hi):
            a = group_bands[i]
            weighted += weights[a] * ((y[a] + exposed * y[e0 + a]) + y[r0 + a])
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
            from_e = hazard * (exposed * y[e0 + a])
            from_r = hazard * y[r0 + a]
            out[a] -= from_s
            out[e0 + a] -= from_e
            out[after_e + a] += from_e
            out[r0 + a] -= from_r
            out[after_r + a] += from_r
            for m in range(into.shape[0] // n_bands):
                out[(2 + m) * n_bands + a] += into[m * n_bands + a] * from_s
            out[v + a] = (from_s + from_e) + from_r


@_inlined
def _record(
    y: FloatArray,
    k: int,
    seeds: FloatArray,
    infections: FloatArray,  # (A_rec,) row of the recorder for this day
    deaths: FloatArray,
    vaccinated: FloatArray,
    symptomatic: FloatArray,
    infected: FloatArray,  # work (A,)
) -> None:
    """Cumulative infections (everyone who entered E, excluding the seed), deaths, courses and
    symptomatic cases, by band or in total."""
    n_bands = seeds.shape[0]
    d = 4 * k * n_bands
    dead = y[d : d + n_bands]
    courses = y[d + n_bands : d + 2 * n_bands]
    cases = y[d + 2 * n_bands : d + 3 * n_bands]
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
            symptomatic[a] = cases[a]
    else:
        all_infected = all_dead = all_courses = all_cases = 0.0
        for a in range(n_bands):
            all_infected += infected[a]
            all_dead += dead[a]
            all_courses += courses[a]
            all_cases += cases[a]
        infections[0] = all_infected
        deaths[0] = all_dead
        vaccinated[0] = all_courses
        symptomatic[0] = all_cases


@_compiled
def integrate_range(
    first: int,
    stop: int,
    steps_per_day: int,
    k: int,
    reach_days: float,
    transmission: FloatArray,  # (S, A, A): [j, b, a] = beta * u_a * C_ab / N_b
    kappa: FloatArray,  # (S,)
    gamma: FloatArray,  # (S,)
    sigma: FloatArray,  # (S, K * A)
    death_rate: FloatArray,  # (S, K * A)
    infectiousness: FloatArray,  # (S, K * A)
    symptomatic: FloatArray,  # (S, K * A)
    waning: FloatArray,  # (S, K)
    wane_into: IntArray,  # (S, K)
    living: IntArray,  # (S,): 1 for the living denominator
    population: FloatArray,  # (S, A)
    exposed: FloatArray,  # (S,): 1 when exposed people are vaccinated
    courses: FloatArray,  # (S, P, H)
    split: FloatArray,  # (S, P * R, A)
    group_start: IntArray,  # (S, G + 1)
    group_bands: IntArray,  # (S, A)
    n_groups: IntArray,  # (S,)
    weights: FloatArray,  # (S, A)
    seeds: FloatArray,  # (S, A)
    state: FloatArray,  # (S, C * A): initial state in, final state out
    infections: FloatArray,  # (S, H + 1, A or 1): cumulative by day
    deaths: FloatArray,
    vaccinated: FloatArray,
    cases: FloatArray,
) -> None:
    """Advance scenarios ``first`` to ``stop - 1`` over the horizon with classical RK4 at a
    fixed step of ``1 / steps_per_day`` days (vaccination rates are constant within a day)."""
    n_bands = seeds.shape[1]
    size = state.shape[1]
    n_products = courses.shape[1]
    horizon = courses.shape[2]
    n_into = split.shape[1]
    per_product = n_into // max(n_products, 1)
    h = 1.0 / steps_per_day
    half, sixth = 0.5 * h, h / 6.0
    stage, acc, tmp = np.empty(size), np.empty(size), np.empty(size)
    work, force = np.empty(n_bands), np.empty(k * n_bands)
    into = np.zeros(n_into * n_bands)
    for j in range(first, stop):
        y = state[j]
        trans, sig, rate = transmission[j], sigma[j], death_rate[j]
        rho, symp, wane, wane_to = infectiousness[j], symptomatic[j], waning[j], wane_into[j]
        wanes = False
        for s in range(k):
            if wane[s] > 0.0:
                wanes = True
        lives, pop, ex = float(living[j]), population[j], exposed[j]
        kap, gam, w, starts, bands = kappa[j], gamma[j], weights[j], group_start[j], group_bands[j]
        groups = n_groups[j]
        _record(y, k, seeds[j], infections[j, 0], deaths[j, 0], vaccinated[j, 0], cases[j, 0],
                work)  # fmt: skip
        for day in range(horizon):
            total = 0.0
            for p in range(n_products):
                total += courses[j, p, day]
            if total > 0.0:
                for m in range(n_into):
                    share = courses[j, m // per_product, day] / total
                    for a in range(n_bands):
                        into[m * n_bands + a] = share * split[j, m, a]
            for _ in range(steps_per_day):
                for rk in range(4):  # the four RK4 stages, one call site (compiled once)
                    _rhs(y if rk == 0 else tmp, stage, k, trans, kap, gam, sig, rate, rho, symp,
                         wane, wane_to, wanes, lives, pop, ex, total, into, starts, bands,
                         groups, w, reach_days, work, force)  # fmt: skip
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
            _record(y, k, seeds[j], infections[j, row], deaths[j, row], vaccinated[j, row],
                    cases[j, row], work)  # fmt: skip
