"""What a simulation run is asked: the network it runs on, the disruptions, the demand and
the policy choices. Frozen values only; :meth:`Scenario.check` refuses, all problems at
once, anything that names a node the network does not have.

Nodes are the network's own :class:`~doseflow.domain.network.Node` values (kind, region,
capacity); lanes are simulation lanes (a lead-time distribution and a daily capacity),
since the network file's lanes carry one fixed lead time only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType

from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.domain.network import Node
from doseflow.simulation.streams import LeadTime


@dataclass(frozen=True)
class SimLane:
    """Doses can move from ``origin`` to ``destination``: each dispatch's lead time is drawn
    from ``lead_time`` (the lane's own random stream); at most ``capacity_per_day`` doses
    leave per day (None: unlimited)."""

    origin: str
    destination: str
    lead_time: LeadTime
    capacity_per_day: int | None = None

    @property
    def code(self) -> str:
        """The lane's identity, which keys its random stream."""
        return f"{self.origin}>{self.destination}"


@dataclass(frozen=True)
class Closure:
    """The lane ``origin`` -> ``destination`` (a border) takes no dispatch from ``start``
    up to and including ``end``; shipments already on the way still arrive."""

    origin: str
    destination: str
    start: date
    end: date


@dataclass(frozen=True)
class Quarantine:
    """Stock arriving at ``node`` is held there ``days`` days: it cannot be used or moved on
    before the day ``days`` after its arrival, when it is received."""

    node: str
    days: int


@dataclass(frozen=True)
class PowerOutage:
    """A store without power from ``start`` for ``days`` days: its stock is exposed to
    heat (see :mod:`doseflow.simulation.engine` for the VVM rule)."""

    node: str
    start: date
    days: int


@dataclass(frozen=True)
class RandomOutages:
    """Power cuts at ``node`` at random: an outage starts on a day with probability
    ``per_year / 365`` and lasts ``days`` days, from the node's own stream."""

    node: str
    per_year: float
    days: int


@dataclass(frozen=True)
class Demand:
    """``doses_per_day`` doses asked at ``node`` on each day from ``start`` (None: the first
    day) to ``end`` inclusive (None: the last); administered up to the usable stock."""

    node: str
    doses_per_day: int
    start: date | None = None
    end: date | None = None


class LotOrder(StrEnum):
    """Which lot a node uses or sends first."""

    FEFO = "fefo"  # first expiry first out (undated lots last), then lot number
    FIFO = "fifo"  # first arrived at the node first, then lot number


@dataclass(frozen=True)
class Policy:
    """The choices a run compares.

    ``stockpile_until`` keeps every dose at the named nodes (hubs) until that date
    inclusive: stockpiling at a hub; without it a node ships on as soon as it can (ship
    direct). ``batch_size``: a node dispatches along a lane only whole batches of that many
    doses (None: whatever it has)."""

    lot_order: LotOrder = LotOrder.FEFO
    batch_size: int | None = None
    stockpile_until: Mapping[str, date] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Scenario:
    """Everything a run needs besides its start, seed and length.

    ``days_per_vvm_stage``: outage days that raise a 2-8 °C lot's VVM stage by one."""

    nodes: tuple[Node, ...]
    lanes: tuple[SimLane, ...] = ()
    closures: tuple[Closure, ...] = ()
    quarantines: tuple[Quarantine, ...] = ()
    outages: tuple[PowerOutage, ...] = ()
    random_outages: tuple[RandomOutages, ...] = ()
    demand: tuple[Demand, ...] = ()
    policy: Policy = Policy()
    days_per_vvm_stage: int = 2

    def check(self, extra_nodes: tuple[str, ...] = ()) -> None:
        """Raise ``SIMULATION_BAD_SCENARIO`` naming every problem: unknown nodes (also among
        ``extra_nodes``, e.g. those of the start state), duplicate lanes, closures ending
        before they start, negative quantities or day counts."""
        known = {n.code for n in self.nodes}
        problems: list[ErrorDetail] = []

        def bad(message: str, where: str, expected: str, value: object) -> None:
            problems.append(
                ErrorDetail(
                    "SIMULATION_BAD_SCENARIO",
                    message,
                    ErrorLocation(field=where),
                    expected=expected,
                    value=value,
                )
            )

        named: list[tuple[str, str]] = [(c, "start") for c in extra_nodes]
        for lane in self.lanes:
            named += [(lane.origin, "lanes.origin"), (lane.destination, "lanes.destination")]
            if lane.capacity_per_day is not None and lane.capacity_per_day < 0:
                bad(
                    f"lane {lane.code}: negative capacity",
                    "lanes.capacity_per_day",
                    "a capacity >= 0 or none",
                    lane.capacity_per_day,
                )
        for closure in self.closures:
            named += [
                (closure.origin, "closures.origin"),
                (closure.destination, "closures.destination"),
            ]
            if closure.end < closure.start:
                bad(
                    f"closure {closure.origin}>{closure.destination} ends before it starts",
                    "closures.end",
                    f"a date on or after {closure.start}",
                    closure.end,
                )
        timed: list[tuple[Quarantine | PowerOutage | RandomOutages, str]] = [
            *((q, "quarantines") for q in self.quarantines),
            *((o, "outages") for o in self.outages),
            *((r, "random_outages") for r in self.random_outages),
        ]
        for item, where in timed:
            named.append((item.node, f"{where}.node"))
            if item.days < 0:
                bad(
                    f"{where} at {item.node}: negative days",
                    f"{where}.days",
                    "days >= 0",
                    item.days,
                )
        for d in self.demand:
            named.append((d.node, "demand.node"))
            if d.doses_per_day < 0:
                bad(
                    f"demand at {d.node}: negative doses",
                    "demand.doses_per_day",
                    "doses >= 0",
                    d.doses_per_day,
                )
        named += [(code, "policy.stockpile_until") for code in self.policy.stockpile_until]
        for code, where in named:
            if code not in known:
                bad(
                    f"{where} names node '{code}', which is not in the scenario's network",
                    where,
                    "a node code of the network",
                    code,
                )
        codes = [lane.code for lane in self.lanes]
        for code in sorted({c for c in codes if codes.count(c) > 1}):
            bad(f"lane {code} is given twice", "lanes", "one lane per origin and destination", code)
        if self.policy.batch_size is not None and self.policy.batch_size < 1:
            bad(
                "batch size below 1",
                "policy.batch_size",
                "a batch size >= 1 or none",
                self.policy.batch_size,
            )
        if self.days_per_vvm_stage < 1:
            bad(
                "days per VVM stage below 1",
                "days_per_vvm_stage",
                "a whole number >= 1",
                self.days_per_vvm_stage,
            )
        if problems:
            raise DoseflowError.from_details(problems)
