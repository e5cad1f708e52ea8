"""Ledger events: immutable, typed facts about doses, each with a client-supplied id.

Nothing in the ledger is ever edited or deleted; a mistake is corrected by a
:class:`Reversal` of the earlier event. Every event says when it happened (``occurred_at``),
who recorded it (``recorded_by``) and, once stored, when it was recorded (``recorded_at``,
filled in by the store; the service never takes either from a client). Quantities are
always doses.

The ``event_id`` is chosen by the client, so sending the same event twice (a retry after a
lost connection, a re-run import, the same event sent by a colleague) is a no-op, while the
same id with different content is refused. Who recorded an event and when are not its
content: the first recording's stand. Shipment events name a leg: ``origin``/``hub`` is
where the doses leave from and ``destination`` the next node on the route, where the next
event (arrival at a hub or receipt) must happen.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from doseflow.domain.errors import DoseflowError
from doseflow.domain.limits import (
    MAX_ID_LENGTH,
    MAX_QUANTITY,
    MAX_SHIPMENT_ID_LENGTH,
    MAX_TEXT_LENGTH,
    MAX_USER_LENGTH,
)
from doseflow.domain.lot import Lot


class EventKind(StrEnum):
    """The event types, spelled as in CSV/JSON files."""

    SHIPMENT_PLANNED = "shipment-planned"
    DISPATCHED = "dispatched"
    ARRIVED_AT_HUB = "arrived-at-hub"
    HELD = "held"
    DISPATCHED_ONWARD = "dispatched-onward"
    RECEIVED = "received"
    TRANSFER = "transfer"
    ISSUE = "issue"
    ADMINISTRATION = "administration"
    ADJUSTMENT = "adjustment"
    PHYSICAL_COUNT = "physical-count"
    REVERSAL = "reversal"


class ReceiptOutcome(StrEnum):
    """How a shipment was received at its destination."""

    CONFIRMED = "confirmed"  # everything in transit accepted
    DIFFERENT_QUANTITY = "different-quantity"  # part accepted, the rest written off
    REJECTED = "rejected"  # nothing accepted, all written off


class DiscrepancyReason(StrEnum):
    """Why a received quantity differs from what was in transit."""

    DAMAGED = "damaged"
    SHORT = "short"
    TEMPERATURE_EXCURSION = "temperature-excursion"


class AdjustmentReason(StrEnum):
    """Why stock changed without a movement. ``found`` adds; ``count-correction`` either way;
    every other reason removes doses (writes them off with that reason)."""

    EXPIRED = "expired"
    BROKEN = "broken"
    VVM_DISCARD = "vvm-discard"
    OPEN_VIAL_WASTAGE = "open-vial-wastage"
    LOST = "lost"
    FOUND = "found"
    COUNT_CORRECTION = "count-correction"


#: Adjustment reasons that can only remove doses.
REMOVING_REASONS: frozenset[AdjustmentReason] = frozenset(
    r
    for r in AdjustmentReason
    if r not in (AdjustmentReason.FOUND, AdjustmentReason.COUNT_CORRECTION)
)


#: Added to a physical count's id to name the adjustment its discrepancy produces.
DISCREPANCY_SUFFIX = "/discrepancy"


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _positive(event: LedgerEvent, name: str, value: int, *, allow_zero: bool = False) -> None:
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or value < 0
        or (value == 0 and not allow_zero)
        or value > MAX_QUANTITY
    ):
        lowest = 0 if allow_zero else 1
        raise DoseflowError(
            "LEDGER_BAD_QUANTITY",
            f"event {event.event_id} ({event.kind.value}): {name} must be a whole number of "
            f"doses from {lowest} to {MAX_QUANTITY:,}",
            field=name,
            expected=f"an integer from {lowest} to {MAX_QUANTITY:,}",
            value=value,
        )


#: Text fields of events and their longest length: the widths of the ledger's columns, so
#: an event built in Python (not only one read from a file) cannot meet a database error.
_TEXT_LIMITS: tuple[tuple[str, int], ...] = (
    ("event_id", MAX_ID_LENGTH),
    ("recorded_by", MAX_USER_LENGTH),
    ("shipment_id", MAX_SHIPMENT_ID_LENGTH),
    ("reverses", MAX_ID_LENGTH),
    ("caused_by", MAX_ID_LENGTH),
    ("allocation_ref", MAX_ID_LENGTH),
    ("reason", MAX_TEXT_LENGTH),
    ("remark", MAX_TEXT_LENGTH),
)


def _bounded_text(event: LedgerEvent) -> None:
    for name, limit in _TEXT_LIMITS:
        value = getattr(event, name, None)
        if isinstance(value, str) and (len(value) > limit or "\x00" in value):
            raise DoseflowError(
                "LEDGER_BAD_TEXT",
                f"event {event.event_id[:limit]}: {name} has {len(value):,} characters or a "
                f"NUL character; at most {limit} characters, without NUL",
                field=name,
                expected=f"text of at most {limit} characters without NUL characters",
                value=value,
            )


def _required(event: LedgerEvent, name: str, value: object) -> None:
    if value is None or value == "":
        raise DoseflowError(
            "LEDGER_MISSING_FIELD",
            f"event {event.event_id} ({event.kind.value}) needs '{name}'",
            field=name,
            expected=f"a value for {name}",
            value=value,
        )


#: Fields that say who recorded an event and when: set by whoever stores it (the service
#: from the caller's token and its own clock), and not part of the event's content.
RECORDING_FIELDS: tuple[str, ...] = ("recorded_by", "recorded_at")
_RECORDING = frozenset(RECORDING_FIELDS)


@dataclass(frozen=True, kw_only=True, slots=True)
class LedgerEvent:
    """Fields every event has. Subclasses add what their kind needs."""

    kind: ClassVar[EventKind]

    event_id: str
    occurred_at: datetime
    recorded_by: str
    recorded_at: datetime | None = None

    def __post_init__(self) -> None:
        _required(self, "event_id", self.event_id)
        _required(self, "recorded_by", self.recorded_by)
        _bounded_text(self)
        object.__setattr__(self, "occurred_at", as_utc(self.occurred_at))
        if self.recorded_at is not None:
            object.__setattr__(self, "recorded_at", as_utc(self.recorded_at))
        self._check()

    def _check(self) -> None:
        """Kind-specific validation (overridden)."""

    def content(self) -> dict[str, Any]:
        """What must match for a re-send to be a no-op: every field except who recorded the
        event and when (:data:`RECORDING_FIELDS`). Those describe one recording, not the
        event: the same event sent again by another user, or later, is the same fact."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _RECORDING}

    def same_content(self, other: LedgerEvent) -> bool:
        return self.kind is other.kind and self.content() == other.content()

    def differences(self, other: LedgerEvent) -> list[str]:
        """Names of the fields whose content differs from ``other``'s."""
        if self.kind is not other.kind:
            return ["type"]
        mine, theirs = self.content(), other.content()
        return [name for name in mine if mine[name] != theirs.get(name)]


