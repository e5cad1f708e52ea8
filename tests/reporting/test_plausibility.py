"""Plausibility methods, with the DPR Korea case: 40,700 tests through 23 Sep 2021 (2021W38),
all negative, 94 ILI and 573 health workers tested in the last week."""

from __future__ import annotations

import math
import statistics

import pytest
from scipy.special import betaln
from scipy.stats import betabinom, binom

from doseflow.reporting import (
    DEFAULT_SCHEMA,
    DataValue,
    Hierarchy,
    Method,
    OrgUnit,
    PlausibilityOptions,
    Strength,
    build_hierarchy,
    check_plausibility,
    national_hierarchy,
    plausibility_flags,
)
from doseflow.reporting.plausibility import (
    PositivityModel,
    fit_positivity,
    format_probability,
    log_probability_at_most,
)

from .conftest import make_hierarchy, north_korea_case, prk_weekly_tests


def flags_of(values: list[DataValue], method: Method) -> list:  # type: ignore[type-arg]
    options = PlausibilityOptions(methods=frozenset({method}))
    return plausibility_flags(values, DEFAULT_SCHEMA, make_hierarchy(), options)


def test_north_korea_zero_positives_is_flagged_with_its_probability() -> None:
    """Neighbours at exactly 1 % every week show no spread: the model is the binomial."""
    assert sum(prk_weekly_tests()) == 40_700
    (flag,) = flags_of(north_korea_case(0.01), Method.BETA_BINOMIAL_POSITIVITY)
    assert flag.participant == "PRK"
    assert flag.strength is Strength.HIGH
    assert (flag.first_period, flag.last_period) == ("2021W1", "2021W38")
    p = flag.figures["neighbour_positivity"]
    assert p == pytest.approx(0.01)
    assert flag.figures["dispersion"] == 0.0
    assert "alpha" not in flag.figures
    expected = 40_700 * math.log10(1 - p)  # (1 - p)^n
    assert flag.figures["log10_probability"] == pytest.approx(expected)
    assert flag.figures["log10_probability"] == pytest.approx(
        binom.logpmf(0, 40_700, p) / math.log(10)
    )
    assert flag.score == pytest.approx(-expected)
    assert "40,700 people tested and 0 positive" in flag.explanation
    assert "(KOR, RUS) found 1.00% of tests positive" in flag.explanation
    assert "P = (1 − 0.010000)^40,700 = 2.3e-178 (10^-177.65)" in flag.explanation


def test_binomial_is_silent_when_neighbours_see_no_more_than_the_participant() -> None:
    assert flags_of(north_korea_case(0.0), Method.BETA_BINOMIAL_POSITIVITY) == []


BINOMIAL_1PCT = PositivityModel(0.01, 0.0, 10, None, None)
BINOMIAL_2PCT = PositivityModel(0.02, 0.0, 10, None, None)
BINOMIAL_5PCT = PositivityModel(0.05, 0.0, 10, None, None)


def test_binomial_with_some_positives_matches_the_cdf() -> None:
    assert log_probability_at_most(3, 1_000, BINOMIAL_1PCT) == pytest.approx(
        binom.logcdf(3, 1_000, 0.01)
    )
    assert log_probability_at_most(0, 100, BINOMIAL_2PCT) == pytest.approx(100 * math.log(0.98))
    # deep in the tail the log-space sum still works where the cdf underflows to 0
    deep = log_probability_at_most(5, 100_000, BINOMIAL_5PCT)
    assert math.isfinite(deep)
    assert deep < -1000


def test_beta_binomial_matches_scipy_and_the_closed_form_for_zero() -> None:
    model = PositivityModel(0.05, 0.03, 40, 2.5, 47.5)
    assert log_probability_at_most(7, 400, model) == pytest.approx(
        betabinom.logcdf(7, 400, 2.5, 47.5)
    )
    # k = 0: B(α, β + n) / B(α, β) = Π (β + i) / (α + β + i)
    by_hand = sum(math.log((47.5 + i) / (50 + i)) for i in range(300))
    assert log_probability_at_most(0, 300, model) == pytest.approx(by_hand)


def test_method_of_moments_fit_recovers_mean_and_spread() -> None:
    rates = [0.01, 0.03, 0.05, 0.07, 0.09] * 4
    tests = [10**9] * len(rates)  # sampling noise negligible
    model = fit_positivity(tests, [r * n for r, n in zip(rates, tests, strict=True)])
    assert model.mean == pytest.approx(0.05)
    sd = statistics.stdev(rates)
    assert model.sd == pytest.approx(sd, rel=1e-6)
    assert model.alpha is not None
    assert model.beta is not None
    a, b = model.alpha, model.beta
    assert a / (a + b) == pytest.approx(0.05)
    assert a * b / ((a + b) ** 2 * (a + b + 1)) == pytest.approx(sd**2, rel=1e-6)
    # rates that differ by no more than binomial noise: the binomial
    steady = fit_positivity([1000, 1000, 1000], [10, 11, 9])
    assert steady.alpha is None
    assert steady.dispersion == 0.0


def _bump(week: int, peak: int, height: float, width: float = 3.0) -> float:
    return 0.004 + height * math.exp(-(((week - peak) / width) ** 2))


def _wave_hierarchy() -> Hierarchy:
    return build_hierarchy(
        [OrgUnit(c, c, c) for c in ("AAA", "BBB", "CCC", "DDD")], {"AAA": ["BBB", "CCC", "DDD"]}
    )


