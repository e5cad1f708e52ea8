"""The age-structured SEIR-D model with vaccination, integrated for many scenarios at once.

The equations and their integration are in :mod:`doseflow.impact.kernel` (numba, one fused
loop per scenario); this module turns scenarios into the kernel's arrays (:func:`compile_batch`)
and runs the kernel over a batch (:func:`integrate`, :func:`simulate`).

``beta`` is set so the dominant eigenvalue of the next-generation matrix
``K_ab = beta * infectious * u_a * C_ab * N_a / N_b`` equals R0. Vaccination moves eligible
people of stratum 0 at the hazard the strategy sets (see :mod:`doseflow.impact.strategy`):
susceptible people into the product strata, exposed (by default, see
:class:`doseflow.impact.vaccine.Eligibility`) and recovered people into stratum 1, where the
dose changes nothing; cumulative compartments count courses and symptomatic cases.

Integration: classical fourth-order Runge-Kutta with a fixed step (a whole fraction of a day,
so daily vaccination rates are constant within a step). Every array is scenario-first and each
scenario's state (compartments x bands) is contiguous, so a scenario is advanced through its
whole horizon in cache. A batch is cut into contiguous slices run on parallel threads (the
kernel releases the GIL).
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from doseflow.domain.errors import DoseflowError
from doseflow.domain.units import course_equivalents
from doseflow.impact.epidemiology import ForceDenominator
from doseflow.impact.results import SimulationResult
from doseflow.impact.rollout import RateRollout, rate_daily_doses
from doseflow.impact.scenario import Scenario
from doseflow.impact.strategy import REACH_DAYS
from doseflow.impact.vaccine import Eligibility, VaccineProfile

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Default integration steps per day (RK4). Checked against LSODA in tests and the benchmark.
DEFAULT_STEPS_PER_DAY = 1

#: Compartment names in the state, per stratum.
STATE_COMPARTMENTS = ("S", "E", "I", "R")

#: Rows after the strata, per band only: deaths, courses given, symptomatic cases (cumulative).
COUNTERS = ("D", "vaccinated", "symptomatic")

#: Strata before the products': unvaccinated and willing; refusing or vaccinated after
#: infection (exposed or recovered when vaccinated: the dose changes nothing for them, and
#: they are not vaccinated again, like refusers).
FIRST_PRODUCT_STRATUM = 2

#: Fewest scenarios worth a thread of their own (below, thread start-up costs more than it saves).
MIN_SCENARIOS_PER_THREAD = 8

#: Slices of a batch per thread (threads take the next slice when done with one).
SLICES_PER_THREAD = 4


def next_generation_beta(
    contacts: FloatArray, susceptibility: FloatArray, r0: float, infectious_days: float
) -> float:
    """Transmission rate giving ``r0`` as the dominant eigenvalue of the next-generation matrix."""
    radius = float(np.max(np.abs(np.linalg.eigvals(susceptibility[:, None] * contacts))))
    return r0 / (radius * infectious_days)


def default_threads() -> int:
    """Threads :func:`simulate` uses when not told: the cores this process may use, when called
    from the main thread; one from any other thread (a Dask worker thread or a web server's
    pool already runs tasks side by side, so a batch there stays on its own thread)."""
    if threading.current_thread() is not threading.main_thread():
        return 1
    configured = os.environ.get("DOSEFLOW_THREADS")
    if configured and configured.isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


@dataclass
class Batch:
    """Scenario parameters stacked into scenario-first arrays, as the kernel reads them."""

    scenarios: tuple[Scenario, ...]
    n_strata: int
    responders_per_product: int
    horizon: int
    population: FloatArray  # (S, A)
    transmission: FloatArray  # (S, A, A): [j, b, a] = beta * u_a * C_ab / N_b
    kappa: FloatArray  # (S,): 1 / latent days
    gamma: FloatArray  # (S,): 1 / infectious days
    sigma: FloatArray  # (S, K, A): susceptibility multiplier of each stratum and band
    death_rate: FloatArray  # (S, K, A): gamma * ifr * phi
    infectiousness: FloatArray  # (S, K, A): rho, infectiousness multiplier
    symptomatic: FloatArray  # (S, K, A): clinical fraction * psi, symptoms per infection
    waning: FloatArray  # (S, K): rate out of each stratum (per day; 0: none)
    wane_into: IntArray  # (S, K): the stratum each one wanes into
    living: IntArray  # (S,): 1 when the force of infection divides by the living population
    exposed: FloatArray  # (S,): 1 when exposed people are vaccinated (to no effect), else 0
    courses: FloatArray  # (S, P, H): courses completed per product per day
    split: FloatArray  # (S, P*R, A): share of product p's courses into its r-th stratum
    group_start: IntArray  # (S, G+1): group g of scenario j is
    group_bands: IntArray  # (S, A): group_bands[j, group_start[j, g] : group_start[j, g + 1]]
    n_groups: IntArray  # (S,): priority groups of each scenario
    weights: FloatArray  # (S, A): zero for bands the strategy does not vaccinate
    refusal: FloatArray  # (S,)
    seeds: FloatArray  # (S, A): infected before day 0 (exposed, infectious, recovered)
    initial: FloatArray  # (S, 4, A): exposed, infectious, recovered, vaccinated at day 0
    initial_stratum: IntArray  # (S,): first stratum of the product the day-0 vaccinated had

    @property
    def size(self) -> int:
        return len(self.scenarios)

    @property
    def n_compartments(self) -> int:
        return 4 * self.n_strata + len(COUNTERS)

    def compartment_names(self) -> tuple[str, ...]:
        strata = ["unvaccinated", "refusing or vaccinated after infection"]
        n_products = self.courses.shape[1]
        codes = [
            self.scenarios[0].vaccines[p].code
            if p < len(self.scenarios[0].vaccines)
            else f"product{p}"
            for p in range(n_products)
        ]
        for code in codes:
            strata.append(f"{code}")
            if self.responders_per_product == 2:
                strata.append(f"{code} (not protected)")
        strata.extend(f"{code} (waned)" for code in codes[: self.n_strata - len(strata)])
        return (*(f"{c}[{s}]" for c in STATE_COMPARTMENTS for s in strata), *COUNTERS)

    def initial_state(self) -> FloatArray:
        """(S, C, A): exposed, infectious and recovered people at day 0 (willing and refusing),
        the day-0 vaccinated in their product's strata, everyone else susceptible."""
        k = self.n_strata
        y = np.zeros((self.size, self.n_compartments, self.population.shape[1]))
        exposed, infectious, recovered, vaccinated = (self.initial[:, c] for c in range(4))
        susceptible = self.population - exposed - infectious - recovered - vaccinated
        refusal = self.refusal[:, None]
        for block, people in enumerate((susceptible, exposed, infectious, recovered)):
            y[:, block * k] = people * (1.0 - refusal)
            y[:, block * k + 1] = people * refusal
        if vaccinated.any():
            r = self.responders_per_product
            for j in np.flatnonzero(vaccinated.any(axis=1)):
                first = int(self.initial_stratum[j])
                for m in range(r):
                    share = self.split[j, (first - 2) + m]
                    y[j, first + m] += vaccinated[j] * share
        return y