@dataclass(frozen=True, kw_only=True, slots=True)
class ShipmentPlanned(LedgerEvent):
    """A shipment planned from an allocation: no doses move yet. ``route`` is every node from
    ``origin`` to ``destination`` inclusive (through any hub)."""

    kind: ClassVar[EventKind] = EventKind.SHIPMENT_PLANNED
    shipment_id: str
    origin: str
    destination: str
    product: str
    quantity: int
    route: tuple[str, ...] = ()
    expected_dispatch: date | None = None
    expected_arrival: date | None = None
    allocation_ref: str | None = None

    def _check(self) -> None:
        _required(self, "shipment_id", self.shipment_id)
        _required(self, "origin", self.origin)
        _required(self, "destination", self.destination)
        _required(self, "product", self.product)
        _positive(self, "quantity", self.quantity)
        if not self.route:
            object.__setattr__(self, "route", (self.origin, self.destination))
        elif self.route[0] != self.origin or self.route[-1] != self.destination:
            raise DoseflowError(
                "LEDGER_BAD_ROUTE",
                f"shipment {self.shipment_id}: the route must start at the origin and end at "
                "the destination",
                field="route",
                expected=f"{self.origin} > ... > {self.destination}",
                value=" > ".join(self.route),
            )


@dataclass(frozen=True, kw_only=True, slots=True)
class ShipmentDispatched(LedgerEvent):
    """Doses leave ``origin`` and are in transit to ``destination`` (the next node)."""

    kind: ClassVar[EventKind] = EventKind.DISPATCHED
    shipment_id: str
    origin: str
    destination: str
    lot: Lot
    quantity: int
    expected_arrival: date | None = None

    def _check(self) -> None:
        _required(self, "shipment_id", self.shipment_id)
        _required(self, "origin", self.origin)
        _required(self, "destination", self.destination)
        _positive(self, "quantity", self.quantity)


