"""Dashboard tables that sort, page and download on the server, with their state in the URL.

Each table on a page has a key (``stock``, ``shipments``, ...) and four parameters of its own:
``<key>_offset``, ``<key>_size`` (rows per page), ``<key>_sort`` (a column key) and
``<key>_dir`` (``asc`` or ``desc``), so sorting or paging one table leaves the others where
they were, and a page's address is its whole state (bookmarks and the back button work).
Filters (product, node, country, ...) are the page's, shared by its tables.

A table's header cells are links that sort by their column (``aria-sort`` on the sorted
one); its download links fetch every row matching the same filters and sort, as CSV or
Excel, from ``<page>/download?table=<key>&format=csv|xlsx``.

A page declares its tables once, as a :class:`PageTables` (each a :class:`TableSpec`), and its
setup once, as a FastAPI dependency (access check, filters, the store) returning an object
whose ``rows(key, view, everything)`` gives a table's rows: the page handler draws every
table with :meth:`PageTables.build` and :func:`add_download` adds the page's download
handler on the same setup, so the two cannot drift apart.
"""

from __future__ import annotations

import csv
import inspect
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Protocol
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from doseflow.domain.errors import DoseflowError
from doseflow.service.dashboard.paging import (
    DASHBOARD_ROWS,
    TablePage,
    page_rows,
    table_page,
)
from doseflow.service.queries import MAX_OFFSET

#: Rows per page a table may show (a larger page is refused: pages stay small).
MAX_PAGE_SIZE = 500


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
    #: the direction the table takes when the address names none (newest first, ...)
    default_descending: bool = False


def _whole(request: Request, name: str, default: int, low: int, high: int) -> int:
    """A whole-number parameter within bounds, or a located ``SERVICE_BAD_REQUEST``."""
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise DoseflowError(
            "SERVICE_BAD_REQUEST",
            f"{name} must be a whole number from {low} to {high}",
            field=name,
            expected=f"a whole number from {low} to {high}",
            value=text,
        )
    return value


def view_of(
    request: Request,
    key: str,
    columns: Sequence[Column],
    default_sort: str,
    *,
    offset: int | None = None,
    size: int | None = None,
    default_descending: bool = False,
) -> TableView:
    """The table's state (offset and size from the address unless given); an unknown sort
    column or direction, or an offset or size out of bounds, is a located
    ``SERVICE_BAD_REQUEST`` (a mistyped link should say so, not show another order)."""
    if offset is None:
        offset = _whole(request, f"{key}_offset", 0, 0, MAX_OFFSET)
    if size is None:
        size = _whole(request, f"{key}_size", DASHBOARD_ROWS, 1, MAX_PAGE_SIZE)
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
    default_dir = Direction.DESC if default_descending else Direction.ASC
    direction = request.query_params.get(f"{key}_dir", default_dir.value)
    if direction not in (Direction.ASC.value, Direction.DESC.value):
        raise DoseflowError(
            "SERVICE_BAD_REQUEST",
            "a sort direction is asc or desc",
            field=f"{key}_dir",
            expected="asc or desc",
            value=direction,
        )
    return TableView(key, offset, size, sort, direction == Direction.DESC.value, default_descending)


def address(request: Request, changes: dict[str, str | None], path: str | None = None) -> str:
    """The current address with ``changes`` (None removes a parameter), keeping the rest."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params += [(k, v) for k, v in changes.items() if v is not None]
    query = urlencode(params)
    where = path or request.url.path
    return f"{where}?{query}" if query else where


def head(request: Request, view: TableView, columns: Sequence[Column]) -> list[HeadCell]:
    """Header cells: each sortable column links to this page sorted by it (in the table's
    usual direction, or the other way round if it is already the sort), back on the first
    page."""
    cells = []
    for c in columns:
        current = c.key == view.sort
        descending = not view.descending if current else view.default_descending
        wanted = Direction.DESC if descending else Direction.ASC
        href = (
            address(
                request,
                {
                    f"{view.key}_sort": c.key,
                    f"{view.key}_dir": None
                    if descending == view.default_descending
                    else wanted.value,
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


# -- a page's tables, declared once ---------------------------------------------------------


@dataclass(frozen=True)
class TableSpec:
    """One table of a page: its key in the address, its columns, its usual order, and the
    name its downloads get."""

    key: str
    columns: tuple[Column, ...]
    default_sort: str
    file_name: str
    default_descending: bool = False
    #: a row that stands for several lines of the file (a stock card's receipt and the
    #: discrepancy under it): the lines it stands for
    expand: Callable[[Any], Sequence[Any]] | None = None

    def view(self, request: Request) -> TableView:
        return view_of(
            request,
            self.key,
            self.columns,
            self.default_sort,
            default_descending=self.default_descending,
        )


@dataclass(frozen=True)
class Table:
    """What a template needs to draw one table: its rows, header cells, pager, downloads."""

    rows: list[Any]
    head: list[HeadCell]
    page: TablePage
    downloads: dict[str, str]


#: A table's rows: ``(rows, total)`` where a ``total`` means the store already filtered,
#: sorted and cut them to the view's page (or gave every row, sorted, when ``everything``);
#: ``None`` means every matching row, computed whole, to be sorted and cut here.
Rows = tuple[Sequence[Any], int | None]


class TableData(Protocol):
    """What a page's setup gives: the rows of each of its tables under its filters."""

    def rows(self, key: str, view: TableView, everything: bool) -> Rows: ...


