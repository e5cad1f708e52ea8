"""Where every dose went: given to the strategy's groups, spilled, or held.

A day's courses go to the first priority group with eligible people left and on down the
list; when the listed groups have none left, the strategy's spill policy decides (see
:mod:`doseflow.impact.strategy`): ``hold`` keeps the doses unused, ``everyone`` spreads them
over the bands the rule does not list. Silently dropping them made ``ordered:60+`` at 20%
supply look like a 20% programme while one column (courses) showed otherwise; this account
states it, to the dose:

    doses = to_groups + spilled + held

``doses`` are the doses the rollout administers within the horizon (a delivery schedule's
backlog at the horizon is not counted). Given doses are the courses the model completed
times the doses per course of the day's products (each product takes a fixed share of a
day's courses, so the day's doses per course is the mix of that day); ``held`` is the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from doseflow.domain.units import course_equivalents
from doseflow.impact.results import SimulationResult
from doseflow.impact.rollout import RateRollout
from doseflow.impact.scenario import Scenario

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DoseAccount:
    """Doses of each scenario (arrays over scenarios; ``by_band`` scenarios x bands)."""

    doses: FloatArray
    to_groups: FloatArray
    spilled: FloatArray
    held: FloatArray
    by_band: FloatArray

    def table(self, result: SimulationResult) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "scenario": [sc.name for sc in result.scenarios],
                "strategy": [sc.strategy.name for sc in result.scenarios],
                "doses": self.doses,
                "doses_to_groups": self.to_groups,
                "doses_spilled": self.spilled,
                "doses_held": self.held,
            }
        )


def _single_product(sc: Scenario) -> float | None:
    """Doses per course when one product only is given (the usual case), else ``None``."""
    if sc.rollout is None:
        return None
    products = set(sc.rollout.products)
    used = [v for v in sc.vaccines if v.code in products]
    return float(used[0].doses_per_course) if len(used) == 1 else None


def _steady_doses(sc: Scenario) -> float | None:
    """Doses a steady rollout gives within the horizon (closed form), else ``None``."""
    r = sc.rollout
    if type(r) is not RateRollout:
        return None
    pop = sc.total_population
    return min(
        r.supply_share * pop, r.doses_per_day_share * pop * max(0, sc.horizon_days - r.start_day)
    )


def dose_account(result: SimulationResult) -> DoseAccount:
    """The account of every scenario of ``result`` (no vaccination: all zeros)."""
    n = len(result)
    n_bands = result.vaccinated_by_age.shape[1]
    doses, given = np.zeros(n), np.zeros(n)
    by_band = np.zeros((n, n_bands))
    spilled = np.zeros(n)
    daily_total = result.daily_totals(result.daily_vaccinated)
    spill_of: dict[tuple[object, object], list[int]] = {}  # per strategy and bands, once
    for j, sc in enumerate(result.scenarios):
        if sc.rollout is None:
            continue
        per_course = _single_product(sc)
        steady = _steady_doses(sc)
        if per_course is not None and steady is not None:
            doses[j] = steady
            by_band[j] = result.vaccinated_by_age[j] * per_course
        else:
            daily = sc.rollout.daily_doses(sc.total_population, sc.horizon_days)
            day_doses = np.zeros(sc.horizon_days)
            day_courses = np.zeros(sc.horizon_days)
            for v in sc.vaccines:
                if v.code in daily:
                    day_doses += daily[v.code]
                    day_courses += daily[v.code] * course_equivalents(1.0, v.doses_per_course)
            doses[j] = float(day_doses.sum())
            ratio = np.divide(
                day_doses, day_courses, out=np.zeros_like(day_doses), where=day_courses > 0
            )
            if result.daily_vaccinated.ndim == 3:
                absorbed = np.diff(result.daily_vaccinated[j], axis=0)  # (H, A)
                by_band[j] = (absorbed * ratio[:, None]).sum(axis=0)
            else:
                absorbed_total = np.diff(daily_total[j])
                total = float((absorbed_total * ratio).sum())
                courses = result.vaccinated_by_age[j]
                share = courses / courses.sum() if courses.sum() > 0 else courses
                by_band[j] = share * total
        given[j] = by_band[j].sum()
        key = (sc.strategy, sc.bands)
        spill = spill_of.get(key)
        if spill is None:
            spill = spill_of[key] = list(sc.strategy.spill_bands(sc.bands))
        spilled[j] = by_band[j, spill].sum() if spill else 0.0
    return DoseAccount(
        doses=doses,
        to_groups=given - spilled,
        spilled=spilled,
        held=doses - given,
        by_band=by_band,
    )
