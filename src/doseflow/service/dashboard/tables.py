"""Dashboard tables that sort, page and download on the server, with their state in the URL.

Each table on a page has a key (``stock``, ``shipments``, ...) and four parameters of its own:
``<key>_offset``, ``<key>_size`` (rows per page), ``<key>_sort`` (a column key) and
``<key>_dir`` (``asc`` or ``desc``), so sorting or paging one table leaves the others where
they were, and a page's address is its whole state (bookmarks and the back button work).
Filters (product, node, country, ...) are the page's, shared by its tables.

A table's header cells are links that sort by their column (``aria-sort`` on the sorted
one); its download links fetch every row matching the same filters and sort, as CSV or
Excel, from ``<page>/download?table=<key>&format=csv|xlsx``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import Response

from doseflow.domain.errors import DoseflowError
from doseflow.service.dashboard.paging import DASHBOARD_ROWS

#: Rows per page a table may show (a larger page is refused: pages stay small).
MAX_PAGE_SIZE = 500

SizeParam = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="rows per page")]


class Direction(StrEnum):
    ASC = "asc"
    DESC = "desc"


class DownloadFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


@dataclass(frozen=True)
class Column:
    """One column of a table: its key in the URL, its heading, and how a row gives its value."""

    key: str
    label: str
    value: Callable[[Any], object]
    numeric: bool = False
    sortable: bool = True


@dataclass(frozen=True)
class HeadCell:
    label: str
    href: str | None  # None: not sortable
    aria_sort: str | None  # "ascending" / "descending" on the sorted column
    numeric: bool


@dataclass(frozen=True)
class TableView:
    """A table's state read from the address."""

    key: str
    offset: int
    size: int
    sort: str
    descending: bool


def view_of(
    request: Request,
    key: str,
    columns: Sequence[Column],
    default_sort: str,
    *,
    offset: int = 0,
    size: int = DASHBOARD_ROWS,
) -> TableView:
    """The table's state; an unknown sort column or direction is a located
    ``SERVICE_BAD_REQUEST`` (a mistyped link should say so, not show another order)."""
    sortable = [c.key for c in columns if c.sortable]
    sort = request.query_params.get(f"{key}_sort", default_sort)
    if sort not in sortable:
        raise DoseflowError(
            "SERVICE_BAD_REQUEST",
            f"the table cannot be sorted by {sort!r}",
            field=f"{key}_sort",
            expected="one of " + ", ".join(sortable),
            value=sort,
        )
    direction = request.query_params.get(f"{key}_dir", Direction.ASC.value)
    if direction not in (Direction.ASC.value, Direction.DESC.value):
        raise DoseflowError(
            "SERVICE_BAD_REQUEST",
            "a sort direction is asc or desc",
            field=f"{key}_dir",
            expected="asc or desc",
            value=direction,
        )
    return TableView(key, offset, size, sort, direction == Direction.DESC.value)


def address(request: Request, changes: dict[str, str | None], path: str | None = None) -> str:
    """The current address with ``changes`` (None removes a parameter), keeping the rest."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params += [(k, v) for k, v in changes.items() if v is not None]
    query = urlencode(params)
    where = path or request.url.path
    return f"{where}?{query}" if query else where


def head(request: Request, view: TableView, columns: Sequence[Column]) -> list[HeadCell]:
    """Header cells: each sortable column links to this page sorted by it (ascending, or the
    other way round if it is already the sort), back on the first page."""
    cells = []
    for c in columns:
        current = c.key == view.sort
        descending = current and not view.descending
        href = (
            address(
                request,
                {
                    f"{view.key}_sort": c.key,
                    f"{view.key}_dir": Direction.DESC.value if descending else None,
                    f"{view.key}_offset": None,
                },
            )
            if c.sortable
            else None
        )
        aria = ("descending" if view.descending else "ascending") if current else None
        cells.append(HeadCell(c.label, href, aria, c.numeric))
    return cells


def sort_rows(rows: Iterable[Any], view: TableView, columns: Sequence[Column]) -> list[Any]:
    """Rows computed in memory, sorted by the view's column (empty values last)."""
    column = next(c for c in columns if c.key == view.sort)
    present = [r for r in rows if column.value(r) not in (None, "")]
    absent = [r for r in rows if column.value(r) in (None, "")]
    present.sort(key=lambda r: column.value(r), reverse=view.descending)  # type: ignore[arg-type,return-value]
    return present + absent


def download_links(request: Request, page_path: str, key: str) -> dict[str, str]:
    """Links to every row of the table ``key`` under the page's current filters and sort."""
    kept = {
        k: v for k, v in request.query_params.multi_items() if not k.endswith(("_offset", "_size"))
    }
    return {
        fmt.value: f"{page_path}/download?" + urlencode({**kept, "table": key, "format": fmt.value})
        for fmt in DownloadFormat
    }


def _cell(value: object) -> object:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, (tuple, list)):
        return " > ".join(str(v) for v in value)
    if value is None or isinstance(value, (int, float, str, date, datetime)):
        return value
    return str(value)


def download(
    name: str, columns: Sequence[Column], rows: Iterable[Any], fmt: DownloadFormat
) -> Response:
    """Every row as a CSV or Excel file named ``name``, with the columns' headings."""
    header = [c.label for c in columns]
    table = [[_cell(c.value(r)) for c in columns] for r in rows]
    if fmt is DownloadFormat.CSV:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in row] for row in table)
        return Response(
            text.getvalue().encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    from openpyxl import Workbook  # only when a workbook is asked for

    book = Workbook(write_only=True)
    sheet = book.create_sheet(name[:31])
    sheet.append(header)
    for row in table:
        sheet.append([v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row])
    out = io.BytesIO()
    book.save(out)
    return Response(
        out.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )
