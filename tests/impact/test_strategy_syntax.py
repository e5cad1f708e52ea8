"""Strategy syntax: groups as any set of bands, 'rest', the presets' adult threshold, spill."""

from __future__ import annotations

import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.impact import AgeBands, Strategy
from doseflow.impact.strategy import SpillPolicy, split_strategies

TEN = AgeBands.uniform(10, 80)  # 0-9 ... 80+


def test_group_of_several_ranges_and_rest() -> None:
    groups, _ = Strategy.parse("ordered:[0-19,60+],20-59").allocation(TEN)
    assert groups == [(0, 1, 6, 7, 8), (2, 3, 4, 5)]
    groups, _ = Strategy.parse("ordered:20-49,rest").allocation(TEN)
    assert groups == [(2, 3, 4), (0, 1, 5, 6, 7, 8)]


def test_overlap_inside_a_bracket_group_is_refused() -> None:
    with pytest.raises(DoseflowError) as err:
        Strategy.parse("ordered:[20-59,40-49]").allocation(TEN)
    assert err.value.code == "IMPACT_BAD_GROUP"


def test_rest_with_nothing_left_is_refused() -> None:
    with pytest.raises(DoseflowError) as err:
        Strategy.parse("ordered:0-39,40+,rest").allocation(TEN)
    assert err.value.code == "IMPACT_BAD_GROUP"


@pytest.mark.parametrize("text", ["ordered:[60+", "ordered:60+,,20-59", "older-first;spill=x"])
def test_unreadable_strategies(text: str) -> None:
    with pytest.raises(DoseflowError) as err:
        Strategy.parse(text)
    assert err.value.code == "IMPACT_UNKNOWN_STRATEGY"
    assert err.value.detail.value == text


def test_presets_include_a_band_straddling_the_threshold() -> None:
    """10-year bands and the default threshold 15: 10-19 holds 15-19 year olds, so it is in
    (it was silently left out when the rule was 'bands starting at 15 or older')."""
    groups, _ = Strategy.parse("proportional").allocation(TEN)
    assert groups == [(1, 2, 3, 4, 5, 6, 7, 8)]
    groups, _ = Strategy.parse("older-first").allocation(TEN)
    assert groups[-1] == (1,)
    groups, _ = Strategy.parse("proportional;from=20").allocation(TEN)
    assert groups == [(2, 3, 4, 5, 6, 7, 8)]
    five = AgeBands.uniform(5, 75)
    groups, _ = Strategy.parse("proportional").allocation(five)
    assert groups == [tuple(range(3, 16))]  # 15-19 upward, as before


def test_spill_everyone_adds_the_unlisted_bands_last() -> None:
    st = Strategy.parse("ordered:60+;spill=everyone")
    assert st.spill is SpillPolicy.EVERYONE
    groups, _ = st.allocation(TEN)
    assert groups == [(6, 7, 8), (0, 1, 2, 3, 4, 5)]
    assert st.spill_bands(TEN) == (0, 1, 2, 3, 4, 5)
    assert Strategy.parse("ordered:60+").spill_bands(TEN) == ()
    groups, w = Strategy.parse("weights:0,0,1,1,1,1,2,2,2;spill=everyone").allocation(TEN)
    assert groups[-1] == (0, 1)
    assert list(w[:2]) == [1.0, 1.0]


def test_split_strategies_keeps_commas_inside_a_strategy() -> None:
    text = "older-first,ordered:60+,40-59,proportional,ordered:[0-19,60+],rest;spill=everyone"
    assert split_strategies(text) == [
        "older-first",
        "ordered:60+,40-59",
        "proportional",
        "ordered:[0-19,60+],rest;spill=everyone",
    ]
    assert split_strategies("weights:0,1,2,younger-first") == ["weights:0,1,2", "younger-first"]


def test_from_applies_to_presets_only() -> None:
    """An adult threshold on an ``ordered:`` rule would be ignored: it is refused instead."""
    with pytest.raises(DoseflowError) as err:
        Strategy.parse("ordered:60+;from=18")
    assert err.value.code == "IMPACT_UNKNOWN_STRATEGY"
    assert "presets only" in str(err.value)
    assert Strategy.parse("younger-first;from=18").min_age == 18
