"""Who reports for where: participants, their regions, populations and neighbours.

Each participant (usually a country, by ISO3 code) is the top org unit of its own tree; its
code is the national org unit. Regions (and districts below them) are org units whose values
belong to that participant; a value for an org unit outside the participant's tree is a
conflict (``REPORT_ORG_UNIT_NOT_IN_HIERARCHY``). Org units name the ledger nodes whose stock
they answer for (for the ledger cross-checks) and may carry a population (for coverage);
a national unit of a WPP country takes its population from the bundled WPP 2019 data.
Neighbours are the participants whose surveillance a participant is compared with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from doseflow.data.population import countries
from doseflow.data.time_zones import zone_for
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.domain.network import Network, NodeKind
from doseflow.domain.time_zone import zone_name


@dataclass(frozen=True)
class OrgUnit:
    code: str
    name: str
    participant: str
    parent: str | None = None  # None for the national unit
    population: int | None = None
    ledger_nodes: tuple[str, ...] = ()
    #: IANA zone whose days cut this unit's periods against the ledger (None: each ledger
    #: node's own zone, unless a unit above names one)
    time_zone: str | None = None

    @property
    def is_national(self) -> bool:
        return self.parent is None


@dataclass(frozen=True)
class Hierarchy:
    """Org units by code. With ``any_country`` every WPP ISO3 code is also a participant
    with a national unit only (the default when no hierarchy file is given)."""

    units: Mapping[str, OrgUnit]
    neighbours: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    any_country: bool = False

    def unit(self, code: str) -> OrgUnit | None:
        found = self.units.get(code)
        if found is None and self.any_country:
            wpp = countries().get(code)
            if wpp is not None:
                return OrgUnit(wpp.iso3, wpp.name, wpp.iso3, population=wpp.population)
        return found

    def participant_of(self, org_unit: str) -> str | None:
        found = self.unit(org_unit)
        return None if found is None else found.participant

    def participants(self) -> tuple[str, ...]:
        return tuple(sorted({u.participant for u in self.units.values()}))

    def units_of(self, participant: str) -> tuple[OrgUnit, ...]:
        """The participant's units, national first, then by code."""
        own = [u for u in self.units.values() if u.participant == participant]
        if not own:
            national = self.unit(participant)
            return () if national is None else (national,)
        return tuple(sorted(own, key=lambda u: (not u.is_national, u.code)))

    def children(self, code: str) -> tuple[OrgUnit, ...]:
        return tuple(u for u in self.units.values() if u.parent == code)

    def descendants(self, code: str) -> tuple[OrgUnit, ...]:
        """Every unit below ``code`` (not ``code`` itself)."""
        found: list[OrgUnit] = []
        stack = list(self.children(code))
        while stack:
            unit = stack.pop()
            found.append(unit)
            stack.extend(self.children(unit.code))
        return tuple(found)

    def ledger_nodes(self, code: str) -> tuple[str, ...]:
        """Ledger nodes whose stock this org unit answers for: its own and every unit's below."""
        unit = self.unit(code)
        if unit is None:
            return ()
        nodes = list(unit.ledger_nodes)
        for below in self.descendants(code):
            nodes.extend(n for n in below.ledger_nodes if n not in nodes)
        return tuple(nodes)

    def participant_zones(self) -> dict[str, str]:
        """The zone each participant names (its national unit or above): what compliance
        judges its due dates in; a participant not here takes its country's default."""
        return {p: z for p in self.participants() if (z := self.time_zone(p)) is not None}

    def time_zone(self, code: str) -> str | None:
        """The zone named by this org unit or the nearest unit above it, or None (then each
        ledger node's own zone cuts the days)."""
        unit = self.unit(code)
        seen: set[str] = set()
        while unit is not None and unit.code not in seen:
            if unit.time_zone is not None:
                return unit.time_zone
            seen.add(unit.code)
            unit = None if unit.parent is None else self.units.get(unit.parent)
        return None

    def population(self, code: str) -> int | None:
        unit = self.unit(code)
        if unit is None:
            return None
        if unit.population is not None:
            return unit.population
        if unit.is_national:
            wpp = countries().get(unit.participant)
            return None if wpp is None else wpp.population
        return None

    def neighbours_of(self, participant: str) -> tuple[str, ...]:
        return self.neighbours.get(participant, ())


