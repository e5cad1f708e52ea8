"""Dashboard data entry for reports (DHIS2's data entry screen): choose an org unit from the
stored hierarchy, a report and a period, fill in the report's form, save.

The form is built by the reporting engine (:mod:`doseflow.reporting.entry_form`) from the
schema the service checks reports against; the browser checks each value as one types with
the rules the engine hands it (``static/entry.js``). A save takes the API's one path
(:func:`doseflow.service.routers.reports.submit_values`: scope, the store's submission with
the ledger cross-checks, the audit entry), always atomic, and the page shows the import
summary the API answers. Who may enter reports is who may submit them (``reports.submit``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from doseflow.domain.limits import MAX_CODE_LENGTH
from doseflow.reporting.entry_form import (
    EntryForm,
    FormSubmission,
    choose_period,
    entry_form,
    find_org_unit,
    find_report,
    form_submission,
    org_unit_tree,
    period_choice,
    with_texts,
    year_period,
)
from doseflow.reporting.hierarchy import Hierarchy, OrgUnit
from doseflow.reporting.periods import Period, PeriodType, parse_period
from doseflow.reporting.registrations import RegistrationRequest
from doseflow.reporting.schema import DEFAULT_SCHEMA, ReportType, Schema
from doseflow.reporting.submission import ImportSummary
from doseflow.reporting.values import DEFAULT_ATTRIBUTE_KEY, Origin, format_number
from doseflow.service.auth import Access
from doseflow.service.context import engine_of
from doseflow.service.dashboard.render import NavItem, add_nav, page_access, read_form, render
from doseflow.service.routers.reports import hierarchy_of, submit_values
from doseflow.store.reporting import load_values, period_locks, stored_registrations

router = APIRouter(prefix="/dashboard", include_in_schema=False)
add_nav(NavItem("/dashboard/reporting/entry", "Data entry", "reports.submit"))

PATH = "/dashboard/reporting/entry"
#: The schema reports are checked against by the service (the API's and the form's).
SCHEMA: Schema = DEFAULT_SCHEMA

CodeParam = Annotated[str | None, Query(max_length=MAX_CODE_LENGTH)]
PeriodParam = Annotated[str | None, Query(max_length=16)]
YearParam = Annotated[int | None, Query(ge=1900, le=9999)]


def _today() -> date:
    return datetime.now(UTC).date()


def _participants(hierarchy: Hierarchy, access: Access) -> tuple[str, ...]:
    """The participants whose units the user may enter figures for."""
    own = access.own_iso3
    return (own,) if own is not None else hierarchy.participants()


def _unit(hierarchy: Hierarchy, access: Access, code: str | None) -> OrgUnit | None:
    """The chosen org unit (a participant's own country when none is chosen), in scope."""
    wanted = code or access.own_iso3
    if not wanted:
        return None
    unit = find_org_unit(hierarchy, wanted)
    access.check_iso3(unit.participant)
    return unit


def _stored_texts(
    request: Request, unit: OrgUnit, report: ReportType, period: Period
) -> dict[tuple[str, str], str]:
    """The report's stored values for the unit and period, as the form shows them."""
    found = load_values(
        engine_of(request),
        participants=[unit.participant],
        org_units=[unit.code],
        periods=[period.code],
        data_elements=[e.code for e in SCHEMA.elements_of(report.code)],
        attributes=[DEFAULT_ATTRIBUTE_KEY],
    )
    return {(v.data_element, v.category): format_number(v.value) for v in found}


def _completed(request: Request, unit: OrgUnit, report: ReportType, period: Period) -> date | None:
    """When the report was marked complete for the unit and period (None: it was not)."""
    key = (unit.code, report.code, period.code, DEFAULT_ATTRIBUTE_KEY)
    return next(
        (
            r.completed
            for r in stored_registrations(engine_of(request), unit.participant)
            if (r.org_unit, r.report, r.period, r.attribute) == key
        ),
        None,
    )


def _page(
    request: Request,
    access: Access,
    hierarchy: Hierarchy,
    unit: OrgUnit | None,
    report: ReportType,
    period: Period,
    *,
    form: EntryForm | None = None,
    summary: ImportSummary | None = None,
    submission: FormSubmission | None = None,
    status_code: int = 200,
) -> Response:
    """The data entry page: tree, pickers, the form (as stored, or as just sent) and, after
    a save, the import summary with each conflict beside its field."""
    today = _today()
    locked = None
    completed: date | None = None
    if unit is not None:
        if form is None:
            form = entry_form(
                SCHEMA, report.code, period, unit, _stored_texts(request, unit, report, period)
            )
        locked = period_locks(engine_of(request), unit.participant).get(
            (unit.participant, report.code, period.code)
        )
        completed = _completed(request, unit, report, period)
    problems: dict[str, list[dict[str, Any]]] = {}
    if summary is not None and submission is not None:
        for kind, items in (("conflict", summary.conflicts), ("warning", summary.warnings)):
            for c in items:
                field = submission.fields[c.index]
                problems.setdefault(field.id, []).append(
                    {"kind": kind, "code": c.error.code, "message": c.error.message}
                )
    return render(
        request,
        "entry.html",
        title="Data entry",
        tree=org_unit_tree(hierarchy, _participants(hierarchy, access)),
        unit=unit,
        reports=list(SCHEMA.report_types.values()),
        report=report,
        choice=period_choice(period, today),
        form=form,
        rules=form.rules() if form is not None else {},
        locked=locked,
        completed=completed,
        summary=summary,
        summary_json=summary.to_dict(max_items=1000) if summary is not None else None,
        problems=problems,
        submitted=submission.fields if submission is not None else (),
        status_code=status_code,
    )


@router.get("/reporting/entry")
def entry_page(
    request: Request,
    org_unit: CodeParam = None,
    report: CodeParam = None,
    period_type: Annotated[PeriodType | None, Query()] = None,
    period: PeriodParam = None,
    year: YearParam = None,
) -> Response:
    access = page_access(request, "reports.submit")
    hierarchy = hierarchy_of(request)
    unit = _unit(hierarchy, access, org_unit)
    report_type = find_report(SCHEMA, report)
    today = _today()
    chosen = choose_period(report_type, period, period_type, today)
    if year is not None and year != chosen.year:
        chosen = year_period(chosen.type, year, today)
    return _page(request, access, hierarchy, unit, report_type, chosen)


@router.post("/reporting/entry")
async def entry_save(request: Request) -> Response:
    """Save the form: its values through the API's path, atomic (one conflict and nothing
    is written), a completion registered with them when asked for."""
    access = page_access(request, "reports.submit")
    sent = await read_form(request)
    hierarchy = hierarchy_of(request)
    unit = find_org_unit(hierarchy, sent.get("org_unit", ""))
    access.check_iso3(unit.participant)
    report = find_report(SCHEMA, sent.get("report") or None)
    period = parse_period(sent.get("period", ""), field="period")
    stored = _stored_texts(request, unit, report, period)
    form = entry_form(SCHEMA, report.code, period, unit, stored)
    submission = form_submission(form, sent, stored.keys())
    data_sets: list[RegistrationRequest] = []
    if sent.get("complete") == "yes" and _completed(request, unit, report, period) is None:
        data_sets.append(
            RegistrationRequest(
                data_set=report.code,
                period=period.code,
                org_unit=unit.code,
                completed=_today().isoformat(),
                origin=Origin(source="data entry form", columns={"data_set": "complete"}),
            )
        )
    summary = submit_values(
        request, submission.values, access, dry_run=False, atomic=True, data_sets=data_sets
    )
    access.audit(
        f"{report.code} {unit.code} {period.code}: {len(submission.values)} values",
        completed=bool(data_sets) and summary.completions_written,
    )
    shown = with_texts(form, sent) if summary.conflicts else None
    return _page(
        request,
        access,
        hierarchy,
        unit,
        report,
        period,
        form=shown,
        summary=summary,
        submission=submission,
        status_code=422 if summary.conflicts else 200,
    )
