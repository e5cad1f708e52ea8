"""Hypothesis strategies: random interleavings of ledger actions, back-dated and reversed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date

from hypothesis import strategies as st

from doseflow.domain.events import (
    Adjustment,
    AdjustmentReason,
    Administration,
    Issue,
    LedgerEvent,
    PhysicalCount,
    Reversal,
    ShipmentDispatched,
    ShipmentReceived,
)
from doseflow.domain.lot import Lot
from doseflow.domain.network import Node, NodeKind
from tests.ledger.factory import day

STORES = ("A", "B")
LOTS = ("L1", "L2")


@dataclass(frozen=True)
class Action:
    kind: str
    node: str
    other: str
    lot: str
    quantity: int
    day: int
    pick: int  # which earlier event to reverse or re-send


actions = st.builds(
    Action,
    kind=st.sampled_from(
        ["receive", "receive", "issue", "admin", "lost", "found", "count", "reverse", "resend"]
    ),
    node=st.sampled_from(STORES),
    other=st.sampled_from(STORES),
    lot=st.sampled_from(LOTS),
    quantity=st.integers(1, 60),
    day=st.integers(1, 30),
    pick=st.integers(0, 1000),
)


@dataclass
class Namer:
    """Node, lot and event names under a prefix, so several examples share one database."""

    prefix: str

    def node(self, code: str) -> str:
        return f"{self.prefix}{code}"

    def lot(self, number: str) -> Lot:
        return Lot(f"{self.prefix}P", number, date(2022, 1, 1))

    def nodes(self) -> list[Node]:
        return [Node(self.node("SUP"), "supplier", NodeKind.SUPPLIER)] + [
            Node(self.node(s), s, NodeKind.NATIONAL_STORE) for s in STORES
        ]


def to_events(a: Action, n: int, names: Namer, accepted: list[LedgerEvent]) -> list[LedgerEvent]:
    """The batch an action stands for (``n`` makes ids unique)."""
    by = "hypothesis"
    at = day(a.day)
    node = names.node(a.node)
    lot = names.lot(a.lot)
    eid = f"{names.prefix}e{n}"
    take = max(1, a.quantity // 4)  # consuming actions take less, so both outcomes occur
    if a.kind == "receive":
        sid = f"{names.prefix}s{n}"
        return [
            ShipmentDispatched(
                event_id=f"{eid}d",
                occurred_at=at,
                recorded_by=by,
                shipment_id=sid,
                origin=names.node("SUP"),
                destination=node,
                lot=lot,
                quantity=a.quantity,
            ),
            ShipmentReceived(
                event_id=f"{eid}r",
                occurred_at=at,
                recorded_by=by,
                shipment_id=sid,
                node=node,
                lot=lot,
                quantity=a.quantity,
            ),
        ]
    if a.kind == "issue" and a.node != a.other:
        return [
            Issue(
                event_id=eid,
                occurred_at=at,
                recorded_by=by,
                node=node,
                to_node=names.node(a.other),
                lot=lot,
                quantity=take,
            )
        ]
    if a.kind in ("admin", "issue"):
        return [
            Administration(
                event_id=eid,
                occurred_at=at,
                recorded_by=by,
                node=node,
                lot=lot,
                quantity=take,
            )
        ]
    if a.kind in ("lost", "found"):
        return [
            Adjustment(
                event_id=eid,
                occurred_at=at,
                recorded_by=by,
                node=node,
                lot=lot,
                quantity=-take if a.kind == "lost" else a.quantity,
                reason=AdjustmentReason(a.kind),
            )
        ]
    if a.kind == "count":
        return [
            PhysicalCount(
                event_id=eid, occurred_at=at, recorded_by=by, node=node, lot=lot, counted=a.quantity
            )
        ]
    movable = [e for e in accepted if not isinstance(e, Reversal | PhysicalCount)]
    if not movable:
        return []
    if a.kind == "resend":  # by another user, now and then: still a re-send
        again = accepted[a.pick % len(accepted)]
        return [replace(again, recorded_by="someone-else") if a.pick % 2 else again]
    target = movable[a.pick % len(movable)]
    return [
        Reversal(
            event_id=eid, occurred_at=at, recorded_by=by, reverses=target.event_id, reason="test"
        )
    ]


def batches(
    plan: list[list[Action]], names: Namer, accepted: list[LedgerEvent]
) -> Iterator[list[LedgerEvent]]:
    """The batch of each group of actions, made when asked for: a reversal or re-send picks
    from ``accepted``, which the caller extends with what the ledger took."""
    n = 0
    for group in plan:
        batch: list[LedgerEvent] = []
        for action in group:
            batch += to_events(action, n, names, accepted)
            n += 1
        yield batch
