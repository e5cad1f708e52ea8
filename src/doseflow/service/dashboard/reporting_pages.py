"""Dashboard page for reporting: compliance per report and period, and plausibility flags."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from doseflow.service.context import engine_of
from doseflow.service.dashboard.render import NavItem, add_nav, page_access, render
from doseflow.service.routers.reports import hierarchy_of
from doseflow.store.reporting import compliance_view, plausibility

router = APIRouter(prefix="/dashboard", include_in_schema=False)
add_nav(NavItem("/dashboard/reporting", "Reporting", "compliance.read"))


@router.get("/reporting")
def reporting_page(request: Request, as_of: date | None = None) -> Response:
    access = page_access(request, "compliance.read")
    own = access.own_iso3
    engine = engine_of(request)
    rows = compliance_view(engine, as_of=as_of, participant=own)
    flags = plausibility(engine, hierarchy_of(request), participants=[own] if own else None)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    return render(
        request,
        "reporting.html",
        title="Reporting compliance and plausibility",
        rows=rows,
        counts=counts,
        flags=flags,
    )
