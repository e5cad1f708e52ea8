"""Adapter between reporting and the stock ledger (issue 3's ``doseflow.store.ledger``).

Reporting needs two things from the ledger: for a set of nodes and a period, the stock at
the start, the doses that came in and the stock at the end (:class:`LedgerPosition`, for the
cross-checks), and the shipments (for the FHIR SupplyDelivery export). Both go through this
module only, so a change in the ledger's API touches one file.

:class:`LedgerSource` is the interface the cross-checks are written against; tests and other
callers may pass any object with a ``position`` method. :class:`StoreLedger` implements it
through the ledger's repository, :class:`doseflow.store.ledger.LedgerStore`
(``stock_on_hand``, ``stock_card``, ``shipments``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date
from typing import Protocol

from sqlalchemy import Engine

from doseflow.data.time_zones import load_zone
from doseflow.domain.time_zone import local_date, zone_name
from doseflow.reporting.crosscheck import LedgerPosition
from doseflow.reporting.fhir_export import ShipmentRecord
from doseflow.reporting.hierarchy import Hierarchy
from doseflow.reporting.periods import parse_period
from doseflow.store.ledger import LedgerStore


class LedgerSource(Protocol):
    def position(
        self, nodes: Sequence[str], start: date, end: date, zone: str | None = None
    ) -> LedgerPosition | None:
        """Ledger figures over ``nodes`` from the start of ``start`` to the end of ``end``,
        days cut in ``zone`` (None: each node's own zone), or None when the ledger knows
        nothing of these nodes."""
        ...


def ledger_figures(
    source: LedgerSource, hierarchy: Hierarchy, needs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], LedgerPosition]:
    """Ledger positions for each (org unit, period) asked, over the org unit's nodes."""
    found: dict[tuple[str, str], LedgerPosition] = {}
    for org_unit, period_code in sorted(set(needs)):
        nodes = hierarchy.ledger_nodes(org_unit)
        if not nodes:
            continue
        period = parse_period(period_code)
        position = source.position(nodes, period.start, period.end, hierarchy.time_zone(org_unit))
        if position is not None:
            found[(org_unit, period_code)] = position
    return found


class StoreLedger:
    """:class:`LedgerSource` over the ledger tables of a doseflow database.

    Doses that came in are every inflow on the nodes' stock cards in the period (receipts,
    transfers and issues in, positive adjustments) except transfers between two of the
    nodes themselves, which move stock within the org unit. Each node's period runs from
    local midnight to local midnight in ``zone``, or in the node's own zone (the ledger's
    ``ledger_nodes.time_zone``) when no zone is given.
    """

    def __init__(self, engine: Engine) -> None:
        self.ledger = LedgerStore(engine)

    def position(
        self, nodes: Sequence[str], start: date, end: date, zone: str | None = None
    ) -> LedgerPosition | None:
        inside = set(nodes)
        lines = self.ledger.stock_on_hand(node=list(nodes), include_zero=True)
        pairs = sorted({(s.node, s.product) for s in lines})
        if not pairs:
            return None
        given = None if zone is None else load_zone(zone)
        zones = self.ledger.node_zones() if given is None else {}
        used: set[str] = set()
        opening = received = closing = 0
        for node, product in pairs:
            here = given or zones.get(node) or UTC
            used.add(zone_name(here))
            card = self.ledger.stock_card(node, product, start=start, end=end, zone=here)
            opening += card.opening
            closing += card.closing
            received += sum(line.doses_in for line in card.lines if line.counterpart not in inside)
        return LedgerPosition(
            opening=opening, received=received, closing=closing, time_zone=", ".join(sorted(used))
        )


_FHIR_STATUS = {"received": "completed", "cancelled": "abandoned"}


def shipment_records(engine: Engine) -> list[ShipmentRecord]:
    """Every ledger shipment as a :class:`ShipmentRecord` for the FHIR export; a receipt's
    date is the day at the destination (in its time zone), not in UTC."""
    ledger = LedgerStore(engine)
    statuses = ledger.shipments()
    zones = ledger.node_zones()
    records: list[ShipmentRecord] = []
    for s in statuses:
        received = s.state == "received"
        occurred = (
            local_date(s.last_event_at, zones.get(s.destination or "", UTC))
            if received and s.last_event_at
            else s.expected_arrival
        )
        records.append(
            ShipmentRecord(
                shipment_id=s.shipment_id,
                product_code=s.product or "unknown",
                doses=s.received_doses if received else (s.dispatched_doses or s.planned_doses),
                supplier=s.origin or "unknown",
                destination=s.destination or "unknown",
                status=_FHIR_STATUS.get(s.state, "in-progress"),
                occurred=occurred,
            )
        )
    return records
