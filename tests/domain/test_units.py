from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doseflow.domain.errors import DoseflowError
from doseflow.domain.product import Financing, Product
from doseflow.domain.temperature import TemperatureBand
from doseflow.domain.units import (
    Quantity,
    Rounding,
    Unit,
    express,
    express_with_rest,
    from_doses,
    full_courses,
    round_down_to_packs,
    split_packs,
    to_doses,
)

PFIZER = Product(
    code="PFE",
    name="Comirnaty",
    manufacturer="Pfizer-BioNTech",
    doses_per_course=2,
    storage_band=TemperatureBand.ULTRA_COLD,
    shelf_life_days=180,
    doses_per_vial=6,
    pack_doses=1170,
    vials_per_shipper=975,
)


def test_pfizer_tray_is_195_six_dose_vials() -> None:
    assert from_doses(PFIZER, 1170, Unit.VIAL) == 195
    assert from_doses(PFIZER, 1170, Unit.PACK) == 1
    assert to_doses(PFIZER, 1, Unit.SHIPPER) == 5850


def test_non_whole_conversion_is_refused_unless_rounding_is_asked() -> None:
    with pytest.raises(DoseflowError) as exc:
        from_doses(PFIZER, 1171, Unit.PACK)
    assert exc.value.code == "UNIT_NOT_WHOLE"
    assert exc.value.detail.value == 1171
    assert from_doses(PFIZER, 1171, Unit.PACK, Rounding.DOWN) == 1
    assert from_doses(PFIZER, 1171, Unit.PACK, Rounding.UP) == 2


def test_shipper_needs_a_shipper_size() -> None:
    product = Product("AZ", "AZ", "SII", 2, TemperatureBand.CHILLED, 180, 10, 2400)
    with pytest.raises(DoseflowError) as exc:
        to_doses(product, 1, Unit.SHIPPER)
    assert exc.value.code == "UNIT_UNKNOWN_SHIPPER"


def test_pack_must_be_whole_vials() -> None:
    with pytest.raises(DoseflowError) as exc:
        Product("X", "X", "M", 2, TemperatureBand.CHILLED, 180, 10, 2405)
    assert exc.value.code == "PRODUCT_PACK_NOT_WHOLE_VIALS"
    assert exc.value.detail.location.field == "pack_doses"


def test_quantity_names_its_unit() -> None:
    assert str(express(PFIZER, 2340, Unit.PACK)) == "2 packs"
    assert str(Quantity(1, Unit.VIAL)) == "1 vial"
    assert full_courses(PFIZER, 1_992_000) == 996_000


def test_licence_territory_by_financing_or_iso3() -> None:
    sii = Product(
        "AZ-SII",
        "AZ",
        "SII",
        2,
        TemperatureBand.CHILLED,
        180,
        10,
        2400,
        licence_financing=frozenset({Financing.AMC}),
        licence_iso3=frozenset({"XKX"}),
    )
    assert sii.licensed_for("PRK", Financing.AMC)
    assert not sii.licensed_for("CAN", Financing.SELF_FINANCING)
    assert sii.licensed_for("XKX", Financing.SELF_FINANCING)
    assert PFIZER.licensed_for("CAN", Financing.SELF_FINANCING)


@given(st.integers(min_value=0, max_value=10**9))
def test_packs_and_remainder_add_up(doses: int) -> None:
    packs, rest = split_packs(PFIZER, doses)
    assert packs * PFIZER.pack_doses + rest == doses
    assert 0 <= rest < PFIZER.pack_doses
    assert round_down_to_packs(PFIZER, doses) == packs * PFIZER.pack_doses


def test_express_with_rest_shows_the_doses_left_over() -> None:
    q = express_with_rest(PFIZER, 12_285, Unit.VIAL)
    assert (q.amount, q.rest_doses) == (2_047, 3)
    assert str(q) == "2,047 vials + 3 doses"
    assert q.to_doses(PFIZER) == 12_285
    assert str(express_with_rest(PFIZER, 2_341, Unit.PACK)) == "2 packs + 1 dose"
    assert str(express_with_rest(PFIZER, 2_340, Unit.PACK)) == "2 packs"


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from(list(Unit)))
def test_express_with_rest_loses_no_dose(doses: int, unit: Unit) -> None:
    q = express_with_rest(PFIZER, doses, unit)
    assert q.to_doses(PFIZER) == doses
    assert 0 <= q.rest_doses < to_doses(PFIZER, 1, unit)
