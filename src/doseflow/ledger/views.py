"""What the ledger shows: stock lines, stock cards, transit, hub holdings, expiry and FEFO.

Every view is in doses and says so (``unit``); :meth:`StockLine.express` converts through
``doseflow.domain.units`` for display in vials or packs, showing the doses left over.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from doseflow.domain.errors import DoseflowError
from doseflow.domain.events import (
    EventKind,
    LedgerEvent,
    ShipmentDispatched,
    ShipmentHeld,
    ShipmentPlanned,
    ShipmentReceived,
)
from doseflow.domain.product import Product
from doseflow.domain.units import Quantity, Unit, express_with_rest

UNIT = Unit.DOSE


@dataclass(frozen=True)
class StockLine:
    """Doses of one lot at one node."""

    node: str
    product: str
    lot: str
    expiry: date | None
    vvm_stage: int
    doses: int
    unit: Unit = UNIT

    def express(self, product: Product, unit: Unit) -> Quantity:
        """The line's doses in whole ``unit``\\ s of its own product's presentation, with the
        doses left over shown (``Quantity.rest_doses``), never dropped: 12,285 Pfizer doses
        are 2,047 vials + 3 doses. Another product's presentation is refused
        (``LEDGER_WRONG_PRODUCT``): its vial or pack size says nothing about this lot."""
        if product.code != self.product:
            raise DoseflowError(
                "LEDGER_WRONG_PRODUCT",
                f"the stock line of lot {self.lot} at {self.node} is of product "
                f"{self.product}, not {product.code}: its doses cannot be counted in "
                f"{product.code}'s {unit.value}s",
                field="product",
                expected=self.product,
                value=product.code,
            )
        return express_with_rest(product, self.doses, unit)


#: How a receipt's discrepancy reads on a stock card, by its reason.
_DISCREPANCY_WORDS = {
    "short": "short",
    "damaged": "damaged",
    "temperature-excursion": "lost to a temperature excursion",
}
#: Why a receipt that accepted nothing was rejected, by its reason.
_REJECTION_WORDS = {
    "short": "none arrived",
    "damaged": "damaged",
    "temperature-excursion": "temperature excursion",
}


@dataclass(frozen=True)
class ReceiptDiscrepancy:
    """Doses of a receipt that never entered stock: what was in transit (``dispatched``) less
    what was accepted, the reason recorded, and the document it came on (the shipment), so a
    card shows the 2,400 missing doses and not only the +69,600 received."""

    doses: int
    dispatched: int
    reason: str | None
    document: str
    text: str

    @classmethod
    def of(cls, doses: int, accepted: int, reason: str | None, document: str) -> ReceiptDiscrepancy:
        """A receipt that accepted nothing reads as rejected (with its reason): "72,000
        doses rejected (temperature excursion) against 72,000 dispatched on shipment S1"."""
        dispatched = accepted + doses
        if accepted == 0:
            why = _REJECTION_WORDS.get(reason or "")
            words = f"rejected ({why})" if why else "rejected"
        else:
            words = _DISCREPANCY_WORDS.get(reason or "", "not accepted")
        text = f"{doses:,} doses {words} against {dispatched:,} dispatched on {document}"
        return cls(doses, dispatched, reason, document, text)


@dataclass(frozen=True)
class CardLine:
    """One line of a stock card: a movement and the balances after it; a receipt with
    fewer doses than were dispatched carries its ``discrepancy``."""

    at: datetime
    event_id: str
    kind: EventKind
    lot: str
    counterpart: str | None  # the other node, the shipment, or the reason
    doses_in: int
    doses_out: int
    lot_balance: int
    balance: int  # all lots of the product at the node
    recorded_by: str
    recorded_at: datetime
    discrepancy: ReceiptDiscrepancy | None = None


@dataclass(frozen=True)
class StockCard:
    """Movements of one product (or lot) at one node between two moments, with the balance
    before the first and after every line."""

    node: str
    product: str
    lot: str | None
    opening: int
    lines: tuple[CardLine, ...]
    unit: Unit = UNIT

    @property
    def closing(self) -> int:
        return self.lines[-1].balance if self.lines else self.opening


@dataclass(frozen=True)
class TransitLine:
    """Doses of one lot in transit on a shipment leg."""

    shipment_id: str
    origin: str
    destination: str
    product: str
    lot: str
    doses: int
    dispatched_at: datetime | None
    expected_arrival: date | None
    unit: Unit = UNIT

    def overdue_on(self, day: date) -> bool:
        return self.expected_arrival is not None and day > self.expected_arrival


@dataclass(frozen=True)
class HeldShipment:
    shipment_id: str
    reason: str
    since: datetime
    until: date | None


@dataclass(frozen=True)
class HubHolding:
    """Stock at a hub, with the shipments held there."""

    hub: str
    product: str
    lot: str
    expiry: date | None
    doses: int
    held: tuple[HeldShipment, ...]
    unit: Unit = UNIT


@dataclass(frozen=True)
class ExpiringLine:
    node: str
    product: str
    lot: str
    expiry: date
    days_left: int
    doses: int
    unit: Unit = UNIT


