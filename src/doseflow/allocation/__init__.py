"""Allocation rounds: fair, explainable shares of pooled supply (issue 2).

The public API other areas call (ledger, deployment, impact, the REST service):

* build inputs: :class:`~doseflow.domain.participant.Participant`,
  :class:`~doseflow.domain.supply.Tranche`, :class:`Policy`, :class:`RoundSpec`,
  :class:`Scenario` (or :func:`load_scenario` from a YAML/TOML file, :func:`make_participant`
  to take population and name from the bundled WPP data);
* run: :func:`run_rounds` (every round, declines applied) or :func:`run_round` (one round
  from a given state); :func:`apply_decline` records a decline and redistributes at once;
  readiness gates decided elsewhere (reporting compliance) come in as :class:`ExtraGate`
  per round (``run_rounds(..., gates={round: (gate,)})``);
* read: :class:`AllocationRun` / :class:`RoundResult` / :class:`PoolResult` with
  ``lines()`` (:class:`AllocationLine`), ``explain(iso3)`` (:class:`Explanation`, with
  ``render()`` and ``to_dict()``) and ``coverage()`` (:class:`CoverageRow`: doses per 100
  and share fully covered).

Quantities are doses, always whole packs of the product.
"""

from doseflow.allocation.eligibility import EXCLUSION_TEXT, Exclusion
from doseflow.allocation.engine import make_context, run_round, run_rounds
from doseflow.allocation.explanation import Binding, DeclineNote, Explanation, Mode
from doseflow.allocation.participants import make_participant
from doseflow.allocation.policy import (
    CeilingRounding,
    ComplianceGate,
    Phase,
    Policy,
    SevereSupply,
    SharingWeight,
    ThreatWeights,
)
from doseflow.allocation.pools import Pool, build_pools
from doseflow.allocation.readiness import (
    COMPLIANCE_GATE,
    ExtraGate,
    GateOutcome,
    RoundGates,
)
from doseflow.allocation.redistribution import apply_decline
from doseflow.allocation.results import (
    AllocationLine,
    AllocationRun,
    AllocationState,
    CoverageRow,
    DeclineRecord,
    PoolResult,
    RoundResult,
    RunContext,
)
from doseflow.allocation.scenario import Decline, Redirect, RoundKind, RoundSpec, Scenario
from doseflow.allocation.scenario_file import (
    load_scenario,
    parse_scenario,
    scenario_from_document,
    with_compliance_gate,
)

__all__ = [
    "COMPLIANCE_GATE",
    "EXCLUSION_TEXT",
    "AllocationLine",
    "AllocationRun",
    "AllocationState",
    "Binding",
    "CeilingRounding",
    "ComplianceGate",
    "CoverageRow",
    "Decline",
    "DeclineNote",
    "DeclineRecord",
    "Exclusion",
    "Explanation",
    "ExtraGate",
    "GateOutcome",
    "Mode",
    "Phase",
    "Policy",
    "Pool",
    "PoolResult",
    "Redirect",
    "RoundGates",
    "RoundKind",
    "RoundResult",
    "RoundSpec",
    "RunContext",
    "Scenario",
    "SevereSupply",
    "SharingWeight",
    "ThreatWeights",
    "apply_decline",
    "build_pools",
    "load_scenario",
    "make_context",
    "make_participant",
    "parse_scenario",
    "run_round",
    "run_rounds",
    "scenario_from_document",
    "with_compliance_gate",
]
