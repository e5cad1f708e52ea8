"""How a product is given and stored in the regions, from the logistics storage profiles.

Volume per dose and the bands a product tolerates come from
:mod:`doseflow.logistics.storage_profiles` (the logistics engineer's table, issue 4); the
interval between doses of a course comes from the WHO SAGE interim recommendations of
2021, keyed by the same profile codes. Every default can be overridden per product.
"""

from __future__ import annotations

import math

from doseflow.deployment.model import ProductPolicy
from doseflow.domain.errors import DoseflowError
from doseflow.domain.product import Product
from doseflow.domain.temperature import TemperatureBand
from doseflow.logistics.storage_profiles import ProfileTable, storage_profile

#: Days between doses of a course (WHO SAGE interim recommendations, 2021), by profile code.
DEFAULT_INTERVAL_DAYS: dict[str, int] = {
    "PFIZER-BNT": 21,  # 21-28 days
    "MODERNA": 28,
    "AZ": 84,  # 8-12 weeks; 12 weeks gives the best protection
    "SINOVAC": 28,  # 14-28 days
    "SINOPHARM": 28,  # 21-28 days
    "NOVAVAX": 21,
}


def product_policy(
    product: Product,
    *,
    reserve_later_doses: bool = True,
    interval_days: int | None = None,
    cm3_per_dose: float | None = None,
    store_band: TemperatureBand | None = None,
    days_in_store_band: int | None = None,
    profiles: ProfileTable | None = None,
) -> ProductPolicy:
    """A :class:`ProductPolicy` with defaults from the storage profile of ``product``.

    The regional band defaults to 2-8 °C when the product tolerates it (Pfizer-BioNTech
    thawed for 31 days, Moderna for 30), else its long-term band.
    """
    profile = storage_profile(product, profiles)
    if interval_days is None:
        if product.doses_per_course == 1:
            interval_days = 0
        elif profile.product in DEFAULT_INTERVAL_DAYS:
            interval_days = DEFAULT_INTERVAL_DAYS[profile.product]
        else:
            raise DoseflowError(
                "DEPLOY_NO_INTERVAL",
                f"product {product.code} has a {product.doses_per_course}-dose course and no "
                "known interval between doses",
                field="interval_days",
                expected="interval_days given for the product",
                value=product.code,
            )
    if cm3_per_dose is None:
        found = [v for v in profile.volumes if v.doses_per_vial == product.doses_per_vial]
        if not found:
            raise DoseflowError(
                "DEPLOY_NO_VOLUME",
                f"no volume per dose known for {product.code} in {product.doses_per_vial}-dose "
                "vials",
                field="cm3_per_dose",
                expected="cm3_per_dose given for the product (or a storage profile with it)",
                value=product.code,
            )
        cm3_per_dose = found[0].storage_cm3
    if store_band is None:
        if profile.long_term is TemperatureBand.CHILLED or not profile.tolerates(
            TemperatureBand.CHILLED
        ):
            store_band = profile.long_term
        else:
            store_band = TemperatureBand.CHILLED
    if days_in_store_band is None and store_band is not profile.long_term:
        days = profile.days_in(store_band)
        days_in_store_band = None if math.isinf(days) else int(days)
    return ProductPolicy(
        product=product,
        interval_days=interval_days,
        reserve_later_doses=reserve_later_doses,
        cm3_per_dose=cm3_per_dose,
        store_band=store_band,
        days_in_store_band=days_in_store_band,
    )
