"""The opening balance of a run as ledger events, to load a run into a scratch ledger.

A run starts from stock the ledger already holds; a scratch ledger starts empty. These
events bring the start state in: each lot on hand as a ``found`` adjustment at its node,
each shipment on its way as a dispatch from :data:`OPENING_SOURCE`, a supplier node that
exists only in the scratch ledger (give it to ``Book(sources=...)``). They are dated at the
start of day 0, before every event of the run.

The ledger tracks no stock at suppliers (a supplier's dispatch is where doses enter), so
stock the start state puts at a node of ``suppliers`` has no opening event: it enters the
scratch ledger when the run dispatches it, and what is still there at the end is outside
the ledger's totals.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, time

from doseflow.domain.events import (
    Adjustment,
    AdjustmentReason,
    LedgerEvent,
    ShipmentDispatched,
)
from doseflow.domain.lot import Lot
from doseflow.simulation.start import StartState

#: The supplier node the shipments of the start state come from in a scratch ledger.
OPENING_SOURCE = "SIM-OPENING"

#: Who records a simulation's events.
SIMULATION_USER = "simulation"


def opening_events(
    start: StartState, run_id: str, suppliers: Collection[str] = ()
) -> list[LedgerEvent]:
    """Events that put ``start`` into an empty ledger whose supplier nodes are
    ``suppliers`` (and :data:`OPENING_SOURCE`)."""
    at = datetime.combine(start.as_of, time(0, 0), tzinfo=UTC)
    out: list[LedgerEvent] = []
    for s in start.stock:
        if s.doses <= 0 or s.node in suppliers:
            continue
        out.append(
            Adjustment(
                event_id=f"{run_id}/open/{s.node}/{s.product}/{s.lot}",
                occurred_at=at,
                recorded_by=SIMULATION_USER,
                node=s.node,
                lot=Lot(s.product, s.lot, s.expiry, s.vvm_stage),
                quantity=s.doses,
                reason=AdjustmentReason.FOUND,
            )
        )
    for p in start.pipeline:
        if p.doses <= 0:
            continue
        where = p.next_node or p.held_at or p.destination
        out.append(
            ShipmentDispatched(
                event_id=f"{run_id}/open/{p.shipment_id}/{p.product}/{p.lot}",
                occurred_at=at,
                recorded_by=SIMULATION_USER,
                shipment_id=p.shipment_id,
                origin=OPENING_SOURCE,
                destination=where,
                lot=Lot(p.product, p.lot, p.expiry),
                quantity=p.doses,
            )
        )
    return out