def _distinct(values: Sequence[Hashable]) -> tuple[list[Any], IntArray]:
    """The distinct values (in order of first appearance) and each value's index among them.

    Variants of one scenario made with :func:`dataclasses.replace` share their parts (vaccines,
    strategy, rollout, arrays) by identity, so a part seen before is recognised by ``id``
    without hashing it again (every value stays alive in ``values`` meanwhile, so ids are not
    reused); equal parts built separately are merged by value."""
    by_id: dict[int, int] = {}
    by_value: dict[Hashable, int] = {}
    distinct: list[Any] = []
    index = np.empty(len(values), dtype=np.int64)
    for j, value in enumerate(values):
        i = by_id.get(id(value))
        if i is None:
            i = by_value.setdefault(value, len(distinct))
            if i == len(distinct):
                distinct.append(value)
            by_id[id(value)] = i
        index[j] = i
    return distinct, index


def _distinct_arrays(arrays: Sequence[FloatArray]) -> tuple[list[FloatArray], IntArray]:
    """:func:`_distinct` for arrays, compared by identity only (a scenario's arrays are
    read-only, and variants share them)."""
    by_id: dict[int, int] = {}
    distinct: list[FloatArray] = []
    index = np.empty(len(arrays), dtype=np.int64)
    for j, arr in enumerate(arrays):
        i = by_id.setdefault(id(arr), len(distinct))
        if i == len(distinct):
            distinct.append(arr)
        index[j] = i
    return distinct, index


