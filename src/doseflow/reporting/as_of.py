"""The day a shared server judges a submission on: its own, not one a client picks ahead.

``as_of`` decides which periods are open for reporting (a period is open once it has
started). On the command line the user may judge a file as of any day; a client of the
service may only look back (a stricter check, e.g. to re-run last week's), never ahead, or
it could report for periods that have not begun. Dates are civil dates, so "today" is the
latest date anywhere on Earth: the server's clock in the latest time zone (UTC+14), plus
the clock skew allowed elsewhere (:data:`~doseflow.domain.limits.MAX_CLOCK_SKEW`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from doseflow.domain.errors import DoseflowError
from doseflow.domain.limits import MAX_CLOCK_SKEW

#: The offset of the latest civil time zone (Kiribati's Line Islands, UTC+14).
LATEST_UTC_OFFSET = timedelta(hours=14)


def latest_today(now: datetime) -> date:
    """The latest civil date anywhere at the moment ``now`` (give the server's clock)."""
    return (now.astimezone(UTC) + LATEST_UTC_OFFSET + MAX_CLOCK_SKEW).date()


def checked_as_of(as_of: date | None, now: datetime, field: str = "as_of") -> date | None:
    """``as_of`` if it is not after :func:`latest_today`; otherwise
    ``REPORT_AS_OF_IN_FUTURE``. ``None`` (the server's today) passes through."""
    latest = latest_today(now)
    if as_of is not None and as_of > latest:
        raise DoseflowError(
            "REPORT_AS_OF_IN_FUTURE",
            f"'{field}' {as_of.isoformat()} is after today ({latest.isoformat()} in the "
            "latest time zone): a submission is judged as of the server's day or earlier",
            field=field,
            expected=f"a date up to {latest.isoformat()}, or none (today)",
            value=as_of.isoformat(),
        )
    return as_of
