from __future__ import annotations

import numpy as np
import pytest

from doseflow.data.contacts import (
    CONTACT_BAND_LABELS,
    Setting,
    contact_matrix,
    countries_with_matrices,
    has_matrix,
)
from doseflow.data.deliveries import delivery_rows
from doseflow.data.population import AGE_BAND_LABELS, countries, country, population
from doseflow.domain.errors import DoseflowError


def test_north_korea_population_and_bands() -> None:
    prk = country("prk")
    assert prk.population == 25_778_815
    assert prk.population_by_age().sum() == pytest.approx(prk.population, rel=1e-4)
    assert len(AGE_BAND_LABELS) == 21
    assert 0.1 < prk.share_aged(60) < 0.2


def test_territories_have_totals_without_bands() -> None:
    # 244 rows, six of them listed twice (once without a code): 238 places
    assert len(countries()) == 238
    assert sum(c.has_age_bands for c in countries().values()) == 201
    assert population("TUV") == 11_792
    with pytest.raises(DoseflowError) as exc:
        country("XKX").population_by_age()
    assert exc.value.code == "DATA_NO_AGE_BANDS"


def test_unknown_iso3_names_the_value() -> None:
    with pytest.raises(DoseflowError) as exc:
        country("ZZZ")
    assert exc.value.code == "DATA_UNKNOWN_ISO3"
    assert exc.value.detail.value == "ZZZ"
    assert exc.value.detail.location.field == "iso3"


def test_loaded_once() -> None:
    assert countries() is countries()


def test_contact_matrices() -> None:
    assert len(countries_with_matrices()) == 152
    assert not has_matrix("PRK")
    m = contact_matrix("ALB", Setting.ALL)
    assert m.shape == (len(CONTACT_BAND_LABELS),) * 2
    assert m[0, 0] == pytest.approx(2.05166)
    parts = sum(
        contact_matrix("ALB", s)
        for s in (Setting.HOME, Setting.SCHOOL, Setting.WORK, Setting.OTHER)
    )
    assert np.allclose(parts, m, rtol=1e-3, atol=1e-3)
    with pytest.raises(DoseflowError) as exc:
        contact_matrix("PRK")
    assert exc.value.code == "DATA_NO_CONTACT_MATRIX"


def test_unicef_deliveries_parse() -> None:
    rows = list(delivery_rows())
    assert len(rows) == 7454
    afg = rows[0]
    assert afg.country_name == "Afghanistan"
    assert afg.total_doses == 124_800
    assert dict(afg.doses_by_channel) == {"COVAX": 124_800}
    assert any(r.country_name == "Humanitarian Buffer" for r in rows)


def test_rows_without_iso3_get_their_iso_code() -> None:
    assert country("REU").name == "Reunion"
    assert country("ESH").has_age_bands
    assert country("GUF").population == 298_682


#: UN WPP 2019, Serbia on 1 July 2020 "including Kosovo" (the UN's footnote), and Kosovo's
#: own total as bundled (Our World in Data): the two published figures.
WPP_SERBIA_WITH_KOSOVO = 8_737_370
KOSOVO = 1_932_774


def test_serbia_excludes_kosovo_so_both_count_each_person_once() -> None:
    srb, xkx = country("SRB"), country("XKX")
    assert xkx.population == KOSOVO
    assert srb.population == WPP_SERBIA_WITH_KOSOVO - KOSOVO == 6_804_596
    assert srb.population + xkx.population == WPP_SERBIA_WITH_KOSOVO


def test_serbia_age_bands_match_its_total_without_kosovo() -> None:
    """The WPP bands (which include Kosovo) scaled to Serbia's total without it."""
    import csv

    from doseflow.data.files import open_bundled

    with open_bundled("wpp2019_population_2020_by_age.csv") as fh:
        row = next(r for r in csv.DictReader(fh) if r["iso3"] == "SRB")
    published = np.array([int(v) for k, v in row.items() if k.startswith("pop_")])
    assert published.sum() == WPP_SERBIA_WITH_KOSOVO  # the file is as published
    bands = country("SRB").population_by_age()
    assert bands.sum() == country("SRB").population
    scaled = published * (country("SRB").population / published.sum())
    assert np.abs(bands - scaled).max() < 1  # largest remainder: within one person a band
    assert country("SRB").share_aged(60) == pytest.approx(
        published[12:].sum() / published.sum(), abs=1e-6
    )


def test_serbia_without_kosovo_matches_the_covax_forecast_as_data_sources_says() -> None:
    """docs/data-sources.md: the 3 Feb 2021 COVAX forecast gave Serbia 345,600 AstraZeneca
    doses, 2.54% of Serbia without Kosovo (as Brazil 10,672,800: 2.51%, Ukraine 2,215,200:
    2.53%), 1.98% of Serbia with Kosovo."""

    def cover(doses: int, people: int) -> str:
        return f"{doses / 2 / people:.2%}"

    assert cover(345_600, population("SRB")) == "2.54%"
    assert cover(345_600, WPP_SERBIA_WITH_KOSOVO) == "1.98%"
    assert cover(10_672_800, population("BRA")) == "2.51%"
    assert cover(2_215_200, population("UKR")) == "2.53%"