def _daily_courses(
    scenarios: Sequence[Scenario],
    vaccine_sets: Sequence[tuple[VaccineProfile, ...]],
    vaccines_of: IntArray,
    population_sets: Sequence[FloatArray],
    population_of: IntArray,
    n_products: int,
) -> FloatArray:
    """(S, P, H): each scenario's :meth:`Scenario.daily_courses`, padded to ``n_products``.

    Steady rollouts (most batches: sweeps, comparisons) are worked out together
    (:func:`rate_daily_doses`), then scaled to courses per group of scenarios sharing a
    vaccine set and product: one ``daily_courses`` call per scenario took about a tenth of
    a 1,000-scenario ``simulate`` on two threads. Other rollouts (delivery schedules) are
    worked out once per distinct rollout, vaccine set and population. Tests hold the result
    equal to ``daily_courses`` scenario by scenario."""
    horizon = scenarios[0].horizon_days
    totals = np.array([float(p.sum()) for p in population_sets])
    courses = np.zeros((len(scenarios), n_products, horizon))
    steady: list[int] = []
    rates: list[float] = []
    supplies: list[float] = []
    starts: list[int] = []
    # positions in ``steady`` of the scenarios of each (vaccine set, product)
    groups: dict[tuple[int, str], list[int]] = {}
    others: list[int] = []
    for j, (sc, v) in enumerate(zip(scenarios, vaccines_of.tolist(), strict=True)):
        rollout = sc.rollout
        if type(rollout) is RateRollout:
            groups.setdefault((v, rollout.product), []).append(len(steady))
            steady.append(j)
            rates.append(rollout.doses_per_day_share)
            supplies.append(rollout.supply_share)
            starts.append(rollout.start_day)
        elif rollout is not None:
            others.append(j)
    if steady:
        rows = np.array(steady, dtype=np.int64)
        population = totals[population_of[rows]]
        doses = rate_daily_doses(
            np.array(rates) * population,
            np.array(supplies) * population,
            np.array(starts, dtype=np.int64),
            horizon,
        )
        for (v, product), members in groups.items():
            # the whole batch in one group (sweeps, the benchmark): no gathered copies
            everyone = len(members) == len(scenarios)
            at = np.array(members, dtype=np.int64)
            for i, vaccine in enumerate(vaccine_sets[v]):
                if vaccine.code != product:
                    continue
                factor = course_equivalents(1.0, vaccine.doses_per_course)
                if everyone:
                    np.multiply(doses, factor, out=courses[:, i])
                else:
                    courses[rows[at], i] = doses[at] * factor
    if others:
        subset = [scenarios[j] for j in others]
        _, rollout_of = _distinct([sc.rollout for sc in subset])
        plans: dict[tuple[int, int, float], FloatArray] = {}
        for j, sc, r in zip(others, subset, rollout_of.tolist(), strict=True):
            plan = (r, int(vaccines_of[j]), float(totals[population_of[j]]))
            daily = plans.get(plan)
            if daily is None:
                daily = plans[plan] = sc.daily_courses()
            courses[j, : daily.shape[0]] = daily
    return courses


