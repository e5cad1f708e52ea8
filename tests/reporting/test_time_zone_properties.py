"""Issue 14: cutting periods in local time moves doses between periods, never loses any.

For a node in any zone, the ledger's months tile the year: each month's closing stock is the
next month's opening, the doses received per month add up to every dose received whatever
the zone, and each month holds exactly the receipts whose local date falls in it.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doseflow.domain.events import (
    Adjustment,
    AdjustmentReason,
    Administration,
    LedgerEvent,
    ShipmentDispatched,
    ShipmentReceived,
)
from doseflow.domain.lot import Lot
from doseflow.domain.network import Node, NodeKind
from doseflow.domain.time_zone import local_date
from doseflow.reporting.periods import parse_period
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from doseflow.store.reporting_ledger import StoreLedger

ZONES = ["UTC", "Asia/Pyongyang", "Europe/Berlin", "America/Santiago", "Pacific/Kiritimati"]
YEAR_START = datetime(2021, 1, 2, tzinfo=UTC)
MONTHS = [parse_period(f"2021{m:02d}") for m in range(1, 13)]

inflows = st.lists(
    st.tuples(st.integers(0, 333 * 24 * 60), st.integers(1, 500), st.booleans()),
    min_size=1,
    max_size=12,
)
_counter = itertools.count()


def _events(
    prefix: str, inflow: list[tuple[int, int, bool]], out_share: float
) -> tuple[list[LedgerEvent], list[tuple[datetime, int]]]:
    lot = Lot(f"{prefix}P", "L1", date(2023, 1, 1))
    node = f"{prefix}N"
    events: list[LedgerEvent] = []
    received: list[tuple[datetime, int]] = []
    for i, (minute, doses, shipped) in enumerate(inflow):
        at = YEAR_START + timedelta(minutes=minute)
        received.append((at, doses))
        if shipped:
            sid = f"{prefix}S{i}"
            events.append(
                ShipmentDispatched(
                    event_id=f"{prefix}d{i}",
                    occurred_at=at - timedelta(days=1),
                    recorded_by="t",
                    shipment_id=sid,
                    origin=f"{prefix}SUP",
                    destination=node,
                    lot=lot,
                    quantity=doses,
                )
            )
            events.append(
                ShipmentReceived(
                    event_id=f"{prefix}r{i}",
                    occurred_at=at,
                    recorded_by="t",
                    shipment_id=sid,
                    node=node,
                    lot=lot,
                    quantity=doses,
                )
            )
        else:
            events.append(
                Adjustment(
                    event_id=f"{prefix}f{i}",
                    occurred_at=at,
                    recorded_by="t",
                    node=node,
                    lot=lot,
                    quantity=doses,
                    reason=AdjustmentReason.FOUND,
                )
            )
    used = int(sum(d for _, d in received) * out_share)
    if used:
        events.append(
            Administration(
                event_id=f"{prefix}x",
                occurred_at=datetime(2021, 12, 10, 12, tzinfo=UTC),
                recorded_by="t",
                node=node,
                lot=lot,
                quantity=used,
            )
        )
    return events, received


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(inflow=inflows, zone=st.sampled_from(ZONES), out_share=st.floats(0, 1))
def test_monthly_figures_conserve_doses_in_any_zone(
    sqlite_url: str, inflow: list[tuple[int, int, bool]], zone: str, out_share: float
) -> None:
    prefix = f"h{next(_counter)}"
    engine = open_database(sqlite_url)
    ledger = LedgerStore(engine)
    ledger.register_nodes(
        [
            Node(f"{prefix}SUP", "supplier", NodeKind.SUPPLIER),
            Node(f"{prefix}N", "store", NodeKind.NATIONAL_STORE, time_zone=zone),
        ]
    )
    events, received = _events(prefix, inflow, out_share)
    ledger.append_events(events)
    source = StoreLedger(engine)
    tz = ZoneInfo(zone)
    positions = [source.position([f"{prefix}N"], m.start, m.end) for m in MONTHS]
    assert all(p is not None and p.time_zone == zone for p in positions)
    figures = [p for p in positions if p is not None]
    total_in = sum(d for _, d in received)
    assert figures[0].opening == 0
    assert sum(p.received for p in figures) == total_in  # the same in every zone
    for before, after in itertools.pairwise(figures):
        assert before.closing == after.opening
    assert figures[-1].closing == total_in - int(total_in * out_share)
    for month, p in zip(MONTHS, figures, strict=True):
        assert p.received == sum(d for at, d in received if month.contains(local_date(at, tz)))
    engine.dispose()
