"""The impact benchmark's strongest fair baseline: the kernel's equations as a batched NumPy RK4.

The compiled kernel (:mod:`doseflow.impact.kernel`) advances one scenario at a time through its
whole horizon. The natural NumPy alternative advances *all* scenarios together, one array
operation per term of the right-hand side. This module is that alternative written for speed,
so the benchmark's ratio measures the kernel's design rather than a careless baseline:

* the same compiled inputs as the kernel (:func:`doseflow.impact.model.compile_batch`: the
  transmission matrix already divided by ``N_b``, efficacies per stratum and band as
  susceptibility, death rate, infectiousness and symptoms multipliers, waning rates, daily
  courses, priority groups, the day-0 state),
  the same fixed step (``1 / steps_per_day`` days) and the same daily vaccination input;
* the scenario axis last: state ``(compartments, bands, scenarios)``, so every operation runs
  one long contiguous loop over the scenarios and per-scenario rates broadcast along it.
  Measured on the project machine: 1.6x less CPU time than the same code on
  ``(scenarios, compartments, bands)`` arrays, where a ufunc's inner loop is one scenario's
  16 bands (a batched ``matmul`` there made the contact sum slightly cheaper, which did not
  make up for it);
* every buffer allocated once, every operation in place (``out=``), no temporaries in the loop;
* the contact sum and the priority groups' sums as ``einsum`` over the scenario axis; a band's
  vaccination hazard gathered from its group's scale with one ``take``; sums over strata as
  row additions;
* optionally several threads, each advancing a contiguous slice of the batch (NumPy releases
  the GIL inside its loops), as the kernel's caller does; or several processes
  (:func:`integrate_numpy_processes`), which the GIL does not hold back.

It reproduces the kernel's results: the benchmark and ``tests/impact/test_numpy_rk4_baseline.py``
check cumulative infections, deaths, courses and symptomatic cases of every scenario, day by
day, within :data:`RELATIVE_TOLERANCE` (the two differ only in the order of floating-point
additions).

Equations (band ``a``, stratum ``k``; the kernel's docstring has them too)::

    force_a   = sum_b T_ba * sum_k rho_bk I_bk  (T: transmission / N_b; x N_b / (N_b - D_b)
                                                  for the living denominator)
    dS_ak/dt  = -sigma_ak * force_a * S_ak                      - vaccination - waning
    dE_ak/dt  =  sigma_ak * force_a * S_ak - kappa E_ak         -/+ vaccination - waning
    dI_ak/dt  =  kappa E_ak - gamma I_ak                                        - waning
    dR_ak/dt  =  gamma I_ak - death_rate_ak I_ak                -/+ vaccination - waning
    dD_a/dt   =  sum_k death_rate_ak I_ak
    dV_a/dt   =  vaccination out of S_a0, E_a0 (unless deferred) and R_a0
    dY_a/dt   =  sum_k symptomatic_ak * sigma_ak * force_a * S_ak

Vaccinated susceptible people go to the product strata, vaccinated exposed and recovered
people to stratum 1; waning moves everyone of a waning stratum (S, E, I and R) into its waned
stratum. Each term is one block of :meth:`_Slice.rhs` (transmission; symptomatic cases;
progression and deaths; waning; vaccination in :meth:`_Slice.vaccinate`), and every input is
laid out in :meth:`_Slice.__init__`, so a term added to the kernel is an input and a block
added here. Terms no scenario of a slice uses are skipped only where skipping changes no bit
(the living denominator's factor is exactly 1 otherwise; a zero waning flow adds zero).
"""

from __future__ import annotations

import itertools
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from doseflow.impact.model import DEFAULT_STEPS_PER_DAY, FIRST_PRODUCT_STRATUM, Batch
from doseflow.impact.strategy import REACH_DAYS

FloatArray = npt.NDArray[np.float64]
#: Cumulative infections, deaths, courses and symptomatic cases, each (H + 1, S).
Recorders = tuple[FloatArray, FloatArray, FloatArray, FloatArray]

#: Largest relative difference allowed between this baseline and the kernel (cumulative
#: infections and deaths of each scenario on each day). Same equations, same step, same inputs:
#: only the order of additions differs (the kernel sums contacts eight columns at a time).
RELATIVE_TOLERANCE = 1e-12


