"""Issue 14: the one rule that cuts instants into civil days and periods at a place."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseflow.domain.time_zone import day_span, day_start, local_date
from doseflow.reporting.periods import PeriodType, parse_period, period_bounds, period_of

PYONGYANG = ZoneInfo("Asia/Pyongyang")
BERLIN = ZoneInfo("Europe/Berlin")
SANTIAGO = ZoneInfo("America/Santiago")
#: zones with DST, odd offsets, both sides of the date line, a midnight DST gap
ZONES = [
    "UTC",
    "Asia/Pyongyang",
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "Asia/Kathmandu",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Australia/Lord_Howe",
]


def test_june_in_pyongyang_ends_at_15_utc() -> None:
    start, end = period_bounds(parse_period("202106"), PYONGYANG)
    assert start == datetime(2021, 5, 31, 15, tzinfo=UTC)
    assert end == datetime(2021, 6, 30, 15, tzinfo=UTC)
    received = datetime(2021, 6, 30, 22, tzinfo=UTC)  # 07:00 on 1 July in Pyongyang
    assert not start <= received < end
    assert local_date(received, PYONGYANG) == date(2021, 7, 1)


def test_a_european_month_follows_daylight_saving_time() -> None:
    # March 2021 starts in winter time (UTC+1) and ends in summer time (UTC+2)
    assert period_bounds(parse_period("202103"), BERLIN) == (
        datetime(2021, 2, 28, 23, tzinfo=UTC),
        datetime(2021, 3, 31, 22, tzinfo=UTC),
    )
    # October 2021 is one hour longer: the clocks go back on the 31st
    start, end = period_bounds(parse_period("202110"), BERLIN)
    assert end - start == timedelta(days=31, hours=1)
    # ISO week 12 of 2021 (22-28 March) holds the spring change: 167 hours
    start, end = period_bounds(parse_period("2021W12"), BERLIN)
    assert end - start == timedelta(days=7, hours=-1)
    # 00:30 on 1 April in Berlin (summer time) is 22:30 UTC on 31 March: April there
    assert local_date(datetime(2021, 3, 31, 22, 30, tzinfo=UTC), BERLIN) == date(2021, 4, 1)
    # 23:30 on 31 October in Berlin (winter time again) is 22:30 UTC: still October
    assert local_date(datetime(2021, 10, 31, 22, 30, tzinfo=UTC), BERLIN) == date(2021, 10, 31)


def test_a_day_whose_midnight_is_skipped_starts_when_the_clocks_jump() -> None:
    # Chile moved its clocks from 00:00 to 01:00 on 5 September 2021: the day begins at
    # 04:00 UTC (23:59:59 -04 on the 4th is its last second before)
    start = day_start(date(2021, 9, 5), SANTIAGO)
    assert start == datetime(2021, 9, 5, 4, tzinfo=UTC)
    assert local_date(start, SANTIAGO) == date(2021, 9, 5)
    assert local_date(start - timedelta(seconds=1), SANTIAGO) == date(2021, 9, 4)
    assert day_span(date(2021, 9, 5), date(2021, 9, 5), SANTIAGO)[1] - start == timedelta(hours=23)


instants = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=datetime(2037, 12, 30), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(
    moment=instants,
    zone=st.sampled_from(ZONES),
    kind=st.sampled_from(list(PeriodType)),
)
def test_every_instant_falls_in_exactly_the_period_of_its_local_date(
    moment: datetime, zone: str, kind: PeriodType
) -> None:
    tz = ZoneInfo(zone)
    period = period_of(local_date(moment, tz), kind)
    start, end = period_bounds(period, tz)
    assert start <= moment < end
    # periods tile time with neither gap nor overlap
    assert period_bounds(period.next(), tz)[0] == end
    assert period_bounds(period.previous(), tz)[1] == start


@pytest.mark.parametrize("zone", ZONES)
def test_a_year_of_months_spans_the_year(zone: str) -> None:
    tz = ZoneInfo(zone)
    months = [parse_period(f"2021{m:02d}") for m in range(1, 13)]
    total = sum(((e - s) for s, e in (period_bounds(p, tz) for p in months)), start=timedelta(0))
    first, last = period_bounds(months[0], tz)[0], period_bounds(months[-1], tz)[1]
    assert total == last - first
