"""The Overview: every participant's doses from allocation to arm, coverage, and alerts.

The same figures as the dashboard's Overview page (both from
:func:`doseflow.service.overview_views.overview_out`); a participant token gets its own
country's only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from doseflow.service.auth import Access, authorize
from doseflow.service.context import engine_of
from doseflow.service.errors import ERROR_RESPONSES
from doseflow.service.overview_views import (
    DEFAULT_WITHIN_DAYS,
    OVERVIEW_ACTION,
    OverviewOut,
    overview_out,
)
from doseflow.service.queries import DateQuery, Iso3Query
from doseflow.service.routers.reports import hierarchy_of

router = APIRouter(prefix="/api", tags=["overview"], responses=ERROR_RESPONSES)

ReadOverview = Annotated[Access, Depends(authorize(OVERVIEW_ACTION))]
WithinDays = Annotated[
    int, Query(ge=0, le=3650, description="days ahead of as_of that count as expiring soon")
]


@router.get(
    "/overview",
    summary="Doses from allocation to arm, coverage and alerts (a participant: its own)",
)
def get_overview(
    request: Request,
    access: ReadOverview,
    as_of: DateQuery = None,
    within_days: WithinDays = DEFAULT_WITHIN_DAYS,
    iso3: Iso3Query = None,
) -> OverviewOut:
    """Headline figures, one row per participant, and alerts that link to dashboard pages;
    ``as_of`` (default: today, UTC) judges expiry, overdue shipments and reports; ``iso3``
    narrows to one participant (a participant token: its own only)."""
    day = as_of or datetime.now(UTC).date()
    _, out = overview_out(
        engine_of(request),
        access,
        iso3=iso3,
        as_of=day,
        within_days=within_days,
        hierarchy=hierarchy_of(request),
    )
    return out
