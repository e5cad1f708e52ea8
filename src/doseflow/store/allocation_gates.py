"""The reporting compliance gate of allocation rounds, fetched from the reporting store.

The allocation engine takes readiness gates decided elsewhere as data
(:class:`doseflow.allocation.ExtraGate`) and never imports reporting. This adapter reads
the stored reporting requirements and submissions (``doseflow.store.reporting``) and
judges, for every round whose policy turns the gate on, each participant's compliance as of
the round's date with reporting's own ``compliance`` and ``readiness_gate``.

Submissions first received after a round's date are left out of that round's judgement, so
re-running a past round (after a decline, say) gives the verdict it had on its date and
not one improved by reports that arrived later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine

from doseflow.allocation import COMPLIANCE_GATE, ExtraGate, Scenario
from doseflow.allocation.policy import ComplianceGate

if TYPE_CHECKING:
    from doseflow.reporting import GatePolicy


def _gate_policy(setting: ComplianceGate) -> GatePolicy:
    from doseflow.reporting import GatePolicy

    return GatePolicy(
        enabled=True,
        lookback_periods=setting.lookback_periods,
        max_missing=setting.max_missing,
        max_late=setting.max_late,
    )


def compliance_gates(engine: Engine, scenario: Scenario) -> dict[int, tuple[ExtraGate, ...]]:
    """Per round number, the "reporting compliance" gate of each round whose policy (the
    round's own, else the scenario's) enables it; rounds without it are absent."""
    chosen = [
        (spec, (spec.policy or scenario.policy).compliance_gate)
        for spec in scenario.rounds
        if (spec.policy or scenario.policy).compliance_gate.enabled
    ]
    if not chosen:
        return {}
    # imported here: reporting (and its exchange formats) loads in seconds, and a run with
    # the gate off, the default, should not pay for it
    from doseflow.reporting import compliance, readiness_gate
    from doseflow.store.reporting import (
        stored_completions,
        stored_requirements,
        stored_submissions,
    )

    iso3 = [p.iso3 for p in scenario.participants]
    wanted = set(iso3)
    requirements = [r for r in stored_requirements(engine) if r.participant in wanted]
    submissions = {k: at for k, at in stored_submissions(engine).items() if k[0] in wanted}
    completions = {k: done for k, done in stored_completions(engine).items() if k[0] in wanted}
    gates: dict[int, tuple[ExtraGate, ...]] = {}
    for spec, setting in chosen:
        # as things stood that day; completions (marked complete) win, as in compliance_view
        zones = {p.iso3: p.time_zone for p in scenario.participants if p.time_zone}
        rows = compliance(requirements, submissions, spec.date, completions, zones)
        verdicts = readiness_gate(rows, iso3, _gate_policy(setting))
        gates[spec.number] = (ExtraGate.from_results(COMPLIANCE_GATE, verdicts),)
    return gates
