"""The impact-run job kind: compare allocation rules on a stored scenario's rounds.

Checked when submitted (the parameters' ranges, the scenario and the round must exist) so a
run that cannot start is refused with its code at once; run by whichever server process
claims it (:func:`doseflow.impact.global_comparison.compare_allocations`). Computes and
stores nothing but its result, so running it again after a worker died is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationError
from sqlalchemy import Engine

from doseflow.data.fields import Name, Number, Quantity
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.domain.limits import MAX_ROUND_NUMBER
from doseflow.impact.epidemiology import ForceDenominator
from doseflow.impact.global_comparison import DEFAULT_LEVELS, compare_allocations
from doseflow.impact.run_result import IMPACT_COMPARISON_KIND, comparison_result
from doseflow.impact.strategy import SYNTAX, Strategy
from doseflow.impact.vaccine import Eligibility
from doseflow.service.bodies import WriteBody
from doseflow.service.jobs import JobKind, report_progress
from doseflow.store.allocation import AllocationStore

KIND = IMPACT_COMPARISON_KIND


class ImpactRunIn(WriteBody):
    round: Quantity | None = Field(
        default=None, ge=1, le=MAX_ROUND_NUMBER, description="default: every round"
    )
    r0: Number = Field(default=2.5, gt=0.5, le=10.0, description="basic reproduction number")
    horizon_days: Quantity = Field(default=365, ge=30, le=1095)
    levels: Quantity = Field(
        default=DEFAULT_LEVELS,
        ge=2,
        le=100,
        description="points on each participant's curve of deaths against doses "
        "(the impact-maximising rule's resolution)",
    )
    strategy: Name = Field(
        default="older-first",
        description=f"prioritisation within each participant, written as everywhere else: {SYNTAX}",
    )
    eligibility: Eligibility = Field(
        default=Eligibility.SUSCEPTIBLE_EXPOSED_RECOVERED,
        description="who is vaccinated among the willing unvaccinated (see docs/impact.md)",
    )
    denominator: ForceDenominator = Field(
        default=ForceDenominator.INITIAL,
        description="population the force of infection divides by: at day 0, or living",
    )


class ImpactJobParams(ImpactRunIn):
    """What is stored with the job: the run's settings and the scenario's name."""

    scenario: Name


def _bad_params(err: ValidationError) -> DoseflowError:
    return DoseflowError.from_details(
        ErrorDetail(
            code="SERVICE_JOB_BAD_PARAMS",
            message=str(e.get("msg", "invalid value")),
            location=ErrorLocation(
                source="job parameters", field=".".join(str(p) for p in e.get("loc", ()))
            ),
            value=e.get("input") if not isinstance(e.get("input"), dict | list) else None,
        )
        for e in err.errors()
    )


def prepare(engine: Engine, params: Mapping[str, Any]) -> dict[str, Any]:
    """The run's parameters, checked: ``SERVICE_JOB_BAD_PARAMS``, ``ALLOC_UNKNOWN_SCENARIO``
    or ``ALLOC_UNKNOWN_ROUND`` now rather than a failed (or crashed) job later."""
    try:
        checked = ImpactJobParams.model_validate(dict(params))
    except ValidationError as err:
        raise _bad_params(err) from None
    Strategy.parse(checked.strategy)  # IMPACT_UNKNOWN_STRATEGY now, not in the job
    scenario = AllocationStore(engine).scenario(checked.scenario)
    if checked.round is not None:
        scenario.round(checked.round)
    return checked.model_dump()


def run(engine: Engine, params: Mapping[str, Any]) -> dict[str, Any]:
    """The work of one impact run (on a worker thread of whichever process claimed it),
    reporting its progress (participants prepared, chunks of model runs done) to the job."""
    checked = ImpactJobParams.model_validate(dict(params))
    allocation = AllocationStore(engine).compute(checked.scenario)
    source = allocation.round(checked.round) if checked.round is not None else allocation
    comparison = compare_allocations(
        source,
        r0=checked.r0,
        horizon_days=checked.horizon_days,
        levels=checked.levels,
        strategy=Strategy.parse(checked.strategy),
        eligibility=checked.eligibility,
        denominator=checked.denominator,
        progress=report_progress,
    )
    return comparison_result(
        comparison,
        scenario=checked.scenario,
        round=checked.round,
        strategy=checked.strategy,
        eligibility=checked.eligibility.value,
        denominator=checked.denominator.value,
    )


IMPACT_JOB = JobKind(KIND, prepare, run)
