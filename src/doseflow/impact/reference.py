"""The accuracy check: the model's equations written again in NumPy and solved by SciPy's LSODA.

:func:`reference_solution` integrates one scenario with ``scipy.integrate.solve_ivp`` (LSODA,
tight tolerances). Its right-hand side is written here independently of the compiled kernel
(:mod:`doseflow.impact.kernel`), from the scenario itself (contacts, strata of each vaccine,
the strategy's groups, the rollout's daily courses), so agreement checks the kernel's equations
and parameter packing as well as its integration. Vaccination rates change at whole days; the
solve uses those times as ``t_eval`` and ``max_step`` of a day, so LSODA never steps over a
change unawares.

State here is (compartments, bands) with four compartments S, E, I, R per stratum (unvaccinated,
refusing, vaccinated after infection, then a responder and a non-responder stratum for every
product, then a waned stratum for every product), then deaths, courses, symptomatic cases and
cumulative incidence (a counter of entries into E the kernel does not keep: the kernel's
infections, everyone in E, I, R or D but the seed, are checked against it): the same
quantities as the kernel's, not necessarily the same layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.integrate import solve_ivp

from doseflow.impact.epidemiology import ForceDenominator
from doseflow.impact.model import next_generation_beta
from doseflow.impact.scenario import Scenario
from doseflow.impact.strategy import REACH_DAYS
from doseflow.impact.vaccine import Eligibility

FloatArray = npt.NDArray[np.float64]

REFERENCE_RTOL = 1e-10
REFERENCE_ATOL = 1e-6  # persons


@dataclass(frozen=True)
class ReferenceSolution:
    """Cumulative outcomes by day (0..horizon) and band, as :class:`SimulationResult` has them."""

    daily_infections: FloatArray  # (H+1, A), entries into E (the seed excluded)
    daily_deaths: FloatArray  # (H+1, A)
    daily_vaccinated: FloatArray  # (H+1, A)
    daily_symptomatic: FloatArray  # (H+1, A)
    states: FloatArray  # (H+1, 4 K + 4, A)
    n_strata: int


class _Equations:
    """d(state)/dt of one scenario, in vectorised NumPy."""

    def __init__(self, sc: Scenario) -> None:
        beta = next_generation_beta(sc.contacts, sc.susceptibility, sc.r0, sc.infectious_days)
        self.mixing = beta * sc.susceptibility[:, None] * sc.contacts  # force = mixing @ (I/N)
        self.population = sc.population
        self.living = sc.denominator is ForceDenominator.LIVING
        self.exposed = sc.eligibility is Eligibility.SUSCEPTIBLE_EXPOSED_RECOVERED
        self.kappa = 1.0 / sc.latent_days
        self.gamma = 1.0 / sc.infectious_days
        n, p = len(sc.bands), len(sc.vaccines)
        ones = np.ones(n)
        # rows: unvaccinated, refusing, vaccinated after infection; 2 per product; waned
        sigma, phi, psi, rho = ([ones, ones, ones] for _ in range(4))
        shares, waning = [], [0.0, 0.0, 0.0]
        for vaccine in sc.vaccines:
            for stratum in vaccine.strata():
                sigma.append(stratum.susceptibility * ones)
                phi.append(stratum.fatality * ones)
                psi.append(stratum.symptomatic * ones)
                rho.append(stratum.infectiousness * ones)
                shares.append(stratum.share * ones)
                waning.append(vaccine.waning_rate)
        for vaccine in sc.vaccines:
            waned = vaccine.waned()
            sigma.append(waned.susceptibility * ones)
            phi.append(waned.fatality * ones)
            psi.append(waned.symptomatic * ones)
            rho.append(waned.infectiousness * ones)
            waning.append(0.0)
        self.k = len(sigma)
        self.p = p
        self.sigma = np.array(sigma)
        self.death_rate = self.gamma * np.array(phi) * sc.ifr[None, :]
        self.cases = np.array(psi) * np.asarray(sc.symptomatic_fraction)[None, :]
        self.rho = np.array(rho)
        self.shares = np.array(shares).reshape(p, 2, n)
        self.waning = np.array(waning)[:, None]
        self.courses = sc.daily_courses()  # (P, H)
        groups, w = sc.strategy.allocation(sc.bands)
        self.groups = [(np.array(g, dtype=np.intp), w[list(g)] / w[list(g)].max()) for g in groups]

    def initial_state(self, sc: Scenario) -> FloatArray:
        y = np.zeros((4 * self.k + 4, len(sc.bands)))
        exposed, infectious, recovered, vaccinated = sc.initial_counts()
        susceptible = sc.population - exposed - infectious - recovered - vaccinated
        for block, people in enumerate((susceptible, exposed, infectious, recovered)):
            y[block * self.k] = people * (1.0 - sc.refusal)
            y[block * self.k + 1] = people * sc.refusal
        p = sc.initial_vaccine()
        for r in range(2):  # the day-0 vaccinated, susceptible in their product's strata
            y[3 + 2 * p + r] += vaccinated * self.shares[p, r]
        return y

    def vaccination_hazard(self, eligible: FloatArray, total: float) -> FloatArray:
        """Per-capita rate by band: groups served in order, each up to sum(w x eligible) a
        day (REACH_DAYS), the rest spilling to the next group."""
        hazard = np.zeros_like(eligible)
        left = total
        for bands, w in self.groups:
            weighted = float(w @ eligible[bands])
            capacity = weighted / REACH_DAYS
            given = min(max(left, 0.0), capacity)
            left -= capacity
            if weighted > 0:
                hazard[bands] = w * given / weighted
        return hazard

    def __call__(self, t: float, flat: FloatArray) -> FloatArray:
        k, p = self.k, self.p
        y = flat.reshape(4 * k + 4, -1)
        s, e, i, r = y[0:k], y[k : 2 * k], y[2 * k : 3 * k], y[3 * k : 4 * k]
        dead = y[4 * k]
        alive = self.population - dead if self.living else self.population
        force = self.mixing @ ((self.rho * i).sum(axis=0) / alive)
        infections = self.sigma * force * s
        progression = self.kappa * e
        leaving = self.gamma * i
        dying = self.death_rate * i
        out = np.zeros_like(y)
        out[0:k] = -infections
        out[k : 2 * k] = infections - progression
        out[2 * k : 3 * k] = progression - leaving
        out[3 * k : 4 * k] = leaving - dying
        out[4 * k] = dying.sum(axis=0)
        out[4 * k + 2] = (self.cases * infections).sum(axis=0)
        out[4 * k + 3] = infections.sum(axis=0)
        # waning: product strata (3 .. 3 + 2P) into the product's waned stratum, everyone
        first_waned = 3 + 2 * p
        for block in range(4):
            rows = slice(block * k + 3, block * k + first_waned)
            flow = self.waning[3:first_waned] * y[rows]
            out[rows] -= flow
            out[block * k + first_waned : block * k + k] += flow.reshape(p, 2, -1).sum(axis=1)
        day = min(int(t), self.courses.shape[1] - 1)
        per_product = self.courses[:, day]
        total = float(per_product.sum())
        if total > 0:
            exposed = e[0] if self.exposed else np.zeros_like(e[0])
            hazard = self.vaccination_hazard(s[0] + exposed + r[0], total)
            into = ((per_product / total)[:, None, None] * self.shares).reshape(2 * p, -1)
            from_s, from_e, from_r = hazard * s[0], hazard * exposed, hazard * r[0]
            out[0] -= from_s
            out[3 : 3 + 2 * p] += into * from_s
            out[k] -= from_e
            out[k + 2] += from_e  # vaccinated after infection: the course runs on unchanged
            out[3 * k] -= from_r
            out[3 * k + 2] += from_r
            out[4 * k + 1] = from_s + from_e + from_r
        return out.ravel()


def reference_solution(
    scenario: Scenario, *, rtol: float = REFERENCE_RTOL, atol: float = REFERENCE_ATOL
) -> ReferenceSolution:
    """Daily cumulative infections, deaths, courses and symptomatic cases by band, by LSODA."""
    equations = _Equations(scenario)
    y0 = equations.initial_state(scenario)
    horizon = scenario.horizon_days
    days = np.arange(horizon + 1, dtype=np.float64)
    sol = solve_ivp(
        equations,
        (0.0, float(horizon)),
        y0.ravel(),
        method="LSODA",
        t_eval=days,
        rtol=rtol,
        atol=atol,
        max_step=1.0,
    )
    if not sol.success:  # not a user error: LSODA does not fail on these smooth equations
        raise RuntimeError(f"solve_ivp failed on {scenario.name}: {sol.message}")
    k = equations.k
    states = sol.y.T.reshape((len(days), *y0.shape))
    return ReferenceSolution(
        daily_infections=states[:, 4 * k + 3],
        daily_deaths=states[:, 4 * k],
        daily_vaccinated=states[:, 4 * k + 1],
        daily_symptomatic=states[:, 4 * k + 2],
        states=states,
        n_strata=k,
    )


def reference_daily_deaths(
    scenario: Scenario, *, rtol: float = REFERENCE_RTOL, atol: float = REFERENCE_ATOL
) -> FloatArray:
    """Cumulative deaths at the end of each day 0..horizon (LSODA), total over bands."""
    return np.asarray(reference_solution(scenario, rtol=rtol, atol=atol).daily_deaths.sum(axis=1))


def reference_deaths(scenario: Scenario) -> float:
    """Deaths at the horizon by LSODA (tight tolerances)."""
    return float(reference_daily_deaths(scenario)[-1])
