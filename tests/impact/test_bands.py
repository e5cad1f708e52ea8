from __future__ import annotations

import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.impact import AgeBands


def test_parse_ranges_and_bounds_agree() -> None:
    assert AgeBands.parse("0-17,18-59,60+") == AgeBands((0, 18, 60))
    assert AgeBands.parse("0,18,60").labels == ("0-17", "18-59", "60+")


def test_select_group_of_whole_bands() -> None:
    bands = AgeBands.uniform(10, 80)
    assert bands.select("60+") == (6, 7, 8)
    assert bands.select("20-39") == (2, 3)


def test_five_year_index_maps_every_wpp_band() -> None:
    index = AgeBands.uniform(10, 80).index_of_five_year()
    assert len(index) == 21
    assert index[0] == index[1] == 0
    assert index[-1] == 8


def test_bad_bands_error() -> None:
    with pytest.raises(DoseflowError) as err:
        AgeBands.parse("0-17,19-59,60+")
    assert err.value.code == "IMPACT_BAD_BANDS"
    assert "cannot read age bands" in str(err.value)
    assert err.value.detail.value == "0-17,19-59,60+"


def test_bands_not_aligned_error() -> None:
    with pytest.raises(DoseflowError) as err:
        AgeBands((0, 18, 60)).index_of_five_year()
    assert err.value.code == "IMPACT_BANDS_NOT_ALIGNED"
    assert "multiples of 5" in str(err.value)
    assert err.value.detail.value == 18


def test_bad_group_error() -> None:
    with pytest.raises(DoseflowError) as err:
        AgeBands.uniform(10, 80).select("65+")
    assert err.value.code == "IMPACT_BAD_GROUP"
    assert "band boundaries" in str(err.value)
    assert err.value.detail.value == "65+"
