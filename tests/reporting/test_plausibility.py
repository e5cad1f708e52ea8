"""Plausibility methods, with the DPR Korea case: 40,700 tests through 23 Sep 2021 (2021W38),
all negative, 94 ILI and 573 health workers tested in the last week."""

from __future__ import annotations

import math

import pytest
from scipy.stats import binom

from doseflow.reporting import (
    DEFAULT_SCHEMA,
    DataValue,
    Method,
    PlausibilityOptions,
    Strength,
    plausibility_flags,
)
from doseflow.reporting.plausibility import log_probability_at_most

from .conftest import make_hierarchy, north_korea_case, prk_weekly_tests


def flags_of(values: list[DataValue], method: Method) -> list:  # type: ignore[type-arg]
    options = PlausibilityOptions(methods=frozenset({method}))
    return plausibility_flags(values, DEFAULT_SCHEMA, make_hierarchy(), options)


def test_north_korea_zero_positives_is_flagged_with_its_probability() -> None:
    assert sum(prk_weekly_tests()) == 40_700
    (flag,) = flags_of(north_korea_case(0.01), Method.BINOMIAL_POSITIVITY)
    assert flag.participant == "PRK"
    assert flag.strength is Strength.HIGH
    assert (flag.first_period, flag.last_period) == ("2021W1", "2021W38")
    p = flag.figures["neighbour_positivity"]
    assert p == pytest.approx(0.01)
    expected = 40_700 * math.log10(1 - p)  # (1 - p)^n
    assert flag.figures["log10_probability"] == pytest.approx(expected)
    assert flag.figures["log10_probability"] == pytest.approx(
        binom.logpmf(0, 40_700, p) / math.log(10)
    )
    assert flag.score == pytest.approx(-expected)
    assert "40,700 people tested and 0 positive" in flag.explanation
    assert "(KOR, RUS) found 1.00% of tests positive" in flag.explanation
    assert "(1 − 0.0100)^40,700 ≈ 10^-177.6" in flag.explanation


def test_binomial_is_silent_when_neighbours_see_no_more_than_the_participant() -> None:
    assert flags_of(north_korea_case(0.0), Method.BINOMIAL_POSITIVITY) == []


def test_binomial_with_some_positives_matches_the_cdf() -> None:
    assert log_probability_at_most(3, 1_000, 0.01) == pytest.approx(binom.logcdf(3, 1_000, 0.01))
    assert log_probability_at_most(0, 100, 0.02) == pytest.approx(100 * math.log(0.98))
    # deep in the tail the log-space sum still works where the cdf underflows to 0
    deep = log_probability_at_most(5, 100_000, 0.05)
    assert math.isfinite(deep)
    assert deep < -1000


def test_robust_z_score_flags_the_last_week_drop() -> None:
    flags = flags_of(north_korea_case(0.01), Method.ROBUST_Z_SCORE)
    drop = [f for f in flags if f.participant == "PRK" and f.data_element == "people_tested"]
    assert [f.last_period for f in drop] == ["2021W38"]
    assert drop[0].score < -3.5
    history = prk_weekly_tests()[-27:-1]
    median = sorted(history)[13] / 2 + sorted(history)[12] / 2
    assert drop[0].figures["median"] == pytest.approx(median)


def test_robust_z_score_floor_keeps_flat_small_counts_quiet() -> None:
    values = [DataValue("PRK", "PRK", f"2021W{w}", "deaths", "default", 0) for w in range(1, 20)]
    values.append(DataValue("PRK", "PRK", "2021W20", "deaths", "default", 2))
    assert flags_of(values, Method.ROBUST_Z_SCORE) == []
    values[-1] = DataValue("PRK", "PRK", "2021W20", "deaths", "default", 40)
    (flag,) = flags_of(values, Method.ROBUST_Z_SCORE)
    assert flag.score == pytest.approx(40.0)
    assert flag.strength is Strength.HIGH


