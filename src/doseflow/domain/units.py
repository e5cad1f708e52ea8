"""The one place where quantities change unit (doses, vials, packs, shippers, courses).

Quantities are stored and moved in doses everywhere in doseflow. Anything shown or read in
another unit goes through these functions, so a rounding rule lives in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from doseflow.domain.errors import DoseflowError
from doseflow.domain.product import Product


class Unit(StrEnum):
    DOSE = "dose"
    VIAL = "vial"
    PACK = "pack"
    SHIPPER = "shipper"


class Rounding(StrEnum):
    """What to do when doses are not a whole number of the target unit."""

    EXACT = "exact"  # refuse (an error)
    DOWN = "down"  # whole units that fit; the rest is left over
    UP = "up"  # whole units that contain it


def doses_per_unit(product: Product, unit: Unit) -> int:
    """How many doses one ``unit`` of ``product`` holds."""
    if unit is Unit.DOSE:
        return 1
    if unit is Unit.VIAL:
        return product.doses_per_vial
    if unit is Unit.PACK:
        return product.pack_doses
    if product.vials_per_shipper is None:
        raise DoseflowError(
            "UNIT_UNKNOWN_SHIPPER",
            f"product {product.code} has no shipper size",
            field="vials_per_shipper",
            expected="vials_per_shipper set on the product",
        )
    return product.vials_per_shipper * product.doses_per_vial


def to_doses(product: Product, quantity: int, unit: Unit) -> int:
    """``quantity`` of ``unit`` expressed in doses."""
    return quantity * doses_per_unit(product, unit)


def from_doses(
    product: Product, doses: int, unit: Unit, rounding: Rounding = Rounding.EXACT
) -> int:
    """``doses`` expressed in whole ``unit``\\ s, rounded as asked."""
    size = doses_per_unit(product, unit)
    whole, rest = divmod(doses, size)
    if rest == 0 or rounding is Rounding.DOWN:
        return whole
    if rounding is Rounding.UP:
        return whole + 1
    raise DoseflowError(
        "UNIT_NOT_WHOLE",
        f"{doses} doses of {product.code} is not a whole number of {unit.value}s "
        f"({size} doses each)",
        expected=f"a multiple of {size} doses",
        value=doses,
    )


def split_packs(product: Product, doses: int) -> tuple[int, int]:
    """Whole packs in ``doses`` and the doses left over."""
    return divmod(doses, product.pack_doses)


def round_down_to_packs(product: Product, doses: int) -> int:
    """The largest whole-pack quantity, in doses, not above ``doses``."""
    return doses - doses % product.pack_doses


def full_courses(product: Product, doses: int) -> int:
    """People who can receive a complete course from ``doses``."""
    return doses // product.doses_per_course


@dataclass(frozen=True)
class Quantity:
    """An amount with its unit, for display: every view says which unit it shows.

    ``rest_doses`` are doses that do not fill one more ``unit`` (an opened vial, a part
    pack): shown beside the whole units, never dropped."""

    amount: int
    unit: Unit
    rest_doses: int = 0

    def __str__(self) -> str:
        plural = "" if self.amount == 1 else "s"
        text = f"{self.amount:,} {self.unit.value}{plural}"
        if self.rest_doses:
            text += f" + {self.rest_doses:,} dose{'' if self.rest_doses == 1 else 's'}"
        return text

    def to_doses(self, product: Product) -> int:
        """The doses this quantity stands for (whole units and the rest)."""
        return to_doses(product, self.amount, self.unit) + self.rest_doses


def express(product: Product, doses: int, unit: Unit) -> Quantity:
    """``doses`` shown in ``unit`` (exact; raises if not whole)."""
    return Quantity(from_doses(product, doses, unit), unit)


def express_with_rest(product: Product, doses: int, unit: Unit) -> Quantity:
    """``doses`` as whole ``unit``\\ s and the doses left over (12,285 Pfizer doses: 2,047
    vials + 3 doses), for stock that need not be whole units."""
    whole, rest = divmod(doses, doses_per_unit(product, unit))
    return Quantity(whole, unit, rest)


def course_equivalents(doses: float, doses_per_course: int) -> float:
    """Courses that ``doses`` make, as a fraction (for rate models of people per day).

    Counting real people uses :func:`full_courses`; an epidemic model moves fractions of
    people per day, so it needs the unrounded ratio.
    """
    return doses / doses_per_course
