"""Products in a pool: vaccines and other medical supplies."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from doseflow.domain.errors import DoseflowError
from doseflow.domain.temperature import TemperatureBand


class ProductKind(StrEnum):
    """Vaccines are counted in doses and courses; other supplies in their own unit of need."""

    VACCINE = "vaccine"
    SUPPLY = "supply"


class Financing(StrEnum):
    """How a participant pays: donor-funded Advance Market Commitment, or self-financing."""

    AMC = "amc"
    SELF_FINANCING = "self-financing"


@dataclass(frozen=True)
class Product:
    """A product code in a pool, with everything needed to count, pack and store it.

    ``pack_doses`` is the shippable unit in doses (2,400 for AstraZeneca/SII, 1,170 for
    Pfizer: one tray of 195 six-dose vials). Allocations are always whole packs.
    A licence territory restricts where the product may go at all (``None`` means anyone):
    either named ISO3 codes, financing groups, or both (a participant qualifies if it matches
    either). Who may draw from one pool of it (as AMC participants drew from the Serum
    Institute's AstraZeneca pool) is the pool's membership, a rule of its tranches
    (:class:`~doseflow.domain.supply.Membership`), not of the product.
    """

    code: str
    name: str
    manufacturer: str
    doses_per_course: int
    storage_band: TemperatureBand
    shelf_life_days: int
    doses_per_vial: int
    pack_doses: int
    kind: ProductKind = ProductKind.VACCINE
    vials_per_shipper: int | None = None
    licence_iso3: frozenset[str] | None = None
    licence_financing: frozenset[Financing] | None = None
    unit_name: str = "dose"

    def __post_init__(self) -> None:
        for name in ("doses_per_course", "doses_per_vial", "pack_doses", "shelf_life_days"):
            value = getattr(self, name)
            if value <= 0:
                raise DoseflowError(
                    "PRODUCT_BAD_NUMBER",
                    f"product {self.code}: {name} must be a positive whole number",
                    field=name,
                    expected="an integer > 0",
                    value=value,
                )
        if self.pack_doses % self.doses_per_vial:
            raise DoseflowError(
                "PRODUCT_PACK_NOT_WHOLE_VIALS",
                f"product {self.code}: a pack of {self.pack_doses} doses is not a whole "
                f"number of {self.doses_per_vial}-dose vials",
                field="pack_doses",
                expected=f"a multiple of doses_per_vial ({self.doses_per_vial})",
                value=self.pack_doses,
            )
        if self.vials_per_shipper is not None and self.vials_per_shipper <= 0:
            raise DoseflowError(
                "PRODUCT_BAD_NUMBER",
                f"product {self.code}: vials_per_shipper must be positive",
                field="vials_per_shipper",
                expected="an integer > 0",
                value=self.vials_per_shipper,
            )

    def licensed_for(self, iso3: str, financing: Financing) -> bool:
        """Whether the licence territory admits this participant."""
        if self.licence_iso3 is None and self.licence_financing is None:
            return True
        return (self.licence_iso3 is not None and iso3 in self.licence_iso3) or (
            self.licence_financing is not None and financing in self.licence_financing
        )


@dataclass(frozen=True)
class ProductCodes:
    """A product code's standard codes, for exchange with other systems (FHIR).

    Kept apart from :class:`Product` because they are reference data about a product code
    (the same code, e.g. ``PFIZER``, is used by allocation examples, network files and the
    UNICEF import), not something a pool's product file has to repeat. ``cvx`` is the CDC
    vaccine code (``http://hl7.org/fhir/sid/cvx``), ``gtin`` the GS1 trade item number of
    a pack. Either may be missing: then only doseflow's own product code is exchanged.
    """

    product: str
    cvx: str | None = None
    cvx_display: str | None = None
    gtin: str | None = None


def gtin_valid(gtin: str) -> bool:
    """Whether ``gtin`` is a GTIN-8, -12, -13 or -14 with a correct GS1 check digit."""
    if not gtin.isdigit() or len(gtin) not in (8, 12, 13, 14):
        return False
    digits = [int(c) for c in gtin]
    body = digits[:-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == digits[-1]
