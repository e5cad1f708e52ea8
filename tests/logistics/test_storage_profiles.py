"""Storage profiles: the bundled table, lookups, volumes and user-supplied profiles."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.domain.product import Product
from doseflow.domain.temperature import TemperatureBand as B
from doseflow.logistics import (
    bundled_profiles,
    load_network_file,
    load_profiles,
    reference_product,
    storage_cm3_per_dose,
    storage_litres,
    storage_profile,
    transport_cm3_per_dose,
)


def test_bundled_bands_match_the_product_information() -> None:
    table = bundled_profiles()
    pfizer = table.require("PFIZER-BNT")
    assert pfizer.long_term is B.ULTRA_COLD
    assert pfizer.days_in(B.CHILLED) == 31
    assert math.isinf(pfizer.days_in(B.ULTRA_COLD))
    moderna = table.require("Spikevax")
    assert (moderna.long_term, moderna.days_in(B.CHILLED)) == (B.FROZEN, 30)
    assert not moderna.tolerates(B.ULTRA_COLD)
    for name in ("AstraZeneca", "Janssen", "Sinovac", "Sinopharm"):
        profile = table.require(name)
        assert profile.long_term is B.CHILLED, name
        assert not profile.tolerates(B.FROZEN), name  # freezing destroys them


def test_every_bundled_presentation_has_a_volume_and_a_source() -> None:
    for profile in bundled_profiles().profiles.values():
        assert profile.volumes, profile.product
        for packed in profile.volumes:
            assert 0 < packed.storage_cm3 <= packed.transport_cm3
            assert packed.source
            assert packed.pack_doses
            assert packed.pack_doses % packed.doses_per_vial == 0


def _product(code: str, doses_per_vial: int, band: B = B.CHILLED) -> Product:
    return Product(code, code, "x", 2, band, 180, doses_per_vial, doses_per_vial * 10)


def test_lookup_by_code_name_or_alias_and_volume_by_presentation() -> None:
    covishield = _product("COVISHIELD", 10)
    assert storage_profile(covishield).product == "AZ"
    assert storage_cm3_per_dose(covishield) == 2.5
    assert transport_cm3_per_dose(covishield) == 7.5
    assert storage_litres(covishield, 10_000) == pytest.approx(25.0)
    assert storage_cm3_per_dose(_product("AZ", 8)) == 3.1


def test_unknown_product_falls_back_to_its_own_band_without_excursions() -> None:
    profile = storage_profile(_product("MYSTERY", 10, B.FROZEN))
    assert profile.long_term is B.FROZEN
    assert profile.bands == (B.FROZEN,)


def test_no_volume_for_an_unknown_presentation() -> None:
    with pytest.raises(DoseflowError) as exc:
        storage_cm3_per_dose(_product("AZ", 20))
    assert exc.value.code == "LOGISTICS_NO_VOLUME"
    assert exc.value.detail.value == 20
    assert "20-dose vials" in exc.value.detail.message


def test_unknown_product_code_is_an_error_where_a_profile_is_required() -> None:
    with pytest.raises(DoseflowError) as exc:
        reference_product("SPUTNIK")
    assert exc.value.code == "LOGISTICS_UNKNOWN_PRODUCT"
    assert exc.value.detail.value == "SPUTNIK"
    assert "PFIZER-BNT" in (exc.value.detail.expected or "")


NET_WITH_PROFILES = """\
nodes:
  - {code: SUP, kind: supplier, capacity_litres: {2-8: 10}, products: [MYVAX]}
lanes: []
storage_profiles:
  - product: MYVAX
    label: Myvax
    long_term: 2-8
    allowed_days: {ambient: 2}
    presentations:
      - {doses_per_vial: 10, pack_doses: 500, storage_cm3_per_dose: 2.0,
         transport_cm3_per_dose: 6.0}
  - product: AZ
    long_term: 2-8
    presentations:
      - {doses_per_vial: 10, storage_cm3_per_dose: 4.0, transport_cm3_per_dose: 9.0}
"""


def test_network_file_adds_and_overrides_profiles(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(NET_WITH_PROFILES)
    loaded = load_network_file(path)
    table = loaded.profile_table()
    myvax = table.require("MYVAX")
    assert (myvax.short, myvax.days_in(B.AMBIENT), myvax.user_supplied) == ("Myvax", 2, True)
    assert storage_cm3_per_dose(_product("AZ", 10), table) == 4.0
    assert loaded.suppliers_of(myvax) == ("SUP",)
    assert reference_product("MYVAX", table=table).pack_doses == 500


def test_profile_csv_file(tmp_path: Path) -> None:
    path = tmp_path / "profiles.csv"
    path.write_text(
        "product,long_term,days_2_8,doses_per_vial,storage_cm3_per_dose,transport_cm3_per_dose\n"
        "FRZ,frozen,20,10,2,6\n"
        "FRZ,frozen,20,5,4,12\n"
    )
    (profile,) = load_profiles(path)
    assert profile.days_in(B.CHILLED) == 20
    assert profile.volume(5).storage_cm3 == 4


def test_duplicate_profile(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "- {product: X, long_term: 2-8}\n"
        "- {product: Y, long_term: 2-8}\n"
        "- {product: X, long_term: frozen}\n"
    )
    with pytest.raises(DoseflowError) as exc:
        load_profiles(path)
    detail = exc.value.detail
    assert (detail.code, detail.value, detail.location.line) == (
        "LOGISTICS_DUPLICATE_PROFILE",
        "X",
        3,
    )
    assert "first at line 1" in detail.message


def test_bad_profile_limits_its_own_long_term_band(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("storage_profiles:\n  - {product: X, long_term: 2-8, allowed_days: {2-8: 5}}\n")
    with pytest.raises(DoseflowError) as exc:
        load_profiles(path)
    detail = exc.value.detail
    assert (detail.code, detail.value, detail.location.line) == ("LOGISTICS_BAD_PROFILE", "2-8", 2)
