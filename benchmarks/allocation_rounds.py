"""Allocation rounds against the same problem written as linear programmes (SciPy HiGHS).

Two problems, both run end to end by doseflow (``run_rounds``) and compared with an LP
baseline that shares every date's pools from the state doseflow reached before that date
(eligibility, ceilings in whole packs and the pools are the same inputs, so the difference
measured is the sharing solver); the comparison is of courses per participant before
rounding (the split of a participant's doses across pools is not unique, so whole packs per
pool are not compared):

* global: 200 participants x 10 products x 52 weekly tranches (520 pools; the 10 pools of a
  week are available on the same date and shared jointly; coverage carried);
* single: one product pool shared among 100,000 recipients.

Several pools on one date (:func:`lp_lex_max_min`): maximise the common level ``t``, fix
every participant that cannot rise above it (read off the LP's flow, no further solve),
repeat: one solve per level (a level at which a participant reaches its cap counts).

Pools shared alone have a second baseline (:func:`compare_bisection`): water-filling by
bisection on the level in plain NumPy (:func:`bisect_fills`), on the inputs the engine's
own water-fills received in a run (captured), pool after pool as a sequential run must,
and all pools at once (only possible when every input is known up front, which coverage
carried from pool to pool does not allow: a lower bound for a NumPy method). Problems: the
global problem with each product's tranche on its own day (``sequential``), and the
single-product problem.

The LP of one pool, in coverage levels ``l_i`` (``x_i = s_i (l_i - t_i)`` doses)::

    maximise  L - sum_i w_i d_i
    s.t.      l_i + d_i >= L              (shortfall d_i below the common level)
              t_i <= l_i <= u_i           (start coverage, ceiling in whole packs)
              sum_i s_i (l_i - t_i) <= P  (the pool)
              d_i >= 0

with shortfall weights ``w_i = (1 + 1e-3) s_i / S`` (``S``: the ``s_i`` of participants
below the level), which makes equal coverage the unique optimum; the baseline checks that
structure and re-solves with corrected weights if needed (counted in the table).

Run: ``python benchmarks/allocation_rounds.py`` (``--no-single-lp`` skips the 100,000-recipient
LP, about 7 minutes). Prints two tables, wall and CPU times (best of ``--repeat``) and the
load average; asserts equal results (courses per participant within 1e-6 relative, before
rounding; bisection quantities within 1e-6 relative).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from unittest.mock import patch

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import linprog

from doseflow.allocation import Policy, RoundSpec, Scenario, SevereSupply, run_rounds
from doseflow.allocation.eligibility import pool_exclusions
from doseflow.allocation.engine import make_context
from doseflow.allocation.pools import Pool, build_pools
from doseflow.allocation.results import (
    AllocationRun,
    AllocationState,
    PoolResult,
    RoundResult,
    RunContext,
    coverage_share,
    per_person,
)
from doseflow.domain.participant import Participant
from doseflow.domain.product import Financing, Product
from doseflow.domain.supply import Tranche
from doseflow.domain.temperature import TemperatureBand

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
START = date(2021, 1, 4)
#: the policy's rounding of a ceiling to packs (down, nearest, up), as the engine applies it
_ROUNDING_OFFSET = {"down": 1e-9, "nearest": 0.5 + 1e-9, "up": 1.0 - 1e-9}

POLICY = Policy(ladder=(0.2, 0.7), severe=SevereSupply(enabled=False))


def _codes(n: int) -> list[str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return [letters[i // 676 % 26] + letters[i // 26 % 26] + letters[i % 26] for i in range(n)]


def _participants(n: int, rng: np.random.Generator) -> list[Participant]:
    pops = np.clip(rng.lognormal(16.0, 1.6, n), 50_000, 1.4e9).astype(np.int64)
    bands = [
        frozenset({TemperatureBand.CHILLED}),
        frozenset({TemperatureBand.CHILLED, TemperatureBand.ULTRA_COLD}),
    ]
    return [
        Participant(
            iso3=code,
            population=int(pops[i]),
            financing=Financing.AMC if rng.random() < 0.6 else Financing.SELF_FINANCING,
            ceiling=float(rng.uniform(0.1, 0.7)),
            cold_chain=bands[int(rng.random() < 0.4)],
        )
        for i, code in enumerate(_codes(n))
    ]


def _products(k: int) -> list[Product]:
    packs = [2400, 1170, 1000, 500, 2000, 1200, 600, 800, 1500, 100]
    out = []
    for j in range(k):
        cold = j % 5 == 1
        out.append(
            Product(
                code=f"P{j}",
                name=f"product {j}",
                manufacturer="m",
                doses_per_course=2 if j % 4 else 1,
                storage_band=TemperatureBand.ULTRA_COLD if cold else TemperatureBand.CHILLED,
                shelf_life_days=180,
                doses_per_vial=1,
                pack_doses=packs[j % len(packs)],
                licence_financing=frozenset({Financing.AMC}) if j % 5 == 0 else None,
            )
        )
    return out


def global_problem(
    participants: int = 200,
    products: int = 10,
    weeks: int = 52,
    seed: int = 7,
    sequential: bool = False,
) -> Scenario:
    """The global problem: weekly tranches of every product, coverage carried.

    ``sequential``: the same tranches, each product's a day after the one before (rounds
    ``products`` days apart, at least a week), so every pool is shared alone, one after
    another (the engine before issue 12; the single-pool baselines apply)."""
    rng = np.random.default_rng(seed)
    parts = _participants(participants, rng)
    prods = _products(products)
    total_pop = sum(p.population for p in parts)
    rounds = []
    spacing = max(7, products) if sequential else 7
    for w in range(weeks):
        day = START + timedelta(days=spacing * w)
        tranches = tuple(
            Tranche(
                id=f"W{w}-{p.code}",
                product=p.code,
                doses=int(rng.uniform(0.2, 1.8) * total_pop * 0.8 / (weeks * products)),
                available=day + timedelta(days=j if sequential else 0),
            )
            for j, p in enumerate(prods)
        )
        rounds.append(RoundSpec(number=w + 1, name=f"week {w + 1}", date=day, tranches=tranches))
    return Scenario("global", {p.code: p for p in prods}, tuple(parts), POLICY, tuple(rounds))


def single_problem(recipients: int = 100_000, seed: int = 11) -> Scenario:
    """One product pool shared among many recipients (e.g. districts or facilities)."""
    rng = np.random.default_rng(seed)
    parts = [
        Participant(
            iso3=code,
            population=int(rng.integers(2_000, 400_000)),
            financing=Financing.AMC,
            ceiling=float(rng.uniform(0.1, 0.7)),
        )
        for code in _codes(recipients)
    ]
    prod = Product("P", "p", "m", 2, TemperatureBand.CHILLED, 180, 10, 10)
    total = sum(p.population for p in parts)
    tranche = Tranche("T", "P", int(total * 0.25), START)
    spec = RoundSpec(1, "single", START, (tranche,))
    return Scenario("single", {"P": prod}, tuple(parts), POLICY, (spec,))


# --- the LP baseline ------------------------------------------------------------------


@dataclass
class LpStats:
    solves: int = 0
    method: str = "highs"
    dual_fallbacks: int = 0


def lp_share(
    total: float, s: FloatArray, t: FloatArray, caps: FloatArray, stats: LpStats
) -> FloatArray:
    """Equal coverage of one pool by linear programming (HiGHS)."""
    x = np.zeros_like(s)
    idx = np.flatnonzero(caps > 0)
    if idx.size == 0 or total <= 0:
        return x
    if total >= caps[idx].sum():
        x[idx] = caps[idx]
        return x
    si, ti, ui = s[idx], t[idx], t[idx] + caps[idx] / s[idx]
    m = idx.size
    eye = sparse.identity(m, format="csr")
    rows = sparse.hstack([-eye, -eye, sparse.csr_matrix(np.ones((m, 1)))], format="csr")
    supply = sparse.csr_matrix(np.concatenate((si / total, np.zeros(m), [0.0]))[None, :])
    a_ub = sparse.vstack([rows, supply], format="csr")
    b_ub = np.concatenate((np.zeros(m), [1.0 + float(si @ ti) / total]))
    bounds = [*zip(ti, ui, strict=True), *((0.0, None) for _ in range(m)), (None, None)]
    # the shortfall weight k*s_i must lie in (1/(S_F+S_C), 1/S_C]: bisect on k if needed
    k_lo, k_hi = 0.0, float("inf")
    k = (1 + 1e-3) / float(si.sum())
    for _ in range(40):
        c = np.concatenate((np.zeros(m), k * si, [-1.0]))
        res = linprog(
            c,
            A_ub=a_ub,
            b_ub=b_ub,
            bounds=bounds,
            method=stats.method,
            options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
        )
        stats.solves += 1
        if res.status != 0:
            raise RuntimeError(f"HiGHS: {res.message}")
        lev = res.x[:m]
        big_l = float(res.x[-1])
        shorted = np.any((np.clip(big_l, ti, ui) - lev) * si > 1e-3)
        spent = float(si @ (lev - ti))
        if not shorted and spent >= total * (1 - 1e-9):
            x[idx] = np.maximum(si * (lev - ti), 0.0)
            return np.minimum(x, caps)
        if shorted:
            k_lo = k  # too light: the LP shorted someone to raise the level
        else:
            k_hi = k  # too heavy: the LP lowered the level instead of spending
        k = k * 4 if not np.isfinite(k_hi) else float(np.sqrt(max(k_lo, k_hi * 1e-6) * k_hi))
    raise RuntimeError("LP baseline did not settle on equal coverage")


def lp_lex_max_min(
    supply: FloatArray,
    slopes: FloatArray,
    starts: FloatArray,
    caps: FloatArray,
    edge_caps: FloatArray,
    stats: LpStats,
) -> FloatArray:
    """Courses per participant of the lexicographic max-min sharing of several pools, by
    linear programming (HiGHS), level by level: maximise the common level ``t``, read off
    the LP's flow which participants cannot rise above it (no augmenting path from them
    to a pool with supply left or to a participant above its own demand: :func:`_blocked`,
    NumPy, no further solve), fix them, repeat.

    A participant reaching its cap stops ``t`` in the LP (its constraint ``total >= s (t -
    start)`` is linear), which would cost one solve per cap reached. Instead the number
    ``j`` of participants already at their caps when the pools bind is searched for (by
    the level ``u`` at which each reaches its cap; the first ``j`` forced to their caps):
    with ``f(j)`` the LP's level, ``j`` is consistent iff ``f(j) >= u_(j)``, which holds up
    to the answer and fails after it; ``f(j) < u_(j+1)`` confirms it. One solve when no cap
    is reached, otherwise a galloping then bisecting search (about ``2 log2 j`` solves).
    Should the flow leave nobody blocked (only through the solver's tolerances), the
    participants whose level constraint has a non-zero dual are fixed instead (counted in
    ``stats.dual_fallbacks``)."""
    n, k = edge_caps.shape
    rows, cols = np.nonzero(edge_caps > 0)
    m = rows.size
    inc = sparse.csr_matrix((np.ones(m), (rows, np.arange(m))), shape=(n, m))
    pools = sparse.csr_matrix((np.ones(m), (cols, np.arange(m))), shape=(k, m))
    caps = np.minimum(caps, edge_caps.sum(axis=1))
    fixed = np.where(caps <= 0, 0.0, np.nan)
    top = float(np.max(starts + caps / np.maximum(slopes, 1.0), initial=0.0)) + 1.0
    c = np.zeros(m + 1)
    c[-1] = -1.0
    bounds = np.column_stack((np.zeros(m + 1), np.append(edge_caps[rows, cols], top)))
    bounds[-1, 0] = -1.0

    def solve(held: IntArray, values: FloatArray, rising: IntArray) -> Any:
        scale = sparse.diags(1.0 / slopes[rising])
        need = sparse.hstack([-(scale @ inc[rising]), np.ones((rising.size, 1))])
        a_ub = sparse.vstack(
            [
                sparse.hstack([pools, np.zeros((k, 1))]),
                sparse.hstack([inc, np.zeros((n, 1))]),
                sparse.hstack([-inc[held], np.zeros((held.size, 1))]),
                need,
            ],
            format="csr",
        )
        b_ub = np.concatenate((supply, caps, -values * (1 - 1e-12), starts[rising]))
        res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method=stats.method)
        stats.solves += 1
        if res.status == 2:  # infeasible: the forced caps do not fit
            return None
        if res.status != 0:
            raise RuntimeError(f"HiGHS: {res.message}")
        return res

    def level(res: Any) -> float:
        return float(res.x[-1])

    def tol(u: float) -> float:
        return 1e-9 * max(1.0, abs(u))

    while np.isnan(fixed).any():
        active = np.flatnonzero(np.isnan(fixed))
        done = np.flatnonzero(~np.isnan(fixed))
        reach = starts[active] + caps[active] / slopes[active]
        by_u = active[np.argsort(reach, kind="stable")]
        us = np.sort(reach, kind="stable")

        def attempt(j: int, done: IntArray = done, by_u: IntArray = by_u) -> Any:
            held = np.concatenate((done, by_u[:j]))
            values = np.concatenate((fixed[done], caps[by_u[:j]]))
            return solve(held, values, by_u[j:])

        lo, best = 0, attempt(0)
        hi = None
        if us.size and level(best) >= us[0] - tol(float(us[0])):  # a cap was reached
            step = 1
            while hi is None:
                j = min(lo + step, active.size)
                res = attempt(j)
                if res is not None and level(res) >= us[j - 1] - tol(float(us[j - 1])):
                    lo, best = j, res
                    if j == active.size or level(res) < us[j] - tol(float(us[j])):
                        hi = lo + 1
                    step *= 2
                else:
                    hi = j
            while hi - lo > 1:
                mid = (lo + hi) // 2
                res = attempt(mid)
                if res is not None and level(res) >= us[mid - 1] - tol(float(us[mid - 1])):
                    lo, best = mid, res
                    if level(res) < us[mid] - tol(float(us[mid])):
                        hi = lo + 1
                else:
                    hi = mid
        t = level(best)
        forced = by_u[:lo]
        fixed[forced] = caps[forced]
        rising = by_u[lo:]
        if t >= top - 1e-9:
            fixed[rising] = caps[rising]
            break
        if rising.size == 0:
            break
        demand = np.where(
            np.isnan(fixed), np.minimum(np.maximum(slopes * (t - starts), 0.0), caps), fixed
        )
        flow = np.zeros((n, k))
        flow[rows, cols] = np.maximum(best.x[:m], 0.0)
        stuck = _blocked(flow, demand, supply, edge_caps, caps)[rising]
        if not stuck.any() and lo == 0:
            stats.dual_fallbacks += 1
            duals = np.abs(best.ineqlin.marginals[-rising.size :])
            stuck = duals > 1e-9 * float(duals.max())
        fixed[rising[stuck]] = demand[rising[stuck]]
    return fixed


def _blocked(
    flow: FloatArray,
    demand: FloatArray,
    supply: FloatArray,
    edge_caps: FloatArray,
    caps: FloatArray,
) -> npt.NDArray[np.bool_]:
    """Participants that cannot rise above ``demand`` while everyone keeps theirs, read off
    a feasible ``flow``: a pool is *open* if it has supply left, or a participant drawing on
    it could give courses back (it holds more than its demand) or move them to an open pool
    (a fixpoint over the pools, at most ``k`` passes); a participant can rise if it holds
    more than its demand or has edge room on an open pool, and is below its cap. The
    tolerance errs towards "can rise" (at worst one more solve at the same level)."""
    tol = 1e-9 * max(float(supply.max(initial=0.0)), 1.0)
    held = flow.sum(axis=1)
    excess = held - demand > tol
    room = edge_caps - flow > tol
    draws = flow > tol
    open_ = supply - flow.sum(axis=0) > tol
    for _ in range(flow.shape[1]):
        movable = excess | (room & open_[None, :]).any(axis=1)
        grown = open_ | (draws & movable[:, None]).any(axis=0)
        if np.array_equal(grown, open_):
            break
        open_ = grown
    can_rise: npt.NDArray[np.bool_] = (excess | (room & open_[None, :]).any(axis=1)) & (
        demand < caps - tol
    )
    return ~can_rise


# --- the NumPy bisection baseline (pools shared alone) ---------------------------------


@dataclass(frozen=True)
class FillCall:
    """One water-fill the engine ran (a pool shared alone), its inputs and its answer."""

    total: float
    slopes: FloatArray
    starts: FloatArray
    floors: FloatArray
    caps: FloatArray
    quantities: FloatArray


def captured_fills(scenario: Scenario) -> list[FillCall]:
    """Every water-fill of one run of ``scenario``, in order (the engine's own inputs: what
    a pool shared alone asks of a solver)."""
    from doseflow.allocation import engine, waterfill

    calls: list[FillCall] = []
    real = waterfill.water_fill

    def spy(
        total: float,
        slopes: FloatArray,
        starts: FloatArray,
        floors: FloatArray | None,
        caps: FloatArray,
        *,
        checked: bool = False,
    ) -> waterfill.Fill:
        fill = real(total, slopes, starts, floors, caps, checked=checked)
        c = np.maximum(caps, 0.0)
        f = np.zeros_like(c) if floors is None else np.minimum(np.maximum(floors, 0.0), c)
        calls.append(
            FillCall(float(total), slopes.copy(), starts.copy(), f, c, fill.quantities.copy())
        )
        return fill

    with patch.object(engine, "water_fill", spy):
        run_rounds(scenario)
    return calls


def bisect_fills(
    total: FloatArray, s: FloatArray, t: FloatArray, f: FloatArray, c: FloatArray
) -> FloatArray:
    """Water-filling by bisection on the level, vectorised over participants and over
    pools (rows; pad unused places with zeros): ``x = min(c, max(f, s (L - t)))``, halving
    ``[L_lo, L_hi]`` until it is two ulps wide. In-place on preallocated buffers: the
    strongest plain-NumPy form of the method."""
    safe = np.where(s > 0, s, 1.0)
    moving = (s > 0) & (c > f)
    lo = np.where(moving, t + f / safe, np.inf).min(axis=1)
    hi = np.where(moving, t + c / safe, -np.inf).max(axis=1)
    full = total >= c.sum(axis=1)
    lo = np.where(np.isfinite(lo), lo, 0.0)
    hi = np.where(np.isfinite(hi), hi, 0.0)
    buf = np.empty_like(s)
    mid = np.empty_like(lo)
    for it in range(200):
        np.add(lo, hi, out=mid)
        mid *= 0.5
        np.subtract(mid[:, None], t, out=buf)
        buf *= s
        np.maximum(buf, f, out=buf)
        np.minimum(buf, c, out=buf)
        over = buf.sum(axis=1) > total
        np.copyto(hi, mid, where=over)
        np.copyto(lo, mid, where=~over)
        if it % 8 == 7 and bool((hi - lo <= 2 * np.spacing(np.abs(hi))).all()):
            break
    x = np.minimum(np.maximum(s * (lo[:, None] - t), f), c)
    x[full] = c[full]
    return np.asarray(x, dtype=np.float64)


def _stack(calls: list[FillCall]) -> tuple[FloatArray, ...]:
    width = max(len(c.slopes) for c in calls)

    def pad(get: Callable[[FillCall], FloatArray]) -> FloatArray:
        out = np.zeros((len(calls), width))
        for row, call in enumerate(calls):
            out[row, : len(call.slopes)] = get(call)
        return out

    total = np.array([c.total for c in calls])
    return (
        total,
        pad(lambda c: c.slopes),
        pad(lambda c: c.starts),
        pad(lambda c: c.floors),
        pad(lambda c: c.caps),
    )


def _best2(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best wall and best CPU time (this process) of ``repeat`` runs."""
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


@dataclass(frozen=True)
class BisectRow:
    """Pools shared alone: doseflow's sorted water-fill against NumPy bisection, on the
    same inputs (the engine's own, captured from a run), and the engine end to end."""

    name: str
    pools: int
    engine_s: float  # run_rounds, wall
    engine_cpu_s: float
    kernel_s: float  # doseflow's water_fill on every captured input, one after another
    bisect_s: float  # bisection, pool after pool
    bisect_all_s: float  # bisection, all pools at once (inputs known up front)
    equal: bool
    kernel_cpu_s: float = 0.0
    bisect_cpu_s: float = 0.0
    bisect_all_cpu_s: float = 0.0

    @property
    def ratio(self) -> float:
        """Bisection pool after pool (what a sequential run can do) / doseflow's kernel."""
        return self.bisect_s / self.kernel_s


def compare_bisection(name: str, scenario: Scenario, repeat: int = 5) -> BisectRow:
    """Time doseflow's water-fill and the bisection on the fills of ``scenario`` and check
    they give the same quantities (1e-6 relative, 1e-3 dose)."""
    engine_s, engine_cpu = _best2(lambda: run_rounds(scenario), repeat)
    calls = captured_fills(scenario)
    from doseflow.allocation.waterfill import water_fill

    def kernel() -> list[FloatArray]:
        return [
            water_fill(c.total, c.slopes, c.starts, c.floors, c.caps, checked=True).quantities
            for c in calls
        ]

    rows = [_stack([c]) for c in calls]

    def one_by_one() -> list[FloatArray]:
        return [bisect_fills(*r)[0] for r in rows]

    stacked = _stack(calls)
    kernel_s, kernel_cpu = _best2(kernel, repeat)
    bisect_s, bisect_cpu = _best2(one_by_one, repeat)
    bisect_all_s, bisect_all_cpu = _best2(lambda: bisect_fills(*stacked), repeat)
    ours = kernel()
    theirs = one_by_one()
    together = bisect_fills(*stacked)
    equal = all(
        np.allclose(a, b, rtol=1e-6, atol=1e-3)
        and np.allclose(a, together[row, : a.size], rtol=1e-6, atol=1e-3)
        and np.allclose(a, c.quantities, rtol=0, atol=0)
        for row, (a, b, c) in enumerate(zip(ours, theirs, calls, strict=True))
    )
    return BisectRow(
        name,
        len(calls),
        engine_s,
        engine_cpu,
        kernel_s,
        bisect_s,
        bisect_all_s,
        equal,
        kernel_cpu,
        bisect_cpu,
        bisect_all_cpu,
    )


def lp_run(scenario: Scenario, stats: LpStats, run: AllocationRun) -> list[FloatArray]:
    """Per round (from the state before it in ``run``), each date's pools shared by
    :func:`lp_lex_max_min`: courses per participant, before rounding."""
    ctx = make_context(scenario.participants, scenario.products.values())
    table = ctx.table
    policy = scenario.policy
    population = table.population.astype(np.float64)
    out: list[FloatArray] = []
    for spec, result in zip(scenario.rounds, run.rounds, strict=True):
        state = result.state_before
        by_date: dict[date, list[Pool]] = {}
        for pool in build_pools(spec.tranches, _carried(run, spec.number)):
            by_date.setdefault(pool.available, []).append(pool)
        for group in by_date.values():
            edges, supply, units, rounded = [], [], [], []
            before = coverage_share(ctx, state, ctx.products[group[0].product], policy)
            ceiling = np.minimum(table.ceiling, policy.top_rung)
            for pool in group:
                product = ctx.products[pool.product]
                pack = product.pack_doses
                flags = pool_exclusions(
                    table,
                    product,
                    pool,
                    lead_time_days=policy.lead_time_days,
                    min_days_before_expiry=policy.min_days_before_expiry,
                )
                unit = per_person(product, policy)
                s = population * unit
                room = np.maximum(ceiling - before, 0.0) * s / pack
                hp = np.floor(room + _ROUNDING_OFFSET[policy.ceiling_rounding])
                hp[flags != 0] = 0
                edges.append(hp * pack / unit)
                rounded.append(np.where(flags == 0, hp * pack / unit, np.inf))
                supply.append(pool.doses / unit)
                units.append(unit)
            # the ceiling in courses: the nominal one, or if larger the smallest of the
            # ceilings rounded to the packs of the pools a participant may draw on
            nominal = np.maximum(ceiling - before, 0.0) * population
            least = np.min(rounded, axis=0)
            caps = np.maximum(nominal, np.where(np.isfinite(least), least, 0.0))
            state = _advance(ctx, state, result, group)
            if len(group) == 1:  # one pool: the single-pool LP
                s = population * units[0]
                x = lp_share(supply[0] * units[0], s, before, edges[0] * units[0], stats)
                out.append(x / units[0])
                continue
            out.append(
                lp_lex_max_min(
                    np.array(supply), population, before, caps, np.column_stack(edges), stats
                )
            )
    return out


def _carried(run: AllocationRun, number: int) -> tuple[Pool, ...]:
    earlier = [r for r in run.rounds if r.number < number]
    return earlier[-1].carry_out() if earlier else ()


def _advance(
    ctx: RunContext, state: AllocationState, result: RoundResult, group: list[Pool]
) -> AllocationState:
    """The state after ``group`` as the engine shared it (the next date starts there)."""
    new = state.doses.copy()
    ids = {p.id for p in group}
    for pr in result.pools:
        if pr.pool.id in ids:
            new[:, ctx.column(pr.product.code)] += pr.rule_doses
    return AllocationState(new, state.topped_up)


def engine_courses(run: AllocationRun) -> list[FloatArray]:
    """Per round and date: courses per participant before rounding, as the engine shared."""
    out: list[FloatArray] = []
    for result in run.rounds:
        by_date: dict[date, list[PoolResult]] = {}
        for pr in result.pools:
            by_date.setdefault(pr.pool.available, []).append(pr)
        for prs in by_date.values():
            out.append(np.sum([pr.unrounded / pr.doses_per_coverage for pr in prs], axis=0))
    return out


def engine_run(scenario: Scenario) -> AllocationRun:
    return run_rounds(scenario)


def _best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


@dataclass(frozen=True)
class Row:
    name: str
    pools: int
    engine_s: float
    lp_s: float
    lp_solves: int
    equal: bool
    engine_cpu_s: float = 0.0
    kernel_s: float = 0.0  # doseflow's joint_fill alone on the run's joint problems
    dual_fallbacks: int = 0
    kernel_cpu_s: float = 0.0

    @property
    def ratio(self) -> float:
        return self.lp_s / self.engine_s


def captured_joint(scenario: Scenario) -> list[tuple[tuple[object, ...], dict[str, object]]]:
    """The inputs of every joint sharing (:func:`~doseflow.allocation.joint.joint_fill`)
    in one run of ``scenario``."""
    from doseflow.allocation import joint, joint_pools

    calls: list[tuple[tuple[object, ...], dict[str, object]]] = []
    real = joint.joint_fill

    def spy(*args: object, **kwargs: object) -> object:
        calls.append((args, kwargs))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    with patch.object(joint_pools, "joint_fill", spy):
        run_rounds(scenario)
    return calls


def compare(name: str, scenario: Scenario, repeat: int = 3, method: str = "highs") -> Row:
    """Time both on ``scenario`` and check they give the same courses per participant.

    doseflow is timed best-of-``repeat`` (wall and CPU); the LP once (it is the slow
    side). The joint sharing alone (``joint_fill`` on the run's own inputs) is timed too."""
    from doseflow.allocation.joint import joint_fill

    engine_s, engine_cpu = _best2(lambda: engine_run(scenario), repeat)
    joint = captured_joint(scenario)

    def kernel() -> None:
        for args, kwargs in joint:
            joint_fill(*args, **kwargs)  # type: ignore[arg-type]

    kernel_s, kernel_cpu = _best2(kernel, repeat) if joint else (0.0, 0.0)
    run = engine_run(scenario)
    population = np.array([p.population for p in scenario.participants], dtype=np.float64)
    ours = [c * population for c in engine_courses(run)]
    stats = LpStats(method=method)
    t0 = time.perf_counter()
    theirs = lp_run(scenario, stats, run)
    lp_s = time.perf_counter() - t0
    equal = len(ours) == len(theirs) and all(
        np.allclose(a, b, rtol=1e-6, atol=1e-3) for a, b in zip(ours, theirs, strict=True)
    )
    pools = sum(len(r.pools) for r in run.rounds)
    return Row(
        name,
        pools,
        engine_s,
        lp_s,
        stats.solves,
        equal,
        engine_cpu,
        kernel_s,
        stats.dual_fallbacks,
        kernel_cpu,
    )


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--products", type=int, default=10)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7, help="best of how many runs")
    parser.add_argument(
        "--single-method",
        default="highs-ipm",
        help="HiGHS solver for the single-product LP (its simplex needs ~n iterations here: "
        "12.7 s at 10,000 recipients; the interior point method scales to 100,000)",
    )
    parser.add_argument(
        "--no-single-lp",
        action="store_true",
        help="skip the single-product LP (about 7 minutes at 100,000 recipients)",
    )
    args = parser.parse_args()
    print(f"load average (1/5/15 min) at start: {_load()}")
    size = f"{args.participants}x{args.products}x{args.weeks}"
    problems = [
        (f"global {size}, joint", global_problem(args.participants, args.products, args.weeks)),
        (
            f"global {size}, sequential",
            global_problem(args.participants, args.products, args.weeks, sequential=True),
        ),
    ]
    single = single_problem(args.recipients)
    rows = [compare(name, sc, repeat=args.repeat) for name, sc in problems]
    if not args.no_single_lp:
        rows.append(
            compare(
                f"single product, {args.recipients:,} recipients",
                single,
                repeat=3,
                method=args.single_method,
            )
        )
    head = f"{'problem':40} {'pools':>6} {'doseflow':>11} {'CPU':>9} {'LP (HiGHS)':>11}"
    print(head + f" {'solves':>7} {'ratio':>8} equal  joint_fill alone (CPU)")
    for r in rows:
        print(
            f"{r.name:40} {r.pools:>6} {r.engine_s * 1000:>9.1f}ms "
            f"{r.engine_cpu_s * 1000:>7.1f}ms {r.lp_s * 1000:>9.1f}ms "
            f"{r.lp_solves:>7} {r.ratio:>7.1f}x {r.equal!s:5}  "
            f"{r.kernel_s * 1000:.1f}ms ({r.kernel_cpu_s * 1000:.1f}ms)"
        )
    bis = [
        compare_bisection(problems[1][0], problems[1][1], repeat=args.repeat),
        compare_bisection(f"single product, {args.recipients:,} recipients", single, 5),
    ]
    print()
    print(
        f"{'problem (pools shared alone)':40} {'pools':>6} {'engine':>9} {'CPU':>9} "
        f"{'water_fill (CPU)':>18} {'bisection (CPU)':>18} {'ratio':>7} "
        f"{'bis. all at once (CPU)':>22} equal"
    )
    for b in bis:
        print(
            f"{b.name:40} {b.pools:>6} {b.engine_s * 1000:>7.1f}ms "
            f"{b.engine_cpu_s * 1000:>7.1f}ms "
            f"{b.kernel_s * 1000:>7.1f}ms ({b.kernel_cpu_s * 1000:5.1f}ms) "
            f"{b.bisect_s * 1000:>7.1f}ms ({b.bisect_cpu_s * 1000:5.1f}ms) {b.ratio:>6.2f}x "
            f"{b.bisect_all_s * 1000:>11.1f}ms ({b.bisect_all_cpu_s * 1000:5.1f}ms) {b.equal}"
        )
    print(f"load average at end: {_load()}")
    for r in rows:
        assert r.equal, f"{r.name}: doseflow and the LP disagree"
    for b in bis:
        assert b.equal, f"{b.name}: doseflow and the bisection disagree"


if __name__ == "__main__":
    main()
