"""Reporting compliance: which reports are owed, which came on time, late, or not at all,
and a readiness gate the next allocation round can consult.

A *requirement* says that a participant owes a report type every week or month from a first
period (to an optional last one), due a number of days after each period ends. When was a
report submitted? Two bases, and every row says which it used (``basis``):

* ``registration``: the report was marked complete (DHIS2's complete data set
  registration, for any of the participant's org units and attribute option combos); it was
  submitted on the earliest completion date. This is how DHIS2 itself judges timeliness.
* ``values``: no registration, so the report counts as submitted at the first submission
  that stored or confirmed at least one of its values (the store records that time).
  Weaker: one value is not a complete report.

``none`` when neither exists. For each owed period:

* ``on_time``: first submitted on or before the due date;
* ``late``: first submitted after the due date (``days_late`` says by how much);
* ``missing``: not submitted, and the due date has passed;
* ``not_due``: not submitted, but still within its time.

Days are the participant's civil days: a report is on time if it was first submitted before
midnight at the end of its due date in the participant's time zone (its own, e.g. from the
hierarchy file or the scenario, else its country's default; the row names the zone).
``as_of`` is a point in the database's history: what had been stored by the end of that day
(UTC) counts, so the default "today" never hides what was stored a moment ago in a zone
ahead of UTC.

The *readiness gate* turns the last few owed periods into pass/fail per participant. It is
off by default (everyone passes, with the reason saying so), because withholding vaccines
for paperwork is a policy choice a programme must make on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from doseflow.data.time_zones import load_zone, zone_for
from doseflow.domain.time_zone import day_start, local_date, zone_name
from doseflow.reporting.periods import Period, PeriodType, period_of, periods_between


@dataclass(frozen=True)
class Requirement:
    participant: str
    report: str
    frequency: PeriodType
    due_days: int
    first_period: Period
    last_period: Period | None = None


class ComplianceBasis(StrEnum):
    """What a row's submission time rests on."""

    REGISTRATION = "registration"  # marked complete (completeDate)
    VALUES = "values"  # first values stored, no completion registered
    NONE = "none"  # neither