def build_hierarchy(
    units: Iterable[OrgUnit],
    neighbours: Mapping[str, Iterable[str]] | None = None,
    *,
    any_country: bool = False,
    source: str | None = None,
) -> Hierarchy:
    """A :class:`Hierarchy` after checking codes are unique and parents exist in the same
    participant (``REPORT_HIERARCHY_DUPLICATE_UNIT``, ``REPORT_HIERARCHY_INVALID``)."""
    by_code: dict[str, OrgUnit] = {}
    problems: list[ErrorDetail] = []
    for unit in units:
        if unit.code in by_code:
            problems.append(
                ErrorDetail(
                    "REPORT_HIERARCHY_DUPLICATE_UNIT",
                    f"org unit code '{unit.code}' is used twice",
                    ErrorLocation(source=source, field="code"),
                    expected="each org unit code once across all participants",
                    value=unit.code,
                )
            )
        by_code[unit.code] = unit
    for unit in by_code.values():
        parent = None if unit.parent is None else by_code.get(unit.parent)
        if unit.parent is not None and (parent is None or parent.participant != unit.participant):
            problems.append(
                ErrorDetail(
                    "REPORT_HIERARCHY_INVALID",
                    f"org unit '{unit.code}' names parent '{unit.parent}', which is not an "
                    f"org unit of participant '{unit.participant}'",
                    ErrorLocation(source=source, field="parent"),
                    expected=f"an org unit of {unit.participant}",
                    value=unit.parent,
                )
            )
    if problems:
        raise DoseflowError.from_details(problems)
    return Hierarchy(
        units=MappingProxyType(by_code),
        neighbours=MappingProxyType({k: tuple(v) for k, v in (neighbours or {}).items()}),
        any_country=any_country,
    )


def national_hierarchy(neighbours: Mapping[str, Iterable[str]] | None = None) -> Hierarchy:
    """Every WPP country as a participant with a national org unit only."""
    return build_hierarchy((), neighbours, any_country=True)


def hierarchy_from_network(network: Network, *, any_country: bool = True) -> Hierarchy:
    """Org units from the supply network: each country with a national store is a
    participant; its regional and district stores become regions answering for their node.

    Zones are set as a hierarchy file would set them: the national unit's days are its
    national store's (the node's ``time_zone``, else the country's default; the country's
    default if its national stores disagree), and a region's are its own node's, so a
    country-level cross-check cuts every node's period at one midnight, the capital's."""
    units: list[OrgUnit] = []
    stores = {NodeKind.REGIONAL_STORE, NodeKind.DISTRICT_STORE}
    national_nodes: dict[str, list[str]] = {}
    national_zones: dict[str, set[str]] = {}
    for node in network.nodes.values():
        if node.kind is NodeKind.NATIONAL_STORE and node.country:
            national_nodes.setdefault(node.country, []).append(node.code)
            zone = zone_name(zone_for(node.time_zone, node.country))
            national_zones.setdefault(node.country, set()).add(zone)
    for iso3, nodes in national_nodes.items():
        wpp = countries().get(iso3)
        found = national_zones[iso3]
        zone = next(iter(found)) if len(found) == 1 else zone_name(zone_for(None, iso3))
        units.append(
            OrgUnit(
                iso3,
                wpp.name if wpp else iso3,
                iso3,
                ledger_nodes=tuple(nodes),
                time_zone=zone,
            )
        )
    for node in network.nodes.values():
        if node.kind in stores and node.country in national_nodes:
            parent_node = network.nodes.get(node.parent) if node.parent else None
            parent = (
                parent_node.code
                if parent_node is not None and parent_node.kind in stores
                else node.country
            )
            units.append(
                OrgUnit(
                    node.code,
                    node.region or node.name,
                    node.country,
                    parent=parent,
                    ledger_nodes=(node.code,),
                    time_zone=zone_name(zone_for(node.time_zone, node.country)),
                )
            )
    return build_hierarchy(units, any_country=any_country, source="network")
