"""Reporting compliance: which reports are owed, which came on time, late, or not at all,
and a readiness gate the next allocation round can consult.

A *requirement* says that a participant owes a report type every week or month from a first
period (to an optional last one), due a number of days after each period ends. A report
counts as submitted for a period at the first submission that stored or confirmed at least
one of its values (the store records that time). For each owed period:

* ``on_time``: first submitted on or before the due date;
* ``late``: first submitted after the due date (``days_late`` says by how much);
* ``missing``: not submitted, and the due date has passed;
* ``not_due``: not submitted, but still within its time.

Days are the participant's civil days: a report is on time if it was first submitted before
midnight at the end of its due date in the participant's time zone (its own, e.g. from the
hierarchy file or the scenario, else its country's default; the row names the zone), and
``as_of`` is a day there too.

The *readiness gate* turns the last few owed periods into pass/fail per participant. It is
off by default (everyone passes, with the reason saying so), because withholding vaccines
for paperwork is a policy choice a programme must make on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
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


def due_date(period: Period, due_days: int) -> date:
    """The last day a report for ``period`` is on time."""
    return period.end + timedelta(days=due_days)


def compliance(
    requirements: Iterable[Requirement],
    submissions: Submissions,
    as_of: date,
    zones: Mapping[str, str] | None = None,
) -> list[ComplianceRow]:
    """One row per owed period that has ended by ``as_of``, per requirement, oldest first.

    Judged as things stood on ``as_of``: a report submitted after that day counts as not yet
    submitted, so re-running a past allocation round's gate gives the answer it gave then.
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
            at = submissions.get((req.participant, req.report, period.code))
            day = None if at is None else local_date(at, zone)
            if day is not None and day > as_of:
                at = day = None  # not yet submitted on as_of
            if day is not None:
                status = ComplianceStatus.ON_TIME if day <= due else ComplianceStatus.LATE
            elif as_of > due:
                status = ComplianceStatus.MISSING
            else:
                status = ComplianceStatus.NOT_DUE
            rows.append(ComplianceRow(req.participant, req.report, period, due, at, status, name))
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