@dataclass(frozen=True)
class NumpyResult:
    """Cumulative totals per scenario by day (0..horizon), as ``simulate(by_age=False)``."""

    daily_infections: FloatArray  # (S, H + 1), excluding the seed
    daily_deaths: FloatArray  # (S, H + 1)
    daily_vaccinated: FloatArray  # (S, H + 1)
    daily_symptomatic: FloatArray  # (S, H + 1)
    final_state: FloatArray  # (S, C, A)


def group_membership(batch: Batch) -> FloatArray:
    """(S, G, A): ``weights[j, a]`` where band ``a`` is in priority group ``g`` of scenario
    ``j``, else 0. The kernel walks each group's bands; here a group's sum is one ``einsum``
    over all scenarios."""
    n, n_bands = batch.weights.shape
    most = max(int(batch.n_groups.max()) if n else 0, 1)
    starts = batch.group_start[:, : most + 1]  # (S, G + 1)
    position = np.arange(n_bands)
    # group of each position of group_bands: the last group starting at or before it
    group = (starts[:, None, :] <= position[None, :, None]).sum(axis=2) - 1  # (S, A)
    inside = (group < batch.n_groups[:, None]) & (position[None, :] < starts[:, -1:])
    rows, cols = np.nonzero(inside)
    bands = batch.group_bands[rows, cols]
    member = np.zeros((n, most, n_bands))
    member[rows, group[rows, cols], bands] = batch.weights[rows, bands]
    return member


def _sum_rows(blocks: FloatArray, out: FloatArray) -> None:
    """``out = blocks[0] + blocks[1] + ...``, in the kernel's order."""
    np.add(blocks[0], blocks[1], out=out)
    for c in range(2, blocks.shape[0]):
        out += blocks[c]