def compile_batch(scenarios: Sequence[Scenario]) -> Batch:
    """Stack scenarios (same number of bands and horizon) into arrays.

    Variants of one scenario (sweeps, comparisons) share contacts, vaccines, strategy and often
    the rollout: each distinct one is worked out once per batch, and per-scenario arrays are
    gathered from those tables (a Python loop per scenario costs more than the kernel's work
    for it would allow)."""
    if not scenarios:
        raise DoseflowError(
            "IMPACT_EMPTY_BATCH",
            "no scenarios to run",
            field="scenarios",
            expected="at least one scenario",
            value=0,
        )
    first = scenarios[0]
    n_bands, horizon = len(first.bands), first.horizon_days
    for sc in scenarios:
        if len(sc.bands) != n_bands or sc.horizon_days != horizon:
            raise DoseflowError(
                "IMPACT_BATCH_MISMATCH",
                f"scenario {sc.name} has {len(sc.bands)} bands and {sc.horizon_days} days; "
                f"the batch has {n_bands} bands and {horizon} days",
                field="scenarios",
                expected="scenarios run together to share the number of age bands and the horizon",
                value=sc.name,
            )
    n = len(scenarios)
    vaccine_sets, vaccines_of = _distinct([sc.vaccines for sc in scenarios])
    n_products = max(len(vs) for vs in vaccine_sets)
    any_aon = any(v.strata()[1].share.max() > 0 for vs in vaccine_sets for v in vs)
    per_product = 2 if any_aon else 1
    any_waning = any(v.wanes for vs in vaccine_sets for v in vs)
    first_waned = FIRST_PRODUCT_STRATUM + n_products * per_product
    k = first_waned + (n_products if any_waning else 0)

    # strata of each distinct vaccine set: multipliers of susceptibility, fatality, symptoms
    # and infectiousness by band; shares into the product strata; waning
    n_sets = len(vaccine_sets)
    set_sigma, set_phi, set_psi, set_rho = (np.ones((n_sets, k, n_bands)) for _ in range(4))
    set_split = np.zeros((n_sets, n_products * per_product, n_bands))
    set_waning = np.zeros((n_sets, k))
    set_wane_into = np.zeros((n_sets, k), dtype=np.int64)
    for u, vs in enumerate(vaccine_sets):
        for p, v in enumerate(vs):
            strata = v.strata()[:per_product]
            for r, st in enumerate(strata):
                at = FIRST_PRODUCT_STRATUM + p * per_product + r
                set_sigma[u, at], set_phi[u, at] = st.susceptibility, st.fatality
                set_psi[u, at], set_rho[u, at] = st.symptomatic, st.infectiousness
                set_split[u, p * per_product + r] = st.share
                if v.wanes:
                    set_waning[u, at] = v.waning_rate
                    set_wane_into[u, at] = first_waned + p
            if v.wanes:
                waned = v.waned()
                at = first_waned + p
                set_sigma[u, at], set_phi[u, at] = waned.susceptibility, waned.fatality
                set_psi[u, at], set_rho[u, at] = waned.symptomatic, waned.infectiousness
    sigma, phi, split = set_sigma[vaccines_of], set_phi[vaccines_of], set_split[vaccines_of]
    psi, rho = set_psi[vaccines_of], set_rho[vaccines_of]

    # beta from R0: the spectral radius once per distinct contacts and susceptibility
    contact_sets, contacts_of = _distinct_arrays([sc.contacts for sc in scenarios])
    susceptibility_sets, susceptibility_of = _distinct_arrays(
        [sc.susceptibility for sc in scenarios]
    )
    per_r0: dict[tuple[int, int], float] = {}  # beta for R0 = 1 and one day infectious
    unit_beta = np.empty(n)
    for j, key in enumerate(zip(contacts_of.tolist(), susceptibility_of.tolist(), strict=True)):
        if key not in per_r0:
            c, u = key
            per_r0[key] = next_generation_beta(contact_sets[c], susceptibility_sets[u], 1.0, 1.0)
        unit_beta[j] = per_r0[key]
    r0 = np.array([sc.r0 for sc in scenarios])
    infectious_days = np.array([sc.infectious_days for sc in scenarios])
    beta = unit_beta * r0 / infectious_days

    # daily courses: steady rollouts all together, others once per distinct plan
    population_sets, population_of = _distinct_arrays([sc.population for sc in scenarios])
    courses = _daily_courses(
        scenarios, vaccine_sets, vaccines_of, population_sets, population_of, n_products
    )

    # priority groups once per distinct strategy and bands
    strategies, strategy_of = _distinct([(sc.strategy, sc.bands) for sc in scenarios])
    allocations = [strategy.allocation(bands) for strategy, bands in strategies]
    most_groups = max(len(groups) for groups, _ in allocations)
    set_starts = np.zeros((len(strategies), most_groups + 1), dtype=np.int64)
    set_order = np.zeros((len(strategies), n_bands), dtype=np.int64)
    set_weights = np.zeros((len(strategies), n_bands))
    set_groups = np.zeros(len(strategies), dtype=np.int64)
    for u, (band_groups, w) in enumerate(allocations):
        end = 0
        for g, members in enumerate(band_groups):
            idx = list(members)
            set_order[u, end : end + len(idx)] = idx
            end += len(idx)
            set_starts[u, g + 1 :] = end
            if idx:
                set_weights[u, idx] = w[idx] / w[idx].max()
        set_groups[u] = len(band_groups)

    population = np.stack(population_sets)[population_of]
    susceptibility = np.stack(susceptibility_sets)[susceptibility_of]
    contacts = np.stack(contact_sets)[contacts_of]
    # transmission[j, b, a] = beta_j * u_a * C_ab / N_b: transposed so the kernel sums columns,
    # and divided by the band's population here rather than at every step
    transmission = np.ascontiguousarray(
        (beta[:, None, None] * susceptibility[:, :, None] * contacts).transpose(0, 2, 1)
        / population[:, :, None]
    )
    gamma = 1.0 / infectious_days
    ifr = np.stack([sc.ifr for sc in scenarios])
    clinical = np.stack([np.asarray(sc.symptomatic_fraction, dtype=np.float64) for sc in scenarios])
    initial_infected = np.array([sc.initial_infected for sc in scenarios])
    initial = np.zeros((n, 4, n_bands))
    initial[:, 1] = initial_infected[:, None] * population  # the default seed
    initial_stratum = np.full(n, 2, dtype=np.int64)
    worked_out: dict[tuple[int, int], FloatArray] = {}  # once per conditions and population
    for j, sc in enumerate(scenarios):
        if sc.initial is not None:  # given by band and compartment
            key = (id(sc.initial), id(sc.population))  # both alive in ``scenarios``
            counts = worked_out.get(key)
            if counts is None:
                counts = worked_out[key] = sc.initial_counts()
            initial[j] = counts
            initial_stratum[j] = 2 + sc.initial_vaccine() * per_product
    return Batch(
        scenarios=tuple(scenarios),
        n_strata=k,
        responders_per_product=per_product,
        horizon=horizon,
        population=population,
        transmission=transmission,
        kappa=1.0 / np.array([sc.latent_days for sc in scenarios]),
        gamma=gamma,
        sigma=sigma,
        death_rate=gamma[:, None, None] * phi * ifr[:, None, :],
        infectiousness=rho,
        symptomatic=psi * clinical[:, None, :],
        waning=set_waning[vaccines_of],
        wane_into=set_wane_into[vaccines_of],
        living=np.array(
            [sc.denominator is ForceDenominator.LIVING for sc in scenarios], dtype=np.int64
        ),
        exposed=np.array(
            [sc.eligibility is Eligibility.SUSCEPTIBLE_EXPOSED_RECOVERED for sc in scenarios],
            dtype=np.float64,
        ),
        courses=courses,
        split=split,
        group_start=set_starts[strategy_of],
        group_bands=set_order[strategy_of],
        n_groups=set_groups[strategy_of],
        weights=set_weights[strategy_of],
        refusal=np.array([sc.refusal for sc in scenarios]),
        seeds=initial[:, :3].sum(axis=1),
        initial=initial,
        initial_stratum=initial_stratum,
    )


