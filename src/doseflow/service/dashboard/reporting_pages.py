"""Dashboard page for reporting: compliance per report and period, and plausibility flags.

Both tables are computed whole by the reporting engine (their size is participants x
reports x periods), then filtered, sorted and paged here with their state in the address,
and download as CSV or Excel with the same filters (see ``tables``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from doseflow.reporting.compliance import ComplianceRow, ComplianceStatus
from doseflow.service.context import engine_of
from doseflow.service.dashboard.paging import DASHBOARD_ROWS, OffsetParam, page_rows
from doseflow.service.dashboard.render import NavItem, add_nav, page_access, render, request_may
from doseflow.service.dashboard.tables import (
    Column,
    DownloadFormat,
    SizeParam,
    download,
    download_links,
    head,
    sort_rows,
    view_of,
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


def _tables(
    request: Request,
    as_of: Any,
    participant: str | None,
    report: str | None,
    status: ComplianceStatus | None,
) -> tuple[list[ComplianceRow], list[Any], dict[str, int], Sequence[str]]:
    """Every compliance row and flag the user may see that the filters keep, the status
    counts of the rows kept (before the status filter), and the engine's notes."""
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
    return rows, flags, counts, tuple(found.notes)


@router.get("/reporting")
def reporting_page(
    request: Request,
    as_of: DateQuery = None,
    compliance_offset: OffsetParam = 0,
    flags_offset: OffsetParam = 0,
    compliance_size: SizeParam = DASHBOARD_ROWS,
    flags_size: SizeParam = DASHBOARD_ROWS,
    participant: Participant = None,
    report: Report = None,
    status: Status = None,
) -> Response:
    rows, flags, counts, notes = _tables(request, as_of, participant, report, status)
    rows_view = view_of(
        request,
        "compliance",
        COMPLIANCE_COLUMNS,
        "participant",
        offset=compliance_offset,
        size=compliance_size,
    )
    flags_view = view_of(
        request, "flags", FLAG_COLUMNS, "participant", offset=flags_offset, size=flags_size
    )
    shown, rows_page = page_rows(
        request,
        "compliance_offset",
        compliance_offset,
        sort_rows(rows, rows_view, COMPLIANCE_COLUMNS),
        compliance_size,
    )
    flagged, flags_page = page_rows(
        request,
        "flags_offset",
        flags_offset,
        sort_rows(flags, flags_view, FLAG_COLUMNS),
        flags_size,
    )
    path = "/dashboard/reporting"
    return render(
        request,
        "reporting.html",
        title="Reporting compliance and plausibility",
        rows=shown,
        rows_page=rows_page,
        rows_head=head(request, rows_view, COMPLIANCE_COLUMNS),
        rows_downloads=download_links(request, path, "compliance"),
        counts=counts,
        flags=flagged,
        flags_page=flags_page,
        flags_head=head(request, flags_view, FLAG_COLUMNS),
        flags_downloads=download_links(request, path, "flags"),
        notes=notes,
        filters={"participant": participant or "", "report": report or "", "status": status},
        statuses=list(ComplianceStatus),
        may_enter=request_may(request, "reports.submit"),
    )


@router.get("/reporting/download")
def reporting_download(
    request: Request,
    table: Annotated[str, Query(pattern="^(compliance|flags)$")],
    format: DownloadFormat,
    as_of: DateQuery = None,
    participant: Participant = None,
    report: Report = None,
    status: Status = None,
) -> Response:
    """Every row of one Reporting table under the page's filters and sort."""
    rows, flags, _, _ = _tables(request, as_of, participant, report, status)
    if table == "compliance":
        view = view_of(request, "compliance", COMPLIANCE_COLUMNS, "participant")
        return download(
            "compliance", COMPLIANCE_COLUMNS, sort_rows(rows, view, COMPLIANCE_COLUMNS), format
        )
    view = view_of(request, "flags", FLAG_COLUMNS, "participant")
    return download(
        "plausibility-flags", FLAG_COLUMNS, sort_rows(flags, view, FLAG_COLUMNS), format
    )
