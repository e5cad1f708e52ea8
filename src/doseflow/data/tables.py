"""Records from a table (CSV, or one sheet of an .xlsx workbook): one row per record.

Analysts keep lists of records (participants, ...) in spreadsheets. This module reads such
a table into the same documents a YAML file would hold, validated with the SAME pydantic
model, so a table and a file cannot disagree on what a field accepts. The mapping from
columns to fields is derived from the model, never listed by hand:

* a scalar field is a column of its name (``population``);
* a mapping field or a nested model is one column per key, ``field:key``
  (``requests:AZ-SII``, ``threat:deaths_per_million``);
* a list field is one cell, items separated by ``;`` (``2-8;ambient``); a cell holding
  only ``;`` is the empty list. When a field is a list *or* a literal (``all``), a cell
  holding that literal is the literal;
* a blank cell is a field not given (the model's default applies).

Every cell is text, validated with :func:`doseflow.data.fields.text_cells` as context (so
``1200`` is a number and ``1,200`` is refused), whichever the file type: an Excel number,
date or true/false is first written as the text it stands for. Problems are located at the
row as a spreadsheet shows it (the header is row 1) and the column (its number, and its
name as the field). Nothing here decides what a problem's code is: the caller's area gives
the translation of a pydantic error (:data:`Describe`) and its codes (:class:`TableCodes`).
"""

from __future__ import annotations

import csv
import io
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from doseflow.data.fields import text_cells
from doseflow.data.user_files import readable_csv
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.domain.limits import MAX_DOCUMENT_BYTES, MAX_TABLE_ROWS

#: Separator of a list's items in one cell.
LIST_SEPARATOR = ";"
#: Separator of a mapping field's name and key in a column name.
KEY_SEPARATOR = ":"
#: File types read as tables.
TABLE_SUFFIXES = (".csv", ".xlsx", ".xlsm")

#: ``(pydantic error) -> (code, expected)``: the area's translation of one error.
Describe = Callable[[Mapping[str, Any]], tuple[str, str]]


@dataclass(frozen=True)
class TableCodes:
    """The area's error codes for a table that cannot be read."""

    not_found: str  #: no such file
    unsupported: str  #: not .csv, .xlsx or .xlsm
    bad_table: str  #: unreadable, empty, no header, merged cells, formula without a value...
    unknown_column: str  #: a column that names no field of the model


@dataclass(frozen=True)
class Row:
    """One row: its number as a spreadsheet shows it, and its non-blank cells as text."""

    number: int
    cells: Mapping[int, str]  #: column number (1-based) -> text


@dataclass(frozen=True)
class Table:
    """A table as read: its header (column number -> name) and its rows."""

    source: str
    header: Mapping[int, str]
    rows: tuple[Row, ...]


# ---------------------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------------------


def read_table(path: Path, codes: TableCodes, *, sheet: str | None = None) -> Table:
    """The table in a CSV file or in one sheet (``sheet``, or the first) of a workbook."""
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DoseflowError(
            codes.unsupported,
            "a table must be a CSV file or an Excel workbook",
            source=source,
            expected="a file ending in " + ", ".join(TABLE_SUFFIXES),
            value=path.suffix or path.name,
        )
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise IsADirectoryError(21, "not a file")
    except OSError as exc:
        raise DoseflowError(
            codes.not_found,
            f"cannot open {path}: {exc.strerror or exc}",
            source=source,
            expected="an existing, readable file",
            value=str(path),
        ) from None
    if size > MAX_DOCUMENT_BYTES:
        raise DoseflowError(
            codes.bad_table,
            f"the file is {size:,} bytes, more than doseflow reads",
            source=source,
            expected=f"at most {MAX_DOCUMENT_BYTES:,} bytes",
        )
    if suffix == ".csv":
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except OSError as exc:
            raise DoseflowError(
                codes.not_found,
                f"cannot read {path}: {exc.strerror or exc}",
                source=source,
                expected="an existing, readable file",
                value=str(path),
            ) from None
        except UnicodeDecodeError:
            raise DoseflowError(
                codes.bad_table,
                "the file is not UTF-8 text",
                source=source,
                expected="a UTF-8 encoded CSV file (Excel: save as 'CSV UTF-8')",
            ) from None
        return csv_table(text, source, codes)
    return _workbook_table(path, codes, sheet)


def csv_table(text: str, source: str, codes: TableCodes) -> Table:
    """The table in CSV text (the first row names the columns).

    Cells are separated by commas, or by semicolons or tabs when the header has no comma
    but one of those: a spreadsheet set to a language that writes decimals with a comma
    saves its CSV files with semicolons (and quotes a cell holding one, so a list cell
    ``2-8;ambient`` still reads as one cell)."""
    first = text.split("\n", 1)[0]
    delimiter = ","
    if "," not in first:
        delimiter = next((d for d in (";", "\t") if d in first), ",")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[list[str]] = []
    with readable_csv(codes.bad_table, source, lambda: reader.line_num):
        for raw in reader:
            rows.append(raw)
            if len(rows) > MAX_TABLE_ROWS + 1:
                _too_many(source, codes)
    return _table(source, codes, rows)