def integrate(
    batch: Batch,
    steps_per_day: int = DEFAULT_STEPS_PER_DAY,
    *,
    by_age: bool = True,
    threads: int | None = None,
) -> SimulationResult:
    """Advance every scenario of ``batch`` over its horizon with fixed-step RK4, the batch cut
    into ``threads`` contiguous slices run side by side (default :func:`default_threads`)."""
    if steps_per_day < 1:
        raise DoseflowError(
            "IMPACT_BAD_PARAMETER",
            "steps_per_day must be at least 1",
            field="steps_per_day",
            expected="an integer >= 1",
            value=steps_per_day,
        )
    if threads is not None and threads < 1:
        raise DoseflowError(
            "IMPACT_BAD_PARAMETER",
            "threads must be at least 1",
            field="threads",
            expected="an integer >= 1",
            value=threads,
        )
    from doseflow.impact.kernel import integrate_range

    n, n_bands, days = batch.size, batch.population.shape[1], batch.horizon + 1
    state = batch.initial_state()
    flat = state.reshape(n, -1)  # a view: each scenario's state is one contiguous row
    recorded = n_bands if by_age else 1
    infections, deaths, vaccinated, symptomatic = (np.zeros((n, days, recorded)) for _ in range(4))

    def run(first: int, stop: int) -> None:
        integrate_range(
            first,
            stop,
            steps_per_day,
            batch.n_strata,
            REACH_DAYS,
            batch.transmission,
            batch.kappa,
            batch.gamma,
            batch.sigma.reshape(n, -1),
            batch.death_rate.reshape(n, -1),
            batch.infectiousness.reshape(n, -1),
            batch.symptomatic.reshape(n, -1),
            batch.waning,
            batch.wane_into,
            batch.living,
            batch.population,
            batch.exposed,
            batch.courses,
            batch.split,
            batch.group_start,
            batch.group_bands,
            batch.n_groups,
            batch.weights,
            batch.seeds,
            flat,
            infections,
            deaths,
            vaccinated,
            symptomatic,
        )

    wanted = default_threads() if threads is None else threads
    workers = max(1, min(wanted, n // MIN_SCENARIOS_PER_THREAD))
    if workers == 1:
        run(0, n)
    else:
        # a few slices per thread, taken in turn by whichever thread is free: on a shared
        # machine one thread may get less of its core, and the others then take more slices
        slices = min(SLICES_PER_THREAD * workers, n // MIN_SCENARIOS_PER_THREAD)
        bounds = np.linspace(0, n, slices + 1).round().astype(int)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for done in [
                pool.submit(run, int(lo), int(hi)) for lo, hi in itertools.pairwise(bounds)
            ]:
                done.result()

    k = batch.n_strata
    if not by_age:
        infections, deaths, vaccinated, symptomatic = (
            a[:, :, 0] for a in (infections, deaths, vaccinated, symptomatic)
        )
    return SimulationResult(
        scenarios=batch.scenarios,
        infections_by_age=state[:, k : 4 * k].sum(axis=1) + state[:, 4 * k] - batch.seeds,
        deaths_by_age=state[:, 4 * k].copy(),
        vaccinated_by_age=state[:, 4 * k + 1].copy(),
        symptomatic_by_age=state[:, 4 * k + 2].copy(),
        daily_infections=infections,
        daily_deaths=deaths,
        daily_vaccinated=vaccinated,
        daily_symptomatic=symptomatic,
        final_state=state,
        compartments=batch.compartment_names(),
    )


def simulate(
    scenarios: Sequence[Scenario],
    *,
    steps_per_day: int = DEFAULT_STEPS_PER_DAY,
    by_age: bool = True,
    threads: int | None = None,
) -> SimulationResult:
    """Run ``scenarios`` together (the main entry point): one batch through the compiled RK4
    kernel, on ``threads`` threads (default: the usable cores from the main thread, else one)."""
    return integrate(compile_batch(scenarios), steps_per_day, by_age=by_age, threads=threads)
