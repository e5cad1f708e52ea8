"""The allocation policy: the rules a round applies to every pool.

Defaults follow the COVAX Facility's 2021 practice: a coverage ladder of 3% then 20% of each
participant's population in phase 1, a humanitarian buffer set aside first, equal coverage
by water-filling, and a threat-and-vulnerability weighting when supply is severely short.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from types import MappingProxyType

from doseflow.domain.errors import DoseflowError


class Phase(IntEnum):
    """Phase 1 shares supply by equal coverage; phase 2 fills participants' requests."""

    SUPPLY_DRIVEN = 1
    DEMAND_DRIVEN = 2


class CeilingRounding(StrEnum):
    """How a participant's room under its coverage ceiling becomes whole packs.

    ``down`` never lets anyone past its ceiling but can leave a small state a pack short of
    what it is owed; ``nearest`` (half a pack or more rounds up: the pooled facility's 2021
    practice) and ``up`` may end a participant above its nominal ceiling, by at most half a
    pack and by less than one pack respectively. Supply is never exceeded either way."""

    DOWN = "down"
    NEAREST = "nearest"
    UP = "up"


class SharingWeight(StrEnum):
    """How a demand-driven round shares a pool too small for every request."""

    DEMAND = "demand"  # in proportion to each remaining request
    POPULATION = "population"  # in proportion to population
    THREAT = "threat"  # in proportion to the threat-and-vulnerability weight


@dataclass(frozen=True)
class ThreatWeights:
    """The threat-and-vulnerability score: a weighted mean of three components in 0..1.

    * older: share of people aged ``older_age`` or more (WPP 2019), scaled by the largest
      share among the participants considered;
    * health system: 1 - health-system capacity (missing capacity counts as 0.5);
    * deaths: recent deaths per million, scaled by the largest among those considered.

    The weight a participant gets is ``base + score`` so nobody's weight is zero.
    """

    older: float = 1.0
    health_system: float = 1.0
    deaths: float = 1.0
    older_age: int = 65
    base: float = 0.25


@dataclass(frozen=True)
class SevereSupply:
    """When supply is severely constrained: weight by threat and vulnerability instead.

    A pool is severely constrained when equal coverage would reach less than ``threshold``
    of population (or cannot meet the floors). Then each eligible participant first gets
    ``min_packs`` packs (in threat-and-vulnerability order while the pool lasts), and the
    rest is shared in proportion to the threat-and-vulnerability weight.
    """

    enabled: bool = True
    threshold: float = 0.01
    min_packs: int = 1


@dataclass(frozen=True)
class ComplianceGate:
    """Reporting compliance as a readiness gate (off by default).

    When ``enabled``, a participant takes part in a round only if its reports are up to
    date as of the round's date: over the last ``lookback_periods`` owed periods of each
    report it owes, at most ``max_missing`` missing and (if set) at most ``max_late`` late.
    The allocation engine does not judge this itself: the verdicts come in as an
    :class:`~doseflow.allocation.readiness.ExtraGate` named "reporting compliance"
    (``doseflow.store.allocation`` fetches them from the reporting store), and a run with
    the gate enabled but no verdicts is refused (``ALLOC_GATE_RESULTS_MISSING``).
    """

    enabled: bool = False
    lookback_periods: int = 4
    max_missing: int = 0
    max_late: int | None = None


@dataclass(frozen=True)
class Policy:
    """The rules of a round. Shares are fractions (0.2 is 20%); quantities are doses.

    ``floors`` and ``caps`` are per product code, in doses per participant per pool (pools
    of one date shared jointly give a participant one floor: the largest of its pools');
    ``cap_share_of_pool`` limits any participant's share of one pool. ``ceiling_rounding``
    turns the room under a ceiling into whole packs (:class:`CeilingRounding`).
    ``floors_prevail`` gives a small participant (one whose whole ceiling holds less than
    the floor) that is still below its ceiling at least its floor, in whole packs, even above
    its ceiling (caps still apply); when off, a floor is clipped by the ceiling.
    ``need_per_1000`` names the unit of need of a non-vaccine product (units per 1,000
    people), which then has its own coverage, separate from vaccine coverage.
    """

    ladder: tuple[float, ...] = (0.03, 0.20)
    floors: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    caps: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    cap_share_of_pool: float | None = None
    humanitarian_buffer: float = 0.0
    count_other_sources: bool = True
    other_sources_doses_per_course: int = 2
    phase: Phase = Phase.SUPPLY_DRIVEN
    target: float = 0.70
    phase2_weight: SharingWeight = SharingWeight.DEMAND
    need_per_1000: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    min_days_before_expiry: int = 0
    lead_time_days: int = 14
    threat: ThreatWeights = field(default_factory=ThreatWeights)
    severe: SevereSupply = field(default_factory=SevereSupply)
    compliance_gate: ComplianceGate = field(default_factory=ComplianceGate)
    ceiling_rounding: CeilingRounding = CeilingRounding.NEAREST
    floors_prevail: bool = True

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "ceiling_rounding", CeilingRounding(self.ceiling_rounding))
        except ValueError:
            raise DoseflowError(
                "ALLOC_BAD_ROUNDING",
                "the policy's ceiling rounding must be down, nearest or up",
                field="policy.ceiling_rounding",
                expected="one of: " + ", ".join(r.value for r in CeilingRounding),
                value=self.ceiling_rounding,
            ) from None
        if not self.ladder or any(not 0.0 < r <= 1.0 for r in self.ladder):
            bad = next((r for r in self.ladder if not 0.0 < r <= 1.0), None)
            raise DoseflowError(
                "ALLOC_CEILING_ABOVE_100" if bad is not None and bad > 1.0 else "ALLOC_BAD_SHARE",
                "every rung of the coverage ladder must be a share above 0% and at most 100%",
                field="policy.ladder",
                expected="increasing shares in (0, 1], e.g. [0.03, 0.20]",
                value=list(self.ladder),
            )
        if list(self.ladder) != sorted(self.ladder):
            raise DoseflowError(
                "ALLOC_BAD_SHARE",
                "the coverage ladder must go up",
                field="policy.ladder",
                expected="increasing shares, e.g. [0.03, 0.20]",
                value=list(self.ladder),
            )
        for name in ("humanitarian_buffer", "cap_share_of_pool"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise DoseflowError(
                    "ALLOC_BAD_SHARE",
                    f"policy {name} must be a share between 0 and 1",
                    field=f"policy.{name}",
                    expected="a share between 0 and 1",
                    value=value,
                )
        if not 0.0 < self.target <= 1.0:
            raise DoseflowError(
                "ALLOC_CEILING_ABOVE_100" if self.target > 1.0 else "ALLOC_BAD_SHARE",
                "the phase-2 coverage target must be above 0% and at most 100%",
                field="policy.target",
                expected="a share in (0, 1], e.g. 0.7",
                value=self.target,
            )
        for name, mapping in (("floors", self.floors), ("caps", self.caps)):
            for code, doses in mapping.items():
                if doses < 0:
                    raise DoseflowError(
                        "ALLOC_NEGATIVE_QUANTITY",
                        f"policy {name} for {code} cannot be negative",
                        field=f"policy.{name}.{code}",
                        expected="a whole number of doses >= 0",
                        value=doses,
                    )

    @property
    def top_rung(self) -> float:
        """The highest coverage a phase-1 round gives anyone (the last ladder rung)."""
        return self.ladder[-1]

    def rung_reached(self, coverage: float) -> int:
        """How many ladder rungs ``coverage`` has reached (0 = not yet the first)."""
        return sum(1 for r in self.ladder if coverage >= r - 1e-12)