def _workbook_table(path: Path, codes: TableCodes, sheet: str | None) -> Table:
    from openpyxl import load_workbook

    source = str(path)

    def bad(message: str, expected: str, **where: Any) -> DoseflowError:
        return DoseflowError(codes.bad_table, message, expected=expected, **where)

    try:
        book = load_workbook(path, data_only=False)
    except Exception as exc:  # openpyxl raises several unrelated types for a bad file
        raise bad(f"cannot open the workbook: {exc}", "an .xlsx workbook", source=source) from None
    if sheet is not None and sheet not in book.sheetnames:
        raise bad(
            f"the workbook has no sheet '{sheet}'",
            "one of " + ", ".join(book.sheetnames),
            source=source,
            value=sheet,
        )
    ws = book[sheet] if sheet is not None else book.worksheets[0]
    shown = f"{source}[{ws.title}]"
    if ws.max_row > MAX_TABLE_ROWS + 1:
        _too_many(shown, codes)
    problems: list[ErrorDetail] = [
        _detail(
            codes.bad_table,
            f"cells {merged.coord} are merged: only the first would be read",
            shown,
            merged.min_row,
            merged.min_col,
            None,
            "one value in each cell (unmerge the cells and fill each one)",
            merged.coord,
        )
        for merged in ws.merged_cells.ranges
    ]
    formulas = [(c.row, c.column) for line in ws.iter_rows() for c in line if c.data_type == "f"]
    computed: dict[tuple[int, int], Any] = {}
    if formulas:  # the values Excel computed and saved with the formulas, as it shows them
        values = load_workbook(path, data_only=True)[ws.title]
        computed = {(r, c): values.cell(r, c) for r, c in formulas}
    rows: list[list[str]] = []
    for line in ws.iter_rows():
        out: list[str] = []
        for c in line:
            shows = computed.get((c.row, c.column), c)
            problem = None
            if shows.data_type == "e":
                problem = ("the cell holds an Excel error", "a value", shows.value)
            elif shows is not c and shows.value is None:
                problem = (
                    "the cell holds a formula whose value was never computed",
                    "a value (save the workbook in Excel, or paste the values)",
                    c.value,
                )
            if problem is not None:
                message, expected, found = problem
                problems.append(
                    _detail(
                        codes.bad_table,
                        message,
                        shown,
                        c.row,
                        c.column,
                        None,
                        expected,
                        str(found),
                    )
                )
            out.append(cell_text(shows.value))
        rows.append(out)
    book.close()
    if problems:
        _raise(problems)
    return _table(shown, codes, rows)


