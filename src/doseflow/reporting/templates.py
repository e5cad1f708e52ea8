"""CSV and Excel data-entry templates: generated for a participant, read back as values.

A template has one row per figure owed: org unit x period x data element x category
combination, with the identifying columns filled in and ``value`` (and ``comment``) left
blank for the participant. Reading a filled template gives submitted values that remember
their row and column, so every problem in the import summary points at a cell
(``admin.xlsx:14:J``). Rows whose value is left blank are not submitted.

Columns (``value`` is the one to fill)::

    participant, org_unit, org_unit_name, period, report, data_element, data_element_name,
    category, category_name, value, comment
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from doseflow.data.user_files import readable_csv
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.reporting.hierarchy import Hierarchy
from doseflow.reporting.periods import Period
from doseflow.reporting.schema import DEFAULT_CATEGORY_KEY, Schema
from doseflow.reporting.values import Origin, SubmittedValue

CODE = "REPORT_TEMPLATE_INVALID"
COLUMNS: tuple[str, ...] = (
    "participant",
    "org_unit",
    "org_unit_name",
    "period",
    "report",
    "data_element",
    "data_element_name",
    "category",
    "category_name",
    "value",
    "comment",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("org_unit", "period", "data_element", "value")
DATA_SHEET = "Data entry"
_FIELD_OF_COLUMN = {
    "participant": "participant",
    "org_unit": "org_unit",
    "period": "period",
    "data_element": "data_element",
    "category": "category",
    "attribute": "attribute",  # optional: the attribute option combo (default: "default")
    "value": "value",
    "comment": "comment",
}


@dataclass(frozen=True)
class TemplateRow:
    participant: str
    org_unit: str
    org_unit_name: str
    period: str
    report: str
    data_element: str
    data_element_name: str
    category: str
    category_name: str

    def cells(self) -> list[str]:
        return [
            self.participant,
            self.org_unit,
            self.org_unit_name,
            self.period,
            self.report,
            self.data_element,
            self.data_element_name,
            self.category,
            self.category_name,
            "",
            "",
        ]


def template_rows(
    participant: str,
    report: str,
    periods: Sequence[Period],
    schema: Schema,
    hierarchy: Hierarchy,
) -> list[TemplateRow]:
    """Every figure ``participant`` owes for ``report`` in ``periods``."""
    if report not in schema.report_types:
        raise DoseflowError(
            "REPORT_UNKNOWN_REPORT_TYPE",
            f"'{report}' is not a report type of the schema",
            field="report",
            expected="one of " + ", ".join(sorted(schema.report_types)),
            value=report,
        )
    allowed = schema.report_types[report].period_types
    for p in periods:
        if p.type not in allowed:
            raise DoseflowError(
                "REPORT_WRONG_PERIOD_TYPE",
                f"report '{report}' is not kept per {p.type.value} period",
                field="period",
                expected=" or ".join(t.value for t in allowed) + " periods",
                value=p.code,
            )
    units = hierarchy.units_of(participant)
    if not units:
        raise DoseflowError(
            "REPORT_UNKNOWN_PARTICIPANT",
            f"'{participant}' is not a participant in the reporting hierarchy",
            field="participant",
            expected="a participant code from the hierarchy (e.g. an ISO3 code)",
            value=participant,
        )
    rows: list[TemplateRow] = []
    for unit in units:
        for period in periods:
            for element in schema.elements_of(report):
                for key in schema.category_keys(element):
                    rows.append(
                        TemplateRow(
                            participant,
                            unit.code,
                            unit.name,
                            period.code,
                            report,
                            element.code,
                            element.name,
                            key,
                            _category_name(key, schema),
                        )
                    )
    return rows


def _category_name(key: str, schema: Schema) -> str:
    if key == DEFAULT_CATEGORY_KEY:
        return ""
    names = []
    for part in key.split(","):
        cat, _, opt = part.partition("=")
        option = next((o for o in schema.categories[cat].options if o.code == opt), None)
        names.append(option.name if option else opt)
    return ", ".join(names)


def write_csv_template(rows: Iterable[TemplateRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(row.cells())
    return buffer.getvalue()


def write_excel_template(
    rows: Sequence[TemplateRow], path: Path | str, schema: Schema, *, title: str = ""
) -> None:
    """An .xlsx workbook: a 'Data entry' sheet (fill column J) and an 'About' sheet."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = DATA_SHEET
    ws.append(list(COLUMNS))
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
    for row in rows:
        ws.append(row.cells())
    value_col = get_column_letter(COLUMNS.index("value") + 1)
    entry_fill = PatternFill("solid", fgColor="FFF2CC")
    for r in range(2, len(rows) + 2):
        ws[f"{value_col}{r}"].fill = entry_fill
    integer_elements = all(
        schema.elements[r.data_element].value_type.whole
        for r in rows
        if r.data_element in schema.elements
    )
    if rows:
        rule = DataValidation(
            type="whole" if integer_elements else "decimal",
            operator="greaterThanOrEqual",
            formula1="0",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="Not a count",
            error="Enter a number of doses or people (0 or more).",
        )
        ws.add_data_validation(rule)
        rule.add(f"{value_col}2:{value_col}{len(rows) + 1}")
    widths = (12, 12, 24, 10, 14, 22, 34, 28, 34, 12, 30)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    about = wb.create_sheet("About")
    about.append([title or "doseflow data-entry template"])
    about.append(
        [
            f"Fill column {value_col} ('value') of the '{DATA_SHEET}' sheet; leave a "
            "cell blank if the figure is not yet known."
        ]
    )
    about.append(["Do not change the other columns. Submit with: doseflow report submit FILE"])
    about["A1"].font = Font(bold=True, size=13)
    wb.save(str(path))


