"""Dashboard page for reporting: compliance per report and period, and plausibility flags."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from doseflow.service.context import engine_of
from doseflow.service.dashboard.paging import OffsetParam, page_rows
from doseflow.service.dashboard.render import NavItem, add_nav, page_access, render
from doseflow.service.queries import DateQuery
from doseflow.service.routers.reports import hierarchy_of
from doseflow.store.reporting import compliance_view, plausibility

router = APIRouter(prefix="/dashboard", include_in_schema=False)
add_nav(NavItem("/dashboard/reporting", "Reporting", "compliance.read"))


@router.get("/reporting")
def reporting_page(
    request: Request,
    as_of: DateQuery = None,
    compliance_offset: OffsetParam = 0,
    flags_offset: OffsetParam = 0,
) -> Response:
    access = page_access(request, "compliance.read")
    own = access.own_iso3
    engine = engine_of(request)
    zones = hierarchy_of(request).participant_zones()
    rows = compliance_view(engine, as_of=as_of, participant=own, zones=zones)
    report = plausibility(engine, hierarchy_of(request), participants=[own] if own else None)
    flags = list(report.flags)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    rows, rows_page = page_rows(request, "compliance_offset", compliance_offset, rows)
    flags, flags_page = page_rows(request, "flags_offset", flags_offset, flags)
    return render(
        request,
        "reporting.html",
        title="Reporting compliance and plausibility",
        rows=rows,
        rows_page=rows_page,
        counts=counts,
        flags=flags,
        flags_page=flags_page,
        notes=report.notes,
    )
