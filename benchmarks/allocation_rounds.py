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

Several pools on one date (:func:`lp_lex_max_min`): maximise the common level ``t``, fix the
participants whose level constraint has a non-zero dual, repeat (one solve per level).

The LP of one pool, in coverage levels ``l_i`` (``x_i = s_i (l_i - t_i)`` doses)::

    maximise  L - sum_i w_i d_i
    s.t.      l_i + d_i >= L              (shortfall d_i below the common level)
              t_i <= l_i <= u_i           (start coverage, ceiling in whole packs)
              sum_i s_i (l_i - t_i) <= P  (the pool)
              d_i >= 0

with shortfall weights ``w_i = (1 + 1e-3) s_i / S`` (``S``: the ``s_i`` of participants
below the level), which makes equal coverage the unique optimum; the baseline checks that
structure and re-solves with corrected weights if needed (counted in the table).

Run: ``python benchmarks/allocation_rounds.py``. Prints a table; asserts equal results (courses per
participant within 1e-6 relative, before rounding).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

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
    participants: int = 200, products: int = 10, weeks: int = 52, seed: int = 7
) -> Scenario:
    """The global problem: weekly tranches of every product, coverage carried."""
    rng = np.random.default_rng(seed)
    parts = _participants(participants, rng)
    prods = _products(products)
    total_pop = sum(p.population for p in parts)
    rounds = []
    for w in range(weeks):
        day = START + timedelta(days=7 * w)
        tranches = tuple(
            Tranche(
                id=f"W{w}-{p.code}",
                product=p.code,
                doses=int(rng.uniform(0.2, 1.8) * total_pop * 0.8 / (weeks * products)),
                available=day,
            )
            for p in prods
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
    linear programming (HiGHS): maximise the common level ``t``, fix every participant whose
    level constraint has a non-zero dual (it cannot rise with the others held at ``t``),
    repeat. One solve per level reached (at least one participant is fixed per solve: the
    duals of the level constraints add up to 1)."""
    n, k = edge_caps.shape
    rows, cols = np.nonzero(edge_caps > 0)
    m = rows.size
    inc = sparse.csr_matrix((np.ones(m), (rows, np.arange(m))), shape=(n, m))
    pools = sparse.csr_matrix((np.ones(m), (cols, np.arange(m))), shape=(k, m))
    caps = np.minimum(caps, edge_caps.sum(axis=1))
    fixed = np.where(caps <= 0, 0.0, np.nan)
    top = float(np.max(starts + caps / np.maximum(slopes, 1.0), initial=0.0)) + 1.0
    while np.isnan(fixed).any():
        active = np.flatnonzero(np.isnan(fixed))
        done = np.flatnonzero(~np.isnan(fixed))
        scale = sparse.diags(1.0 / slopes[active])
        need = sparse.hstack([-(scale @ inc[active]), np.ones((active.size, 1))])
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
        bounds[-1, 0] = -1.0
        res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method=stats.method)
        stats.solves += 1
        if res.status != 0:
            raise RuntimeError(f"HiGHS: {res.message}")
        t = float(res.x[-1])
        if t >= top - 1e-9:
            fixed[active] = caps[active]
            break
        duals = np.abs(res.ineqlin.marginals[-active.size :])
        stuck = duals > 1e-9 * float(duals.max())
        fixed[active[stuck]] = np.minimum(
            np.maximum(slopes[active[stuck]] * (t - starts[active[stuck]]), 0.0),
            caps[active[stuck]],
        )
    return fixed


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
            out.append(sum(pr.unrounded / pr.doses_per_coverage for pr in prs) * 1.0)
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

    @property
    def ratio(self) -> float:
        return self.lp_s / self.engine_s


def compare(name: str, scenario: Scenario, repeat: int = 3, method: str = "highs") -> Row:
    """Time both on ``scenario`` and check they give the same whole-pack quantities.

    doseflow is timed best-of-``repeat``; the LP once (it is the slow side)."""
    engine_s = _best(lambda: engine_run(scenario), repeat)
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
    return Row(name, pools, engine_s, lp_s, stats.solves, equal)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--products", type=int, default=10)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument(
        "--single-method",
        default="highs-ipm",
        help="HiGHS solver for the single-product LP (its simplex needs ~n iterations here: "
        "12.7 s at 10,000 recipients; the interior point method scales to 100,000)",
    )
    args = parser.parse_args()
    rows = [
        compare(
            f"global {args.participants}x{args.products}x{args.weeks}",
            global_problem(args.participants, args.products, args.weeks),
            repeat=5,
        ),
        compare(
            f"single product, {args.recipients:,} recipients",
            single_problem(args.recipients),
            repeat=3,
            method=args.single_method,
        ),
    ]
    head = f"{'problem':40} {'pools':>6} {'doseflow':>11} {'LP (HiGHS)':>11} {'solves':>7}"
    print(head + f" {'ratio':>8} equal")
    for r in rows:
        print(
            f"{r.name:40} {r.pools:>6} {r.engine_s * 1000:>9.1f}ms {r.lp_s * 1000:>9.1f}ms "
            f"{r.lp_solves:>7} {r.ratio:>7.1f}x {r.equal}"
        )
    for r in rows:
        assert r.equal, f"{r.name}: doseflow and the LP disagree"


if __name__ == "__main__":
    main()
