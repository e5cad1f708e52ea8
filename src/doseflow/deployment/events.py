"""A plan's shipments as planned-shipment events for the stock ledger.

One :class:`~doseflow.domain.events.ShipmentPlanned` per region, product and lot, with an
id derived from the plan's reference, so recording the same plan twice is a no-op in the
ledger (the store skips events it already holds with the same content). Recording is the
interface's job (``doseflow deploy plan --record``); this only builds the events.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from doseflow.deployment.result import DeploymentPlan
from doseflow.domain.events import ShipmentPlanned
from doseflow.domain.network import Node, NodeKind


def planned_events(
    plan: DeploymentPlan, *, reference: str, recorded_by: str = "doseflow deploy"
) -> list[ShipmentPlanned]:
    """Planned shipments of ``plan`` from its origin to each region, one per lot."""
    origin = plan.input.origin
    occurred = datetime.combine(plan.input.start, time(0, 0), tzinfo=UTC)
    events = []
    for line in plan.shipments():
        shipment = f"{reference}/{line.region}/{line.product}/{line.lot}"
        events.append(
            ShipmentPlanned(
                event_id=f"deploy:{shipment}",
                occurred_at=occurred,
                recorded_by=recorded_by,
                shipment_id=shipment,
                origin=origin,
                destination=line.destination,
                product=line.product,
                quantity=line.doses,
                expected_dispatch=line.dispatch,
                expected_arrival=line.arrival,
                allocation_ref=reference,
            )
        )
    return events


def plan_nodes(plan: DeploymentPlan) -> tuple[Node, ...]:
    """The nodes a plan's shipments run between: its national origin and each region's
    store, described from the deployment input (used to register those a ledger lacks)."""
    inp = plan.input
    nodes = [Node(inp.origin, inp.origin, NodeKind.NATIONAL_STORE, country=inp.country)]
    seen = {inp.origin}
    for region in inp.regions:
        if region.destination in seen:
            continue
        seen.add(region.destination)
        nodes.append(
            Node(
                region.destination,
                region.name,
                NodeKind.REGIONAL_STORE,
                country=inp.country,
                parent=inp.origin,
                capacity_litres=region.capacity_litres,
                region=region.name,
            )
        )
    return tuple(nodes)
