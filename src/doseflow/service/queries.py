"""Query parameters every GET endpoint shares: paging, and bounded codes, dates and moments.

Every list the API returns is paged the same way: ``limit`` (default :data:`DEFAULT_LIMIT`,
at most :data:`MAX_LIMIT`) and ``offset`` choose the rows; the body stays a plain JSON list,
and two headers say what was left out: ``X-Total-Count`` (rows matching the query) and an
RFC 8288 ``Link`` with ``rel="next"`` / ``rel="prev"`` addresses keeping every other
parameter. A client follows ``next`` until there is none. The bounds live here, once, so
every router (and docs/service.md) agrees.

Dates and moments in a query must lie within ``EARLIEST_DATE..LATEST_DATE`` of
:mod:`doseflow.domain.limits`; anything else (``0001-01-01T00:00:00+14:00``, whose UTC
moment is before year 1) is a ``SERVICE_BAD_REQUEST`` naming the parameter, never a 500.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Query, Request, Response
from pydantic import AfterValidator

from doseflow.domain.limits import (
    EARLIEST_DATE,
    LATEST_DATE,
    MAX_CODE_LENGTH,
    MAX_LOT_LENGTH,
    MAX_NAME_LENGTH,
)

T = TypeVar("T")

#: Rows in a page when the client does not say.
DEFAULT_LIMIT = 100
#: The most rows one page may hold (a stock page of 1,000 lines is about 110 KB).
MAX_LIMIT = 1000
#: The largest offset accepted: far beyond any real list, and within every backend's integers.
MAX_OFFSET = 2**31 - 1

TOTAL_HEADER = "X-Total-Count"


def _within_dates(day: date) -> date:
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(f"expected a date from {EARLIEST_DATE} to {LATEST_DATE}")
    return day


def _within_moments(moment: datetime) -> datetime:
    """A moment whose UTC date lies within the bounds (an offset may not carry it out)."""
    try:
        utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST_DATE <= utc.date() <= LATEST_DATE:
        raise ValueError(
            f"expected a moment from {EARLIEST_DATE}T00:00:00Z to {LATEST_DATE}T23:59:59Z"
        )
    return moment


#: A date within the documented range.
BoundedDate = Annotated[date, AfterValidator(_within_dates)]
#: A moment (ISO 8601, with or without an offset; naive means UTC) within the range.
BoundedMoment = Annotated[datetime, AfterValidator(_within_moments)]

DateQuery = Annotated[BoundedDate | None, Query(description=f"a date, {EARLIEST_DATE} or later")]
MomentQuery = Annotated[
    BoundedMoment | None,
    Query(description=f"a moment (ISO 8601; UTC when no offset), {EARLIEST_DATE} to {LATEST_DATE}"),
]
#: A node, product or data element code.
CodeQuery = Annotated[str | None, Query(min_length=1, max_length=MAX_CODE_LENGTH)]
RequiredCode = Annotated[str, Query(min_length=1, max_length=MAX_CODE_LENGTH)]
LotQuery = Annotated[str | None, Query(min_length=1, max_length=MAX_LOT_LENGTH)]
NameQuery = Annotated[str | None, Query(min_length=1, max_length=MAX_NAME_LENGTH)]
Iso3Query = Annotated[
    str | None, Query(pattern="^[A-Za-z]{3}$", description="only this country (ISO3)")
]


#: The paging headers, described in the OpenAPI document of every paged endpoint.
PAGED_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "one page of the list",
        "headers": {
            TOTAL_HEADER: {
                "description": "rows the query matches in all",
                "schema": {"type": "integer", "minimum": 0},
            },
            "Link": {
                "description": 'RFC 8288 links to the pages around this one: rel="next" '
                'while rows remain, rel="prev" after the first page',
                "schema": {"type": "string"},
            },
        },
    }
}


@dataclass(frozen=True)
class Paging:
    """Which rows of a list a request asked for."""

    limit: int
    offset: int

    def of(self, items: Sequence[T]) -> list[T]:
        """This page of a list the engine computed whole (not a stored table)."""
        return list(items[self.offset : self.offset + self.limit])


def paging(
    limit: Annotated[
        int,
        Query(ge=1, le=MAX_LIMIT, description=f"rows per page (at most {MAX_LIMIT})"),
    ] = DEFAULT_LIMIT,
    offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, description="rows to skip (follow the Link header)")
    ] = 0,
) -> Paging:
    return Paging(limit, offset)


#: Add ``page: Page`` to an endpoint to take ``limit`` and ``offset``.
Page = Annotated[Paging, Depends(paging)]


def _address(request: Request, limit: int, offset: int) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("limit", "offset")]
    params += [("limit", str(limit)), ("offset", str(offset))]
    return f"{request.url.path}?{urlencode(params)}"


def page_headers(request: Request, page: Paging, shown: int, total: int) -> dict[str, str]:
    """``X-Total-Count`` and the ``Link`` to the next and previous pages (relative URLs)."""
    links = []
    if page.offset + shown < total:
        links.append(f'<{_address(request, page.limit, page.offset + shown)}>; rel="next"')
    if page.offset > 0:
        before = max(0, min(page.offset, total) - page.limit)
        links.append(f'<{_address(request, page.limit, before)}>; rel="prev"')
    headers = {TOTAL_HEADER: str(total)}
    if links:
        headers["Link"] = ", ".join(links)
    return headers


def paged(request: Request, response: Response, page: Paging, rows: list[T], total: int) -> list[T]:
    """Set the paging headers on ``response`` for ``rows`` (already this page) of ``total``."""
    response.headers.update(page_headers(request, page, len(rows), total))
    return rows


def page_of(request: Request, response: Response, page: Paging, items: Sequence[T]) -> list[T]:
    """Page a list the engine computed whole, and set the paging headers."""
    return paged(request, response, page, page.of(items), len(items))
