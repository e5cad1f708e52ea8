"""Impact modelling: how many deaths does an allocation avert, against the alternatives?

A deterministic age-structured SEIR-D model with vaccination (see ``docs/impact.md``), run for
many scenarios at once. The public API, used by the CLI and the REST service:

* build scenarios: :func:`country_scenario` (bundled WPP 2019 + Prem 2017 data),
  :func:`custom_scenario` (your own numbers), :class:`AgeBands`, :class:`Strategy`,
  :class:`VaccineProfile`, :class:`RateRollout`, :class:`DeliverySchedule`;
* run them: :func:`simulate` -> :class:`SimulationResult`; :func:`averted`;
* compare strategies: :func:`compare_strategies` -> :class:`StrategyComparison`;
* compare allocation rules for a round: :func:`compare_allocations`
  (in :mod:`doseflow.impact.global_comparison`);
* sweep grids: :class:`SweepGrid`, :func:`run_sweep` on an :class:`Executor`
  (:class:`InProcessExecutor`, :class:`PoolExecutor`, :class:`DaskExecutor`,
  :func:`make_executor`);
* check accuracy: :func:`reference_deaths` (SciPy LSODA on the same equations).
"""

from doseflow.impact.bands import AgeBands
from doseflow.impact.compare import StrategyComparison, compare_strategies, with_supply
from doseflow.impact.epidemiology import ForceDenominator
from doseflow.impact.executors import (
    DaskExecutor,
    Executor,
    InProcessExecutor,
    PoolExecutor,
    make_executor,
)
from doseflow.impact.initial import InitialConditions
from doseflow.impact.model import simulate
from doseflow.impact.reference import reference_daily_deaths, reference_deaths
from doseflow.impact.results import Averted, SimulationResult, averted
from doseflow.impact.rollout import Delivery, DeliverySchedule, RateRollout
from doseflow.impact.scenario import Scenario, country_scenario, custom_scenario
from doseflow.impact.strategy import Strategy, StrategyKind
from doseflow.impact.sweep import SweepGrid, SweepOutcome, run_sweep
from doseflow.impact.vaccine import DEFAULT_VACCINE, EfficacyMode, Eligibility, VaccineProfile

__all__ = [
    "DEFAULT_VACCINE",
    "AgeBands",
    "Averted",
    "DaskExecutor",
    "Delivery",
    "DeliverySchedule",
    "EfficacyMode",
    "Eligibility",
    "Executor",
    "ForceDenominator",
    "InProcessExecutor",
    "InitialConditions",
    "PoolExecutor",
    "RateRollout",
    "Scenario",
    "SimulationResult",
    "Strategy",
    "StrategyComparison",
    "StrategyKind",
    "SweepGrid",
    "SweepOutcome",
    "VaccineProfile",
    "averted",
    "compare_strategies",
    "country_scenario",
    "custom_scenario",
    "make_executor",
    "reference_daily_deaths",
    "reference_deaths",
    "run_sweep",
    "simulate",
    "with_supply",
]
