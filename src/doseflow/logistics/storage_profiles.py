"""Product storage profiles: where a product may sit, for how long, and how much room it takes.

A profile says a product's long-term storage band (Pfizer-BioNTech: ultra-cold) and how many
days it tolerates in each other band once it has left it (31 days at 2-8 °C after thawing).
Leaving the long-term band is one-way: doseflow never refreezes a thawed product. It also
gives the packed volume per dose of each presentation (doses per vial), for storage (the
secondary packaging on a shelf) and for transport (inside an insulated or dry-ice shipper).

The bundled table (``storage_profiles.csv`` next to this module) covers the WHO-listed
COVID-19 vaccines; its ``source`` column says where each figure comes from and
``indicative`` marks volumes that are planning estimates rather than published packed
volumes. Users add or override profiles in a network file (``storage_profiles:``) or a
profile file of their own (:func:`doseflow.logistics.profile_file.load_profiles`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType

from doseflow.domain.errors import DoseflowError
from doseflow.domain.product import Product
from doseflow.domain.temperature import TemperatureBand

#: Bands from coldest to warmest: a product only ever moves rightwards (it is never refrozen).
BAND_ORDER: tuple[TemperatureBand, ...] = (
    TemperatureBand.ULTRA_COLD,
    TemperatureBand.FROZEN,
    TemperatureBand.CHILLED,
    TemperatureBand.AMBIENT,
)

BUNDLED_TABLE = "storage_profiles.csv"


def band_rank(band: TemperatureBand) -> int:
    """Position of ``band`` from coldest (0) to warmest."""
    return BAND_ORDER.index(band)


@dataclass(frozen=True)
class PackedVolume:
    """Packed volume per dose of one presentation, in cm³."""

    doses_per_vial: int
    presentation: str
    storage_cm3: float
    transport_cm3: float
    indicative: bool = True
    source: str = ""
    pack_doses: int | None = None  # the shippable unit in doses (tray, carton), if known


@dataclass(frozen=True)
class StorageProfile:
    """How a product must be kept. ``allowed_days`` maps each band other than the long-term
    one to the days the product may spend there after leaving its long-term band; a band
    absent from both is forbidden (freezing a 2-8 °C vaccine destroys it)."""

    product: str
    name: str
    long_term: TemperatureBand
    allowed_days: Mapping[TemperatureBand, float] = field(
        default_factory=lambda: MappingProxyType({})
    )
    volumes: tuple[PackedVolume, ...] = ()
    aliases: frozenset[str] = frozenset()
    source: str = ""
    user_supplied: bool = False
    label: str = ""  # short name used in sentences ("Pfizer")
    doses_per_course: int | None = None
    shelf_life_days: int | None = None

    @property
    def short(self) -> str:
        return self.label or self.name

    def tolerates(self, band: TemperatureBand) -> bool:
        return band is self.long_term or band in self.allowed_days

    def days_in(self, band: TemperatureBand) -> float:
        """Days allowed in ``band``: unlimited (``inf``) in the long-term band, 0 if forbidden."""
        if band is self.long_term:
            return math.inf
        return self.allowed_days.get(band, 0.0)

    @property
    def bands(self) -> tuple[TemperatureBand, ...]:
        """Tolerated bands the product can reach from its long-term band, coldest first."""
        start = band_rank(self.long_term)
        return tuple(b for b in BAND_ORDER[start:] if self.tolerates(b))

    def volume(self, doses_per_vial: int) -> PackedVolume:
        """Packed volume of the presentation with ``doses_per_vial`` doses per vial."""
        for packed in self.volumes:
            if packed.doses_per_vial == doses_per_vial:
                return packed
        known = ", ".join(str(v.doses_per_vial) for v in self.volumes) or "none"
        raise DoseflowError(
            "LOGISTICS_NO_VOLUME",
            f"no packed volume for {self.name} in {doses_per_vial}-dose vials "
            f"(known presentations: {known}); add one to the storage profiles",
            field="doses_per_vial",
            expected=f"a presentation of product {self.product} with a packed volume",
            value=doses_per_vial,
        )

    def describe(self) -> str:
        """One line, e.g. 'ultra-cold; 14 days frozen, 31 days at 2-8 °C'."""
        parts = [self.long_term.label]
        for band in BAND_ORDER:
            if band in self.allowed_days:
                parts.append(f"{format_days(self.allowed_days[band])} {band_phrase(band)}")
        return "; ".join(parts)


def band_words(band: TemperatureBand) -> str:
    """A band as people write it in a sentence: 'ultra-cold', 'frozen', '2-8 °C', 'ambient'."""
    return "2-8 °C" if band is TemperatureBand.CHILLED else band.value


def band_phrase(band: TemperatureBand) -> str:
    """A band after a duration: '31 days at 2-8 °C', '14 days frozen'."""
    return {
        TemperatureBand.ULTRA_COLD: "ultra-cold",
        TemperatureBand.FROZEN: "frozen",
        TemperatureBand.CHILLED: "at 2-8 °C",
        TemperatureBand.AMBIENT: "at room temperature",
    }[band]


def format_days(days: float) -> str:
    """'31 days', '1 day', '12 hours', '2.5 days', '0 days'."""
    if days <= 0:
        return "0 days"
    if days < 1:
        hours = round(days * 24, 1)
        return "1 hour" if hours == 1 else f"{hours:g} hours"
    shown = f"{days:g}" if days == int(days) else f"{days:.1f}"
    return f"{shown} day" + ("" if days == 1 else "s")


def normalise_name(text: str) -> str:
    """Codes and names compared without case, spaces or punctuation."""
    return re.sub(r"[^0-9a-z]", "", text.casefold())


@dataclass(frozen=True)
class ProfileTable:
    """Profiles by product code, looked up by a product's code, its name or a known alias."""

    profiles: Mapping[str, StorageProfile]

    def find(self, key: str) -> StorageProfile | None:
        wanted = normalise_name(key)
        for profile in self.profiles.values():
            if normalise_name(profile.product) == wanted:
                return profile
        for profile in self.profiles.values():
            names = {normalise_name(a) for a in profile.aliases} | {normalise_name(profile.name)}
            if wanted in names:
                return profile
        return None

    def for_product(self, product: Product) -> StorageProfile:
        """The profile of ``product`` (by code, then name, then manufacturer+name).

        A product with no profile gets one derived from its own storage band, with no time
        allowed outside it and no packed volume.
        """
        for key in (product.code, product.name, f"{product.manufacturer} {product.name}"):
            found = self.find(key)
            if found is not None:
                return found
        return StorageProfile(
            product=product.code,
            name=product.name,
            long_term=product.storage_band,
            source="derived from the product's storage band (no profile found)",
        )

    def require(self, code: str) -> StorageProfile:
        """The profile for ``code``, or ``LOGISTICS_UNKNOWN_PRODUCT``."""
        found = self.find(code)
        if found is None:
            raise DoseflowError(
                "LOGISTICS_UNKNOWN_PRODUCT",
                f"no storage profile for product '{code}'",
                field="product",
                expected="one of " + ", ".join(sorted(self.profiles)),
                value=code,
            )
        return found

    def merged(self, extra: Iterable[StorageProfile]) -> ProfileTable:
        """This table with ``extra`` profiles added; a profile with a known code replaces it."""
        merged = dict(self.profiles)
        for profile in extra:
            merged[profile.product] = profile
        return ProfileTable(MappingProxyType(merged))