class _Slice:
    """Scenarios ``lo:hi`` of a batch, scenario axis last: their state and inputs, and every
    buffer one RK4 step needs, allocated once."""

    def __init__(self, batch: Batch, member: FloatArray, state: FloatArray, lo: int, hi: int):
        n, k, n_bands = hi - lo, batch.n_strata, batch.population.shape[1]
        self.k = k
        self.y = np.ascontiguousarray(state[lo:hi].transpose(1, 2, 0))  # (C, A, n)
        # transmission[b, a, j] = beta_j u_a C_ab / N_b
        self.transmission = np.ascontiguousarray(batch.transmission[lo:hi].transpose(1, 2, 0))
        self.kappa = np.ascontiguousarray(batch.kappa[lo:hi])  # (n,)
        self.gamma = np.ascontiguousarray(batch.gamma[lo:hi])
        # per stratum and band (K, A, n): susceptibility, death rate, infectiousness,
        # symptoms per infection
        self.sigma, self.death_rate, self.rho, self.symptomatic = (
            np.ascontiguousarray(getattr(batch, name)[lo:hi].transpose(1, 2, 0))
            for name in ("sigma", "death_rate", "infectiousness", "symptomatic")
        )
        # infectiousness: skipped when it is 1 for every stratum, band and scenario of the
        # slice (no transmission efficacy; x * 1 is x, so no bit changes)
        self.weigh_infectious = not (self.rho == 1.0).all()
        # the living denominator: only when a scenario of the slice uses it (with ``living``
        # 0 the kernel's factor is exactly 1, so skipping it changes no bit)
        living = batch.living[lo:hi].astype(np.float64)
        self.living = living if living.any() else None  # (n,)
        self.population = np.ascontiguousarray(batch.population[lo:hi].T)  # (A, n)
        # exposed people vaccinated (1) or deferred (0); all-1 needs no multiplication
        exposed = np.ascontiguousarray(batch.exposed[lo:hi])
        self.exposed = None if (exposed == 1.0).all() else exposed  # (n,)
        # waning: for each waning stratum s, each stratum it wanes into, the rates (1, n) of
        # the scenarios where s wanes into it (0 elsewhere: a zero flow changes no bit)
        waning, wane_into = batch.waning[lo:hi], batch.wane_into[lo:hi]
        self.waning: list[tuple[int, int, FloatArray]] = []
        for s in range(k):
            wanes = waning[:, s] > 0.0
            for dst in np.unique(wane_into[wanes, s]):
                rate = np.where(wanes & (wane_into[:, s] == dst), waning[:, s], 0.0)
                self.waning.append((s, int(dst), np.ascontiguousarray(rate[None, None, :])))
        part = member[lo:hi]  # (n, G, A)
        n_groups = part.shape[1]
        self.member = np.ascontiguousarray(part.transpose(1, 2, 0))  # (G, A, n)
        # each band's group as a flat index into (G + 1, n) scales (row G: no group, 0): a
        # band's hazard is its weight times its group's scale, as in the kernel
        group_of = np.full((n, n_bands), n_groups, dtype=np.int64)
        for g in range(n_groups):
            group_of[part[:, g] > 0.0] = g
        self.group_index = (group_of * n + np.arange(n)[:, None]).T.ravel()  # (A * n,)
        self.weights = np.ascontiguousarray(batch.weights[lo:hi].T)  # (A, n)
        self.seeds = np.ascontiguousarray(batch.seeds[lo:hi].T)
        # daily vaccination input, as the kernel forms it: total courses and each vaccinated
        # stratum's share of them (product m // R, split m)
        courses = batch.courses[lo:hi]  # (n, P, H)
        total = courses.sum(axis=1)  # (n, H)
        product = np.arange(batch.split.shape[1]) // batch.responders_per_product
        share = np.divide(
            courses[:, product, :],
            total[:, None, :],
            out=np.zeros((n, product.size, courses.shape[2])),
            where=total[:, None, :] > 0.0,
        )
        self.total = np.ascontiguousarray(total.T)  # (H, n)
        self.share = np.ascontiguousarray(share.transpose(2, 1, 0))  # (H, M, n)
        self.split = np.ascontiguousarray(batch.split[lo:hi].transpose(1, 2, 0))  # (M, A, n)
        self.into = np.zeros(self.split.shape)  # today's share x split, set by begin_day
        self.vaccinating = total.max(axis=0, initial=0.0) > 0.0  # (H,): any scenario
        # work buffers
        shape = self.y.shape
        self.tmp, self.acc, self.stage = np.empty(shape), np.empty(shape), np.empty(shape)
        self.infectious = np.empty((n_bands, n))
        self.factor = np.empty((n_bands, n))
        self.force = np.empty((1, n_bands, n))
        self.by_stratum = np.empty((k, n_bands, n))  # force per stratum, then infections
        self.progression = np.empty((k, n_bands, n))
        self.dying = np.empty((k, n_bands, n))  # also infectious, then symptomatic, by stratum
        self.flow = np.empty((4, n_bands, n))
        self.eligible = np.empty((n_bands, n))
        self.weighted = np.empty((n_groups, n))
        self.capacity = np.empty((n_groups, n))
        self.remaining = np.empty((n_groups, n))
        self.scale = np.zeros((n_groups + 1, n))  # the last row stays 0
        self.hazard = np.empty((n_bands, n))
        self.from_s = np.empty((n_bands, n))
        self.from_e = np.empty((n_bands, n))
        self.from_r = np.empty((n_bands, n))
        self.moved = np.empty(self.split.shape)
        self.infected = np.empty((n_bands, n))

    def rhs(self, y: FloatArray, out: FloatArray, day: int) -> None:
        """d(state)/dt into ``out``: blocks of K rows S, E, I, R, then D, V and Y."""
        k = self.k
        s, e, i = y[:k], y[k : 2 * k], y[2 * k : 3 * k]
        ds, de, di, dr = (out[c * k : (c + 1) * k] for c in range(4))
        dd, dy = out[4 * k], out[4 * k + 2]
        # transmission: force_a = sum_b T_ba sum_k rho_bk I_bk (x N_b / (N_b - D_b) when the
        # denominator is the living population)
        if self.weigh_infectious:
            weighted = self.dying  # work: rho I by stratum
            np.multiply(self.rho, i, out=weighted)
            _sum_rows(weighted, self.infectious)
        else:
            _sum_rows(i, self.infectious)
        if self.living is not None:
            factor = self.factor
            np.multiply(self.living, y[4 * k], out=factor)
            np.subtract(self.population, factor, out=factor)
            np.divide(self.population, factor, out=factor)
            self.infectious *= factor
        np.einsum("baj,bj->aj", self.transmission, self.infectious, out=self.force[0])
        infections = self.by_stratum
        np.multiply(self.sigma, self.force, out=infections)
        infections *= s
        np.negative(infections, out=ds)
        # symptomatic cases: new infections of each stratum x its probability of symptoms
        symptomatic = self.dying  # work
        np.multiply(self.symptomatic, infections, out=symptomatic)
        _sum_rows(symptomatic, dy)
        # progression, recovery and deaths
        np.multiply(self.kappa, e, out=self.progression)
        np.subtract(infections, self.progression, out=de)
        np.multiply(self.gamma, i, out=di)  # leaving I (kept in di for a moment)
        np.multiply(self.death_rate, i, out=self.dying)
        np.subtract(di, self.dying, out=dr)
        np.subtract(self.progression, di, out=di)
        _sum_rows(self.dying, dd)
        # waning: everyone of a waning stratum (S, E, I, R) into its waned stratum
        flow = self.flow
        for stratum, dst, rate in self.waning:
            np.multiply(rate, y[stratum : 4 * k : k], out=flow)
            out[stratum : 4 * k : k] -= flow
            out[dst : 4 * k : k] += flow
        # vaccination
        if self.vaccinating[day]:
            self.vaccinate(y, out, day)
        else:
            out[4 * k + 1] = 0.0

    def vaccinate(self, y: FloatArray, out: FloatArray, day: int) -> None:
        """Courses to the first priority group with eligible people (S, E unless deferred, and
        R of stratum 0), a group taking at most sum(w * eligible) / REACH_DAYS a day, the rest
        to the next. Susceptible people go to the product strata, exposed and recovered people
        to stratum 1."""
        k = self.k
        s0, e0, r0 = y[0], y[k], y[3 * k]
        exposed = self.eligible
        if self.exposed is None:
            exposed = e0
        else:
            np.multiply(self.exposed, e0, out=exposed)
        np.add(s0, exposed, out=self.from_e)  # work: (S + E) first, as the kernel adds
        np.add(self.from_e, r0, out=self.eligible)
        weighted = self.weighted
        np.einsum("gaj,aj->gj", self.member, self.eligible, out=weighted)
        np.divide(weighted, REACH_DAYS, out=self.capacity)
        # courses left before each group: today's total less the capacity of earlier groups,
        # subtracted group after group as the kernel does (a loop over G, not over scenarios)
        remaining, capacity = self.remaining, self.capacity
        remaining[0] = self.total[day]
        for g in range(1, remaining.shape[0]):
            np.subtract(remaining[g - 1], capacity[g - 1], out=remaining[g])
        given = np.minimum(remaining, capacity, out=remaining)
        np.maximum(given, 0.0, out=given)
        scale = self.scale[:-1]
        scale[...] = 0.0
        np.divide(given, weighted, out=scale, where=weighted > 0.0)
        hazard = self.hazard
        np.take(self.scale.ravel(), self.group_index, out=hazard.ravel())
        hazard *= self.weights
        np.multiply(hazard, s0, out=self.from_s)
        if self.exposed is None:
            np.multiply(hazard, e0, out=self.from_e)
        else:
            np.multiply(self.exposed, e0, out=self.from_e)
            self.from_e *= hazard
        np.multiply(hazard, r0, out=self.from_r)
        out[0] -= self.from_s
        out[k] -= self.from_e
        out[k + 1] += self.from_e
        out[3 * k] -= self.from_r
        out[3 * k + 1] += self.from_r
        m = len(self.into)
        np.multiply(self.into, self.from_s, out=self.moved)
        out[FIRST_PRODUCT_STRATUM : FIRST_PRODUCT_STRATUM + m] += self.moved
        courses = out[4 * k + 1]
        np.add(self.from_s, self.from_e, out=courses)
        courses += self.from_r

    def begin_day(self, day: int) -> None:
        """Today's share of the courses into each vaccinated stratum and band (the kernel
        forms it once a day too): product share x split."""
        if self.vaccinating[day]:
            np.multiply(self.share[day][:, None, :], self.split, out=self.into)

    def step(self, h: float, day: int) -> None:
        """One classical RK4 step of ``h`` days, in the kernel's order of operations."""
        y, tmp, acc, stage = self.y, self.tmp, self.acc, self.stage
        self.rhs(y, acc, day)  # k1, straight into the accumulator
        np.multiply(acc, 0.5 * h, out=tmp)
        tmp += y
        for weight in (0.5 * h, h):
            self.rhs(tmp, stage, day)
            stage *= 2.0
            acc += stage
            np.multiply(stage, 0.5 * weight, out=tmp)  # weight * k, from 2 k
            tmp += y
        self.rhs(tmp, stage, day)
        acc += stage
        acc *= h / 6.0
        y += acc

    def record(self, row: int, recorders: Recorders, lo: int, hi: int) -> None:
        """Cumulative infections (E, I, R, D less the seed), deaths, courses and symptomatic
        cases, summed over bands, as the kernel records them, into row ``row``."""
        k, y = self.k, self.y
        infections, deaths, vaccinated, symptomatic = (r[row, lo:hi] for r in recorders)
        _sum_rows(y[k : 4 * k + 1], self.infected)  # E, I, R of every stratum, and D
        self.infected -= self.seeds
        np.sum(self.infected, axis=0, out=infections)
        np.sum(y[4 * k], axis=0, out=deaths)
        np.sum(y[4 * k + 1], axis=0, out=vaccinated)
        np.sum(y[4 * k + 2], axis=0, out=symptomatic)


