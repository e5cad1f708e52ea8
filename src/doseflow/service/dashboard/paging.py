"""Bounded dashboard tables: one page of rows at a time, with "rows a-b of N" and links to the
previous and next pages that keep every other parameter (filters, other tables' pages) in
the address, so a page can be bookmarked and the browser's back button works.

Each table on a page has its own offset parameter (``stock_offset``, ``shipments_offset``, ...)
so paging one table leaves the others where they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlencode

from fastapi import Request

T = TypeVar("T")

#: Rows a dashboard table shows at once.
DASHBOARD_ROWS = 100


@dataclass(frozen=True)
class TablePage:
    """Where a table's page sits in the whole list, and the addresses of its neighbours."""

    first: int  # 1-based number of the first row shown (0 when there is none)
    last: int
    total: int
    previous: str | None
    next: str | None
    size: int = DASHBOARD_ROWS


def _address(request: Request, key: str, offset: int) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != key]
    if offset:
        params.append((key, str(offset)))
    query = urlencode(params)
    return f"{request.url.path}?{query}" if query else request.url.path


def table_page(
    request: Request, key: str, offset: int, shown: int, total: int, size: int = DASHBOARD_ROWS
) -> TablePage:
    """The navigation of ``shown`` rows from ``offset`` out of ``total``."""
    first = offset + 1 if shown else 0
    previous = _address(request, key, max(0, min(offset, total) - size)) if offset > 0 else None
    following = _address(request, key, offset + shown) if offset + shown < total else None
    return TablePage(first, offset + shown, total, previous, following, size)


def page_rows(
    request: Request, key: str, offset: int, rows: Sequence[T], size: int = DASHBOARD_ROWS
) -> tuple[list[T], TablePage]:
    """A page of a list computed whole, and its navigation."""
    page = list(rows[offset : offset + size])
    return page, table_page(request, key, offset, len(page), len(rows), size)
