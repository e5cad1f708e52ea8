"""Supply entering a pool: tranches of one product, bought or donated, available on a date.

Tranches of the same product, origin, donor, earmark, membership and expiry available in the
same round are pooled and shared together; a tranche earmarked for named recipients may only
go to them (a donor's bilateral wish honoured through the pool). A tranche's membership says
which financing groups or participants may draw from its pool at all (as AMC participants
drew from the Serum Institute pool): a rule of the pool, not of the product, so it is kept
apart from the product's licence territory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from doseflow.domain.errors import DoseflowError
from doseflow.domain.product import Financing

_GROUP_TEXT = {
    Financing.AMC: "AMC participants",
    Financing.SELF_FINANCING: "self-financing participants",
}


class Origin(StrEnum):
    PURCHASE = "purchase"
    DONATION = "donation"


@dataclass(frozen=True)
class Membership:
    """Who may draw from a pool: financing groups, named participants (ISO3), or both (a
    participant is a member if it matches either). Compared as sets, so the order in which a
    file lists them never makes two pools of one."""

    financing: frozenset[Financing] = frozenset()
    iso3: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.financing and not self.iso3:
            raise DoseflowError(
                "ALLOC_INVALID_FIELD",
                "a pool's membership must name at least one financing group or participant",
                field="members",
                expected="financing groups (amc, self-financing) and/or ISO3 codes, "
                "or no 'members' at all (open to every participant)",
                value="{}",
            )

    def admits(self, iso3: str, financing: Financing) -> bool:
        return financing in self.financing or iso3 in self.iso3

    @property
    def key(self) -> tuple[str, ...]:
        """Groups then ISO3 codes, sorted: the membership's part of a pool's identity."""
        return (*sorted(f.value for f in self.financing), *sorted(self.iso3))

    def slug(self) -> str:
        """For pool ids: ``amc``, ``self-financing+KOR``."""
        return "+".join(self.key)

    def text(self) -> str:
        """In words: "AMC participants", "self-financing participants and KOR, URY"."""
        parts = [_GROUP_TEXT[f] for f in sorted(self.financing, key=lambda f: f.value)]
        if self.iso3:
            parts.append(", ".join(sorted(self.iso3)))
        return " and ".join(parts)


@dataclass(frozen=True)
class Tranche:
    """``doses`` of ``product`` available from ``available`` (and usable until ``expiry``)."""

    id: str
    product: str
    doses: int
    available: date
    origin: Origin = Origin.PURCHASE
    donor: str | None = None
    earmarked: frozenset[str] | None = None
    expiry: date | None = None
    #: who may draw from the tranche's pool (``None``: every participant)
    members: Membership | None = None

    def __post_init__(self) -> None:
        if self.doses < 0:
            raise DoseflowError(
                "ALLOC_NEGATIVE_QUANTITY",
                f"tranche {self.id}: a quantity of supply cannot be negative",
                field="doses",
                expected="a whole number of doses >= 0",
                value=self.doses,
            )
        if self.expiry is not None and self.expiry < self.available:
            raise DoseflowError(
                "ALLOC_BAD_DATE",
                f"tranche {self.id}: expires before it becomes available",
                field="expiry",
                expected=f"a date on or after {self.available.isoformat()}",
                value=self.expiry.isoformat(),
            )
        if self.earmarked is not None and not self.earmarked:
            raise DoseflowError(
                "ALLOC_INVALID_FIELD",
                f"tranche {self.id}: an earmark must name at least one recipient",
                field="earmarked",
                expected="one or more ISO3 codes, or no earmark at all",
                value="[]",
            )
