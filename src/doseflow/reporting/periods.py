"""Reporting periods: ISO weeks and calendar months, in DHIS2 and ADX notation.

Reports are owed per ISO week (weekly surveillance) or per calendar month (distribution,
administration, wastage). A period is written the way DHIS2 writes it (``2021W38``,
``202109``) everywhere in doseflow, and as an ISO 8601 interval (``2021-09-20/P7D``,
``2021-09-01/P1M``) in ADX files.

A period is a run of civil days; where it begins and ends in time depends on where the
stock is: :func:`period_bounds` gives its instants in a time zone (local midnight of its
first day to local midnight after its last), by the one rule of
:func:`doseflow.domain.time_zone.day_start` that the ledger views use too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum
from functools import cache

from doseflow.domain.errors import DoseflowError
from doseflow.domain.time_zone import day_span


class PeriodType(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"


_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$")
_MONTH = re.compile(r"^(\d{4})-?(\d{2})$")
# ADX periods are SDMX TimeRangeType: a start date or date-time, '/', an ISO 8601 duration.
_ADX = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?)?"
    r"/P(7D|1W|1M)$"
)

PERIOD_FORMS = "an ISO week like 2021W38 or a month like 202109"


@dataclass(frozen=True, order=True)
class Period:
    """One ISO week or calendar month. Ordered by type, then time."""

    type: PeriodType
    year: int
    number: int  # ISO week number (1-53) or month (1-12)

    @property
    def code(self) -> str:
        """DHIS2 notation: ``2021W38`` for a week, ``202109`` for a month."""
        if self.type is PeriodType.WEEKLY:
            return f"{self.year}W{self.number}"
        return f"{self.year}{self.number:02d}"

    @property
    def start(self) -> date:
        if self.type is PeriodType.WEEKLY:
            return date.fromisocalendar(self.year, self.number, 1)
        return date(self.year, self.number, 1)

    @property
    def end(self) -> date:
        """The last day of the period (inclusive)."""
        return self.next().start - timedelta(days=1)

    @property
    def adx(self) -> str:
        """ADX notation: the first day and an ISO 8601 duration."""
        duration = "P7D" if self.type is PeriodType.WEEKLY else "P1M"
        return f"{self.start.isoformat()}/{duration}"

    def next(self) -> Period:
        if self.type is PeriodType.WEEKLY:
            return period_of(self.start + timedelta(days=7), PeriodType.WEEKLY)
        if self.number == 12:
            return Period(PeriodType.MONTHLY, self.year + 1, 1)
        return Period(PeriodType.MONTHLY, self.year, self.number + 1)

    def previous(self) -> Period:
        if self.type is PeriodType.WEEKLY:
            return period_of(self.start - timedelta(days=7), PeriodType.WEEKLY)
        if self.number == 1:
            return Period(PeriodType.MONTHLY, self.year - 1, 12)
        return Period(PeriodType.MONTHLY, self.year, self.number - 1)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def __str__(self) -> str:
        return self.code


def period_of(day: date, period_type: PeriodType) -> Period:
    """The week or month that contains ``day``."""
    if period_type is PeriodType.WEEKLY:
        iso = day.isocalendar()
        return Period(PeriodType.WEEKLY, iso.year, iso.week)
    return Period(PeriodType.MONTHLY, day.year, day.month)


def period_bounds(period: Period, zone: tzinfo) -> tuple[datetime, datetime]:
    """The instants (UTC) ``period`` covers at a place in ``zone``: from local midnight of
    its first day (inclusive) to local midnight after its last day (exclusive). June 2021
    in Asia/Pyongyang is 2021-05-31T15:00Z to 2021-06-30T15:00Z."""
    return day_span(period.start, period.end, zone)


def periods_between(first: Period, last: Period) -> list[Period]:
    """Every period from ``first`` to ``last`` inclusive (same type), in order."""
    if first.type is not last.type:
        raise ValueError("periods_between needs two periods of the same type")
    found: list[Period] = []
    current = first
    while current <= last:
        found.append(current)
        current = current.next()
    return found


def _bad(text: str, field: str) -> DoseflowError:
    return DoseflowError(
        "REPORT_BAD_PERIOD",
        f"'{text}' is not a reporting period",
        field=field,
        expected=PERIOD_FORMS + " (or in ADX 2021-09-20/P7D, 2021-09-01/P1M)",
        value=text,
    )


@cache
def parse_period(text: str, field: str = "period") -> Period:
    """A period from DHIS2 notation (``2021W38``, ``202109``, also ``2021-W38``,
    ``2021-09``) or ADX notation (``2021-09-20/P7D``); ``REPORT_BAD_PERIOD`` otherwise."""
    cleaned = text.strip().upper()
    if m := _WEEK.match(cleaned):
        year, week = int(m.group(1)), int(m.group(2))
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise _bad(text, field) from None
        return Period(PeriodType.WEEKLY, year, week)
    if m := _MONTH.match(cleaned):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12 or year < 1900:
            raise _bad(text, field)
        return Period(PeriodType.MONTHLY, year, month)
    if m := _ADX.match(cleaned):
        try:
            start = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            raise _bad(text, field) from None
        kind = PeriodType.MONTHLY if m.group(10) == "1M" else PeriodType.WEEKLY
        found = period_of(start, kind)
        if m.group(4) and (
            m.group(5) != "00"
            or m.group(6) != "00"
            or (m.group(7) or "00") != "00"
            or (m.group(8) or "0").strip("0")
        ):
            raise DoseflowError(
                "REPORT_BAD_PERIOD",
                f"ADX period '{text}' starts at {m.group(4)[1:]}, not at midnight: a "
                f"{'month' if kind is PeriodType.MONTHLY else 'week'} is whole days, so it "
                "starts at the start of its first day",
                field=field,
                expected=f"{found.adx} or {found.start.isoformat()}T00:00:00/"
                f"{found.adx.split('/')[1]}",
                value=text,
            )
        if found.start != start:
            raise DoseflowError(
                "REPORT_BAD_PERIOD",
                f"ADX period '{text}' does not start on the first day of a "
                f"{'month' if kind is PeriodType.MONTHLY else 'week (a Monday)'}",
                field=field,
                expected=f"{found.adx}",
                value=text,
            )
        return found
    raise _bad(text, field)
