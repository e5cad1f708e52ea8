"""The Overview's figures: every participant's doses from allocation to arm, and coverage.

Computed once here, for the API (``GET /api/overview``) and the dashboard's Overview page
alike, so both show the same numbers. A few grouped queries over the ledger and the
allocation tables, never a replay of every event, so the page stays fast on a full database.

The pipeline of a participant (a country, ISO3) counts, in doses:

* ``allocated``: lines of every allocation round of record (run or published) for it, or
  of published rounds only for a participant's own view;
* ``shipped``: doses dispatched on the first leg of shipments bound for it (a shipment's
  destination is its planned one, else where its first leg goes, else where it was
  received: the rule of the Shipments page);
* of those, ``in_transit`` (on a leg now), ``at_hubs`` (arrived at or held at a hub on the
  way), ``received`` (accepted into stock at the destination) and the doses written off on
  receipt (damaged, short, temperature excursion), so that
  ``shipped = in_transit + at_hubs + received + written off on receipt``;
* ``administered``: administration events at its nodes;
* ``wasted``: doses written off on receipt plus adjustments that remove doses (expired,
  broken, VVM discard, open-vial wastage, lost) at its nodes.

Events reversed by a reversal are left out everywhere. Coverage counts the doses delivered
(received) per 100 people of the UN WPP 2019 population, and the share fully covered is the
complete courses those doses make (per product, by its doses per course from the storage
profiles) over the population; doses of a product whose course is unknown add to doses per
100 but not to courses (``doses_without_course`` says how many).
"""

from __future__ import annotations

import threading
import weakref
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Engine, and_, func, select

from doseflow.data.population import countries
from doseflow.domain.events import REMOVING_REASONS, EventKind
from doseflow.ledger.unicef import PRODUCTS as IMPORT_PRODUCTS
from doseflow.ledger.views import ExpiringLine, StockLine, expiring_within
from doseflow.logistics.storage_profiles import bundled_profiles
from doseflow.store import ledger_tables as t
from doseflow.store.allocation import RoundStatus
from doseflow.store.allocation_tables import LineRow, RoundRow
from doseflow.store.ledger_write import LOOKUP_CHUNK

#: Round statuses whose lines count as allocated (a preview is not).
ALLOCATED_STATUSES = (RoundStatus.RUN.value, RoundStatus.PUBLISHED.value)

#: Per shipment: planned destination, first leg's destination, receiving node, doses
#: dispatched, received and written off on receipt, of events not reversed. Plain SQL run
#: through the driver (no bound values): the same grouped query through SQLAlchemy's
#: compiled statements and typed rows took twice as long on 5,000 shipments.
SHIPMENT_TOTALS_SQL = f"""
SELECT shipment_id,
  MAX(CASE WHEN kind = '{EventKind.SHIPMENT_PLANNED.value}' THEN to_node END),
  MAX(CASE WHEN kind = '{EventKind.DISPATCHED.value}' THEN to_node END),
  MAX(CASE WHEN kind = '{EventKind.RECEIVED.value}' THEN node END),
  SUM(CASE WHEN kind = '{EventKind.DISPATCHED.value}' THEN quantity ELSE 0 END),
  SUM(CASE WHEN kind = '{EventKind.RECEIVED.value}' THEN quantity ELSE 0 END),
  SUM(CASE WHEN kind = '{EventKind.RECEIVED.value}' THEN COALESCE(discrepancy, 0) ELSE 0 END)
FROM ledger_events
WHERE shipment_id IS NOT NULL AND event_id NOT IN (
  SELECT ref FROM ledger_events WHERE kind = '{EventKind.REVERSAL.value}' AND ref IS NOT NULL)
GROUP BY shipment_id
"""


@dataclass(frozen=True)
class Pipeline:
    """Doses at each step from allocation to arm (see the module's docstring)."""

    allocated: int = 0
    shipped: int = 0
    in_transit: int = 0
    at_hubs: int = 0
    received: int = 0
    administered: int = 0
    wasted: int = 0

    def __add__(self, other: Pipeline) -> Pipeline:
        return Pipeline(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(Pipeline)))

    @property
    def empty(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(Pipeline))


#: The steps in order, with the words the page and the docs use.
STEPS: tuple[tuple[str, str], ...] = (
    ("allocated", "Allocated"),
    ("shipped", "Shipped"),
    ("in_transit", "In transit"),
    ("at_hubs", "Held at hubs"),
    ("received", "Received"),
    ("administered", "Administered"),
    ("wasted", "Wasted"),
)


