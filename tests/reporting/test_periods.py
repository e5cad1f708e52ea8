from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseflow.domain.errors import DoseflowError
from doseflow.reporting import PeriodType, parse_period, period_of, periods_between


def test_dhis2_and_adx_notations() -> None:
    week = parse_period("2021W38")
    assert (week.start, week.end) == (date(2021, 9, 20), date(2021, 9, 26))
    assert week.adx == "2021-09-20/P7D"
    assert parse_period("2021-W38") == week == parse_period("2021-09-20/P7D")
    assert parse_period("2021-09-20/P1W") == week
    month = parse_period("202109")
    assert month.code == "202109"
    assert month.adx == "2021-09-01/P1M"
    assert month.end == date(2021, 9, 30)
    assert parse_period("2021-09") == month == parse_period("2021-09-01/P1M")
    assert parse_period("2021W1").code == "2021W1"


def test_iso_week_53_and_year_boundaries() -> None:
    w53 = parse_period("2020W53")
    assert w53.next().code == "2021W1"
    assert parse_period("2021W1").previous() == w53
    assert parse_period("202101").previous().code == "202012"
    assert [p.code for p in periods_between(parse_period("202111"), parse_period("202202"))] == [
        "202111",
        "202112",
        "202201",
        "202202",
    ]


@pytest.mark.parametrize("text", ["2021W54", "202113", "2021-09-21/P7D", "last week", "2021W"])
def test_bad_period(text: str) -> None:
    with pytest.raises(DoseflowError) as exc:
        parse_period(text)
    assert exc.value.code == "REPORT_BAD_PERIOD"
    assert exc.value.detail.value == text
    assert "period" in exc.value.detail.message


@settings(max_examples=60, deadline=None)
@given(
    st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)), st.sampled_from(PeriodType)
)
def test_every_day_lies_in_its_period_and_codes_round_trip(day: date, kind: PeriodType) -> None:
    period = period_of(day, kind)
    assert period.contains(day)
    assert parse_period(period.code) == period
    assert parse_period(period.adx) == period
    assert (period.next().start - period.end).days == 1