@dataclass(frozen=True, kw_only=True, slots=True)
class ArrivedAtHub(LedgerEvent):
    """Doses in transit to ``hub`` arrived there and are now stock at the hub."""

    kind: ClassVar[EventKind] = EventKind.ARRIVED_AT_HUB
    shipment_id: str
    hub: str
    lot: Lot
    quantity: int

    def _check(self) -> None:
        _required(self, "shipment_id", self.shipment_id)
        _required(self, "hub", self.hub)
        _positive(self, "quantity", self.quantity)


@dataclass(frozen=True, kw_only=True, slots=True)
class ShipmentHeld(LedgerEvent):
    """A shipment is held or stockpiled at ``hub`` (e.g. awaiting import permits); no doses
    move."""

    kind: ClassVar[EventKind] = EventKind.HELD
    shipment_id: str
    hub: str
    reason: str
    until: date | None = None

    def _check(self) -> None:
        _required(self, "shipment_id", self.shipment_id)
        _required(self, "hub", self.hub)
        _required(self, "reason", self.reason)


@dataclass(frozen=True, kw_only=True, slots=True)
class DispatchedOnward(LedgerEvent):
    """Doses leave the hub stock and are in transit to ``destination``."""

    kind: ClassVar[EventKind] = EventKind.DISPATCHED_ONWARD
    shipment_id: str
    hub: str
    destination: str
    lot: Lot
    quantity: int
    expected_arrival: date | None = None

    def _check(self) -> None:
        _required(self, "shipment_id", self.shipment_id)
        _required(self, "hub", self.hub)
        _required(self, "destination", self.destination)
        _positive(self, "quantity", self.quantity)


@dataclass(frozen=True, kw_only=True, slots=True)
class ShipmentReceived(LedgerEvent):
    """The shipment reached ``node``: ``quantity`` doses were accepted into stock and
    ``discrepancy`` doses (damaged, short, temperature excursion) were written off. Together
    they leave transit."""

    kind: ClassVar[EventKind] = EventKind.RECEIVED
    shipment_id: str
    node: str
    lot: Lot
    quantity: int
    outcome: ReceiptOutcome = ReceiptOutcome.CONFIRMED
    discrepancy: int = 0
    reason: DiscrepancyReason | None = None

    def _check(self) -> None:
        _required(self, "shipment_id", self.shipment_id)
        _required(self, "node", self.node)
        _positive(self, "quantity", self.quantity, allow_zero=True)
        _positive(self, "discrepancy", self.discrepancy, allow_zero=True)
        problem: str | None = None
        if self.outcome is ReceiptOutcome.CONFIRMED:
            if self.discrepancy or self.quantity == 0:
                problem = "a confirmed receipt accepts a positive quantity with no discrepancy"
        elif self.outcome is ReceiptOutcome.REJECTED:
            if self.quantity or not self.discrepancy:
                problem = "a rejected receipt accepts 0 doses and writes off the discrepancy"
        elif not self.discrepancy:
            problem = "a different-quantity receipt needs a discrepancy > 0"
        if problem is None and self.outcome is not ReceiptOutcome.CONFIRMED and not self.reason:
            problem = f"a {self.outcome.value} receipt needs a reason"
        if problem is not None:
            raise DoseflowError(
                "LEDGER_BAD_RECEIPT",
                f"event {self.event_id}: {problem}",
                field="outcome",
                expected="confirmed (discrepancy 0), different-quantity or rejected (with a "
                "reason: damaged, short, temperature-excursion)",
                value=f"{self.outcome.value}, quantity={self.quantity}, "
                f"discrepancy={self.discrepancy}, reason={self.reason}",
            )


@dataclass(frozen=True, kw_only=True, slots=True)
class Transfer(LedgerEvent):
    """A lateral move between two stores, effective at once (both ends record it)."""

    kind: ClassVar[EventKind] = EventKind.TRANSFER
    node: str
    to_node: str
    lot: Lot
    quantity: int

    def _check(self) -> None:
        _required(self, "node", self.node)
        _required(self, "to_node", self.to_node)
        _positive(self, "quantity", self.quantity)
        if self.node == self.to_node:
            raise DoseflowError(
                "LEDGER_SAME_NODE",
                f"event {self.event_id}: a {self.kind.value} must go to another node",
                field="to_node",
                expected=f"a node other than {self.node}",
                value=self.to_node,
            )


