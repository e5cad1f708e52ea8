"""Events a client sends to a shared ledger: the recorder, not the client, says who recorded
them and when.

An event's ``recorded_by`` and ``recorded_at`` are the ledger's audit trail: on a server
they are the caller's authenticated identity and the server's clock, never a value from the
request (a client could otherwise record events as someone else, or back-date the
recording). A row that carries either column is refused, not quietly overwritten or
dropped, so the client learns its file does not say what it thinks. The client does say
when the event occurred; that moment must fall between
:data:`~doseflow.domain.limits.EARLIEST_DATE` and the server's clock plus
:data:`~doseflow.domain.limits.MAX_CLOCK_SKEW` (field devices' clocks run a little ahead).

The command line on the user's own machine may still take ``--by`` and these columns from
a file (``docs/ledger.md``): there the user is the only one recording.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time
from typing import Any

from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.domain.events import RECORDING_FIELDS, LedgerEvent
from doseflow.domain.limits import EARLIEST_DATE, MAX_CLOCK_SKEW, MAX_NAME_LENGTH
from doseflow.ledger.event_file import events_from_rows

#: The earliest moment an event may have occurred (the start of ``EARLIEST_DATE``, UTC).
EARLIEST_MOMENT = datetime.combine(EARLIEST_DATE, time.min, tzinfo=UTC)


def recorded_events(
    rows: Sequence[tuple[int, Mapping[str, Any]]],
    source: str,
    *,
    recorded_by: str,
    now: datetime,
) -> list[LedgerEvent]:
    """The events of numbered rows sent by ``recorded_by`` at ``now`` (the server's clock,
    which the store also records as ``recorded_at``). Refuses, naming every row and field
    and before anything is written: a row stating who recorded it or when
    (``LEDGER_SERVER_SET_FIELD``), any invalid row (as :func:`events_from_rows`), and an
    event said to occur outside the accepted range (``LEDGER_OCCURRED_OUT_OF_RANGE``).
    The first two kinds are reported together, row by row."""
    refused = recording_field_problems(rows, source)
    attributed = [
        (line, {**_without_recording(row), "recorded_by": recorded_by}) for line, row in rows
    ]
    try:
        events = events_from_rows(attributed, source)
    except DoseflowError as invalid:
        raise DoseflowError.from_details([*refused, *invalid.details]) from None
    if refused:
        raise DoseflowError.from_details(refused)
    check_occurred_at(events, [line for line, _ in rows], source, now)
    return events


def _without_recording(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in RECORDING_FIELDS}


def recording_field_problems(
    rows: Sequence[tuple[int, Mapping[str, Any]]], source: str
) -> list[ErrorDetail]:
    """A ``LEDGER_SERVER_SET_FIELD`` problem for every row that has a recording column,
    even an empty one (the column is not the client's to fill)."""
    return [
        ErrorDetail(
            "LEDGER_SERVER_SET_FIELD",
            f"'{name}' is set by the server (the signed-in user and the server's clock), "
            "not by the request",
            ErrorLocation(source=source, line=line, field=name),
            expected=f"no '{name}' column; state when the event happened in 'occurred_at'",
            value=_shown(row[name]),
        )
        for line, row in rows
        for name in RECORDING_FIELDS
        if name in row
    ]


def check_occurred_at(
    events: Sequence[LedgerEvent], lines: Sequence[int], source: str, now: datetime
) -> None:
    """Raise ``LEDGER_OCCURRED_OUT_OF_RANGE`` for every event (``lines``: its row) said to
    occur before :data:`EARLIEST_MOMENT` or after ``now`` plus ``MAX_CLOCK_SKEW``."""
    latest = now.astimezone(UTC) + MAX_CLOCK_SKEW
    expected = (
        f"a moment from {EARLIEST_MOMENT:%Y-%m-%d} to the server's clock plus "
        f"{_minutes(MAX_CLOCK_SKEW.total_seconds())} (now {latest:%Y-%m-%dT%H:%M:%SZ})"
    )
    problems: list[ErrorDetail] = []
    for line, event in zip(lines, events, strict=True):
        moment = event.occurred_at
        if EARLIEST_MOMENT <= moment <= latest:
            continue
        why = (
            "is in the future: after the server's clock"
            if moment > latest
            else f"is before {EARLIEST_MOMENT:%Y-%m-%d}, the earliest date accepted"
        )
        problems.append(
            ErrorDetail(
                "LEDGER_OCCURRED_OUT_OF_RANGE",
                f"event {event.event_id}: occurred_at {moment.isoformat()} {why}",
                ErrorLocation(source=source, line=line, field="occurred_at"),
                expected=expected,
                value=moment.isoformat(),
            )
        )
    if problems:
        raise DoseflowError.from_details(problems)


def _minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _shown(value: Any) -> Any:
    """A refused value as echoed in the error: cut to a name's length (a forged field may
    be of any size)."""
    if isinstance(value, str) and len(value) > MAX_NAME_LENGTH:
        return value[:MAX_NAME_LENGTH] + "..."
    return value