def _advance(
    batch: Batch,
    member: FloatArray,
    state: FloatArray,
    lo: int,
    hi: int,
    steps_per_day: int,
    recorders: Recorders,
) -> None:
    """Advance scenarios ``lo:hi`` over the horizon: ``state`` (S, C, A) in place, cumulative
    totals into ``recorders`` (infections, deaths, courses, symptomatic; each (H + 1, S))."""
    h = 1.0 / steps_per_day
    part = _Slice(batch, member, state, lo, hi)
    part.record(0, recorders, lo, hi)
    for day in range(batch.horizon):
        part.begin_day(day)
        for _ in range(steps_per_day):
            part.step(h, day)
        part.record(day + 1, recorders, lo, hi)
    state[lo:hi] = part.y.transpose(2, 0, 1)


def _recorders(horizon: int, n: int) -> Recorders:
    return (
        np.zeros((horizon + 1, n)),
        np.zeros((horizon + 1, n)),
        np.zeros((horizon + 1, n)),
        np.zeros((horizon + 1, n)),
    )


def _result(recorders: Recorders, state: FloatArray) -> NumpyResult:
    infections, deaths, vaccinated, symptomatic = (np.ascontiguousarray(r.T) for r in recorders)
    return NumpyResult(infections, deaths, vaccinated, symptomatic, state)


