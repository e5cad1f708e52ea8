"""Target populations of priority groups, region by region.

A group is sized in one of four ways: persons per region as given; a national count shared
out to regions by population; a share of the population; or an age range from the bundled
UN WPP 2019 age bands (older people: 60+ or 65+), each region assumed to have the national
age structure. A group may be limited to some regions (border areas, garrison provinces).
Shares are turned into whole persons by largest remainder, so regional figures add up to
the national one exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from doseflow.data.population import country
from doseflow.deployment.model import GroupKind, PriorityGroup, Region
from doseflow.domain.errors import DoseflowError


@dataclass(frozen=True)
class GroupSpec:
    """A priority group as the user describes it (see :func:`size_group`)."""

    name: str
    kind: GroupKind
    coverage: float
    priority: int = 1
    weight: float = 1.0
    count: int | None = None  # national persons, shared out by population
    share: float | None = None  # share of the (age-limited) population
    per_region: Mapping[str, int] | None = None  # persons per region code
    min_age: int | None = None
    max_age: int | None = None  # exclusive: 60 means up to 59
    regions: tuple[str, ...] | None = None  # only these regions (default: all)


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` whole persons in proportion to ``weights`` (largest remainder)."""
    w = np.asarray(weights, dtype=np.int64)
    wsum = int(w.sum())
    if total <= 0 or wsum <= 0:
        return [0] * len(w)
    exact = total * w.astype(np.float64) / float(wsum)
    base = np.floor(exact).astype(np.int64)
    rest = total - int(base.sum())
    order = np.lexsort((np.arange(len(w)), -(exact - base)))
    base[order[: max(rest, 0)]] += 1
    return [int(v) for v in base]


def age_share(iso3: str, min_age: int | None, max_age: int | None) -> float:
    """Share of ``iso3``'s population aged ``min_age`` up to (not including) ``max_age``."""
    bands = country(iso3).population_by_age()
    lo = 0 if min_age is None else min_age
    hi = 105 if max_age is None else max_age
    for value, fld in ((min_age, "min_age"), (max_age, "max_age")):
        if value is not None and (value % 5 or not 0 <= value <= 105):
            raise DoseflowError(
                "DEPLOY_BAD_AGE",
                f"age limits follow the five-year WPP age bands; {fld} {value} does not",
                field=fld,
                expected="a multiple of 5 between 0 and 100 (e.g. 60 or 65)",
                value=value,
            )
    if hi <= lo:
        raise DoseflowError(
            "DEPLOY_BAD_AGE",
            f"max_age {hi} is not above min_age {lo}",
            field="max_age",
            expected=f"a value above {lo}",
            value=hi,
        )
    return float(bands[lo // 5 : hi // 5].sum() / bands.sum())


def size_group(spec: GroupSpec, regions: Sequence[Region], iso3: str) -> PriorityGroup:
    """The group with its target population in each of ``regions``."""
    codes = [r.code for r in regions]
    eligible = set(codes if spec.regions is None else spec.regions)
    unknown = sorted(eligible - set(codes))
    if spec.per_region is not None:
        unknown += sorted(set(spec.per_region) - set(codes))
    if unknown:
        raise DoseflowError(
            "DEPLOY_UNKNOWN_REGION",
            f"group '{spec.name}' names region '{unknown[0]}', which is not in the plan",
            field="regions",
            expected="region codes defined under regions",
            value=unknown[0],
        )
    pops = [r.population if r.code in eligible else 0 for r in regions]
    aged = spec.min_age is not None or spec.max_age is not None
    factor = age_share(iso3, spec.min_age, spec.max_age) if aged else 1.0
    note: str
    if spec.per_region is not None:
        sizes = [int(spec.per_region.get(c, 0)) if c in eligible else 0 for c in codes]
        note = "persons per region as given"
    elif spec.count is not None:
        sizes = apportion(spec.count, pops)
        note = f"{spec.count:,} persons shared out by population"
    elif spec.share is not None or aged or spec.kind is GroupKind.BORDER_AREAS:
        share = 1.0 if spec.share is None else spec.share
        total = round(sum(pops) * factor * share)
        sizes = apportion(total, pops)
        parts = []
        if aged:
            ages = (
                f"{spec.min_age or 0}+"
                if spec.max_age is None
                else (f"{spec.min_age or 0}-{spec.max_age - 1}")
            )
            parts.append(f"aged {ages} ({factor:.1%} of {iso3}, WPP 2019)")
        if spec.share is not None:
            parts.append(f"{share:.2%} of the population")
        note = " x ".join(parts) or "whole population of the regions named"
    else:
        raise DoseflowError(
            "DEPLOY_GROUP_SIZE",
            f"group '{spec.name}' does not say how many people it has",
            field="groups",
            expected="one of count, share, per_region, or an age range (min_age/max_age)",
            value=spec.name,
        )
    for region, size in zip(regions, sizes, strict=True):
        if size > region.population:
            raise DoseflowError(
                "DEPLOY_GROUP_TOO_LARGE",
                f"group '{spec.name}' has {size:,} people in {region.code}, more than its "
                f"population of {region.population:,}",
                field="groups",
                expected=f"at most {region.population:,}",
                value=size,
            )
    if spec.regions is not None:
        note += " in " + ", ".join(spec.regions)
    return PriorityGroup(
        name=spec.name,
        kind=spec.kind,
        population_by_region=tuple(sizes),
        coverage=spec.coverage,
        priority=spec.priority,
        weight=spec.weight,
        note=note,
    )