@cache
def bundled_profiles() -> ProfileTable:
    """The bundled storage-profile table (read once per process)."""
    from importlib import resources

    from doseflow.logistics.profile_file import parse_profile_csv

    text = resources.files("doseflow.logistics").joinpath(BUNDLED_TABLE).read_text("utf-8")
    profiles = parse_profile_csv(text, f"<doseflow bundled data>/{BUNDLED_TABLE}")
    return ProfileTable(MappingProxyType({p.product: p for p in profiles}))


def profile_table(extra: Iterable[StorageProfile] = ()) -> ProfileTable:
    """The bundled table, with user-supplied profiles added or overriding."""
    return bundled_profiles().merged(extra)


def reference_product(
    code: str, doses_per_vial: int | None = None, table: ProfileTable | None = None
) -> Product:
    """A :class:`Product` built from a profile's reference presentation, for commands that
    name a product by code only (the first presentation unless ``doses_per_vial`` is given).
    """
    profile = (table or bundled_profiles()).require(code)
    if not profile.volumes:
        raise DoseflowError(
            "LOGISTICS_NO_VOLUME",
            f"storage profile {profile.product} has no presentation",
            field="presentations",
            expected="at least one presentation with doses per vial and pack size",
            value=profile.product,
        )
    packed = profile.volume(doses_per_vial) if doses_per_vial else profile.volumes[0]
    return Product(
        code=profile.product,
        name=profile.short,
        manufacturer=profile.name,
        doses_per_course=profile.doses_per_course or 2,
        storage_band=profile.long_term,
        shelf_life_days=profile.shelf_life_days or 180,
        doses_per_vial=packed.doses_per_vial,
        pack_doses=packed.pack_doses or packed.doses_per_vial,
    )


def storage_profile(product: Product, table: ProfileTable | None = None) -> StorageProfile:
    """The storage profile of ``product`` (bundled table unless ``table`` is given)."""
    return (table or bundled_profiles()).for_product(product)


def storage_cm3_per_dose(product: Product, table: ProfileTable | None = None) -> float:
    """Shelf volume per dose of ``product``'s presentation, in cm³."""
    return storage_profile(product, table).volume(product.doses_per_vial).storage_cm3


def transport_cm3_per_dose(product: Product, table: ProfileTable | None = None) -> float:
    """Shipping volume per dose (inside the insulated or dry-ice shipper), in cm³."""
    return storage_profile(product, table).volume(product.doses_per_vial).transport_cm3


def storage_litres(product: Product, doses: int, table: ProfileTable | None = None) -> float:
    """Shelf volume of ``doses`` doses of ``product``, in litres."""
    return doses * storage_cm3_per_dose(product, table) / 1000.0


def transport_litres(product: Product, doses: int, table: ProfileTable | None = None) -> float:
    """Shipping volume of ``doses`` doses of ``product``, in litres."""
    return doses * transport_cm3_per_dose(product, table) / 1000.0