@dataclass(frozen=True)
class FefoPick:
    lot: str
    expiry: date | None
    doses: int


@dataclass(frozen=True)
class FefoSuggestion:
    """Which lots to issue ``requested`` doses from, first expiry first out; ``shortfall`` is
    what usable stock cannot cover."""

    node: str
    product: str
    requested: int
    picks: tuple[FefoPick, ...]
    shortfall: int
    unit: Unit = UNIT


def fefo(
    stock: Iterable[StockLine], node: str, product: str, requested: int, today: date
) -> FefoSuggestion:
    """First-expiry-first-out: lots not expired and with a usable VVM, earliest expiry
    first (lots of unknown expiry last, then by lot number)."""
    usable = sorted(
        (
            s
            for s in stock
            if s.node == node
            and s.product == product
            and s.doses > 0
            and s.vvm_stage < 3
            and (s.expiry is None or s.expiry >= today)
        ),
        key=lambda s: (s.expiry is None, s.expiry or date.max, s.lot),
    )
    picks: list[FefoPick] = []
    left = requested
    for line in usable:
        if left <= 0:
            break
        take = min(left, line.doses)
        picks.append(FefoPick(line.lot, line.expiry, take))
        left -= take
    return FefoSuggestion(node, product, requested, tuple(picks), max(left, 0))


def expiring_within(
    stock: Iterable[StockLine], days: int, today: date | Mapping[str, date]
) -> list[ExpiringLine]:
    """Lots with stock that expire within ``days`` of ``today`` (already expired included,
    with negative days left), soonest first. ``today`` may be one date, or each node's own
    (its local date: a lot expiring on 31 August is usable through 31 August at its node)."""
    out = []
    for s in stock:
        day = today if isinstance(today, date) else today[s.node]
        if s.expiry is not None and s.doses > 0 and (s.expiry - day).days <= days:
            out.append(
                ExpiringLine(s.node, s.product, s.lot, s.expiry, (s.expiry - day).days, s.doses)
            )
    return sorted(out, key=lambda x: (x.expiry, x.node, x.product, x.lot))


class ShipmentState:
    PLANNED = "planned"
    IN_TRANSIT = "in transit"
    AT_HUB = "at hub"
    HELD = "held"
    RECEIVED = "received"
    CANCELLED = "cancelled"


#: The state a shipment is in after an event of each kind (other kinds leave it as it was).
STATE_AFTER: dict[EventKind, str] = {
    EventKind.SHIPMENT_PLANNED: ShipmentState.PLANNED,
    EventKind.DISPATCHED: ShipmentState.IN_TRANSIT,
    EventKind.ARRIVED_AT_HUB: ShipmentState.AT_HUB,
    EventKind.HELD: ShipmentState.HELD,
    EventKind.DISPATCHED_ONWARD: ShipmentState.IN_TRANSIT,
    EventKind.RECEIVED: ShipmentState.RECEIVED,
}


@dataclass(frozen=True)
class ShipmentStatus:
    """Where a shipment stands, from its events (reversed events ignored)."""

    shipment_id: str
    product: str | None
    origin: str | None
    destination: str | None
    route: tuple[str, ...]
    planned_doses: int
    dispatched_doses: int
    received_doses: int
    written_off_doses: int
    state: str
    location: str | None  # the node it is at, or is travelling to
    last_event_at: datetime | None
    expected_arrival: date | None
    unit: Unit = UNIT


def shipment_status(
    shipment_id: str, events: Sequence[LedgerEvent], reversed_ids: Iterable[str] = ()
) -> ShipmentStatus:
    """Fold a shipment's events (any order) into its status."""
    gone = set(reversed_ids)
    live = sorted((e for e in events if e.event_id not in gone), key=lambda e: e.occurred_at)
    product = origin = destination = location = None
    route: tuple[str, ...] = ()
    planned = dispatched = received = written_off = 0
    expected: date | None = None
    state = ShipmentState.CANCELLED
    last: datetime | None = None
    for e in live:
        state = STATE_AFTER.get(e.kind, state)
        last = e.occurred_at
        if isinstance(e, ShipmentPlanned):
            product, origin, destination, route = e.product, e.origin, e.destination, e.route
            planned += e.quantity
            expected = e.expected_arrival
            location = e.origin
        elif isinstance(e, ShipmentDispatched):
            product = product or e.lot.product
            origin = origin or e.origin
            destination = destination or e.destination
            dispatched += e.quantity
            expected = e.expected_arrival or expected
            location = e.destination
        elif e.kind is EventKind.DISPATCHED_ONWARD:
            expected = getattr(e, "expected_arrival", None) or expected
            location = getattr(e, "destination", location)
        elif e.kind is EventKind.ARRIVED_AT_HUB or isinstance(e, ShipmentHeld):
            location = getattr(e, "hub", location)
        elif isinstance(e, ShipmentReceived):
            received += e.quantity
            written_off += e.discrepancy
            location = e.node
            destination = destination or e.node
    return ShipmentStatus(
        shipment_id,
        product,
        origin,
        destination,
        route,
        planned,
        dispatched,
        received,
        written_off,
        state,
        location,
        last,
        expected,
    )
