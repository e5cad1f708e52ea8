"""What a model run returns: infections, symptomatic cases, deaths, years of life lost and
courses, by age and day.

Arrays are scenario-first. Daily series are cumulative from day 0 (``daily_deaths[:, d]``:
deaths up to the end of day ``d``); with ``by_age=False`` they are totals over bands only
(sweeps keep memory small that way).

**Infections** are the cumulative incidence: everyone who entered the exposed compartment by
the horizon (so including people still incubating or infectious then), excluding the initial
seed. **Symptomatic cases** are those infections that are symptomatic (clinical fraction by
age, times the vaccine's effect on symptoms given infection for vaccinated people).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

if TYPE_CHECKING:
    from doseflow.impact.doses import DoseAccount
    from doseflow.impact.scenario import Scenario

FloatArray = npt.NDArray[np.float64]

#: What "infections" counts, for outputs that must say so (issue 13).
INFECTIONS_DEFINITION = (
    "cumulative incidence: people infected (entered the exposed compartment) from day 0 to "
    "the horizon, including those still incubating or infectious then, excluding the people "
    "infected at day 0"
)

#: Outcomes reported averted, in number and as a share of the outcome without vaccination.
OUTCOMES = ("deaths", "infections", "symptomatic", "yll")


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Outcomes of a batch of scenarios, in the order they were given. Totals and years of
    life lost are worked out on first use and kept (tables read them once per row)."""

    scenarios: tuple[Scenario, ...]
    infections_by_age: FloatArray  # (S, A) at the horizon
    deaths_by_age: FloatArray  # (S, A)
    vaccinated_by_age: FloatArray  # (S, A) courses completed
    daily_infections: FloatArray  # (S, H+1, A) or (S, H+1)
    daily_deaths: FloatArray
    daily_vaccinated: FloatArray
    final_state: FloatArray  # (S, compartments, A)
    compartments: tuple[str, ...]
    symptomatic_by_age: FloatArray  # (S, A) symptomatic cases
    daily_symptomatic: FloatArray  # (S, H+1, A) or (S, H+1)

    def __len__(self) -> int:
        return len(self.scenarios)

    @cached_property
    def life_expectancy(self) -> FloatArray:
        return np.stack([sc.life_expectancy for sc in self.scenarios])

    @cached_property
    def yll_by_age(self) -> FloatArray:
        """Years of life lost: deaths x remaining life expectancy of the band (GBD 2019)."""
        return np.asarray(self.deaths_by_age * self.life_expectancy)

    @cached_property
    def deaths(self) -> FloatArray:
        return np.asarray(self.deaths_by_age.sum(axis=1))

    @cached_property
    def infections(self) -> FloatArray:
        return np.asarray(self.infections_by_age.sum(axis=1))

    @cached_property
    def symptomatic(self) -> FloatArray:
        return np.asarray(self.symptomatic_by_age.sum(axis=1))

    @cached_property
    def yll(self) -> FloatArray:
        return np.asarray(self.yll_by_age.sum(axis=1))

    @cached_property
    def vaccinated(self) -> FloatArray:
        return np.asarray(self.vaccinated_by_age.sum(axis=1))

    @cached_property
    def doses(self) -> DoseAccount:
        """Where every dose went: to the strategy's groups, spilled, or held
        (:mod:`doseflow.impact.doses`)."""
        from doseflow.impact.doses import dose_account

        return dose_account(self)

    def daily_totals(self, series: FloatArray) -> FloatArray:
        return np.asarray(series.sum(axis=2) if series.ndim == 3 else series)

    def summary(self) -> pd.DataFrame:
        """One row per scenario: labels, parameters, and totals."""
        rows = []
        account = self.doses
        for j, sc in enumerate(self.scenarios):
            rows.append(
                {
                    "scenario": sc.name,
                    **dict(sc.labels),
                    "strategy": sc.strategy.name,
                    "r0": sc.r0,
                    "population": sc.total_population,
                    "infections": float(self.infections[j]),
                    "symptomatic": float(self.symptomatic[j]),
                    "deaths": float(self.deaths[j]),
                    "yll": float(self.yll[j]),
                    "courses": float(self.vaccinated[j]),
                    "doses": float(account.doses[j]),
                    "doses_to_groups": float(account.to_groups[j]),
                    "doses_spilled": float(account.spilled[j]),
                    "doses_held": float(account.held[j]),
                }
            )
        return pd.DataFrame(rows)

    def by_age(self) -> pd.DataFrame:
        """Long table: scenario x band with infections, deaths, YLL and courses."""
        rows = []
        yll = self.yll_by_age
        for j, sc in enumerate(self.scenarios):
            for a, label in enumerate(sc.bands.labels):
                rows.append(
                    {
                        "scenario": sc.name,
                        "band": label,
                        "population": float(sc.population[a]),
                        "infections": float(self.infections_by_age[j, a]),
                        "symptomatic": float(self.symptomatic_by_age[j, a]),
                        "deaths": float(self.deaths_by_age[j, a]),
                        "yll": float(yll[j, a]),
                        "courses": float(self.vaccinated_by_age[j, a]),
                    }
                )
        return pd.DataFrame(rows)

    def timeseries(self) -> pd.DataFrame:
        """Long table: scenario x day with cumulative infections, symptomatic cases, deaths and
        courses."""
        inf, sym, dth, vac = (
            self.daily_totals(s)
            for s in (
                self.daily_infections,
                self.daily_symptomatic,
                self.daily_deaths,
                self.daily_vaccinated,
            )
        )
        days = np.arange(inf.shape[1])
        frames = [
            pd.DataFrame(
                {
                    "scenario": sc.name,
                    "day": days,
                    "infections": inf[j],
                    "symptomatic": sym[j],
                    "deaths": dth[j],
                    "courses": vac[j],
                }
            )
            for j, sc in enumerate(self.scenarios)
        ]
        return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class Averted:
    """Outcomes averted by vaccination against the same epidemic without it, in number and as a
    share of the outcome without vaccination (0 when there was none)."""

    deaths: FloatArray
    infections: FloatArray
    yll: FloatArray
    deaths_share: FloatArray  # averted / deaths without vaccination
    symptomatic: FloatArray
    infections_share: FloatArray
    symptomatic_share: FloatArray
    yll_share: FloatArray

    def row(self, j: int) -> dict[str, float]:
        """Scenario ``j``'s outcomes averted: ``deaths_averted``, ``deaths_averted_share``, ...
        for every outcome of :data:`OUTCOMES`."""
        out: dict[str, float] = {}
        for outcome in OUTCOMES:
            share = "deaths_share" if outcome == "deaths" else f"{outcome}_share"
            out[f"{outcome}_averted"] = float(getattr(self, outcome)[j])
            out[f"{outcome}_averted_share"] = float(getattr(self, share)[j])
        return out


def _share(averted: FloatArray, base: FloatArray) -> FloatArray:
    return np.asarray(averted / np.where(base > 0, base, 1.0))


def averted(
    with_vaccine: SimulationResult, without: SimulationResult, index: Sequence[int] | None = None
) -> Averted:
    """Reduction against ``without`` (scenario ``j`` of ``with_vaccine`` is compared with
    scenario ``index[j]`` of ``without``; by default the same position)."""
    idx = np.arange(len(with_vaccine)) if index is None else np.asarray(index)
    base_d, base_i, base_y = without.deaths[idx], without.infections[idx], without.yll[idx]
    base_s = without.symptomatic[idx]
    d = base_d - with_vaccine.deaths
    i = base_i - with_vaccine.infections
    s = base_s - with_vaccine.symptomatic
    y = base_y - with_vaccine.yll
    return Averted(
        deaths=d,
        infections=i,
        yll=y,
        deaths_share=_share(d, base_d),
        symptomatic=s,
        infections_share=_share(i, base_i),
        symptomatic_share=_share(s, base_s),
        yll_share=_share(y, base_y),
    )
