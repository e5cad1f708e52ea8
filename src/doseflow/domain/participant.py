"""Participants of a pooled procurement mechanism: the countries and economies that receive.

A participant carries what an allocation round needs to know about it: who it is and how
many people live there, how it pays (donor-funded AMC or self-financing), the coverage it
asked for (its ceiling), whether it is ready to receive each product (regulatory
authorisation, indemnification, a national deployment plan, an import permit), which
cold-chain bands it can hold, doses it already has from other sources, products it opted out
of or wants only later, and the inputs of the threat-and-vulnerability score used when supply
is severely constrained. Population is always given here; the allocation engine fills it
from the bundled WPP data when a scenario omits it (the domain layer does no I/O).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType

from doseflow.domain.errors import DoseflowError
from doseflow.domain.product import Financing
from doseflow.domain.temperature import TemperatureBand

#: Cold chain every participant is assumed to have unless its scenario says otherwise.
DEFAULT_COLD_CHAIN: frozenset[TemperatureBand] = frozenset(
    {TemperatureBand.CHILLED, TemperatureBand.AMBIENT}
)


class ReadinessGate(StrEnum):
    """A condition a participant must meet before a product can be shipped to it."""

    REGULATORY_AUTHORISATION = "regulatory-authorisation"
    INDEMNIFICATION = "indemnification"
    DEPLOYMENT_PLAN = "deployment-plan"
    IMPORT_PERMIT = "import-permit"


@dataclass(frozen=True)
class ThreatInputs:
    """Inputs of the threat-and-vulnerability score (WHO Fair Allocation Framework, phase 2).

    ``share_older`` overrides the share of people at or above the policy's age (60 or 65)
    computed from the bundled WPP 2019 age bands; ``health_system_capacity`` is a 0..1 index
    (e.g. the UHC service coverage index / 100; higher means more able to cope);
    ``deaths_per_million`` is recent COVID-19 mortality (e.g. the last 28 days).
    """

    share_older: float | None = None
    health_system_capacity: float | None = None
    deaths_per_million: float = 0.0


@dataclass(frozen=True)
class Demand:
    """What a participant asks for.

    ``requests`` maps a product code to the doses requested per round, and
    ``requested_coverage`` to a share of the population to cover with it per round
    (converted to doses with the product's course, or the policy's need per person for a
    supply); a product absent from both is requested without limit. A request binds in
    every round kind and phase. ``absorption_per_month`` is how many doses per month the
    programme can administer (``None``: no stated limit; used by demand-driven rounds).
    """

    absorption_per_month: int | None = None
    requests: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    requested_coverage: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        for code, share in self.requested_coverage.items():
            if not 0.0 <= share <= 1.0:
                raise DoseflowError(
                    "ALLOC_CEILING_ABOVE_100" if share > 1.0 else "ALLOC_NEGATIVE_QUANTITY",
                    f"the coverage requested of {code} must be between 0% and 100%",
                    field=f"requested_coverage.{code}",
                    expected="a share between 0 and 1 (e.g. 0.1 for 10%)",
                    value=share,
                )


@dataclass(frozen=True)
class Participant:
    """One receiving country or economy (``iso3``), with its readiness and preferences.

    ``ceiling`` is the share of the population (0..1) the participant asked to cover through
    the pool. ``authorised`` and ``indemnified`` name the products the participant has
    authorised / signed an indemnification agreement for (``None`` means every product).
    ``delays`` maps a product to the first date the participant wants it delivered.
    ``awaiting_second_dose`` counts people per product who received a first dose and wait
    for the next one (used by second-dose top-up rounds). ``time_zone`` names where the
    participant's reporting days begin (compliance due dates). ``share_of_level`` (0..1, ``None``
    for 1) holds the participant's coverage at that fraction of the common coverage level
    of a phase-1 pool, so its share scales with supply (e.g. 0.9: 90% of the level).
    """

    iso3: str
    population: int
    financing: Financing
    ceiling: float = 0.20
    name: str = ""
    authorised: frozenset[str] | None = None
    indemnified: frozenset[str] | None = None
    deployment_plan: bool = True
    import_permit: bool = True
    cold_chain: frozenset[TemperatureBand] = DEFAULT_COLD_CHAIN
    other_sources_doses: int = 0
    opt_outs: frozenset[str] = frozenset()
    delays: Mapping[str, date] = field(default_factory=lambda: MappingProxyType({}))
    lead_time_days: int | None = None
    threat: ThreatInputs = field(default_factory=ThreatInputs)
    demand: Demand = field(default_factory=Demand)
    awaiting_second_dose: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    share_of_level: float | None = None
    #: IANA zone whose civil days judge the participant's report due dates (None: the
    #: country's default, ``doseflow.data.time_zones``)
    time_zone: str | None = None

    def __post_init__(self) -> None:
        if self.share_of_level is not None and not 0.0 < self.share_of_level <= 1.0:
            raise DoseflowError(
                "ALLOC_INVALID_FIELD",
                f"participant {self.iso3}: the share of the common level must be above 0% "
                "and at most 100%",
                field="share_of_level",
                expected="a share above 0 and at most 1 (e.g. 0.9 for 90% of the level)",
                value=self.share_of_level,
            )
        if self.population <= 0:
            raise DoseflowError(
                "ALLOC_NEGATIVE_QUANTITY",
                f"participant {self.iso3}: population must be positive",
                field="population",
                expected="a whole number of people > 0",
                value=self.population,
            )
        if not 0.0 <= self.ceiling <= 1.0:
            raise DoseflowError(
                "ALLOC_CEILING_ABOVE_100" if self.ceiling > 1.0 else "ALLOC_NEGATIVE_QUANTITY",
                f"participant {self.iso3}: the coverage ceiling must be between 0% and 100%",
                field="ceiling",
                expected="a share between 0 and 1 (e.g. 0.2 for 20%)",
                value=self.ceiling,
            )
        if self.other_sources_doses < 0:
            raise DoseflowError(
                "ALLOC_NEGATIVE_QUANTITY",
                f"participant {self.iso3}: doses from other sources cannot be negative",
                field="other_sources_doses",
                expected="a whole number of doses >= 0",
                value=self.other_sources_doses,
            )

    def is_authorised(self, product: str) -> bool:
        return self.authorised is None or product in self.authorised

    def is_indemnified(self, product: str) -> bool:
        return self.indemnified is None or product in self.indemnified

    def unmet_gates(self, product: str) -> tuple[ReadinessGate, ...]:
        """The readiness gates this participant has not met for ``product``."""
        unmet: list[ReadinessGate] = []
        if not self.is_authorised(product):
            unmet.append(ReadinessGate.REGULATORY_AUTHORISATION)
        if not self.is_indemnified(product):
            unmet.append(ReadinessGate.INDEMNIFICATION)
        if not self.deployment_plan:
            unmet.append(ReadinessGate.DEPLOYMENT_PLAN)
        if not self.import_permit:
            unmet.append(ReadinessGate.IMPORT_PERMIT)
        return tuple(unmet)
