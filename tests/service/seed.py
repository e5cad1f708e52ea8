"""A small ledger for the service tests: a supplier, a hub, stores in Kenya and Nigeria.

Kenya received 24,000 doses (lot K1, expiring soon) and has a shipment held at the Dubai
hub; Nigeria has 12,000 doses in transit.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine

from doseflow.domain.events import (
    ArrivedAtHub,
    ShipmentDispatched,
    ShipmentHeld,
    ShipmentPlanned,
    ShipmentReceived,
)
from doseflow.domain.lot import Lot
from doseflow.domain.network import Node, NodeKind
from doseflow.store.ledger import LedgerStore

T0 = datetime(2021, 5, 3, 8, 0, tzinfo=UTC)
NODES = (
    Node("SII", "Serum Institute of India", NodeKind.SUPPLIER),
    Node("DXB", "Dubai humanitarian hub", NodeKind.HUB),
    Node("KEN-NS", "Kenya national store", NodeKind.NATIONAL_STORE, country="KEN"),
    Node("NGA-NS", "Nigeria national store", NodeKind.NATIONAL_STORE, country="NGA"),
)
K1 = Lot("AZ-SII", "K1", expiry=date(2021, 7, 31))
K2 = Lot("AZ-SII", "K2", expiry=date(2021, 9, 30))
N1 = Lot("AZ-SII", "N1", expiry=date(2021, 10, 31))


def seed_ledger(engine: Engine) -> LedgerStore:
    ledger = LedgerStore(engine)
    ledger.register_nodes(NODES)
    by = "seed"
    ledger.append_events(
        [
            ShipmentPlanned(
                event_id="p-ken-1",
                occurred_at=T0,
                recorded_by=by,
                shipment_id="S-KEN-1",
                origin="SII",
                destination="KEN-NS",
                product="AZ-SII",
                quantity=24_000,
            ),
            ShipmentDispatched(
                event_id="d-ken-1",
                occurred_at=T0.replace(day=4),
                recorded_by=by,
                shipment_id="S-KEN-1",
                origin="SII",
                destination="KEN-NS",
                lot=K1,
                quantity=24_000,
                expected_arrival=date(2021, 5, 6),
            ),
            ShipmentReceived(
                event_id="r-ken-1",
                occurred_at=T0.replace(day=6),
                recorded_by=by,
                shipment_id="S-KEN-1",
                node="KEN-NS",
                lot=K1,
                quantity=24_000,
            ),
            ShipmentPlanned(
                event_id="p-ken-2",
                occurred_at=T0,
                recorded_by=by,
                shipment_id="S-KEN-2",
                origin="SII",
                destination="KEN-NS",
                product="AZ-SII",
                quantity=4_800,
                route=("SII", "DXB", "KEN-NS"),
            ),
            ShipmentDispatched(
                event_id="d-ken-2",
                occurred_at=T0.replace(day=7),
                recorded_by=by,
                shipment_id="S-KEN-2",
                origin="SII",
                destination="DXB",
                lot=K2,
                quantity=4_800,
            ),
            ArrivedAtHub(
                event_id="a-ken-2",
                occurred_at=T0.replace(day=8),
                recorded_by=by,
                shipment_id="S-KEN-2",
                hub="DXB",
                lot=K2,
                quantity=4_800,
            ),
            ShipmentHeld(
                event_id="h-ken-2",
                occurred_at=T0.replace(day=8),
                recorded_by=by,
                shipment_id="S-KEN-2",
                hub="DXB",
                reason="awaiting import permit",
            ),
            ShipmentPlanned(
                event_id="p-nga-1",
                occurred_at=T0,
                recorded_by=by,
                shipment_id="S-NGA-1",
                origin="SII",
                destination="NGA-NS",
                product="AZ-SII",
                quantity=12_000,
            ),
            ShipmentDispatched(
                event_id="d-nga-1",
                occurred_at=T0.replace(day=9),
                recorded_by=by,
                shipment_id="S-NGA-1",
                origin="SII",
                destination="NGA-NS",
                lot=N1,
                quantity=12_000,
                expected_arrival=date(2021, 5, 12),
            ),
        ]
    )
    return ledger


def receipt_row(event_id: str = "r-nga-1", **changes: Any) -> dict[str, Any]:
    """A receipt at the Nigerian store of shipment S-NGA-1 (seeded by :func:`seed_ledger`),
    as a row of ``POST /api/ledger/events``; ``changes`` replace or add columns."""
    row: dict[str, Any] = {
        "id": event_id,
        "type": "received",
        "occurred_at": "2021-05-12T10:00:00+00:00",
        "shipment": "S-NGA-1",
        "node": "NGA-NS",
        "product": "AZ-SII",
        "lot": "N1",
        "expiry": "2021-10-31",
        "quantity": 12_000,
    }
    row.update(changes)
    return row


def seed_unicef(engine: Engine) -> LedgerStore:
    """Two UNICEF-reported deliveries to Kenya (70 AZ, 30 Pfizer doses), as the UNICEF
    import records them: at KEN-NS-UNICEF, apart from the network's KEN-NS."""
    from doseflow.data.deliveries import DeliveryRow
    from doseflow.data.population import countries
    from doseflow.ledger.unicef import plan_import

    month = date(2021, 3, 1)
    rows = [
        DeliveryRow(2, "Kenya", "AstraZeneca - Vaxzevria", month, (("COVAX", 70),), 70),
        DeliveryRow(3, "Kenya", "Pfizer BioNTech - Comirnaty", month, (("Donations", 30),), 30),
    ]
    plan = plan_import(rows, countries())
    ledger = LedgerStore(engine)
    ledger.register_nodes(plan.nodes)
    ledger.append_events(list(plan.events))
    return ledger
