"""Recording a deployment plan in the ledger: the one place both interfaces call.

The plan's shipments become ``ShipmentPlanned`` events with ids derived from the plan's
reference, so recording the same plan again appends nothing. Nodes the ledger does not know
yet (the national origin and the regional stores named in the deployment file) are
registered first.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from doseflow.deployment import plan_nodes, planned_events
from doseflow.deployment.result import DeploymentPlan
from doseflow.store.ledger import LedgerStore


@dataclass(frozen=True)
class RecordedPlan:
    """What recording a plan changed."""

    reference: str
    appended: int  # planned events newly stored
    already_recorded: int  # events sent before with the same ids (no-ops)
    nodes_added: tuple[str, ...]  # codes of nodes the ledger lacked


def record_deployment_plan(
    engine: Engine, plan: DeploymentPlan, *, reference: str, recorded_by: str
) -> RecordedPlan:
    """Store ``plan``'s shipments as planned ledger events (idempotent by ``reference``)."""
    store = LedgerStore(engine)
    known = store.nodes()
    missing = [node for node in plan_nodes(plan) if node.code not in known]
    events = planned_events(plan, reference=reference, recorded_by=recorded_by)
    if missing:
        store.register_nodes(missing)
    result = store.append_events(events)
    return RecordedPlan(
        reference=reference,
        appended=len(result.appended),
        already_recorded=len(result.skipped),
        nodes_added=tuple(node.code for node in missing),
    )