def integrate_numpy(
    batch: Batch,
    steps_per_day: int = DEFAULT_STEPS_PER_DAY,
    *,
    threads: int = 1,
    member: FloatArray | None = None,
) -> NumpyResult:
    """Advance every scenario of ``batch`` with fixed-step RK4, all together, on ``threads``
    threads (each a contiguous slice). ``member``: :func:`group_membership` of the batch,
    when the caller already has it (it is input preparation, not integration)."""
    if member is None:
        member = group_membership(batch)
    n = batch.size
    state = batch.initial_state()
    recorders = _recorders(batch.horizon, n)
    bounds = np.linspace(0, n, max(1, min(threads, n)) + 1).round().astype(int)
    if len(bounds) == 2:
        _advance(batch, member, state, 0, n, steps_per_day, recorders)
    else:
        with ThreadPoolExecutor(max_workers=len(bounds) - 1) as pool:
            for done in [
                pool.submit(
                    _advance, batch, member, state, int(lo), int(hi), steps_per_day, recorders
                )
                for lo, hi in itertools.pairwise(bounds)
            ]:
                done.result()
    return _result(recorders, state)


def _batch_part(batch: Batch, lo: int, hi: int) -> Batch:
    """Scenarios ``lo:hi`` of a batch: its arrays only (the scenarios themselves stay behind,
    so a worker process receives numbers, not Python objects). Every array field of
    :class:`Batch` is per scenario, so a field added to it is sliced too."""
    arrays: dict[str, Any] = {
        f.name: value[lo:hi]
        for f in fields(batch)
        if isinstance(value := getattr(batch, f.name), np.ndarray)
    }
    return replace(batch, scenarios=(), **arrays)


