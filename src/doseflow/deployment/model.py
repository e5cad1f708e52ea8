"""The inputs of a deployment plan, as plain values.

A plan splits national stock (lots of one or more products, each with its expiry) across
regions (regional stores or service points) and priority groups. Nothing here depends on
where the values came from: an allocation round, the stock ledger, a network file or a
deployment file all produce these same objects (see :mod:`doseflow.deployment.sources`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType

from doseflow.domain.errors import DoseflowError
from doseflow.domain.product import Product
from doseflow.domain.temperature import TemperatureBand


class Strategy(StrEnum):
    """How scarce doses are shared among regions and groups.

    ``priority``: groups in priority order; a group is served in every region (to the same
    coverage everywhere) before the next group gets anything, and what a group cannot use
    spills over to the next. ``proportional``: every group and region at once, in proportion
    to target population. ``weighted``: as proportional, with each group's population
    multiplied by the weight the user gives it.
    """

    PRIORITY = "priority"
    PROPORTIONAL = "proportional"
    WEIGHTED = "weighted"


@dataclass(frozen=True)
class StockLot:
    """Doses of one lot of one product available at the national store for this plan."""

    product: str
    lot: str
    doses: int
    expiry: date | None = None  # None: no known expiry (sorts after every dated lot)

    def __post_init__(self) -> None:
        if self.doses < 0:
            raise DoseflowError(
                "DEPLOY_BAD_QUANTITY",
                f"lot {self.product}/{self.lot}: doses must be >= 0",
                field="doses",
                expected="a whole number of doses >= 0",
                value=self.doses,
            )


@dataclass(frozen=True)
class Region:
    """Where doses go: a regional store or a service point, with what it can hold and give.

    ``capacity_litres`` is usable cold-chain storage per band (a band absent means none);
    ``doses_per_day`` is how many doses its teams can administer in a day (all products);
    ``lead_days`` is the days from dispatch at the national store to arrival there.
    """

    code: str
    name: str
    population: int
    doses_per_day: int
    capacity_litres: Mapping[TemperatureBand, float] = field(
        default_factory=lambda: MappingProxyType({})
    )
    lead_days: int = 0
    node: str | None = None  # network node receiving the shipments (default: the code)

    @property
    def destination(self) -> str:
        return self.node or self.code


class GroupKind(StrEnum):
    """Standard priority groups (the kind sets defaults; every figure can be overridden)."""

    HEALTH_WORKERS = "health-workers"
    OLDER_PEOPLE = "older-people"
    COMORBIDITIES = "comorbidities"
    BORDER_AREAS = "border-areas"
    MILITARY = "military"
    CUSTOM = "custom"


@dataclass(frozen=True)
class PriorityGroup:
    """A priority group with its target population in each region (persons, aligned with
    the regions of the plan) and the share of it to vaccinate (``coverage``, 0..1).

    ``priority`` ranks groups for the priority strategy (1 first; equal ranks are served
    together); ``weight`` multiplies the group's population under the weighted strategy.
    """

    name: str
    kind: GroupKind
    population_by_region: tuple[int, ...]
    coverage: float
    priority: int = 1
    weight: float = 1.0
    note: str = ""  # how the target population was worked out (for explanations)

    @property
    def target_population(self) -> int:
        return sum(self.population_by_region)


@dataclass(frozen=True)
class ProductPolicy:
    """How one product is given: its course and the storage it needs in the regions.

    ``interval_days`` separates successive doses of the course; ``reserve_later_doses``
    holds back the second (and later) doses of every person started, so each course planned
    is complete. ``cm3_per_dose`` is the shelf volume per dose, ``store_band`` the band the
    regions keep it in, and ``days_in_store_band`` how long it may stay there (``None``:
    until its expiry; e.g. 31 days for Pfizer-BioNTech thawed to 2-8 °C).
    """

    product: Product
    interval_days: int
    reserve_later_doses: bool
    cm3_per_dose: float
    store_band: TemperatureBand
    days_in_store_band: int | None = None

    @property
    def doses_per_course(self) -> int:
        return self.product.doses_per_course

    @property
    def doses_per_person(self) -> int:
        """Doses planned for each person started in this plan."""
        return self.doses_per_course if self.reserve_later_doses else 1


@dataclass(frozen=True)
class DeploymentInput:
    """Everything one plan needs. Regions and group populations are aligned by index."""

    country: str
    start: date
    horizon_days: int
    strategy: Strategy
    regions: tuple[Region, ...]
    groups: tuple[PriorityGroup, ...]
    products: tuple[ProductPolicy, ...]
    stock: tuple[StockLot, ...]
    origin: str = "national-store"  # node shipments leave from
    source: str | None = None  # the file it was read from, for messages

    def policy(self, code: str) -> ProductPolicy:
        for policy in self.products:
            if policy.product.code == code:
                return policy
        raise DoseflowError(
            "DEPLOY_UNKNOWN_PRODUCT",
            f"no product '{code}' in this deployment",
            field="product",
            expected="one of " + ", ".join(p.product.code for p in self.products),
            value=code,
        )