@dataclass(frozen=True)
class Coverage:
    """Doses delivered per 100 people and the share of people a full course covers."""

    population: int
    delivered: int
    courses: int
    doses_without_course: int

    @property
    def doses_per_100(self) -> float | None:
        return None if not self.population else self.delivered / self.population * 100.0

    @property
    def fully_covered(self) -> float | None:
        return None if not self.population else min(self.courses / self.population, 1.0)

    def __add__(self, other: Coverage) -> Coverage:
        return Coverage(
            self.population + other.population,
            self.delivered + other.delivered,
            self.courses + other.courses,
            self.doses_without_course + other.doses_without_course,
        )


@dataclass(frozen=True)
class ParticipantFigures:
    iso3: str
    name: str
    pipeline: Pipeline
    coverage: Coverage


@dataclass(frozen=True)
class OverdueShipment:
    """A shipment still on a leg after its expected arrival."""

    shipment_id: str
    destination: str
    iso3: str | None
    doses: int
    expected_arrival: date
    days_late: int


@dataclass(frozen=True)
class HeldShipment:
    """A shipment waiting at a hub (arrived there, or held)."""

    shipment_id: str
    hub: str
    iso3: str | None
    doses: int
    held: bool
    reason: str


@dataclass(frozen=True)
class Overview:
    """Everything the Overview shows for one scope (``iso3``; None: every participant)."""

    iso3: str | None
    as_of: date
    within_days: int
    participants: tuple[ParticipantFigures, ...]
    expiring: tuple[ExpiringLine, ...]
    overdue: tuple[OverdueShipment, ...]
    held: tuple[HeldShipment, ...]

    @property
    def total(self) -> Pipeline:
        return sum((p.pipeline for p in self.participants), Pipeline())

    @property
    def coverage(self) -> Coverage:
        return sum((p.coverage for p in self.participants), Coverage(0, 0, 0, 0))


@cache
def doses_per_course(product: str) -> int | None:
    """A product's doses per course: the storage profiles' (by code or alias), else the
    UNICEF import's own products; None when neither knows it."""
    profile = bundled_profiles().find(product)
    if profile is not None and profile.doses_per_course:
        return profile.doses_per_course
    known = IMPORT_PRODUCTS.get(product)
    return known.doses_per_course if known is not None else None


@dataclass
class _Shipment:
    destination: str | None = None
    first_leg: str | None = None
    receipt_node: str | None = None
    planned_to: str | None = None
    dispatched: int = 0
    received: int = 0
    written_off: int = 0
    last_kind: str = ""
    hub: str = ""
    reason: str = ""
    expected: date | None = None

    def see(self, row: Any) -> None:
        """Where an open shipment waits: its last event, hub, hold reason, expected arrival."""
        kind = row.kind
        self.last_kind = kind
        if kind in (EventKind.ARRIVED_AT_HUB, EventKind.HELD):
            self.hub = row.node or self.hub
            if kind == EventKind.HELD:
                self.reason = row.reason or ""
        elif kind in (
            EventKind.SHIPMENT_PLANNED,
            EventKind.DISPATCHED,
            EventKind.DISPATCHED_ONWARD,
        ):
            self.expected = row.expected_arrival or self.expected

    @property
    def bound_for(self) -> str | None:
        return self.planned_to or self.first_leg or self.receipt_node