def _integrate_part(
    part: Batch, member: FloatArray, state: FloatArray, steps_per_day: int
) -> NumpyResult:
    """A worker process's share: every scenario of ``part`` (its initial ``state`` given)."""
    n = state.shape[0]
    recorders = _recorders(part.horizon, n)
    _advance(part, member, state, 0, n, steps_per_day, recorders)
    return _result(recorders, state)


def integrate_numpy_processes(
    batch: Batch,
    pool: Executor,
    workers: int,
    steps_per_day: int = DEFAULT_STEPS_PER_DAY,
) -> NumpyResult:
    """:func:`integrate_numpy` with the batch cut into ``workers`` slices run by a process
    ``pool`` (started by the caller): NumPy on threads is held back by the interpreter lock
    between its many short operations, processes are not. Inputs and results travel by
    pickle, which the timing includes."""
    member = group_membership(batch)
    state = batch.initial_state()
    bounds = np.linspace(0, batch.size, max(1, min(workers, batch.size)) + 1).round().astype(int)
    futures = [
        pool.submit(
            _integrate_part,
            _batch_part(batch, int(lo), int(hi)),
            member[lo:hi],
            state[lo:hi],
            steps_per_day,
        )
        for lo, hi in itertools.pairwise(bounds)
    ]
    parts = [f.result() for f in futures]
    return NumpyResult(
        *(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(NumpyResult))
    )


def flops_per_scenario_day(batch: Batch, steps_per_day: int = DEFAULT_STEPS_PER_DAY) -> int:
    """Floating-point operations (additions, subtractions, multiplications, divisions; a
    negation is free) one scenario's day costs, counted from the equations as the kernel
    evaluates them (each product once: the kernel's second ``force * S`` for the symptomatic
    counter is not counted), on a day with vaccination (days without cost less).

    Per right-hand side, with A bands, K strata, M vaccinated strata, G priority groups and W
    waning strata: infectiousness-weighted infectious total K A + (K-1) A; deaths K A +
    (K-1) A; the denominator's rescaling 4 A (the kernel evaluates it for the initial
    denominator too, with a factor of exactly 1); contact sum A^2 products and A (A-1) sums;
    force per stratum K A; 7 per entry of each K x A block (infections 1, progression 1,
    leaving I 1, the E and I differences 2, R's death term 2); symptomatic cases K A +
    (K-1) A; waning 3 per entry of S, E, I and R of each waning stratum (12 W A);
    vaccination 5 A for the groups' weighted sums (exposed x E, the two additions, weight,
    sum), 4 per group, and per band 12 + 2 M (hazard 1; out of S, E and R 1 + 2 + 1; the five
    moves out of S, E, R and into stratum 1; into the M strata 2 M; courses 2). RK4 per
    step: 4 right-hand sides and 13 per state entry (C = 4 K + 3 rows of A). Per day: the
    day's shares M (A + 1) + P; recording (3K + 1) A, then 4 A for the totals."""
    k, a = int(batch.n_strata), int(batch.population.shape[1])
    m, p = int(batch.split.shape[1]), int(batch.courses.shape[1])
    groups = int(batch.n_groups.max()) if batch.size else 0
    waning = int((batch.waning > 0.0).any(axis=0).sum()) if batch.size else 0
    c = batch.n_compartments
    rhs = (
        (2 * k - 1) * a  # infectious total, weighted by infectiousness
        + (2 * k - 1) * a  # deaths
        + 4 * a  # initial or living denominator
        + a * a
        + a * (a - 1)  # contact sum
        + k * a  # force per stratum
        + 7 * k * a  # S, E, I, R derivatives
        + (2 * k - 1) * a  # symptomatic cases
        + 12 * waning * a  # waning
        + 5 * a
        + 4 * groups
        + a * (12 + 2 * m)  # vaccination
    )
    step = 4 * rhs + 13 * c * a
    day = m * (a + 1) + p + (3 * k + 1) * a + 4 * a
    return steps_per_day * step + day
