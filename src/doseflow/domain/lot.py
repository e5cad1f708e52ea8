"""Lots: a manufactured batch of one product, with its expiry and vaccine vial monitor stage.

A lot is identified by its product code and lot number. Stock is always kept per lot, so
expiry (first-expiry-first-out) and VVM-based discards can be followed to the dose. A lot
whose expiry is not known (e.g. deliveries imported from aggregate data) has ``expiry=None``
and sorts after every dated lot in FEFO order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from doseflow.domain.errors import DoseflowError
from doseflow.domain.limits import MAX_CODE_LENGTH, MAX_LOT_LENGTH

#: Vaccine vial monitor stages: 1-2 usable, 3 (discard point) and 4 (beyond) must not be used.
VVM_STAGES: tuple[int, ...] = (1, 2, 3, 4)
VVM_DISCARD_STAGE = 3


@dataclass(frozen=True, slots=True)
class Lot:
    """One lot of one product. ``vvm_stage`` is the stage last reported (1-4)."""

    product: str
    number: str
    expiry: date | None = None
    vvm_stage: int = 1

    def __post_init__(self) -> None:
        if not self.product or not self.number:
            raise DoseflowError(
                "LEDGER_BAD_LOT",
                "a lot needs a product code and a lot number",
                field="lot" if self.product else "product",
                expected="non-empty product code and lot number",
                value=f"{self.product}/{self.number}",
            )
        if (
            len(self.product) > MAX_CODE_LENGTH
            or len(self.number) > MAX_LOT_LENGTH
            or "\x00" in self.product + self.number
        ):
            raise DoseflowError(
                "LEDGER_BAD_LOT",
                f"a lot's product code has at most {MAX_CODE_LENGTH} characters and its number "
                f"at most {MAX_LOT_LENGTH}, neither with NUL characters",
                field="lot",
                expected=f"a product code of 1-{MAX_CODE_LENGTH} and a lot number of "
                f"1-{MAX_LOT_LENGTH} characters",
                value=f"{self.product}/{self.number}",
            )
        if self.vvm_stage not in VVM_STAGES:
            raise DoseflowError(
                "LEDGER_BAD_VVM_STAGE",
                f"lot {self.product}/{self.number}: vaccine vial monitor stage must be 1 to 4",
                field="vvm_stage",
                expected="1, 2, 3 or 4",
                value=self.vvm_stage,
            )

    @property
    def key(self) -> tuple[str, str]:
        """(product, lot number): what identifies a lot."""
        return (self.product, self.number)

    @property
    def usable(self) -> bool:
        """Whether the VVM still allows use (stage 1 or 2)."""
        return self.vvm_stage < VVM_DISCARD_STAGE

    def expired_on(self, day: date) -> bool:
        """Whether the lot may no longer be used on ``day`` (usable up to and including expiry)."""
        return self.expiry is not None and day > self.expiry

    def __str__(self) -> str:
        return f"{self.product}/{self.number}"