def cell_text(value: Any) -> str:
    """A workbook cell's value as the text it stands for (what a CSV file would hold)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))  # Excel has no whole numbers: 1200.0 is 1200
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _too_many(source: str, codes: TableCodes) -> None:
    raise DoseflowError(
        codes.bad_table,
        f"the table has more than {MAX_TABLE_ROWS:,} rows",
        source=source,
        expected=f"at most {MAX_TABLE_ROWS:,} rows below the header",
    )


def _table(source: str, codes: TableCodes, rows: Sequence[Sequence[str]]) -> Table:
    """Header and rows; blank rows and nameless blank columns are left out (a sheet's
    formatting often reaches past its data), a nameless column holding values is not."""
    stripped = [[cell.strip() for cell in row] for row in rows]
    if not stripped or not any(stripped[0]):
        raise DoseflowError(
            codes.bad_table,
            "the table is empty" if not any(any(r) for r in stripped) else "row 1 is blank",
            source=source,
            line=1,
            expected="a header row naming the columns, then one row per record",
        )
    header = {i: name for i, name in enumerate(stripped[0], start=1) if name}
    body: list[Row] = []
    problems: list[ErrorDetail] = []
    seen: dict[str, int] = {}
    for number, name in header.items():
        if name in seen:
            problems.append(
                _detail(
                    codes.bad_table,
                    f"column '{name}' appears twice (columns {seen[name]} and {number})",
                    source,
                    1,
                    number,
                    name,
                    "each column once",
                    name,
                )
            )
        seen.setdefault(name, number)
    for number, row in enumerate(stripped[1:], start=2):
        cells = {i: text for i, text in enumerate(row, start=1) if text}
        for i in sorted(set(cells) - set(header)):
            problems.append(
                _detail(
                    codes.bad_table,
                    f"column {i} has no name in row 1 but holds a value",
                    source,
                    number,
                    i,
                    None,
                    "a column name in row 1 for every column with values",
                    cells[i],
                )
            )
        if cells:
            body.append(Row(number, cells))
    if not body:
        problems.append(
            _detail(
                codes.bad_table,
                "the table has a header but no rows",
                source,
                1,
                None,
                None,
                "one row per record below the header",
                None,
            )
        )
    if len(body) > MAX_TABLE_ROWS:
        _too_many(source, codes)
    _raise(problems)
    return Table(source, header, tuple(body))


def _detail(
    code: str,
    message: str,
    source: str,
    line: int | None,
    column: int | None,
    field: str | None,
    expected: str,
    value: Any,
) -> ErrorDetail:
    return ErrorDetail(
        code,
        message,
        ErrorLocation(source=source, line=line, column=column, field=field),
        expected=expected,
        value=value,
    )


def _raise(problems: Iterable[ErrorDetail]) -> None:
    found = sorted(problems, key=lambda d: (d.location.line or 0, d.location.column or 0))
    if found:
        raise DoseflowError.from_details(found)


# ---------------------------------------------------------------------------------------
# Columns <-> model fields
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    kind: Literal["scalar", "list", "mapping", "model"]
    literals: frozenset[str] = frozenset()  #: literal values a list field may also take
    inner: type[BaseModel] | None = None  #: the nested model (kind "model")
    value: _Shape | None = None  #: the shape of a mapping's values


def _shape(annotation: Any) -> _Shape:
    """How a field's values are written in cells, from its type annotation."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _shape(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        shapes = [_shape(a) for a in members]
        literals = frozenset(
            str(v) for a in members if typing.get_origin(a) is Literal for v in typing.get_args(a)
        )
        for s in shapes:
            if s.kind != "scalar":
                return _Shape(s.kind, literals, s.inner, s.value)
        return _Shape("scalar")
    if origin in (list, tuple, set, frozenset):
        return _Shape("list")
    if origin is dict:
        return _Shape("mapping", value=_shape(typing.get_args(annotation)[1]))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _Shape("model", inner=annotation)
    return _Shape("scalar")


@cache
def _fields(model: type[BaseModel]) -> dict[str, _Shape]:
    """Each field's shape (models are classes: worked out once, not for every cell)."""
    return {name: _shape(info.annotation) for name, info in model.model_fields.items()}


def column_path(name: str, model: type[BaseModel]) -> tuple[str, ...] | None:
    """The field a column fills (``("requests", "AZ-SII")``), or None if it names none."""
    field, sep, key = name.partition(KEY_SEPARATOR)
    shape = _fields(model).get(field)
    if shape is None:
        return None
    if not sep:
        return (field,) if shape.kind in ("scalar", "list") else None
    if shape.kind == "mapping" and key:
        return (field, key)
    if shape.kind == "model" and shape.inner is not None:
        inner = _fields(shape.inner).get(key)
        return (field, key) if inner is not None and inner.kind in ("scalar", "list") else None
    return None


def _columns_expected(model: type[BaseModel]) -> str:
    names = []
    for field, shape in _fields(model).items():
        if shape.kind == "mapping":
            names.append(f"{field}{KEY_SEPARATOR}KEY")
        elif shape.kind == "model" and shape.inner is not None:
            names.extend(f"{field}{KEY_SEPARATOR}{k}" for k in shape.inner.model_fields)
        else:
            names.append(field)
    return "columns among " + ", ".join(names)


def _cell_value(text: str, shape: _Shape) -> Any:
    if shape.kind != "list" or text in shape.literals:
        return text
    return [item.strip() for item in text.split(LIST_SEPARATOR) if item.strip()]


def _leaf_shape(model: type[BaseModel], path: tuple[str, ...]) -> _Shape:
    shape = _fields(model)[path[0]]
    if len(path) == 1:
        return shape
    if shape.kind == "mapping" and shape.value is not None:
        return shape.value
    assert shape.inner is not None
    return _fields(shape.inner)[path[1]]


@dataclass(frozen=True)
class Record:
    """One row's document and where each of its fields came from."""

    row: Row
    document: dict[str, Any]
    columns: Mapping[tuple[str, ...], int]  #: field path -> column number


def mapping_fields(model: type[BaseModel]) -> list[str]:
    """The model's mapping fields (written as ``field:KEY`` columns)."""
    return [field for field, shape in _fields(model).items() if shape.kind == "mapping"]


@dataclass(frozen=True)
class Records:
    """A table's rows read with a model: the valid ones, the others (as written), and
    the problems of those and of the header (unknown columns), located at row and column."""

    valid: list[tuple[Record, BaseModel]]
    failed: list[Record]
    problems: list[ErrorDetail]


