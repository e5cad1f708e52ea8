"""Supply entering a pool: tranches of one product, bought or donated, available on a date.

Tranches of the same product, origin, donor, earmark and expiry available in the same round
are pooled and shared together; a tranche earmarked for named recipients may only go to
them (a donor's bilateral wish honoured through the pool).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from doseflow.domain.errors import DoseflowError


class Origin(StrEnum):
    PURCHASE = "purchase"
    DONATION = "donation"


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