def build_table(
    request: Request, view: TableView, columns: Sequence[Column], rows: Rows, page_path: str
) -> Table:
    """A table from a page cut by the store (a total given) or from every row (sorted and
    cut here)."""
    found, total = rows
    if total is None:
        shown, nav = page_rows(
            request, f"{view.key}_offset", view.offset, sort_rows(found, view, columns), view.size
        )
    else:
        shown = list(found)
        nav = table_page(request, f"{view.key}_offset", view.offset, len(shown), total, view.size)
    return Table(
        shown, head(request, view, columns), nav, download_links(request, page_path, view.key)
    )


@dataclass(frozen=True)
class PageTables:
    """Every table of one dashboard page (``path``), declared once for the page and its
    downloads."""

    path: str
    specs: tuple[TableSpec, ...]

    def spec(self, key: str) -> TableSpec:
        for spec in self.specs:
            if spec.key == key:
                return spec
        raise DoseflowError(
            "SERVICE_BAD_REQUEST",
            f"this page has no table {key!r}",
            field="table",
            expected="one of " + ", ".join(s.key for s in self.specs),
            value=key,
        )

    def views(self, request: Request) -> dict[str, TableView]:
        """Every table's state, checked before anything is read."""
        return {spec.key: spec.view(request) for spec in self.specs}

    def build(self, request: Request, data: TableData) -> dict[str, Any]:
        """Every table of the page (a :class:`Table`), by key: ready to hand a template."""
        return {
            key: build_table(
                request, view, self.spec(key).columns, data.rows(key, view, False), self.path
            )
            for key, view in self.views(request).items()
        }

    def download(
        self, request: Request, key: str | None, data: TableData, fmt: DownloadFormat
    ) -> Response:
        """Every row of table ``key`` (may be left out on a page of one table) under the
        page's filters and sort."""
        spec = self.specs[0] if key is None and len(self.specs) == 1 else self.spec(key or "")
        view = spec.view(request)
        found, total = data.rows(spec.key, view, True)
        rows = found if total is not None else sort_rows(found, view, spec.columns)
        if spec.expand is not None:
            rows = [line for row in rows for line in spec.expand(row)]
        return download(spec.file_name, spec.columns, rows, fmt)


def add_download(router: APIRouter, tables: PageTables, setup: Callable[..., TableData]) -> None:
    """The page's ``/download`` handler, on the same setup (access check, filters) as the
    page: ``?table=<key>&format=csv|xlsx`` plus the page's own parameters."""
    prefix = router.prefix

    def page_download(
        request: Request, *, table: str | None, format: DownloadFormat, data: TableData
    ) -> Response:
        return tables.download(request, table, data, format)

    # the page's own setup as a dependency: given as a signature of real objects (this
    # module's annotations are strings, which FastAPI would look up among its globals)
    page_download.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request
            ),
            inspect.Parameter(
                "table",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+$")],
                default=None,
            ),
            inspect.Parameter("format", inspect.Parameter.KEYWORD_ONLY, annotation=DownloadFormat),
            inspect.Parameter(
                "data",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[Any, Depends(setup)],
            ),
        ],
        return_annotation=Response,
    )
    page_download.__doc__ = f"Every row of one table of {tables.path} (filters and sort kept)."
    router.add_api_route(
        tables.path.removeprefix(prefix) + "/download",
        page_download,
        methods=["GET"],
        name=tables.path.strip("/").replace("/", "_") + "_download",
    )


RowsOf = Callable[[TableView, bool], Rows]


@dataclass(frozen=True)
class PageData:
    """A page's setup: each table's row function, and what else the page shows."""

    sources: Mapping[str, RowsOf]
    context: Mapping[str, Any] = field(default_factory=dict)

    def rows(self, key: str, view: TableView, everything: bool) -> Rows:
        return self.sources[key](view, everything)


def whole(rows: Sequence[Any]) -> RowsOf:
    """A table computed whole: every matching row, sorted and cut here."""
    return lambda _view, _everything: (rows, None)
