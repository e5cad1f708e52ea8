"""Small inputs for deployment tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from types import MappingProxyType

import numpy as np

from doseflow.deployment import (
    DeploymentInput,
    DeploymentPlan,
    GroupKind,
    PriorityGroup,
    ProductPolicy,
    Region,
    StockLot,
    Strategy,
)
from doseflow.deployment.planner import NO_EXPIRY
from doseflow.deployment.schedule import administer
from doseflow.domain.product import Product
from doseflow.domain.temperature import TemperatureBand

START = date(2021, 6, 1)
CHILLED = TemperatureBand.CHILLED


def product(
    code: str = "AZ", course: int = 2, pack: int = 100, band: TemperatureBand = CHILLED
) -> Product:
    return Product(code, f"Vaccine {code}", "Maker", course, band, 180, 10, pack)


def policy(
    prod: Product | None = None,
    *,
    interval: int = 28,
    reserve: bool = True,
    cm3: float = 2.5,
    days_in_band: int | None = None,
) -> ProductPolicy:
    prod = prod or product()
    return ProductPolicy(prod, interval, reserve, cm3, prod.storage_band, days_in_band)


def region(
    code: str,
    population: int = 100_000,
    per_day: int = 1_000,
    litres: float = 10_000.0,
    lead: int = 0,
) -> Region:
    return Region(
        code, f"Region {code}", population, per_day, MappingProxyType({CHILLED: litres}), lead
    )


def group(
    name: str, sizes: Sequence[int], coverage: float = 1.0, priority: int = 1, weight: float = 1.0
) -> PriorityGroup:
    return PriorityGroup(name, GroupKind.CUSTOM, tuple(sizes), coverage, priority, weight)


def lot(code: str, name: str, doses: int, days: int | None = 365) -> StockLot:
    return StockLot(code, name, doses, None if days is None else START + timedelta(days=days))


def make(
    regions: Sequence[Region],
    groups: Sequence[PriorityGroup],
    stock: Sequence[StockLot],
    policies: Sequence[ProductPolicy] | None = None,
    strategy: Strategy = Strategy.PRIORITY,
    horizon: int = 90,
) -> DeploymentInput:
    return DeploymentInput(
        country="PRK",
        start=START,
        horizon_days=horizon,
        strategy=strategy,
        regions=tuple(regions),
        groups=tuple(groups),
        products=tuple(policies or (policy(),)),
        stock=tuple(stock),
    )


def expiry_violations(plan: DeploymentPlan) -> list[str]:
    """Lots a region would not have used up by their last day, by the plan's own schedule
    (recomputed independently of the planner's lot assignment)."""
    inp = plan.input
    days = plan.sim_days
    cap = np.repeat(np.array([r.doses_per_day for r in inp.regions])[:, None], days, axis=1)
    arrival = np.array([r.lead_days for r in inp.regions])
    problems = []
    for pp in plan.products:
        given = administer(
            pp.people.sum(axis=1),
            pp.policy.doses_per_person,
            pp.policy.interval_days,
            cap,
            arrival,
        )
        cap = given.capacity_left
        used = given.used_by_day()
        pack = pp.product.pack_doses
        for r in range(len(inp.regions)):
            cum = 0
            for lp in sorted(pp.lots, key=lambda lp: (lp.expiry_day, lp.lot.lot)):
                cum += int(lp.packs_by_region[r]) * pack
                late = lp.expiry_day < 0 or used[r, min(lp.expiry_day, days - 1)] < cum
                if lp.packs_by_region[r] and lp.expiry_day < days and late:
                    problems.append(f"{pp.product.code}/{lp.lot.lot} at {r}")
    return problems


__all__ = [
    "NO_EXPIRY",
    "START",
    "expiry_violations",
    "group",
    "lot",
    "make",
    "policy",
    "product",
    "region",
]
