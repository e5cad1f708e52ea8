"""A what-if scenario written in a YAML file, read into the engine's :class:`Scenario`.

Scenarios were built in Python only; a planner writes one as a file instead: the network
(``nodes`` and ``lanes`` with lead times and daily capacities), the disruptions
(``closures`` of lanes between dates, ``quarantines`` at nodes, fixed ``outages`` and
``random_outages``), ``demand`` per node and day, and the ``policy`` (lot order, batch
size, stockpiling at hubs until a date). ``variants`` name alternative policies or
closures of the same network, so two choices are compared on one file
(``doseflow simulate run --variant NAME``).

Read through the project's one reader of users' files (:class:`UserFiles`): every problem
is reported at once, at its file, line and field, with a ``SIMULATION_SCENARIO_*`` code
(``docs/errors.md``); a node named but not in ``nodes`` is one of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from doseflow.data.fields import BoundedDate, Code, Label, Quantity
from doseflow.data.user_files import UserFiles, line_for, raise_all
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.domain.network import Node, NodeKind
from doseflow.simulation.scenario import (
    Closure,
    Demand,
    LotOrder,
    Policy,
    PowerOutage,
    Quarantine,
    RandomOutages,
    Scenario,
    SimLane,
)
from doseflow.simulation.streams import Distribution, LeadTime

__all__ = ["FILES", "ScenarioFile", "read_scenario_file", "scenario_from_yaml"]

FILES = UserFiles("SIMULATION_SCENARIO", file_kind="YAML file")
UNKNOWN_NODE = FILES.code("UNKNOWN_NODE")
UNKNOWN_VARIANT = FILES.code("UNKNOWN_VARIANT")


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class NodeDoc(_Doc):
    """A node of the scenario's network."""

    code: Code
    name: Label = ""
    kind: NodeKind
    country: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")

    def value(self) -> Node:
        return Node(self.code, self.name or self.code, self.kind, self.country)


class LeadTimeDoc(_Doc):
    """Days on the road: ``fixed`` (low), ``uniform`` (low..high) or ``triangular``."""

    distribution: Distribution = Distribution.FIXED
    low: float = Field(ge=0)
    high: float | None = None
    mode: float | None = None

    @model_validator(mode="after")
    def _a_distribution(self) -> LeadTimeDoc:
        try:
            self.value()
        except DoseflowError as err:
            detail = err.details[0]
            raise ValueError(f"{detail.message}: {detail.expected}") from None
        return self

    def value(self) -> LeadTime:
        return LeadTime(self.distribution, self.low, self.high, self.mode)


class LaneDoc(_Doc):
    """A lane ``from`` -> ``to`` with its lead time and daily capacity (none: unlimited)."""

    origin: Code = Field(alias="from")
    destination: Code = Field(alias="to")
    lead_time: LeadTimeDoc
    capacity_per_day: Quantity | None = None

    def value(self) -> SimLane:
        return SimLane(self.origin, self.destination, self.lead_time.value(), self.capacity_per_day)


class ClosureDoc(_Doc):
    """The lane ``from`` -> ``to`` takes no dispatch from ``start`` to ``end`` inclusive."""

    origin: Code = Field(alias="from")
    destination: Code = Field(alias="to")
    start: BoundedDate
    end: BoundedDate

    @model_validator(mode="after")
    def _ordered(self) -> ClosureDoc:
        if self.end < self.start:
            raise ValueError(f"a closure ends on or after its start ({self.start})")
        return self

    def value(self) -> Closure:
        return Closure(self.origin, self.destination, self.start, self.end)


class QuarantineDoc(_Doc):
    node: Code
    days: Quantity

    def value(self) -> Quarantine:
        return Quarantine(self.node, self.days)


class OutageDoc(_Doc):
    node: Code
    start: BoundedDate
    days: Quantity

    def value(self) -> PowerOutage:
        return PowerOutage(self.node, self.start, self.days)


class RandomOutagesDoc(_Doc):
    node: Code
    per_year: float = Field(ge=0, le=365)
    days: Quantity

    def value(self) -> RandomOutages:
        return RandomOutages(self.node, self.per_year, self.days)


class DemandDoc(_Doc):
    node: Code
    doses_per_day: Quantity
    start: BoundedDate | None = None
    end: BoundedDate | None = None

    def value(self) -> Demand:
        return Demand(self.node, self.doses_per_day, self.start, self.end)


class PolicyDoc(_Doc):
    """The choices a run compares (:class:`Policy`)."""

    lot_order: LotOrder = LotOrder.FEFO
    batch_size: Quantity | None = Field(default=None, ge=1)
    stockpile_until: dict[Code, BoundedDate] = {}

    def value(self) -> Policy:
        return Policy(self.lot_order, self.batch_size, MappingProxyType(dict(self.stockpile_until)))


class VariantDoc(_Doc):
    """An alternative to compare: it replaces the scenario's policy and/or closures."""

    policy: PolicyDoc | None = None
    closures: list[ClosureDoc] | None = None


