"""Strategy comparison: which prioritisation averts most deaths at each supply level.

For one base scenario, every strategy is run at every supply level (doses available as a share
of the population), together with the same epidemic without vaccination, in one batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pandas as pd

from doseflow.domain.errors import DoseflowError
from doseflow.impact.model import simulate
from doseflow.impact.results import averted
from doseflow.impact.rollout import DeliverySchedule, RateRollout
from doseflow.impact.scenario import Scenario
from doseflow.impact.strategy import Strategy

#: Columns of :attr:`StrategyComparison.table`.
COMPARISON_COLUMNS = (
    "scenario",
    "strategy",
    "supply_share",
    "doses",
    "courses",
    "doses_to_groups",
    "doses_spilled",
    "doses_held",
    "infections",
    "symptomatic",
    "deaths",
    "yll",
    "infections_no_vaccine",
    "symptomatic_no_vaccine",
    "deaths_no_vaccine",
    "yll_no_vaccine",
    "deaths_averted",
    "deaths_averted_share",
    "infections_averted",
    "infections_averted_share",
    "symptomatic_averted",
    "symptomatic_averted_share",
    "yll_averted",
    "yll_averted_share",
)
#: What strategies can be ranked by: an outcome averted, in number (the share ranks the same
#: way, since every strategy of a scenario shares one baseline).
METRICS = ("deaths_averted", "yll_averted", "infections_averted", "symptomatic_averted")
#: Short names (``--best-by deaths``) of :data:`METRICS`.
OUTCOMES = ("deaths", "yll", "infections", "symptomatic")


def metric_for(outcome: str) -> str:
    """The column ranking by ``outcome`` (``deaths`` or ``deaths_averted``) uses."""
    metric = outcome if outcome.endswith("_averted") else f"{outcome}_averted"
    if metric not in METRICS:
        raise DoseflowError(
            "IMPACT_UNKNOWN_METRIC",
            f"cannot rank strategies by '{outcome}'",
            field="metric",
            expected=", ".join(OUTCOMES),
            value=outcome,
        )
    return metric


DEFAULT_DOSES_PER_DAY_SHARE = 0.005


@dataclass(frozen=True)
class StrategyComparison:
    """Outcomes of every strategy at every supply level, against no vaccination."""

    table: pd.DataFrame

    def best_by_supply(self, metric: str = "deaths_averted") -> pd.DataFrame:
        """For each supply level, the strategy with the largest ``metric`` (ties: first given).
        ``metric`` is an outcome averted (``deaths_averted``) or its short name (``deaths``)."""
        metric = metric_for(metric)
        idx = self.table.groupby(["scenario", "supply_share"], sort=True)[metric].idxmax()
        return self.table.loc[idx, ["scenario", "supply_share", "strategy", metric]].reset_index(
            drop=True
        )


def with_supply(
    base: Scenario,
    supply_share: float,
    strategy: Strategy,
    doses_per_day_share: float | None = None,
) -> Scenario:
    """``base`` with ``supply_share`` x population doses, given by ``strategy``.

    A steady rollout keeps its speed (or takes ``doses_per_day_share``); a delivery schedule
    keeps its timing and is scaled to the supply."""
    rollout = base.rollout
    if isinstance(rollout, DeliverySchedule) and rollout.total_doses > 0:
        factor = supply_share * base.total_population / (rollout.total_doses * rollout.scale)
        new_rollout: RateRollout | DeliverySchedule = rollout.scaled(factor)
    else:
        speed = doses_per_day_share
        if speed is None:
            speed = (
                rollout.doses_per_day_share
                if isinstance(rollout, RateRollout)
                else DEFAULT_DOSES_PER_DAY_SHARE
            )
        start = rollout.start_day if isinstance(rollout, RateRollout) else 0
        new_rollout = RateRollout(speed, supply_share, base.vaccines[0].code, start)
    labels = {**base.labels, "supply_share": supply_share}
    return replace(base, rollout=new_rollout, strategy=strategy, labels=labels)


def compare_strategies(
    base: Scenario | Sequence[Scenario],
    strategies: Sequence[Strategy],
    supply_shares: Sequence[float],
    *,
    doses_per_day_share: float | None = None,
    steps_per_day: int = 1,
) -> StrategyComparison:
    """Run every strategy x supply level for each base scenario (one batch) and tabulate."""
    bases = [base] if isinstance(base, Scenario) else list(base)
    if not strategies or not supply_shares or not bases:
        raise DoseflowError(
            "IMPACT_EMPTY_GRID",
            "a comparison needs at least one scenario, one strategy and one supply level",
            field="strategies" if not strategies else "supply",
            expected="non-empty lists",
            value=0,
        )
    runs: list[Scenario] = []
    for b in bases:
        runs.append(b.without_vaccination())
        runs.extend(
            with_supply(b, s, st, doses_per_day_share) for s in supply_shares for st in strategies
        )
    result = simulate(runs, steps_per_day=steps_per_day, by_age=False)
    per_base = 1 + len(supply_shares) * len(strategies)
    baseline_index = [(j // per_base) * per_base for j in range(len(runs))]
    avert = averted(result, result, baseline_index)
    account = result.doses
    rows = []
    for j, sc in enumerate(runs):
        if j % per_base == 0:
            continue
        b = bases[j // per_base]
        rows.append(
            {
                "scenario": b.name,
                "strategy": sc.strategy.name,
                "supply_share": float(sc.labels["supply_share"]),
                "doses": float(sc.labels["supply_share"]) * sc.total_population,
                "courses": float(result.vaccinated[j]),
                "doses_to_groups": float(account.to_groups[j]),
                "doses_spilled": float(account.spilled[j]),
                "doses_held": float(account.held[j]),
                "infections": float(result.infections[j]),
                "symptomatic": float(result.symptomatic[j]),
                "deaths": float(result.deaths[j]),
                "yll": float(result.yll[j]),
                "infections_no_vaccine": float(result.infections[baseline_index[j]]),
                "symptomatic_no_vaccine": float(result.symptomatic[baseline_index[j]]),
                "deaths_no_vaccine": float(result.deaths[baseline_index[j]]),
                "yll_no_vaccine": float(result.yll[baseline_index[j]]),
                "deaths_averted": float(avert.deaths[j]),
                "deaths_averted_share": float(avert.deaths_share[j]),
                "infections_averted": float(avert.infections[j]),
                "infections_averted_share": float(avert.infections_share[j]),
                "symptomatic_averted": float(avert.symptomatic[j]),
                "symptomatic_averted_share": float(avert.symptomatic_share[j]),
                "yll_averted": float(avert.yll[j]),
                "yll_averted_share": float(avert.yll_share[j]),
            }
        )
    return StrategyComparison(pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS)))