@dataclass(frozen=True, kw_only=True, slots=True)
class Issue(Transfer):
    """A store issuing doses down the supply chain (to a lower store or a service point)."""

    kind: ClassVar[EventKind] = EventKind.ISSUE


@dataclass(frozen=True, kw_only=True, slots=True)
class Administration(LedgerEvent):
    """Doses given to people at ``node``."""

    kind: ClassVar[EventKind] = EventKind.ADMINISTRATION
    node: str
    lot: Lot
    quantity: int

    def _check(self) -> None:
        _required(self, "node", self.node)
        _positive(self, "quantity", self.quantity)


@dataclass(frozen=True, kw_only=True, slots=True)
class Adjustment(LedgerEvent):
    """Stock changed at ``node`` without a movement. ``quantity`` is signed: negative removes
    (written off with ``reason``), positive adds (``found`` or ``count-correction``)."""

    kind: ClassVar[EventKind] = EventKind.ADJUSTMENT
    node: str
    lot: Lot
    quantity: int
    reason: AdjustmentReason
    caused_by: str | None = None  # the physical count that produced it, if any

    def _check(self) -> None:
        _required(self, "node", self.node)
        _required(self, "reason", self.reason)
        q = self.quantity
        ok = isinstance(q, int) and not isinstance(q, bool) and 0 < abs(q) <= MAX_QUANTITY
        if ok and self.reason in REMOVING_REASONS:
            ok = q < 0
        elif ok and self.reason is AdjustmentReason.FOUND:
            ok = q > 0
        if not ok:
            raise DoseflowError(
                "LEDGER_BAD_ADJUSTMENT",
                f"event {self.event_id}: an adjustment for '{self.reason}' cannot change stock "
                f"by {q}",
                field="quantity",
                expected="< 0 for expired/broken/vvm-discard/open-vial-wastage/lost, > 0 for "
                f"found, non-zero for count-correction, and at most {MAX_QUANTITY:,} either way",
                value=q,
            )


@dataclass(frozen=True, kw_only=True, slots=True)
class PhysicalCount(LedgerEvent):
    """Doses counted at ``node``. The store records the difference from the ledger balance at
    ``occurred_at`` as an :class:`Adjustment` (``count-correction``) caused by this count.
    ``remark`` is the counter's note (why the count, what was found), kept with the count
    so a later reader of the correction knows its story."""

    kind: ClassVar[EventKind] = EventKind.PHYSICAL_COUNT
    node: str
    lot: Lot
    counted: int
    remark: str | None = None

    def _check(self) -> None:
        _required(self, "node", self.node)
        _positive(self, "counted", self.counted, allow_zero=True)

    @property
    def discrepancy_id(self) -> str:
        """The id of the adjustment this count produces, if the count differs."""
        return f"{self.event_id}{DISCREPANCY_SUFFIX}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Reversal(LedgerEvent):
    """Undoes an earlier event as if it had never happened: its movements are reversed at the
    moment they took effect, so every balance from then on is checked again."""

    kind: ClassVar[EventKind] = EventKind.REVERSAL
    reverses: str
    reason: str

    def _check(self) -> None:
        _required(self, "reverses", self.reverses)
        _required(self, "reason", self.reason)


Event = (
    ShipmentPlanned
    | ShipmentDispatched
    | ArrivedAtHub
    | ShipmentHeld
    | DispatchedOnward
    | ShipmentReceived
    | Transfer
    | Issue
    | Administration
    | Adjustment
    | PhysicalCount
    | Reversal
)

#: The event class for each kind.
EVENT_CLASSES: dict[EventKind, type[LedgerEvent]] = {
    cls.kind: cls
    for cls in (
        ShipmentPlanned,
        ShipmentDispatched,
        ArrivedAtHub,
        ShipmentHeld,
        DispatchedOnward,
        ShipmentReceived,
        Transfer,
        Issue,
        Administration,
        Adjustment,
        PhysicalCount,
        Reversal,
    )
}


def event_lot(event: LedgerEvent) -> Lot | None:
    """The lot an event moves, if any."""
    lot = getattr(event, "lot", None)
    return lot if isinstance(lot, Lot) else None


def event_nodes(event: LedgerEvent) -> tuple[str, ...]:
    """Every node code an event names (each must exist in the ledger)."""
    names = ("origin", "destination", "hub", "node", "to_node")
    found = [v for n in names if isinstance(v := getattr(event, n, None), str) and v]
    if isinstance(event, ShipmentPlanned):
        found.extend(event.route)
    return tuple(dict.fromkeys(found))