class ScenarioDoc(_Doc):
    """A YAML scenario file."""

    nodes: list[NodeDoc] = Field(min_length=1)
    lanes: list[LaneDoc] = []
    closures: list[ClosureDoc] = []
    quarantines: list[QuarantineDoc] = []
    outages: list[OutageDoc] = []
    random_outages: list[RandomOutagesDoc] = []
    demand: list[DemandDoc] = []
    policy: PolicyDoc = PolicyDoc()
    days_per_vvm_stage: int = Field(2, ge=1, strict=True)
    variants: dict[Code, VariantDoc] = {}


@dataclass(frozen=True)
class ScenarioFile:
    """The scenario a file describes (its default policy), and each named variant."""

    scenario: Scenario
    variants: Mapping[str, Scenario]

    def variant(self, name: str | None, source: str = "") -> Scenario:
        """The scenario of variant ``name`` (None: the file's own)."""
        if name is None:
            return self.scenario
        if name not in self.variants:
            raise DoseflowError(
                UNKNOWN_VARIANT,
                f"the scenario has no variant '{name}'",
                source=source or None,
                field="variants",
                expected=f"one of: {', '.join(sorted(self.variants)) or '(none)'}",
                value=name,
            )
        return self.variants[name]


def read_scenario_file(path: str | Path) -> ScenarioFile:
    """The scenario in a YAML file."""
    text = FILES.read_text(str(path))
    return scenario_from_yaml(text, str(path))


def scenario_from_yaml(text: str, source: str) -> ScenarioFile:
    """The scenario in a YAML document's text (``source`` names it in errors)."""
    doc, lines = FILES.model_from_yaml(
        text,
        source,
        ScenarioDoc,
        what="scenario file",
        shape="a scenario file is a mapping of nodes, lanes, disruptions, demand and policy",
        expected="nodes: [...], lanes: [...], demand: [...], policy: {...}",
    )
    raise_all(_unknown_nodes(doc, source, lines))
    base = Scenario(
        nodes=tuple(n.value() for n in doc.nodes),
        lanes=tuple(lane.value() for lane in doc.lanes),
        closures=tuple(c.value() for c in doc.closures),
        quarantines=tuple(q.value() for q in doc.quarantines),
        outages=tuple(o.value() for o in doc.outages),
        random_outages=tuple(r.value() for r in doc.random_outages),
        demand=tuple(d.value() for d in doc.demand),
        policy=doc.policy.value(),
        days_per_vvm_stage=doc.days_per_vvm_stage,
    )
    try:
        base.check()
    except DoseflowError as err:  # what the models cannot see alone (a lane given twice)
        raise DoseflowError.from_details(
            [_in_file(detail, source) for detail in err.details]
        ) from None
    variants = {name: _variant(base, variant) for name, variant in sorted(doc.variants.items())}
    return ScenarioFile(base, MappingProxyType(variants))


def _variant(base: Scenario, variant: VariantDoc) -> Scenario:
    scenario = base
    if variant.policy is not None:
        scenario = replace(scenario, policy=variant.policy.value())
    if variant.closures is not None:
        scenario = replace(scenario, closures=tuple(c.value() for c in variant.closures))
    return scenario


def _in_file(detail: ErrorDetail, source: str) -> ErrorDetail:
    return replace(detail, location=replace(detail.location, source=source))


def _unknown_nodes(
    doc: ScenarioDoc, source: str, lines: Mapping[tuple[str | int, ...], int]
) -> list[ErrorDetail]:
    """A located problem for every node a line names that ``nodes`` does not have."""
    known = {n.code for n in doc.nodes}
    named: list[tuple[tuple[str | int, ...], str, str]] = []
    lined: list[tuple[str, int, LaneDoc | ClosureDoc]] = [
        *(("lanes", i, lane) for i, lane in enumerate(doc.lanes)),
        *(("closures", i, closure) for i, closure in enumerate(doc.closures)),
    ]
    for part, i, pair in lined:
        named += [((part, i, "from"), "from", pair.origin)]
        named += [((part, i, "to"), "to", pair.destination)]
    located: list[tuple[str, list[Any]]] = [
        ("quarantines", list(doc.quarantines)),
        ("outages", list(doc.outages)),
        ("random_outages", list(doc.random_outages)),
        ("demand", list(doc.demand)),
    ]
    for part, items in located:
        named += [((part, i, "node"), "node", item.node) for i, item in enumerate(items)]
    policies: list[tuple[tuple[str | int, ...], PolicyDoc]] = [(("policy",), doc.policy)]
    for name, variant in doc.variants.items():
        if variant.policy is not None:
            policies.append((("variants", name, "policy"), variant.policy))
        for i, closure in enumerate(variant.closures or ()):
            at: tuple[str | int, ...] = ("variants", name, "closures", i)
            named += [((*at, "from"), "from", closure.origin)]
            named += [((*at, "to"), "to", closure.destination)]
    for at, policy in policies:
        named += [
            ((*at, "stockpile_until", code), "stockpile_until", code)
            for code in policy.stockpile_until
        ]
    return [
        ErrorDetail(
            UNKNOWN_NODE,
            f"{'.'.join(str(p) for p in path)} names node '{code}', which is not in nodes",
            ErrorLocation(
                source=source,
                line=line_for(lines, path),
                field=".".join(str(p) for p in path),
            ),
            expected=f"a node code of the scenario's nodes ({', '.join(sorted(known))})",
            value=code,
        )
        for path, _, code in named
        if code not in known
    ]