def table_records(
    table: Table, model: type[BaseModel], codes: TableCodes, describe: Describe
) -> Records:
    """Every row validated with ``model`` (see :class:`Records`)."""
    problems: list[ErrorDetail] = []
    paths: dict[int, tuple[str, ...]] = {}
    for number, name in table.header.items():
        path = column_path(name, model)
        if path is None:
            problems.append(
                _detail(
                    codes.unknown_column,
                    f"unknown column '{name}'",
                    table.source,
                    1,
                    number,
                    name,
                    _columns_expected(model),
                    name,
                )
            )
        else:
            paths[number] = path
    absent = {
        field
        for field, info in model.model_fields.items()
        if info.is_required() and (field,) not in paths.values()
    }
    for field in sorted(absent):  # once, not on every row
        code, _ = describe({"type": "missing", "loc": (field,), "msg": "Field required"})
        problems.append(
            _detail(
                code,
                f"required column '{field}' is missing",
                table.source,
                1,
                None,
                field,
                f"a column '{field}' in row 1",
                None,
            )
        )
    records: list[tuple[Record, BaseModel]] = []
    failed: list[Record] = []
    for row in table.rows:
        document: dict[str, Any] = {}
        for number, text in row.cells.items():
            path = paths.get(number)
            if path is None:
                continue  # reported once, at the header
            value = _cell_value(text, _leaf_shape(model, path))
            if len(path) == 1:
                document[path[0]] = value
            else:
                document.setdefault(path[0], {})[path[1]] = value
        record = Record(row, document, {p: n for n, p in paths.items()})
        try:
            records.append((record, model.model_validate(document, context=text_cells())))
        except ValidationError as err:
            failed.append(record)
            problems.extend(_row_details(err, record, table, describe, absent))
    return Records(records, failed, problems)


def _row_details(
    err: ValidationError,
    record: Record,
    table: Table,
    describe: Describe,
    absent: set[str],
) -> list[ErrorDetail]:
    out = []
    for e in err.errors():
        if e["type"] == "missing" and tuple(e["loc"])[:1] in {(f,) for f in absent}:
            continue  # the column is missing: said once, at the header
        code, expected = describe(e)
        # pydantic names the union member it tried ("list[str]", "literal['all']"): not a key
        loc = [p for p in e["loc"] if not (isinstance(p, str) and ("[" in p or "'" in p))]
        keys = [str(p) for p in loc if isinstance(p, str)]
        column = locate(record, keys)
        value = e.get("input")
        if column is not None and not isinstance(value, str | int | float):
            value = record.row.cells.get(column)
        out.append(
            _detail(
                code,
                str(e["msg"]),
                table.source,
                record.row.number,
                column,
                KEY_SEPARATOR.join(keys) or None if column is None else table.header[column],
                expected,
                value if isinstance(value, str | int | float) else None,
            )
        )
    return out


def locate(record: Record, path: Sequence[str]) -> int | None:
    """The column of a field path (a key of a mapping field, or the field itself)."""
    for length in (2, 1):
        column = record.columns.get(tuple(path[:length]))
        if column is not None and len(path) >= length:
            return column
    return None


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------


def table_columns(
    model: type[BaseModel],
    documents: Sequence[Mapping[str, Any]],
    keys: Mapping[str, Iterable[str]] | None = None,
) -> list[str]:
    """Every column the model knows, in its field order: mapping fields with one column
    per key the documents use or ``keys`` names (e.g. each product code)."""
    out: list[str] = []
    for field, shape in _fields(model).items():
        if shape.kind == "mapping":
            used = {str(k) for d in documents for k in (d.get(field) or {})}
            out.extend(
                f"{field}{KEY_SEPARATOR}{k}"
                for k in sorted(used | set((keys or {}).get(field, ())))
            )
        elif shape.kind == "model" and shape.inner is not None:
            out.extend(f"{field}{KEY_SEPARATOR}{k}" for k in shape.inner.model_fields)
        else:
            out.append(field)
    return out


def written(value: Any) -> Any:
    """A document's value as a cell holds it (lists joined by ``;``, ``;`` when empty)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(str(v) for v in value) if value else LIST_SEPARATOR
    return value


def table_rows(columns: Sequence[str], documents: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """One row of cells per document (JSON-ready, as ``model_dump(mode="json")`` gives
    it), ``None`` for a field it does not give."""
    rows = []
    for doc in documents:
        row: list[Any] = []
        for column in columns:
            field, sep, key = column.partition(KEY_SEPARATOR)
            value = doc.get(field)
            if sep:
                value = value.get(key) if isinstance(value, Mapping) else None
            row.append(None if value is None else written(value))
        rows.append(row)
    return rows


def write_table(
    path: Path, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, sheet: str = "table"
) -> None:
    """A CSV file or an .xlsx workbook (one sheet, ``sheet``) of the rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows([["" if v is None else v for v in row] for row in rows])
        return
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    ws.append(list(columns))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(r, c, value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text, not a formula
    ws.freeze_panes = "B2"
    book.save(path)
