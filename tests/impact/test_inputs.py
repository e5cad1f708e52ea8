"""Vaccines, strategies and rollouts."""

from __future__ import annotations

import numpy as np
import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.impact import (
    AgeBands,
    Delivery,
    DeliverySchedule,
    EfficacyMode,
    RateRollout,
    Strategy,
    VaccineProfile,
)


def test_leaky_and_all_or_nothing_strata() -> None:
    leaky = VaccineProfile("v", 0.6, 0.9).strata()
    assert leaky[0].share == 1.0
    assert leaky[0].susceptibility == pytest.approx(0.4)
    assert leaky[0].fatality == pytest.approx(0.1 / 0.4)
    aon = VaccineProfile("v", 0.6, 0.9, EfficacyMode.ALL_OR_NOTHING).strata()
    assert aon[0].share == pytest.approx(0.6)
    assert aon[0].susceptibility == 0.0
    assert aon[1].share == pytest.approx(0.4)
    assert aon[1].susceptibility == 1.0
    # overall protection against death is the same both ways
    assert 1 - aon[1].share * aon[1].fatality == pytest.approx(
        1 - leaky[0].susceptibility * leaky[0].fatality
    )


def test_bad_efficacy_error() -> None:
    with pytest.raises(DoseflowError) as err:
        VaccineProfile("AZ", 0.8, 0.5)
    assert err.value.code == "IMPACT_BAD_EFFICACY"
    assert "cannot be below" in str(err.value)
    assert err.value.detail.value == 0.5


def test_strategy_presets_and_groups() -> None:
    bands = AgeBands.uniform(10, 80)
    groups, _ = Strategy.parse("older-first").allocation(bands)
    assert groups[0] == (8,)
    assert groups[-1] == (1,)  # 10-19 holds people of 15 and over: included
    groups, _ = Strategy.parse("ordered:60+,20-59").allocation(bands)
    assert groups == [(6, 7, 8), (2, 3, 4, 5)]
    groups, w = Strategy.parse("weights:0,0,1,1,1,1,2,2,2").allocation(bands)
    assert groups == [(2, 3, 4, 5, 6, 7, 8)]
    assert w[8] == 2.0


def test_unknown_strategy_error() -> None:
    with pytest.raises(DoseflowError) as err:
        Strategy.parse("richest-first")
    assert err.value.code == "IMPACT_UNKNOWN_STRATEGY"
    assert "unknown vaccination strategy" in str(err.value)
    assert err.value.detail.value == "richest-first"


def test_overlapping_groups_are_a_bad_group() -> None:
    with pytest.raises(DoseflowError) as err:
        Strategy.parse("ordered:60+,50-69").allocation(AgeBands.uniform(10, 80))
    assert err.value.code == "IMPACT_BAD_GROUP"
    assert err.value.detail.value == "50-69"


def test_rate_rollout_gives_exactly_the_supply() -> None:
    doses = RateRollout(0.003, 0.25, start_day=10).daily_doses(1e6, 365)["vaccine"]
    assert doses[:10].sum() == 0
    assert doses.sum() == pytest.approx(0.25 * 1e6)
    assert doses.max() == pytest.approx(3000)


def test_schedule_is_administered_fifo_within_capacity() -> None:
    sched = DeliverySchedule(
        (Delivery(-5, "A", 4000), Delivery(1, "B", 1000), Delivery(2, "A", 500)),
        capacity_share=0.002,
    )
    doses = sched.daily_doses(1e6, 6)
    # day 0-1: the early A stock; day 2: B (arrived day 1) before A (arrived day 2)
    np.testing.assert_allclose(doses["A"], [2000, 2000, 500, 0, 0, 0])
    np.testing.assert_allclose(doses["B"], [0, 0, 1000, 0, 0, 0])
    total = doses["A"] + doses["B"]
    assert total.sum() == pytest.approx(5500)
    assert total.max() <= 2000


def test_negative_share_is_a_bad_parameter() -> None:
    with pytest.raises(DoseflowError) as err:
        RateRollout(-0.1, 0.2)
    assert err.value.code == "IMPACT_BAD_PARAMETER"
    assert err.value.detail.value == -0.1