def _adm(org_unit: str, period: str, n: float, cat: str = "dose=dose1,group=general") -> DataValue:
    return DataValue("PRK", org_unit, period, "doses_administered", cat, n)


def test_administered_exceeding_received() -> None:
    values = [
        DataValue("PRK", "PRK-RYG", "202108", "doses_received", "default", 10_000),
        _adm("PRK-RYG", "202108", 6_000),
        _adm("PRK-RYG", "202109", 5_000),
    ]
    (flag,) = flags_of(values, Method.ADMINISTERED_EXCEEDS_RECEIVED)
    assert (flag.org_unit, flag.first_period, flag.last_period) == ("PRK-RYG", "202109", "202109")
    assert flag.score == pytest.approx(0.1)
    assert flag.strength is Strength.MEDIUM
    assert "11,000 doses administered up to 202109 but only 10,000 doses received" in (
        flag.explanation
    )


def test_coverage_above_100_percent_uses_population() -> None:
    values = [_adm("PRK-RYG", "202108", 500_000), _adm("PRK-RYG", "202109", 300_000)]
    values.append(_adm("PRK-RYG", "202109", 900_000, "dose=dose2,group=general"))  # not dose 1
    (flag,) = flags_of(values, Method.COVERAGE_ABOVE_100)
    assert flag.score == pytest.approx(800_000 / 719_269)
    assert flag.first_period == "202109"
    assert flag.strength is Strength.MEDIUM
    assert "111.2% of its population of 719,269" in flag.explanation


def test_illness_without_tests() -> None:
    values = [
        DataValue("PRK", "PRK-SPY", "2021W38", "ili_cases", "default", 94),
        DataValue("PRK", "PRK-RYG", "2021W38", "sari_cases", "default", 3),
        DataValue("PRK", "PRK-RYG", "2021W38", "people_tested", "default", 0),
        DataValue("PRK", "PRK", "2021W38", "ili_cases", "default", 94),
        DataValue("PRK", "PRK", "2021W38", "people_tested", "default", 667),
    ]
    flags = {f.org_unit: f for f in flags_of(values, Method.ILLNESS_WITHOUT_TESTS)}
    assert set(flags) == {"PRK-SPY", "PRK-RYG"}
    assert flags["PRK-RYG"].strength is Strength.HIGH  # zero tests reported
    assert flags["PRK-SPY"].strength is Strength.MEDIUM  # no test figure at all
    assert "reported 94 influenza-like illness or SARI cases" in flags["PRK-SPY"].explanation


def test_part_exceeds_whole() -> None:
    values = [
        DataValue("PRK", "PRK", "2021W38", "people_tested", "default", 500),
        DataValue("PRK", "PRK", "2021W38", "health_workers_tested", "default", 573),
    ]
    (flag,) = flags_of(values, Method.PART_EXCEEDS_WHOLE)
    assert flag.score == pytest.approx(573 / 500)
    assert "573 health workers tested in 2021W38 but only 500 people tested" in flag.explanation
    # the real figures (573 health workers among 667 tested) raise nothing
    values[0] = DataValue("PRK", "PRK", "2021W38", "people_tested", "default", 667)
    assert flags_of(values, Method.PART_EXCEEDS_WHOLE) == []


def test_all_methods_together_rank_strongest_first() -> None:
    flags = plausibility_flags(north_korea_case(0.01), DEFAULT_SCHEMA, make_hierarchy())
    assert flags[0].strength is Strength.HIGH
    rank = {Strength.HIGH: 0, Strength.MEDIUM: 1, Strength.LOW: 2}
    assert [rank[f.strength] for f in flags] == sorted(rank[f.strength] for f in flags)
    assert {f.method for f in flags} >= {Method.BINOMIAL_POSITIVITY, Method.ROBUST_Z_SCORE}
    assert all(f.to_dict()["method"] == f.method.value for f in flags)