def _series(country: str, tests: list[int], positives: list[int]) -> list[DataValue]:
    out: list[DataValue] = []
    for week, (n, k) in enumerate(zip(tests, positives, strict=True), start=1):
        out.append(DataValue(country, country, f"2021W{week}", "people_tested", "default", n))
        out.append(DataValue(country, country, f"2021W{week}", "positives", "default", k))
    return out


def test_an_epidemic_wave_in_the_neighbours_raises_no_flag() -> None:
    """Three neighbours go through a wave at different times and heights (positivity from
    0.4 % to 30 %); the participant's own smaller wave peaks at 3.4 %. Its positivity is below
    the neighbours' pooled rate, which a binomial calls impossible (P < 10^-100), but
    countries' positivity spreads that widely in a wave: no flag."""
    weeks = range(1, 21)
    values: list[DataValue] = []
    for country, peak, height, n in (
        ("BBB", 8, 0.22, 150_000),
        ("CCC", 11, 0.12, 400_000),
        ("DDD", 14, 0.30, 60_000),
        ("AAA", 12, 0.03, 2_000),
    ):
        tests = [n for _ in weeks]
        values += _series(country, tests, [round(n * _bump(w, peak, height)) for w in weeks])
    options = PlausibilityOptions(methods=frozenset({Method.BETA_BINOMIAL_POSITIVITY}))
    report = check_plausibility(values, DEFAULT_SCHEMA, _wave_hierarchy(), options)
    assert [f.participant for f in report.flags] == []
    # what the pooled binomial said of the same figures
    loose = PlausibilityOptions(positivity_alpha=1.0, methods=options.methods)
    (shown,) = check_plausibility(values, DEFAULT_SCHEMA, _wave_hierarchy(), loose).flags
    k, n = int(shown.figures["positives"]), int(shown.figures["tests"])
    pooled = PositivityModel(shown.figures["neighbour_positivity"], 0.0, 60, None, None)
    assert log_probability_at_most(k, n, pooled) / math.log(10) < -100
    assert shown.figures["log10_probability"] > -2
    assert shown.figures["dispersion"] > 0.05


def test_zeros_against_steadily_positive_neighbours_are_flagged() -> None:
    """Neighbours find 5-9 % of tests positive every week (varying, as real ones do); the
    participant reports 40,700 tests over 38 weeks, all negative: flagged high even with the
    neighbours' spread allowed for."""
    values: list[DataValue] = []
    for country, base, n in (("BBB", 0.05, 200_000), ("CCC", 0.07, 90_000), ("DDD", 0.06, 30_000)):
        rates = [base + 0.02 * math.sin(w * 1.3 + len(country)) for w in range(38)]
        values += _series(country, [n] * 38, [round(n * r) for r in rates])
    values += _series("AAA", prk_weekly_tests(), [0] * 38)
    options = PlausibilityOptions(methods=frozenset({Method.BETA_BINOMIAL_POSITIVITY}))
    (flag,) = check_plausibility(values, DEFAULT_SCHEMA, _wave_hierarchy(), options).flags
    assert flag.participant == "AAA"
    assert flag.strength is Strength.HIGH
    a, b = flag.figures["alpha"], flag.figures["beta"]
    by_hand = (betaln(a, b + 40_700) - betaln(a, b)) / math.log(10)
    assert flag.figures["log10_probability"] == pytest.approx(by_hand)
    assert by_hand < -6
    # the explanation prints what a reader needs to recompute it
    assert f"α = {a:.6g}, β = {b:.6g}" in flag.explanation
    assert "B(α, β + 40,700) / B(α, β)" in flag.explanation
    assert f"(10^{by_hand:.2f})" in flag.explanation


def test_probabilities_are_written_from_their_logarithm() -> None:
    assert format_probability(-206.3) == "5.0e-207 (10^-206.30)"
    assert format_probability(-2.0) == "0.0100 (10^-2.00)"
    assert format_probability(-399.99999) == "1.0e-400 (10^-400.00)"  # rounds up a decade
    assert format_probability(math.log10(3.2e-7)) == "3.2e-7 (10^-6.49)"


def test_a_hierarchy_without_neighbours_says_why_nothing_was_compared() -> None:
    report = check_plausibility(north_korea_case(0.01), DEFAULT_SCHEMA, national_hierarchy())
    assert not [f for f in report.flags if f.method is Method.BETA_BINOMIAL_POSITIVITY]
    assert any(
        "beta_binomial_positivity not checked for KOR, PRK, RUS" in n and "names no neighbours" in n
        for n in report.notes
    )
    # neighbours named but silent
    lonely = [v for v in north_korea_case(0.01) if v.participant == "PRK"]
    notes = check_plausibility(lonely, DEFAULT_SCHEMA, make_hierarchy()).notes
    assert notes == (
        "beta_binomial_positivity not checked for PRK: none of their neighbours reported tests",
    )
    assert check_plausibility([], DEFAULT_SCHEMA, make_hierarchy()).notes[0] == (
        "no reported values to check"
    )


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
    assert {f.method for f in flags} >= {Method.BETA_BINOMIAL_POSITIVITY, Method.ROBUST_Z_SCORE}
    assert all(f.to_dict()["method"] == f.method.value for f in flags)