class ComplianceStatus(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"
    NOT_DUE = "not_due"


@dataclass(frozen=True)
class ComplianceRow:
    participant: str
    report: str
    period: Period
    due: date
    submitted_at: datetime | None
    status: ComplianceStatus
    basis: ComplianceBasis = ComplianceBasis.NONE
    time_zone: str = "UTC"  # the zone whose days judged the row

    @property
    def due_by(self) -> datetime:
        """The instant (UTC) the report stops being on time: midnight after the due date in
        :attr:`time_zone`."""
        return day_start(self.due + timedelta(days=1), load_zone(self.time_zone))

    @property
    def days_late(self) -> int:
        if self.submitted_at is None or self.status is not ComplianceStatus.LATE:
            return 0
        return (local_date(self.submitted_at, load_zone(self.time_zone)) - self.due).days


#: (participant, report type, period code) -> first submission time
Submissions = Mapping[tuple[str, str, str], datetime]
#: (participant, report type, period code) -> every completion registered for it:
#: (completion date, when the registration was stored)
Completions = Mapping[tuple[str, str, str], Sequence[tuple[date, datetime]]]


def due_date(period: Period, due_days: int) -> date:
    """The last day a report for ``period`` is on time."""
    return period.end + timedelta(days=due_days)


def _completed(found: Sequence[tuple[date, datetime]] | None, as_of: date) -> date | None:
    """The earliest completion date among the registrations stored by ``as_of`` (a point in
    the database's history, in UTC, like the values' arrival)."""
    if not found:
        return None
    dates = [done for done, stored in found if _utc_date(stored) <= as_of and done <= as_of]
    return min(dates) if dates else None


def _utc_date(moment: datetime) -> date:
    """The UTC date of a stored instant (naive instants are UTC)."""
    return local_date(moment, UTC)


def compliance(
    requirements: Iterable[Requirement],
    submissions: Submissions,
    as_of: date,
    completions: Completions | None = None,
    zones: Mapping[str, str] | None = None,
) -> list[ComplianceRow]:
    """One row per owed period that has ended by ``as_of``, per requirement, oldest first.

    Judged as things stood on ``as_of``: a report submitted (or a registration stored) after
    that day counts as not yet there, so re-running a past allocation round's gate gives the
    answer it gave then. A registration wins over the values' arrival (module docstring).
    ``zones`` maps a participant to its IANA zone; one not in it takes its country's default
    (UTC if it is not a country). Submission instants are read as days in that zone."""
    rows: list[ComplianceRow] = []
    given = zones or {}
    for req in requirements:
        zone = zone_for(given.get(req.participant), req.participant)
        name = zone_name(zone)
        current = period_of(as_of, req.frequency)
        last = current.previous()  # periods that have ended
        if req.last_period is not None and req.last_period < last:
            last = req.last_period
        if last < req.first_period:
            continue
        for period in periods_between(req.first_period, last):
            due = due_date(period, req.due_days)
            key = (req.participant, req.report, period.code)
            at: datetime | None
            day: date | None
            done = _completed(completions.get(key) if completions else None, as_of)
            if done is not None:
                at, day, basis = day_start(done, zone), done, ComplianceBasis.REGISTRATION
            else:
                at = submissions.get(key)
                if at is not None and _utc_date(at) > as_of:
                    at = None  # not yet stored on as_of (the database's history, in UTC)
                day = None if at is None else local_date(at, zone)
                basis = ComplianceBasis.NONE if day is None else ComplianceBasis.VALUES
            if day is not None:
                status = ComplianceStatus.ON_TIME if day <= due else ComplianceStatus.LATE
            elif as_of > due:
                status = ComplianceStatus.MISSING
            else:
                status = ComplianceStatus.NOT_DUE
            rows.append(
                ComplianceRow(
                    req.participant,
                    req.report,
                    period,
                    due,
                    at,
                    status,
                    basis=basis,
                    time_zone=name,
                )
            )
    rows.sort(key=lambda r: (r.participant, r.report, r.period))
    return rows


@dataclass(frozen=True)
class GatePolicy:
    """When a participant passes the readiness gate. ``enabled=False`` (the default) passes
    everyone. Otherwise, over the last ``lookback_periods`` owed periods of each required
    report, at most ``max_missing`` may be missing and at most ``max_late`` late (None: any
    number)."""

    enabled: bool = False
    lookback_periods: int = 4
    max_missing: int = 0
    max_late: int | None = None


@dataclass(frozen=True)
class GateResult:
    """Pass or fail for one participant, with a plain-language reason for each problem."""

    participant: str
    passed: bool
    reasons: tuple[str, ...]


def readiness_gate(
    rows: Iterable[ComplianceRow],
    participants: Iterable[str],
    policy: GatePolicy = GatePolicy(),
) -> dict[str, GateResult]:
    """Per participant, whether its reporting lets it into the next allocation round.

    This is the hook for the allocation engine's readiness gate: it takes the returned
    mapping (participant -> :class:`GateResult`) as one more input.
    """
    wanted = sorted(set(participants))
    if not policy.enabled:
        return {p: GateResult(p, True, ("reporting compliance gate is off",)) for p in wanted}
    by_report: dict[tuple[str, str], list[ComplianceRow]] = {}
    for row in rows:
        if row.status is not ComplianceStatus.NOT_DUE:
            by_report.setdefault((row.participant, row.report), []).append(row)
    results: dict[str, GateResult] = {}
    for p in wanted:
        reasons: list[str] = []
        for (participant, report), owed in sorted(by_report.items()):
            if participant != p:
                continue
            recent = sorted(owed, key=lambda r: r.period)[-policy.lookback_periods :]
            missing = [r.period.code for r in recent if r.status is ComplianceStatus.MISSING]
            late = [r.period.code for r in recent if r.status is ComplianceStatus.LATE]
            if len(missing) > policy.max_missing:
                reasons.append(
                    f"{report}: {len(missing)} of the last {len(recent)} reports missing "
                    f"({', '.join(missing)}); at most {policy.max_missing} allowed"
                )
            if policy.max_late is not None and len(late) > policy.max_late:
                reasons.append(
                    f"{report}: {len(late)} of the last {len(recent)} reports late "
                    f"({', '.join(late)}); at most {policy.max_late} allowed"
                )
        if reasons:
            results[p] = GateResult(p, False, tuple(reasons))
        else:
            results[p] = GateResult(p, True, ("reports up to date",))
    return results
