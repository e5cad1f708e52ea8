"""Turning one event into postings: the double-entry rules of the ledger.

| event | from | to |
|---|---|---|
| dispatched | stock at origin (``entered`` if the origin is a supplier) | transit to destination |
| arrived at hub | transit to hub | stock at hub |
| dispatched onward | stock at hub | transit to destination |
| received | transit to node | stock at node (accepted) + written off (discrepancy, reason) |
| transfer, issue | stock at node | stock at to_node |
| administration | stock at node | administered at node |
| adjustment < 0 | stock at node | written off at node (reason) |
| adjustment > 0 | ``entered`` at node | stock at node |
| reversal | the reversed event's postings, negated, at the moment they took effect |

Planned and held shipments and physical counts move nothing themselves (a count produces an
adjustment). Supplier stock is not tracked: a supplier's dispatch is where doses enter.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence
from operator import attrgetter
from typing import Any, NamedTuple, TypeVar

from doseflow.domain.events import (
    Adjustment,
    Administration,
    ArrivedAtHub,
    DispatchedOnward,
    EventKind,
    LedgerEvent,
    ShipmentDispatched,
    ShipmentReceived,
    Transfer,
)
from doseflow.domain.lot import Lot
from doseflow.ledger.accounts import AccountKey, AccountState, Posting

#: A posting as a plain tuple ``(state, node, product, lot, ref, delta)``: what the rules
#: produce. Its first five items compare and hash equal to the :class:`AccountKey`, so bulk
#: paths can use them as keys without building a named tuple per posting.
RawPosting = tuple[AccountState, str, str, str, str, int]

_STOCK = AccountState.STOCK
_TRANSIT = AccountState.TRANSIT
_ENTERED = AccountState.ENTERED
_WRITTEN_OFF = AccountState.WRITTEN_OFF
_ADMINISTERED = AccountState.ADMINISTERED


def _dispatched(e: ShipmentDispatched, sources: Container[str]) -> tuple[RawPosting, ...]:
    lot = e.lot
    src = _ENTERED if e.origin in sources else _STOCK
    return (
        (src, e.origin, lot.product, lot.number, "", -e.quantity),
        (_TRANSIT, e.destination, lot.product, lot.number, e.shipment_id, e.quantity),
    )


def _arrived(e: ArrivedAtHub, _s: Container[str]) -> tuple[RawPosting, ...]:
    lot = e.lot
    return (
        (_TRANSIT, e.hub, lot.product, lot.number, e.shipment_id, -e.quantity),
        (_STOCK, e.hub, lot.product, lot.number, "", e.quantity),
    )


def _onward(e: DispatchedOnward, _s: Container[str]) -> tuple[RawPosting, ...]:
    lot = e.lot
    return (
        (_STOCK, e.hub, lot.product, lot.number, "", -e.quantity),
        (_TRANSIT, e.destination, lot.product, lot.number, e.shipment_id, e.quantity),
    )


def _received(e: ShipmentReceived, _s: Container[str]) -> tuple[RawPosting, ...]:
    lot = e.lot
    out: list[RawPosting] = [
        (_TRANSIT, e.node, lot.product, lot.number, e.shipment_id, -(e.quantity + e.discrepancy))
    ]
    if e.quantity:
        out.append((_STOCK, e.node, lot.product, lot.number, "", e.quantity))
    if e.discrepancy:
        reason = e.reason.value if e.reason is not None else "unexplained"
        out.append((_WRITTEN_OFF, e.node, lot.product, lot.number, reason, e.discrepancy))
    return tuple(out)


def _transfer(e: Transfer, _s: Container[str]) -> tuple[RawPosting, ...]:
    lot = e.lot
    return (
        (_STOCK, e.node, lot.product, lot.number, "", -e.quantity),
        (_STOCK, e.to_node, lot.product, lot.number, "", e.quantity),
    )


def _administration(e: Administration, _s: Container[str]) -> tuple[RawPosting, ...]:
    lot = e.lot
    return (
        (_STOCK, e.node, lot.product, lot.number, "", -e.quantity),
        (_ADMINISTERED, e.node, lot.product, lot.number, "", e.quantity),
    )


def _adjustment(e: Adjustment, _s: Container[str]) -> tuple[RawPosting, ...]:
    lot = e.lot
    if e.quantity > 0:
        return (
            (_ENTERED, e.node, lot.product, lot.number, "", -e.quantity),
            (_STOCK, e.node, lot.product, lot.number, "", e.quantity),
        )
    return (
        (_STOCK, e.node, lot.product, lot.number, "", e.quantity),
        (_WRITTEN_OFF, e.node, lot.product, lot.number, e.reason.value, -e.quantity),
    )


_RULES: dict[EventKind, Callable[[LedgerEvent, Container[str]], tuple[RawPosting, ...]]] = {
    EventKind.DISPATCHED: _dispatched,  # type: ignore[dict-item]
    EventKind.ARRIVED_AT_HUB: _arrived,  # type: ignore[dict-item]
    EventKind.DISPATCHED_ONWARD: _onward,  # type: ignore[dict-item]
    EventKind.RECEIVED: _received,  # type: ignore[dict-item]
    EventKind.TRANSFER: _transfer,  # type: ignore[dict-item]
    EventKind.ISSUE: _transfer,  # type: ignore[dict-item]
    EventKind.ADMINISTRATION: _administration,  # type: ignore[dict-item]
    EventKind.ADJUSTMENT: _adjustment,  # type: ignore[dict-item]
}


def raw_postings(event: LedgerEvent, sources: Container[str]) -> tuple[RawPosting, ...]:
    """The postings of ``event`` as plain tuples (empty for planned, held, counts and
    reversals: a reversal's postings depend on the event it reverses, see
    :func:`reversed_postings`). ``sources`` holds the codes of supplier nodes, whose
    dispatches bring doses in."""
    rule = _RULES.get(event.kind)
    return rule(event, sources) if rule is not None else ()


def named(raw: tuple[RawPosting, ...]) -> tuple[Posting, ...]:
    """Raw postings as :class:`Posting` values with their :class:`AccountKey`."""
    return tuple(Posting(AccountKey(s, n, p, lot, ref), d) for s, n, p, lot, ref, d in raw)


def postings_of(event: LedgerEvent, sources: Container[str]) -> tuple[Posting, ...]:
    """The postings of ``event`` (see :func:`raw_postings`)."""
    return named(raw_postings(event, sources))


def reversed_postings(original: tuple[RawPosting, ...]) -> tuple[RawPosting, ...]:
    """The postings that undo ``original``."""
    return tuple((s, n, p, lot, ref, -d) for s, n, p, lot, ref, d in original)


def moves_stock(kind: EventKind) -> bool:
    """Whether events of ``kind`` have postings of their own."""
    return kind in _RULES


# -- the same rules over many events at once ------------------------------------------------


class Leg(NamedTuple):
    """One posting of each of several events of one kind, as columns: ``rows`` says which
    of the events (positions in the list given) have it; the other columns are aligned
    with ``rows``."""

    state: AccountState
    rows: list[int]
    node: list[str]
    product: list[str]
    lot: list[str]
    ref: list[str]
    delta: list[int]


def _leg(
    state: AccountState,
    rows: list[int],
    node: list[str],
    lots: list[Lot],
    ref: list[str] | None,
    delta: list[int],
) -> Leg:
    return Leg(
        state,
        rows,
        node,
        [lot.product for lot in lots],
        [lot.number for lot in lots],
        ref if ref is not None else [""] * len(rows),
        delta,
    )


_V = TypeVar("_V")


def _pick(values: list[_V], rows: list[int]) -> list[_V]:
    return [values[i] for i in rows]


def stock_and_transit_legs(
    kind: EventKind, events: Sequence[LedgerEvent], sources: Container[str]
) -> list[Leg]:
    """The stock and transit postings of many events of ``kind``, by the rules of
    :func:`raw_postings` (the tests hold the two to the same postings): what a bulk append
    projects, without a tuple per posting. Kinds without postings give none."""
    if kind not in _RULES or not events:
        return []
    e: Any = events
    n = len(events)
    every = list(range(n))
    lots: list[Lot] = list(map(attrgetter("lot"), e))
    quantity: list[int] = list(map(attrgetter("quantity"), e))
    minus = [-q for q in quantity]
    if kind is EventKind.ADMINISTRATION:
        return [_leg(_STOCK, every, list(map(attrgetter("node"), e)), lots, None, minus)]
    if kind is EventKind.ADJUSTMENT:  # quantity carries its sign
        return [_leg(_STOCK, every, list(map(attrgetter("node"), e)), lots, None, quantity)]
    if kind is EventKind.TRANSFER or kind is EventKind.ISSUE:
        return [
            _leg(_STOCK, every, list(map(attrgetter("node"), e)), lots, None, minus),
            _leg(_STOCK, every, list(map(attrgetter("to_node"), e)), lots, None, quantity),
        ]
    shipments: list[str] = list(map(attrgetter("shipment_id"), e))
    if kind is EventKind.DISPATCHED or kind is EventKind.DISPATCHED_ONWARD:
        origin = list(map(attrgetter("origin" if kind is EventKind.DISPATCHED else "hub"), e))
        tracked = (  # supplier stock is not tracked (onward: always a hub's)
            [i for i in every if origin[i] not in sources]
            if kind is EventKind.DISPATCHED
            else every
        )
        return [
            _leg(
                _STOCK,
                tracked,
                _pick(origin, tracked),
                _pick(lots, tracked),
                None,
                _pick(minus, tracked),
            ),
            _leg(
                _TRANSIT, every, list(map(attrgetter("destination"), e)), lots, shipments, quantity
            ),
        ]
    if kind is EventKind.ARRIVED_AT_HUB:
        hub = list(map(attrgetter("hub"), e))
        return [
            _leg(_TRANSIT, every, hub, lots, shipments, minus),
            _leg(_STOCK, every, hub, lots, None, quantity),
        ]
    assert kind is EventKind.RECEIVED, kind
    node = list(map(attrgetter("node"), e))
    discrepancy: list[int] = list(map(attrgetter("discrepancy"), e))
    accepted = [i for i in every if quantity[i]]
    return [
        _leg(
            _TRANSIT,
            every,
            node,
            lots,
            shipments,
            [-(q + d) for q, d in zip(quantity, discrepancy, strict=True)],
        ),
        _leg(
            _STOCK,
            accepted,
            _pick(node, accepted),
            _pick(lots, accepted),
            None,
            _pick(quantity, accepted),
        ),
    ]