def _bad_header(source: str, missing: list[str], found: list[str]) -> DoseflowError:
    return DoseflowError.from_details(
        ErrorDetail(
            CODE,
            f"the header has no '{name}' column",
            ErrorLocation(source=source, line=1, field=name),
            expected="the template's header row: " + ", ".join(COLUMNS),
            value=", ".join(found),
        )
        for name in missing
    )


def _values(
    header: list[str],
    rows: Iterable[tuple[int, Sequence[Any]]],
    source: str,
    column_label: Any,
) -> list[SubmittedValue]:
    names = [str(h).strip().lower() if h is not None else "" for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise _bad_header(source, missing, [n for n in names if n])
    index = {name: i for i, name in enumerate(names) if name in _FIELD_OF_COLUMN}
    columns = MappingProxyType(
        {_FIELD_OF_COLUMN[name]: column_label(i) for name, i in index.items()}
    )

    def cell(row: Sequence[Any], name: str) -> Any:
        i = index.get(name)
        if i is None or i >= len(row):
            return None
        return row[i]

    def text(row: Sequence[Any], name: str) -> str:
        raw = cell(row, name)
        return "" if raw is None else str(raw).strip()

    found: list[SubmittedValue] = []
    for line, row in rows:
        value = cell(row, "value")
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        found.append(
            SubmittedValue(
                data_element=text(row, "data_element"),
                period=text(row, "period"),
                org_unit=text(row, "org_unit"),
                value=value,
                category=text(row, "category") or DEFAULT_CATEGORY_KEY,
                participant=text(row, "participant") or None,
                comment=text(row, "comment") or None,
                origin=Origin(source=source, line=line, columns=columns),
                attribute=text(row, "attribute") or DEFAULT_CATEGORY_KEY,
            )
        )
    return found


def read_csv_template(text: str, *, source: str = "<csv>") -> list[SubmittedValue]:
    reader = csv.reader(io.StringIO(text))
    with readable_csv("REPORT_TEMPLATE_INVALID", source, lambda: reader.line_num):
        rows = list(reader)
    if not rows:
        raise _bad_header(source, list(REQUIRED_COLUMNS), [])
    header, body = rows[0], rows[1:]
    return _values(header, ((i, r) for i, r in enumerate(body, start=2)), source, lambda i: i + 1)


def read_excel_template(path: Path | str) -> list[SubmittedValue]:
    source = str(path)
    try:
        wb = load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a bad file
        raise DoseflowError(
            CODE,
            f"cannot open the workbook: {exc}",
            source=source,
            expected="an .xlsx workbook made by `doseflow report template`",
        ) from None
    try:
        ws = wb[DATA_SHEET] if DATA_SHEET in wb.sheetnames else wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = list(next(rows, ()))
        return _values(
            header,
            ((i, r) for i, r in enumerate(rows, start=2)),
            f"{source}[{ws.title}]",
            lambda i: get_column_letter(i + 1),
        )
    finally:
        wb.close()


def read_template(path: Path | str) -> list[SubmittedValue]:
    """The filled-in values of a CSV or Excel template."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return read_excel_template(p)
    if suffix == ".csv":
        try:
            text = p.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise DoseflowError(
                CODE, f"cannot read the file: {exc}", source=str(p), expected="a UTF-8 CSV file"
            ) from None
        return read_csv_template(text, source=str(p))
    raise DoseflowError(
        CODE,
        f"'{p.name}' is neither a CSV nor an Excel file",
        source=str(p),
        expected="a .csv or .xlsx template",
        value=p.suffix,
    )
