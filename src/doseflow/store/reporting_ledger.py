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
from doseflow.domain.network import Node
from doseflow.domain.time_zone import local_date, zone_name
from doseflow.ledger.unicef import RECORDED_BY as UNICEF_IMPORT
from doseflow.ledger.views import shipment_status
from doseflow.reporting.crosscheck import LedgerPosition
from doseflow.reporting.fhir_export import ShipmentRecord
from doseflow.reporting.hierarchy import Hierarchy
from doseflow.reporting.periods import parse_period
from doseflow.store import ledger_query as q
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

#: Who records shipments whose dates are known to the month only: the UNICEF import turns
#: each monthly row into a shipment dated the 1st of its month.
MONTHLY_SOURCES = frozenset({UNICEF_IMPORT})


def shipment_records(engine: Engine) -> list[ShipmentRecord]:
    """Every ledger shipment as a :class:`ShipmentRecord` for the FHIR export. A shipment
    whose events all come from a monthly source is dated to the month; a receipt's date is
    the day at the destination (in its time zone), not in UTC."""
    zones = LedgerStore(engine).node_zones()
    with engine.connect() as conn:
        grouped = q.shipment_events(conn, None)
        gone = q.reversed_ids(conn, [e.event_id for evs in grouped.values() for e in evs])
    records: list[ShipmentRecord] = []
    for shipment_id, events in sorted(grouped.items()):
        s = shipment_status(shipment_id, events, gone)
        live = [e for e in events if e.event_id not in gone]
        monthly = bool(live) and all(e.recorded_by in MONTHLY_SOURCES for e in live)
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
                occurred_month=monthly,
            )
        )
    return records


def ledger_nodes(engine: Engine) -> dict[str, Node]:
    """The ledger's registered nodes (names and countries of suppliers and destinations)."""
    return LedgerStore(engine).nodes()
