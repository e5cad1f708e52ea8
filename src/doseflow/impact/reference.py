"""The accuracy check: the model's equations written again in NumPy and solved by SciPy's LSODA.

:func:`reference_solution` integrates one scenario with ``scipy.integrate.solve_ivp`` (LSODA,
tight tolerances). Its right-hand side is written here independently of the compiled kernel
(:mod:`doseflow.impact.kernel`), from the scenario itself (contacts, strata of each vaccine,
the strategy's groups, the rollout's daily courses), so agreement checks the kernel's equations
and parameter packing as well as its integration. Vaccination rates change at whole days; the
solve uses those times as ``t_eval`` and ``max_step`` of a day, so LSODA never steps over a
change unawares.

State here is (compartments, bands) with four compartments S, E, I, R per stratum (unvaccinated,
refusing, then a responder and a non-responder stratum for every product), then deaths and
courses: the same quantities as the kernel's, not necessarily the same layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.integrate import solve_ivp

from doseflow.impact.model import next_generation_beta
from doseflow.impact.scenario import Scenario
from doseflow.impact.strategy import REACH_DAYS

FloatArray = npt.NDArray[np.float64]

REFERENCE_RTOL = 1e-10
REFERENCE_ATOL = 1e-6  # persons


@dataclass(frozen=True)
class ReferenceSolution:
    """Cumulative outcomes by day (0..horizon) and band, as :class:`SimulationResult` has them."""

    daily_infections: FloatArray  # (H+1, A), excluding the seed
    daily_deaths: FloatArray  # (H+1, A)
    daily_vaccinated: FloatArray  # (H+1, A)


class _Equations:
    """d(state)/dt of one scenario, in vectorised NumPy."""

    def __init__(self, sc: Scenario) -> None:
        beta = next_generation_beta(sc.contacts, sc.susceptibility, sc.r0, sc.infectious_days)
        self.mixing = beta * sc.susceptibility[:, None] * sc.contacts  # force = mixing @ (I/N)
        self.population = sc.population
        self.kappa = 1.0 / sc.latent_days
        self.gamma = 1.0 / sc.infectious_days
        sigma, phi, shares = [1.0, 1.0], [1.0, 1.0], []
        for vaccine in sc.vaccines:
            for stratum in vaccine.strata():
                sigma.append(stratum.susceptibility)
                phi.append(stratum.fatality)
                shares.append(stratum.share)
        self.k = len(sigma)
        self.sigma = np.array(sigma)[:, None]
        self.death_rate = self.gamma * np.array(phi)[:, None] * sc.ifr[None, :]
        self.shares = np.array(shares).reshape(len(sc.vaccines), 2)
        self.courses = sc.daily_courses()  # (P, H)
        groups, w = sc.strategy.allocation(sc.bands)
        self.groups = [(np.array(g, dtype=np.intp), w[list(g)] / w[list(g)].max()) for g in groups]

    def initial_state(self, sc: Scenario) -> FloatArray:
        y = np.zeros((4 * self.k + 2, len(sc.bands)))
        exposed, infectious, recovered, vaccinated = sc.initial_counts()
        susceptible = sc.population - exposed - infectious - recovered - vaccinated
        for block, people in enumerate((susceptible, exposed, infectious, recovered)):
            y[block * self.k] = people * (1.0 - sc.refusal)
            y[block * self.k + 1] = people * sc.refusal
        p = sc.initial_vaccine()
        for r in range(2):  # the day-0 vaccinated, susceptible in their product's strata
            y[2 + 2 * p + r] += vaccinated * self.shares[p, r]
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
        k = self.k
        y = flat.reshape(4 * k + 2, -1)
        s, e, i, r = y[0:k], y[k : 2 * k], y[2 * k : 3 * k], y[3 * k : 4 * k]
        force = self.mixing @ (i.sum(axis=0) / self.population)
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
        day = min(int(t), self.courses.shape[1] - 1)
        per_product = self.courses[:, day]
        total = float(per_product.sum())
        if total > 0:
            hazard = self.vaccination_hazard(s[0] + r[0], total)
            into = ((per_product / total)[:, None] * self.shares).ravel()[:, None]
            from_s, from_r = hazard * s[0], hazard * r[0]
            out[0] -= from_s
            out[3 * k] -= from_r
            out[2:k] += into * from_s
            out[3 * k + 2 : 4 * k] += into * from_r
            out[4 * k + 1] = from_s + from_r
        return out.ravel()


def reference_solution(
    scenario: Scenario, *, rtol: float = REFERENCE_RTOL, atol: float = REFERENCE_ATOL
) -> ReferenceSolution:
    """Daily cumulative infections, deaths and courses by band, by LSODA."""
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
    seeds = scenario.initial_counts()[:3].sum(axis=0)
    return ReferenceSolution(
        daily_infections=states[:, k : 4 * k].sum(axis=1) + states[:, 4 * k] - seeds,
        daily_deaths=states[:, 4 * k],
        daily_vaccinated=states[:, 4 * k + 1],
    )


def reference_daily_deaths(
    scenario: Scenario, *, rtol: float = REFERENCE_RTOL, atol: float = REFERENCE_ATOL
) -> FloatArray:
    """Cumulative deaths at the end of each day 0..horizon (LSODA), total over bands."""
    return np.asarray(reference_solution(scenario, rtol=rtol, atol=atol).daily_deaths.sum(axis=1))


def reference_deaths(scenario: Scenario) -> float:
    """Deaths at the horizon by LSODA (tight tolerances)."""
    return float(reference_daily_deaths(scenario)[-1])
