"""Complete data set registrations: DHIS2's way of saying "this report is submitted".

In DHIS2 a participant marks a data set (a report) complete for an org unit, period and
attribute option combo; the completion date is what timeliness is judged by. A DHIS2
exchange file carries it as ``dataSet`` and ``completeDate`` (with ``period``, ``orgUnit``
and ``attributeOptionCombo``) at the top of a ``dataValueSets`` document or on an ADX
``<group>``. The readers turn those into :class:`RegistrationRequest` s; :func:`check_registrations`
validates them into :class:`CompleteRegistration` s (the store keeps them; compliance prefers
them to the mere presence of values).

A data set named in a file must be one doseflow knows (mapped to a report type through the
mapping file's ``data_sets``, or a report type code itself): an unknown one refuses the whole
file, as DHIS2 does, with ``REPORT_UNKNOWN_DATA_SET``. A completion that cannot be recorded
(no period or org unit for it, a date that is not a date) is ``REPORT_BAD_COMPLETION``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.reporting.hierarchy import Hierarchy
from doseflow.reporting.locks import LockKey, PeriodLock
from doseflow.reporting.periods import parse_period
from doseflow.reporting.schema import Schema
from doseflow.reporting.values import DEFAULT_ATTRIBUTE_KEY, Origin, SubmittedValue

UNKNOWN_DATA_SET = "REPORT_UNKNOWN_DATA_SET"
BAD_COMPLETION = "REPORT_BAD_COMPLETION"

#: (participant, org_unit, report, period code, attribute)
RegistrationKey = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class RegistrationRequest:
    """A data set named in an exchange file, as read: ``data_set`` already mapped to
    doseflow's code, ``completed`` the ``completeDate`` as written (None: the file names the
    data set without marking it complete, so only the data set is checked)."""

    data_set: str
    period: str
    org_unit: str
    attribute: str = DEFAULT_ATTRIBUTE_KEY
    completed: str | None = None
    participant: str | None = None
    origin: Origin | None = None


@dataclass(frozen=True)
class CompleteRegistration:
    """A report marked complete: participant, org unit, report type, period (code) and
    attribute option combo, completed on ``completed``."""

    participant: str
    org_unit: str
    report: str
    period: str
    attribute: str
    completed: date

    @property
    def key(self) -> RegistrationKey:
        return (self.participant, self.org_unit, self.report, self.period, self.attribute)


@dataclass(frozen=True)
class ExchangeDocument:
    """What an exchange file holds: its values and the data sets (and completions) it names."""

    values: list[SubmittedValue]
    data_sets: tuple[RegistrationRequest, ...] = ()


def _where(origin: Origin | None, fld: str) -> ErrorLocation:
    if origin is None:
        return ErrorLocation(field=fld)
    return ErrorLocation(
        source=origin.source, line=origin.line, column=origin.columns.get(fld), field=fld
    )


def parse_complete_date(text: str) -> date | None:
    """``2021-09-27`` or a DHIS2 timestamp (``2021-09-27T10:15:00.000``); None if neither."""
    raw = text.strip()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def check_registrations(
    requests: Iterable[RegistrationRequest],
    schema: Schema,
    hierarchy: Hierarchy,
    locks: Mapping[LockKey, PeriodLock] | None = None,
) -> list[CompleteRegistration]:
    """The registrations ``requests`` ask for; raises one :class:`DoseflowError` listing every
    problem (unknown data set, a completion without period or org unit, a bad date, an org
    unit or period that does not fit, a report locked after approval) so that nothing of the
    file is written."""
    problems: list[ErrorDetail] = []
    found: list[CompleteRegistration] = []
    for r in requests:
        rt = schema.report_types.get(r.data_set)
        if rt is None:
            problems.append(
                ErrorDetail(
                    UNKNOWN_DATA_SET,
                    f"data set '{r.data_set}' is not a report type of the schema and not "
                    "mapped to one",
                    _where(r.origin, "data_set"),
                    "one of "
                    + ", ".join(sorted(schema.report_types))
                    + " (or a DHIS2 data set mapped to one in the mapping file's data_sets)",
                    r.data_set,
                )
            )
            continue
        if r.completed is None:
            continue
        completed = parse_complete_date(r.completed)
        if completed is None:
            problems.append(
                ErrorDetail(
                    BAD_COMPLETION,
                    f"completeDate '{r.completed}' is not a date",
                    _where(r.origin, "completed"),
                    "a date like 2021-09-27 (or a timestamp 2021-09-27T10:15:00)",
                    r.completed,
                )
            )
            continue
        if not r.period or not r.org_unit:
            missing = "period" if not r.period else "org_unit"
            problems.append(
                ErrorDetail(
                    BAD_COMPLETION,
                    f"the completion of data set '{r.data_set}' names no "
                    f"{'period' if missing == 'period' else 'org unit'}",
                    _where(r.origin, missing),
                    "period and orgUnit beside dataSet and completeDate",
                    None,
                )
            )
            continue
        try:
            period = parse_period(r.period)
        except DoseflowError as err:
            d = err.detail
            problems.append(
                ErrorDetail(d.code, d.message, _where(r.origin, "period"), d.expected, d.value)
            )
            continue
        if period.type not in rt.period_types:
            problems.append(
                ErrorDetail(
                    "REPORT_WRONG_PERIOD_TYPE",
                    f"report '{rt.code}' is not kept per {period.type.value} period",
                    _where(r.origin, "period"),
                    " or ".join(t.value for t in rt.period_types) + " periods",
                    r.period,
                )
            )
            continue
        unit = hierarchy.unit(r.org_unit)
        if unit is None or (r.participant is not None and unit.participant != r.participant):
            problems.append(
                ErrorDetail(
                    "REPORT_ORG_UNIT_NOT_IN_HIERARCHY",
                    f"org unit '{r.org_unit}' is not in the hierarchy of "
                    f"{r.participant or 'any participant'}",
                    _where(r.origin, "org_unit"),
                    "the participant's own code or one of its regions",
                    r.org_unit,
                )
            )
            continue
        if completed < period.start:
            problems.append(
                ErrorDetail(
                    BAD_COMPLETION,
                    f"completeDate {completed.isoformat()} is before period {period.code} "
                    f"starts ({period.start.isoformat()})",
                    _where(r.origin, "completed"),
                    f"a date on or after {period.start.isoformat()}",
                    r.completed,
                )
            )
            continue
        lock = (locks or {}).get((unit.participant, rt.code, period.code))
        if lock is not None:
            problems.append(
                ErrorDetail(
                    "REPORT_PERIOD_LOCKED",
                    f"the {rt.code} report of {unit.participant} for {period.code} was approved "
                    f"and locked by {lock.locked_by} on {lock.locked_at:%Y-%m-%d}; its "
                    "completion cannot change; reopen it first",
                    _where(r.origin, "period"),
                    "an open period (or `doseflow report reopen` with a reason)",
                    period.code,
                )
            )
            continue
        found.append(
            CompleteRegistration(
                unit.participant, r.org_unit, rt.code, period.code, r.attribute, completed
            )
        )
    if problems:
        raise DoseflowError.from_details(problems)
    return found


def registration_index(
    registrations: Sequence[CompleteRegistration],
) -> dict[tuple[str, str, str, str], CompleteRegistration]:
    """Registrations by (org unit, report, period, attribute), for the exporters."""
    return {(r.org_unit, r.report, r.period, r.attribute): r for r in registrations}