class _Reader:
    """The grouped queries, on one connection."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        e = t.events
        self.live = e.c.event_id.notin_(
            select(e.c.ref).where(e.c.kind == EventKind.REVERSAL.value, e.c.ref.isnot(None))
        )

    def node_countries(self) -> dict[str, str | None]:
        return dict(self.conn.execute(select(t.nodes.c.code, t.nodes.c.country)).all())

    def allocated(self, statuses: Sequence[str]) -> dict[str, int]:
        q = (
            select(LineRow.iso3, func.sum(LineRow.doses))
            .join(RoundRow, RoundRow.id == LineRow.round_id)
            .where(RoundRow.status.in_(list(statuses)))
            .group_by(LineRow.iso3)
        )
        return {iso3: int(doses) for iso3, doses in self.conn.execute(q)}

    def shipments(self) -> dict[str, _Shipment]:
        """Every shipment's destination and dose totals in one grouped query; the events of
        the few still open (not all received) are then read to say where they wait."""
        e = t.events
        found: dict[str, _Shipment] = {}
        for sid, planned, leg, receipt, dispatched, received, off in self.conn.exec_driver_sql(
            SHIPMENT_TOTALS_SQL
        ):
            found[sid] = _Shipment(
                planned_to=planned,
                first_leg=leg,
                receipt_node=receipt,
                dispatched=int(dispatched),
                received=int(received),
                written_off=int(off),
            )
        open_ids = sorted(s for s, x in found.items() if x.dispatched > x.received + x.written_off)
        for i in range(0, len(open_ids), LOOKUP_CHUNK):
            rows = self.conn.execute(
                select(
                    e.c.seq,
                    e.c.shipment_id,
                    e.c.kind,
                    e.c.node,
                    e.c.reason,
                    e.c.occurred_at,
                    e.c.expected_arrival,
                )
                .where(e.c.shipment_id.in_(open_ids[i : i + LOOKUP_CHUNK]), self.live)
                .order_by(e.c.occurred_at, e.c.seq)
            )
            for row in rows:
                found[row.shipment_id].see(row)
        return found

    def in_transit(self) -> dict[str, int]:
        a = t.accounts
        q = (
            select(a.c.ref, func.sum(a.c.balance))
            .where(a.c.state == "transit", a.c.balance > 0)
            .group_by(a.c.ref)
        )
        return {ref: int(doses) for ref, doses in self.conn.execute(q)}

    def received_by_product(self) -> dict[tuple[str, str], int]:
        """(receiving node, product) -> doses accepted into stock."""
        e, lots = t.events, t.lots
        q = (
            select(e.c.node, lots.c.product, func.sum(e.c.quantity))
            .join(lots, lots.c.id == e.c.lot_id)
            .where(e.c.kind == EventKind.RECEIVED.value, self.live)
            .group_by(e.c.node, lots.c.product)
        )
        return {(n, p): int(d or 0) for n, p, d in self.conn.execute(q)}

    def node_outflows(self) -> list[tuple[str, str, str | None, int]]:
        """(node, kind, reason, signed doses) for administrations and adjustments."""
        e = t.events
        kinds = (EventKind.ADMINISTRATION.value, EventKind.ADJUSTMENT.value)
        q = (
            select(e.c.node, e.c.kind, e.c.reason, func.sum(e.c.quantity))
            .where(e.c.kind.in_(kinds), self.live)
            .group_by(e.c.node, e.c.kind, e.c.reason)
        )
        return [(n, k, r, int(d or 0)) for n, k, r, d in self.conn.execute(q)]

    def expiring_stock(self, last_day: date) -> list[StockLine]:
        a, lots = t.accounts, t.lots
        q = (
            select(a.c.node, a.c.product, lots.c.number, lots.c.expiry, lots.c.vvm_stage)
            .add_columns(func.sum(a.c.balance))
            .join(lots, lots.c.id == a.c.lot_id)
            .where(
                and_(a.c.state == "stock", a.c.balance > 0, lots.c.expiry.isnot(None)),
                lots.c.expiry <= last_day,
            )
            .group_by(a.c.node, a.c.product, lots.c.number, lots.c.expiry, lots.c.vvm_stage)
        )
        return [
            StockLine(n, p, num, exp, vvm, int(d))
            for n, p, num, exp, vvm, d in self.conn.execute(q)
        ]


_REMOVING = frozenset(r.value for r in REMOVING_REASONS)


def _courses(received: Iterable[tuple[str, int]]) -> tuple[int, int]:
    """(complete courses, doses of products with no known course) of delivered doses."""
    courses = unknown = 0
    for product, doses in received:
        per = doses_per_course(product)
        if per is None:
            unknown += doses
        else:
            courses += doses // per
    return courses, unknown


@dataclass(frozen=True)
class _LedgerTotals:
    """The ledger's grouped figures, as of one ``ledger_version``."""

    version: int | None
    shipments: Mapping[str, _Shipment]
    transit: Mapping[str, int]
    received: Mapping[tuple[str, str], int]
    outflows: tuple[tuple[str, str, str | None, int], ...]


_kept: weakref.WeakKeyDictionary[Engine, _LedgerTotals] = weakref.WeakKeyDictionary()
_kept_lock = threading.Lock()


