"""Dashboard page for reporting: compliance per report and period, and plausibility flags.

Both tables are computed whole by the reporting engine (their size is participants x
reports x periods), then filtered, sorted and paged here with their state in the address,
and download as CSV or Excel with the same filters (see ``tables``): the page and its
downloads share one setup (:func:`reporting_setup`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from doseflow.reporting.compliance import ComplianceStatus
from doseflow.service.context import engine_of
from doseflow.service.dashboard.render import NavItem, add_nav, page_access, render, request_may
from doseflow.service.dashboard.tables import (
    Column,
    PageData,
    PageTables,
    TableSpec,
    add_download,
    whole,
)
from doseflow.service.queries import DateQuery
from doseflow.service.routers.reports import hierarchy_of
from doseflow.store.reporting import compliance_view, plausibility

router = APIRouter(prefix="/dashboard", include_in_schema=False)
add_nav(NavItem("/dashboard/reporting", "Reporting", "compliance.read"))

COMPLIANCE_COLUMNS = (
    Column("participant", "Participant", lambda r: r.participant),
    Column("report", "Report", lambda r: r.report),
    Column("period", "Period", lambda r: r.period.code),
    Column("due", "Due", lambda r: r.due),
    Column("submitted", "Submitted", lambda r: r.submitted_at),
    Column("status", "Status", lambda r: r.status.value),
    Column("days_late", "Days late", lambda r: r.days_late, numeric=True),
)
FLAG_COLUMNS = (
    Column("participant", "Participant", lambda f: f.participant),
    Column("org_unit", "Org unit", lambda f: f.org_unit),
    Column("data_element", "Data element", lambda f: f.data_element),
    Column("first_period", "First period", lambda f: f.first_period),
    Column("last_period", "Last period", lambda f: f.last_period),
    Column("method", "Method", lambda f: f.method.value),
    Column("strength", "Strength", lambda f: f.strength.value),
    Column("why", "Why", lambda f: f.explanation, sortable=False),
)

Participant = Annotated[str | None, Query(max_length=3, pattern=r"^[A-Za-z]{0,3}$")]
Report = Annotated[str | None, Query(max_length=100)]
Status = Annotated[ComplianceStatus | None, Query(description="compliance status")]


REPORTING_TABLES = PageTables(
    "/dashboard/reporting",
    (
        TableSpec("compliance", COMPLIANCE_COLUMNS, "participant", "compliance"),
        TableSpec("flags", FLAG_COLUMNS, "participant", "plausibility-flags"),
    ),
)


def reporting_setup(
    request: Request,
    as_of: DateQuery = None,
    participant: Participant = None,
    report: Report = None,
    status: Status = None,
) -> PageData:
    """The Reporting page's setup, shared by the page and its downloads: every compliance
    row and flag the user may see that the filters keep, the status counts of the rows
    kept (before the status filter), and the engine's notes."""
    access = page_access(request, "compliance.read")
    own = access.own_iso3
    engine = engine_of(request)
    zones = hierarchy_of(request).participant_zones()
    wanted = (participant or "").upper() or None
    rows = [
        r
        for r in compliance_view(engine, as_of=as_of, participant=own, zones=zones)
        if (wanted is None or r.participant == wanted) and (not report or r.report == report)
    ]
    found = plausibility(engine, hierarchy_of(request), participants=[own] if own else None)
    flags = [f for f in found.flags if wanted is None or f.participant == wanted]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    rows = [r for r in rows if status is None or r.status is status]
    context = {
        "counts": counts,
        "notes": tuple(found.notes),
        "filters": {"participant": participant or "", "report": report or "", "status": status},
    }
    return PageData({"compliance": whole(rows), "flags": whole(flags)}, context)


@router.get("/reporting")
def reporting_page(
    request: Request, data: Annotated[PageData, Depends(reporting_setup)]
) -> Response:
    return render(
        request,
        "reporting.html",
        title="Reporting compliance and plausibility",
        statuses=list(ComplianceStatus),
        may_enter=request_may(request, "reports.submit"),
        **data.context,
        **REPORTING_TABLES.build(request, data),
    )


add_download(router, REPORTING_TABLES, reporting_setup)
