"""One way for every listing command to write its rows: a table, CSV, JSON (or a workbook).

A command describes its columns once (header, key, how a cell reads in the table) and hands
over raw values: ``emit`` renders them as a Rich table on a terminal, as the same table at its
full width when the output is piped to a file (Rich would otherwise fit it to 80 columns and
cut numbers: "1,200,4…"), or as CSV or JSON with raw figures (no thousands separators), the
keys being the columns' snake_case names. Notes around a table (totals, sources) go to
stdout with the table, to stderr with CSV and JSON so the data can be parsed as it is.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from doseflow.cli.console import console, err_console


class OutputFormat(StrEnum):
    """How a listing command writes its rows."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"


class TableOrJson(StrEnum):
    """How a command whose output is not one table of rows (an explanation, a summary)
    writes it: as text and tables, or as JSON."""

    TABLE = "table"
    JSON = "json"


FORMAT_HELP = (
    "table (a terminal table; full width when piped), csv or json (raw figures, one row per "
    "line / a list of objects, same keys)."
)


def format_option(help_text: str = FORMAT_HELP) -> Any:
    """The ``--format`` option every listing command takes."""
    return typer.Option(OutputFormat.TABLE, "--format", help=help_text, case_sensitive=False)


def table_or_json_option(help_text: str) -> Any:
    """``--format table|json``, for a command whose output has no CSV form (not one table);
    ``help_text`` says what each gives."""
    return typer.Option(TableOrJson.TABLE, "--format", help=help_text, case_sensitive=False)


def snake(name: str) -> str:
    """A header as a CSV/JSON key: ``"days left"`` -> ``days_left``, ``"VVM"`` -> ``vvm``."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


@dataclass(frozen=True)
class Shown:
    """A cell whose table text is not its raw value: ``Shown(2400, "1 pack of 2,400")``,
    or a figure shown in colour (``text`` may hold Rich markup)."""

    raw: Any
    text: str


def _raw(value: Any) -> Any:
    """A cell as JSON has it: numbers and text as they are, dates in ISO 8601, enums by value."""
    if isinstance(value, Shown):
        return _raw(value.raw)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _text(value: Any) -> str:
    """A cell as the table shows it when the column says nothing: integers with thousands
    separators, missing values as ``-``, text escaped (never read as markup)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return escape(str(_raw(value)))


@dataclass(frozen=True)
class Column:
    """A column: its header, its key in CSV/JSON (the header in snake_case unless given),
    whether it holds figures (right-aligned, never wrapped), how a cell reads in the table
    when not the default (may return Rich markup), and whether the table shows it (a figure
    the table already shows inside another cell, such as a due date's time zone, is a column
    of its own in CSV and JSON only)."""

    header: str
    numeric: bool = False
    key: str = ""
    text: Callable[[Any], str] | None = field(default=None, compare=False)
    in_table: bool = True

    @property
    def name(self) -> str:
        return self.key or snake(self.header)

    def cell(self, value: Any) -> str:
        if isinstance(value, Shown):
            return value.text
        return self.text(value) if self.text is not None else _text(value)


def col(header: str, numeric: bool = False, **kwargs: Any) -> Column:
    """Shorthand for :class:`Column`."""
    return Column(header, numeric, **kwargs)


def records(columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """The rows as JSON objects keyed by the columns' names, values raw."""
    names = [c.name for c in columns]
    return [dict(zip(names, (_raw(v) for v in row), strict=True)) for row in rows]


def _csv_value(value: Any) -> Any:
    raw = _raw(value)
    return "" if raw is None else raw


def write_csv(columns: Sequence[Column], rows: Iterable[Sequence[Any]], out: Any) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.name for c in columns])
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])


def write_xlsx(columns: Sequence[Column], rows: Iterable[Sequence[Any]], path: Path) -> None:
    """A workbook with one sheet: the columns' names, then the rows with raw values."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([c.name for c in columns])
    for row in rows:
        sheet.append([_raw(v) for v in row])
    book.save(path)


def table(
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    caption: str | None = None,
    show_lines: bool = False,
) -> Table:
    """The Rich table of the rows. Figures are never wrapped nor cut: their column is at
    least as wide as its widest cell; text columns wrap between words on a narrow terminal."""
    shown = [i for i, c in enumerate(columns) if c.in_table]
    cells = [[columns[i].cell(row[i]) for i in shown] for row in rows]
    t = Table(title=title, caption=caption, show_lines=show_lines)
    for i, c in enumerate(columns[i] for i in shown):
        if c.numeric:
            widest = max((_cell_width(r[i]) for r in cells), default=0)
            t.add_column(
                c.header, justify="right", no_wrap=True, min_width=max(widest, len(c.header))
            )
        else:
            t.add_column(c.header, overflow="fold")
    for r in cells:
        t.add_row(*r)
    return t


def _cell_width(markup: str) -> int:
    """The printed width of a cell (its markup removed)."""
    from rich.text import Text

    return Text.from_markup(markup).cell_len


def print_table(t: Table, target: Console | None = None) -> None:
    """Print ``t`` on a terminal as Rich fits it; elsewhere (a pipe, a file) at the width it
    needs, so no cell is cut or wrapped to fit an imaginary 80-column screen."""
    out = target or console
    if out.is_terminal or out.record:
        out.print(t)
        return
    needed = out.measure(t, options=out.options.update(width=10_000)).maximum
    wide = Console(
        file=out.file,
        width=max(needed, out.width),
        color_system=None,
        force_terminal=False,
        highlight=False,
    )
    wide.print(t)


def emit(
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    fmt: OutputFormat = OutputFormat.TABLE,
    *,
    title: str | None = None,
    caption: str | None = None,
    show_lines: bool = False,
) -> None:
    """Write the rows in ``fmt``: the one way listing commands write what they list."""
    rows = list(rows)
    if fmt is OutputFormat.CSV:
        write_csv(columns, rows, console.file)
    elif fmt is OutputFormat.JSON:
        console.file.write(json.dumps(records(columns, rows), ensure_ascii=False, indent=2) + "\n")
    else:
        print_table(table(columns, rows, title=title, caption=caption, show_lines=show_lines))


def note(text: str, fmt: OutputFormat = OutputFormat.TABLE, *, markup: bool = False) -> None:
    """A line around a listing (a total, a source): with the table on stdout, on stderr
    when the rows are CSV or JSON (so stdout holds the data alone)."""
    target = console if fmt is OutputFormat.TABLE else err_console
    target.print(text, highlight=False, markup=markup, soft_wrap=not target.is_terminal)