def _ledger_totals(engine: Engine, reader: _Reader) -> _LedgerTotals:
    """The ledger's grouped figures, read again only when the ledger changed.

    Grouping every shipment's events is most of the Overview's cost (about 0.1 s for 5,500
    shipments); every transaction that writes the ledger bumps ``ledger_version``, so while
    it holds the value read with the figures, they are still the stored ones. The version
    is read first: a write landing in between leaves newer figures under an older version,
    read again next time, never older figures kept.
    """
    version = reader.conn.exec_driver_sql(
        "SELECT version FROM ledger_version WHERE id = 1"
    ).scalar()
    with _kept_lock:
        kept = _kept.get(engine)
    if kept is not None and version is not None and kept.version == version:
        return kept
    totals = _LedgerTotals(
        None if version is None else int(version),
        reader.shipments(),
        reader.in_transit(),
        reader.received_by_product(),
        tuple(reader.node_outflows()),
    )
    with _kept_lock:
        _kept[engine] = totals
    return totals


def read_overview(
    engine: Engine,
    *,
    iso3: str | None,
    as_of: date,
    within_days: int,
    published_only: bool = False,
) -> Overview:
    """The Overview for ``iso3`` (None: every participant) as of the day ``as_of``; lots
    expiring within ``within_days`` of it. ``published_only``: allocations of published
    rounds only (what a participant has been told), not rounds of record still unpublished."""
    with engine.connect() as conn:
        reader = _Reader(conn)
        country_of = reader.node_countries()
        statuses = (RoundStatus.PUBLISHED.value,) if published_only else ALLOCATED_STATUSES
        allocated = reader.allocated(statuses)
        totals = _ledger_totals(engine, reader)
        expiring_stock = reader.expiring_stock(as_of + timedelta(days=within_days))
    shipments, transit = totals.shipments, totals.transit
    received, outflows = totals.received, totals.outflows

    def wanted(code: str | None) -> bool:
        return code is not None and (iso3 is None or code == iso3)

    steps: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for code, doses in allocated.items():
        steps[code]["allocated"] += doses
    overdue: list[OverdueShipment] = []
    held: list[HeldShipment] = []
    for sid, s in shipments.items():
        dest = s.bound_for
        country = country_of.get(dest) if dest else None
        if not wanted(country):
            continue
        assert country is not None
        on_leg = transit.get(sid, 0)
        at_hub = max(s.dispatched - s.received - s.written_off - on_leg, 0)
        row = steps[country]
        row["shipped"] += s.dispatched
        row["in_transit"] += on_leg
        row["at_hubs"] += at_hub
        row["wasted"] += s.written_off
        if on_leg and s.expected is not None and s.expected < as_of:
            late = (as_of - s.expected).days
            overdue.append(OverdueShipment(sid, dest or "", country, on_leg, s.expected, late))
        if at_hub and s.hub:
            is_held = s.last_kind == EventKind.HELD
            held.append(HeldShipment(sid, s.hub, country, at_hub, is_held, s.reason))
    delivered: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for (node, product), doses in received.items():
        country = country_of.get(node)
        if wanted(country):
            assert country is not None
            steps[country]["received"] += doses
            delivered[country].append((product, doses))
    for node, kind, reason, doses in outflows:
        country = country_of.get(node)
        if not wanted(country):
            continue
        assert country is not None
        if kind == EventKind.ADMINISTRATION:
            steps[country]["administered"] += doses
        elif reason in _REMOVING:
            steps[country]["wasted"] += -doses
    people = countries()
    rows = []
    for code in sorted(c for c in steps if wanted(c)):
        pipeline = Pipeline(**steps[code])
        if pipeline.empty:
            continue
        place = people.get(code)
        courses, unknown = _courses(delivered.get(code, []))
        coverage = Coverage(
            place.population if place else 0,
            pipeline.received if place else 0,
            courses if place else 0,
            unknown if place else 0,
        )
        rows.append(ParticipantFigures(code, place.name if place else code, pipeline, coverage))
    expiring = [
        line
        for line in expiring_within(expiring_stock, within_days, as_of)
        if wanted(country_of.get(line.node))
    ]
    return Overview(
        iso3,
        as_of,
        within_days,
        tuple(rows),
        tuple(expiring),
        tuple(sorted(overdue, key=lambda o: (-o.days_late, o.shipment_id))),
        tuple(sorted(held, key=lambda h: (h.hub, h.shipment_id))),
    )
