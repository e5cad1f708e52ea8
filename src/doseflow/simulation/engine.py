"""The day-stepped simulation engine: ``run(start, scenario, seed, days)``.

State is doses per (node, lot) in dicts, never vial objects; every change happens in
:meth:`_Run.step`, which applies in this fixed order each day ``d`` (date ``as_of + d``):

1. **arrivals**: shipments due today reach their next node; at a node with a quarantine of
   N days they are held (a ``held`` event, reason ``quarantine``, until ``d + N``), else
   received (``received``; ``arrived-at-hub`` for a start-state shipment not yet at its
   final destination) into stock. A start-state shipment held at a hub is there already:
   it arrives at the hub on day 0 (as hub stock, no quarantine), free to move on.
2. **quarantine releases**: shipments held until today are received.
3. **expiry**: a lot is usable up to and including its expiry date; on the next day every
   dose of it in stock is written off where it is (``adjustment``, reason ``expired``).
   Doses held in quarantine are received and written off at the quarantine node; doses on
   the road are written off on the day they arrive (the ledger writes off stock only).
4. **heat**: on each outage day every lot at the node (in stock or held there) gains one
   exposure day; every ``days_per_vvm_stage`` exposure days raise its VVM stage by one
   (all products are treated as 2-8 °C). Doses at stage 3 or beyond are discarded
   (``adjustment``, reason ``vvm-discard``), a start stock's too.
5. **administration**: each node's demand of the day is met from its usable stock, lots in
   the policy's order (FEFO or FIFO); what is left unmet counts as a stock-out.
6. **dispatch**: a node without demand that has open outgoing lanes, and is not
   stockpiling today, sends all its stock down them: each open lane an equal share (the
   remainder to lanes in code order), cut to the lane's daily capacity and to whole
   batches; lots in the policy's order. A dispatch arrives ``max(1, lead time)`` days later,
   the lead time drawn for that lane and day (``dispatched``; ``dispatched-onward`` from a
   hub).

Doses moved from one (node, lot) to another keep the larger exposure and VVM stage of the
two (the conservative choice). Event ids are ``run/shipment/step/product/lot`` for
shipments and ``run/node/kind/product/lot/dDAY`` for the rest, so the same inputs and seed
give the same events, to the id. See ``docs/simulation.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from doseflow.domain.errors import DoseflowError
from doseflow.domain.events import (
    Adjustment,
    AdjustmentReason,
    Administration,
    ArrivedAtHub,
    DispatchedOnward,
    LedgerEvent,
    ShipmentDispatched,
    ShipmentHeld,
    ShipmentReceived,
)
from doseflow.domain.lot import VVM_DISCARD_STAGE, Lot
from doseflow.domain.network import NodeKind
from doseflow.simulation.opening import SIMULATION_USER
from doseflow.simulation.result import IntArray, SimulationResult
from doseflow.simulation.scenario import LotOrder, Scenario, SimLane
from doseflow.simulation.start import LotStock, StartState
from doseflow.simulation.streams import outage_days, stream

LotKey = tuple[str, str]  # (product, lot number)
Cell = tuple[str, LotKey]  # (node, lot)

#: The highest VVM stage (beyond the discard point).
_LAST_STAGE = 4


@dataclass
class _Moving:
    """Doses of one lot on one shipment, on the road or held in quarantine (run state)."""

    shipment_id: str
    destination: str
    lot: LotKey
    doses: int
    stage: int
    exposure: int
    arrive: int
    final: bool = True
    held_until: int | None = None
    quarantined: bool = True  # whether a quarantine at its destination applies


@dataclass
class _Stock:
    """Doses of one lot at one node (run state)."""

    doses: int
    stage: int
    exposure: int = 0
    since: int = -1  # the day doses first arrived (FIFO); -1 for start stock


def run(
    start: StartState,
    scenario: Scenario,
    seed: int,
    days: int,
    *,
    replication: int = 0,
    run_id: str = "sim",
) -> SimulationResult:
    """Simulate ``days`` days from ``start``: replication ``replication`` of the run with
    ``seed`` (its draws are row ``replication`` of every stream's draws)."""
    if days < 1 or replication < 0:
        raise DoseflowError(
            "SIMULATION_BAD_SCENARIO",
            f"a run needs at least 1 day and a replication >= 0 (got {days} days, "
            f"replication {replication})",
            field="days",
            expected="days >= 1, replication >= 0",
            value=days,
        )
    start_nodes = tuple(s.node for s in start.stock) + tuple(
        code
        for p in start.pipeline
        for code in (p.next_node, p.held_at, p.destination)
        if code is not None
    )
    scenario.check(tuple(dict.fromkeys(start_nodes)))
    state = _Run(start, scenario, seed, days, replication, run_id)
    for day in range(days):
        state.step(day)
    return state.result()


class _Run:
    """One replication's state and its step function."""

    def __init__(
        self,
        start: StartState,
        scenario: Scenario,
        seed: int,
        days: int,
        replication: int,
        run_id: str,
    ) -> None:
        self.start = start
        self.scenario = scenario
        self.days = days
        self.run_id = run_id
        self.kinds = {n.code: n.kind for n in scenario.nodes}
        self.codes = tuple(sorted(self.kinds))
        self.row = {code: i for i, code in enumerate(self.codes)}
        self.lots: dict[LotKey, Lot] = {}
        self.stock: dict[Cell, _Stock] = {}
        # the cells of each node (cells are never removed, only emptied): a node's lots are
        # found without scanning the whole network's stock every node and day
        self.cells_of: dict[str, set[Cell]] = {}
        self.moving: list[_Moving] = []
        self.events: list[LedgerEvent] = []
        shape = (len(self.codes), days)
        self.administered: IntArray = np.zeros(shape, dtype=np.int64)
        self.expired: IntArray = np.zeros(shape, dtype=np.int64)
        self.vvm: IntArray = np.zeros(shape, dtype=np.int64)
        self.demand: IntArray = np.zeros(shape, dtype=np.int64)
        self.unmet: IntArray = np.zeros(shape, dtype=np.int64)
        self.quarantine = {q.node: q.days for q in scenario.quarantines}
        self.lanes = sorted(scenario.lanes, key=lambda lane: lane.code)
        rows = replication + 1
        self.lead = {
            lane.code: lane.lead_time.draw(stream(seed, "lane", lane.code), rows, days)[replication]
            for lane in self.lanes
        }
        self.outage: dict[str, set[int]] = {}
        for o in scenario.outages:
            first = (o.start - start.as_of).days
            self.outage.setdefault(o.node, set()).update(range(first, first + o.days))
        for r in scenario.random_outages:
            drawn = outage_days(stream(seed, "outage", r.node), r.per_year, r.days, rows, days)
            self.outage.setdefault(r.node, set()).update(
                int(d) for d in np.flatnonzero(drawn[replication])
            )
        for s in start.stock:
            if s.doses > 0:
                key = self._lot(s.product, s.lot, s.expiry)
                self._add((s.node, key), s.doses, s.vvm_stage, 0, -1)
        for p in start.pipeline:
            if p.doses <= 0:
                continue
            key = self._lot(p.product, p.lot, p.expiry)
            if p.next_node is None and p.held_at is not None:
                self.moving.append(
                    _Moving(p.shipment_id, p.held_at, key, p.doses, 1, 0, 0, False, None, False)
                )
                continue
            where = p.next_node or p.destination
            due = 0 if p.expected_arrival is None else (p.expected_arrival - start.as_of).days
            self.moving.append(
                _Moving(
                    p.shipment_id, where, key, p.doses, 1, 0, max(due, 0), where == p.destination
                )
            )

    # -- helpers -----------------------------------------------------------------------

    def _lot(self, product: str, number: str, expiry: date | None) -> LotKey:
        key = (product, number)
        self.lots.setdefault(key, Lot(product, number, expiry))
        return key

    def _date(self, day: int) -> date:
        return self.start.as_of + timedelta(days=day)

    def _at(self, day: int) -> datetime:
        return datetime.combine(self._date(day), time(12, 0), tzinfo=UTC)

    def _lot_at(self, key: LotKey, stage: int) -> Lot:
        lot = self.lots[key]
        return Lot(lot.product, lot.number, lot.expiry, min(max(stage, 1), _LAST_STAGE))

    def _add(self, cell: Cell, doses: int, stage: int, exposure: int, day: int) -> None:
        have = self.stock.get(cell)
        if have is None or have.doses == 0:
            self.stock[cell] = _Stock(doses, stage, exposure, day)
            self.cells_of.setdefault(cell[0], set()).add(cell)
            return
        have.doses += doses
        have.stage = max(have.stage, stage)
        have.exposure = max(have.exposure, exposure)
        have.since = min(have.since, day)

    def _ordered(self, node: str) -> list[tuple[Cell, _Stock]]:
        """The node's stock in the policy's lot order (both orders end on the lot's key, unique
        at a node, so the order never depends on how the cells were stored)."""
        cells = [(c, self.stock[c]) for c in self.cells_of.get(node, ()) if self.stock[c].doses > 0]
        if self.scenario.policy.lot_order is LotOrder.FEFO:

            def fefo(item: tuple[Cell, _Stock]) -> tuple[bool, date, LotKey]:
                expiry = self.lots[item[0][1]].expiry
                return (expiry is None, expiry or date.max, item[0][1])

            return sorted(cells, key=fefo)
        return sorted(cells, key=lambda item: (item[1].since, item[0][1]))

    def _node_event_id(self, node: str, kind: str, key: LotKey, day: int) -> str:
        return f"{self.run_id}/{node}/{kind}/{key[0]}/{key[1]}/d{day}"

    def _write_off(self, cell: Cell, day: int, reason: AdjustmentReason) -> None:
        held = self.stock[cell]
        node, key = cell
        self.events.append(
            Adjustment(
                event_id=self._node_event_id(node, reason.value, key, day),
                occurred_at=self._at(day),
                recorded_by=SIMULATION_USER,
                node=node,
                lot=self._lot_at(key, held.stage),
                quantity=-held.doses,
                reason=reason,
            )
        )
        target = self.expired if reason is AdjustmentReason.EXPIRED else self.vvm
        target[self.row[node], day] += held.doses
        held.doses = 0

    def _receive(self, m: _Moving, day: int) -> None:
        lot = self._lot_at(m.lot, m.stage)
        base = f"{self.run_id}/{m.shipment_id}"
        tail = f"{m.lot[0]}/{m.lot[1]}"
        if m.final:
            event: LedgerEvent = ShipmentReceived(
                event_id=f"{base}/received/{tail}",
                occurred_at=self._at(day),
                recorded_by=SIMULATION_USER,
                shipment_id=m.shipment_id,
                node=m.destination,
                lot=lot,
                quantity=m.doses,
            )
        else:
            event = ArrivedAtHub(
                event_id=f"{base}/arrived/{tail}",
                occurred_at=self._at(day),
                recorded_by=SIMULATION_USER,
                shipment_id=m.shipment_id,
                hub=m.destination,
                lot=lot,
                quantity=m.doses,
            )
        self.events.append(event)
        self._add((m.destination, m.lot), m.doses, m.stage, m.exposure, day)
        m.doses = 0

    # -- the day -----------------------------------------------------------------------

    def step(self, day: int) -> None:
        """Apply one day, in the documented order."""
        self._arrivals(day)
        self._releases(day)
        self._expiry(day)
        self._heat(day)
        self._administration(day)
        self._dispatch(day)
        self.moving = [m for m in self.moving if m.doses > 0]

    def _arrivals(self, day: int) -> None:
        held_now: set[str] = set()
        for m in sorted(self._due(day), key=lambda m: (m.shipment_id, m.lot)):
            hold = self.quarantine.get(m.destination, 0) if m.quarantined else 0
            if hold <= 0:
                self._receive(m, day)
                continue
            m.held_until = day + hold
            if m.shipment_id not in held_now:
                held_now.add(m.shipment_id)
                self.events.append(
                    ShipmentHeld(
                        event_id=f"{self.run_id}/{m.shipment_id}/held/{m.destination}",
                        occurred_at=self._at(day),
                        recorded_by=SIMULATION_USER,
                        shipment_id=m.shipment_id,
                        hub=m.destination,
                        reason="quarantine",
                        until=self._date(day + hold),
                    )
                )

    def _due(self, day: int) -> Iterable[_Moving]:
        return [m for m in self.moving if m.arrive == day and m.held_until is None]

    def _held(self) -> list[_Moving]:
        return sorted(
            (m for m in self.moving if m.held_until is not None and m.doses > 0),
            key=lambda m: (m.shipment_id, m.lot),
        )

    def _releases(self, day: int) -> None:
        for m in self._held():
            if m.held_until == day:
                self._receive(m, day)

    def _expiry(self, day: int) -> None:
        today = self._date(day)
        for m in self._held():
            if self.lots[m.lot].expired_on(today):
                self._receive(m, day)
        for cell in sorted(self.stock):
            if self.stock[cell].doses > 0 and self.lots[cell[1]].expired_on(today):
                self._write_off(cell, day, AdjustmentReason.EXPIRED)

    def _heat(self, day: int) -> None:
        per_stage = self.scenario.days_per_vvm_stage
        hot = {node for node, days in self.outage.items() if day in days}
        for m in self._held():
            if m.destination in hot:
                m.exposure += 1
                m.stage += 1 if m.exposure % per_stage == 0 else 0
                if m.stage >= VVM_DISCARD_STAGE:
                    self._receive(m, day)
        for cell in sorted(self.stock):
            held = self.stock[cell]
            if held.doses <= 0:
                continue
            if cell[0] in hot:
                held.exposure += 1
                held.stage += 1 if held.exposure % per_stage == 0 else 0
            if held.stage >= VVM_DISCARD_STAGE:
                self._write_off(cell, day, AdjustmentReason.VVM_DISCARD)

    def _administration(self, day: int) -> None:
        today = self._date(day)
        asked: dict[str, int] = {}
        for d in self.scenario.demand:
            if (d.start is None or d.start <= today) and (d.end is None or today <= d.end):
                asked[d.node] = asked.get(d.node, 0) + d.doses_per_day
        for node in sorted(asked):
            left = asked[node]
            self.demand[self.row[node], day] += left
            for (_, key), held in self._ordered(node):
                if left == 0:
                    break
                given = min(left, held.doses)
                self.events.append(
                    Administration(
                        event_id=self._node_event_id(node, "administration", key, day),
                        occurred_at=self._at(day),
                        recorded_by=SIMULATION_USER,
                        node=node,
                        lot=self._lot_at(key, held.stage),
                        quantity=given,
                    )
                )
                held.doses -= given
                left -= given
                self.administered[self.row[node], day] += given
            self.unmet[self.row[node], day] += left

    def _open(self, lane: SimLane, today: date) -> bool:
        return not any(
            c.origin == lane.origin
            and c.destination == lane.destination
            and c.start <= today <= c.end
            for c in self.scenario.closures
        )

    def _dispatch(self, day: int) -> None:
        today = self._date(day)
        policy = self.scenario.policy
        demanding = {d.node for d in self.scenario.demand}
        for node in self.codes:
            if node in demanding:
                continue
            until = policy.stockpile_until.get(node)
            if until is not None and today <= until:
                continue
            lanes = [lane for lane in self.lanes if lane.origin == node and self._open(lane, today)]
            cells = self._ordered(node)
            total = sum(s.doses for _, s in cells)
            if not lanes or total == 0:
                continue
            share, extra = divmod(total, len(lanes))
            for i, lane in enumerate(lanes):
                amount = share + (1 if i < extra else 0)
                if lane.capacity_per_day is not None:
                    amount = min(amount, lane.capacity_per_day)
                if policy.batch_size is not None:
                    amount -= amount % policy.batch_size
                if amount > 0:
                    self._send(lane, amount, cells, day)

    def _send(self, lane: SimLane, amount: int, cells: list[tuple[Cell, _Stock]], day: int) -> None:
        shipment = f"{self.run_id}-{lane.code}-d{day}"
        arrive = day + max(1, int(self.lead[lane.code][day]))
        from_hub = self.kinds[lane.origin] is NodeKind.HUB
        for (_, key), held in cells:
            if amount == 0:
                break
            taken = min(amount, held.doses)
            if taken == 0:
                continue
            lot = self._lot_at(key, held.stage)
            event_id = f"{self.run_id}/{shipment}/dispatched/{key[0]}/{key[1]}"
            expected = self._date(arrive)
            if from_hub:
                event: LedgerEvent = DispatchedOnward(
                    event_id=event_id,
                    occurred_at=self._at(day),
                    recorded_by=SIMULATION_USER,
                    shipment_id=shipment,
                    hub=lane.origin,
                    destination=lane.destination,
                    lot=lot,
                    quantity=taken,
                    expected_arrival=expected,
                )
            else:
                event = ShipmentDispatched(
                    event_id=event_id,
                    occurred_at=self._at(day),
                    recorded_by=SIMULATION_USER,
                    shipment_id=shipment,
                    origin=lane.origin,
                    destination=lane.destination,
                    lot=lot,
                    quantity=taken,
                    expected_arrival=expected,
                )
            self.events.append(event)
            self.moving.append(
                _Moving(shipment, lane.destination, key, taken, held.stage, held.exposure, arrive)
            )
            held.doses -= taken
            amount -= taken

    # -- the answer --------------------------------------------------------------------

    def result(self) -> SimulationResult:
        stock_end = tuple(
            LotStock(
                node=node,
                product=key[0],
                lot=key[1],
                expiry=self.lots[key].expiry,
                vvm_stage=min(held.stage, _LAST_STAGE),
                doses=held.doses,
            )
            for (node, key), held in sorted(self.stock.items())
            if held.doses > 0
        )
        return SimulationResult(
            run_id=self.run_id,
            days=self.days,
            nodes=self.codes,
            events=tuple(self.events),
            administered=self.administered,
            expired=self.expired,
            vvm_discarded=self.vvm,
            demand=self.demand,
            unmet=self.unmet,
            stock_end=stock_end,
            in_transit_end=sum(m.doses for m in self.moving),
        )
