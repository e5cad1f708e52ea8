from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from doseflow.domain.errors import DoseflowError
from doseflow.reporting import (
    DEFAULT_SCHEMA,
    Outcome,
    SubmissionContext,
    parse_period,
    read_template,
    template_rows,
    validate_submission,
    write_csv_template,
    write_excel_template,
)

from .conftest import AS_OF, make_hierarchy


def rows(report: str = "surveillance", period: str = "2021W38"):  # type: ignore[no-untyped-def]
    return template_rows("PRK", report, [parse_period(period)], DEFAULT_SCHEMA, make_hierarchy())


def test_template_has_one_row_per_figure_owed() -> None:
    surveillance = rows()
    assert len(surveillance) == 3 * 6  # national + 2 regions, 6 elements
    admin = rows("administration", "202109")
    assert len(admin) == 3 * 20  # 4 doses x 5 groups
    assert admin[0].category == "dose=dose1,group=hcw"
    assert admin[0].category_name == "Dose 1, Health and care workers"


def test_excel_template_round_trip_with_cell_positions(tmp_path: Path) -> None:
    path = tmp_path / "prk.xlsx"
    write_excel_template(rows(), path, DEFAULT_SCHEMA, title="PRK weekly")
    wb = load_workbook(path)
    ws = wb["Data entry"]
    assert ws["J1"].value == "value"
    assert ws["F2"].value == "people_tested"
    ws["J2"] = 667
    ws["J3"] = 0
    ws["J4"] = "ninety-four"
    wb.save(path)
    values = read_template(path)
    assert [v.value for v in values] == [667, 0, "ninety-four"]  # blank rows are not submitted
    summary = validate_submission(
        values, SubmissionContext(DEFAULT_SCHEMA, make_hierarchy(), AS_OF)
    )
    assert summary.outcomes == (Outcome.ACCEPTED, Outcome.ACCEPTED, Outcome.CONFLICT)
    loc = summary.conflicts[0].error.location
    assert (loc.line, loc.column, loc.field) == (4, "J", "value")
    assert loc.source == f"{path}[Data entry]"


def test_csv_template_round_trip(tmp_path: Path) -> None:
    table = list(csv.reader(io.StringIO(write_csv_template(rows()))))
    assert table[0][9] == "value"
    table[1][9] = "667"
    path = tmp_path / "prk.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(table)
    (value,) = read_template(path)
    assert (value.data_element, value.period, value.org_unit, value.value) == (
        "people_tested",
        "2021W38",
        "PRK",
        "667",
    )
    assert value.origin is not None
    assert (value.origin.line, value.origin.columns["value"]) == (2, 10)


def test_template_invalid(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("org_unit,period,value\nPRK,2021W38,3\n", encoding="utf-8")
    with pytest.raises(DoseflowError) as exc:
        read_template(path)
    d = exc.value.detail
    assert d.code == "REPORT_TEMPLATE_INVALID"
    assert d.message == "the header has no 'data_element' column"
    assert (d.location.line, d.value) == (1, "org_unit, period, value")
    with pytest.raises(DoseflowError) as exc:
        read_template(tmp_path / "x.pdf")
    assert exc.value.code == "REPORT_TEMPLATE_INVALID"
    assert exc.value.detail.value == ".pdf"


def test_unknown_report_type_and_participant() -> None:
    with pytest.raises(DoseflowError) as exc:
        rows("vaccination")
    d = exc.value.detail
    assert d.code == "REPORT_UNKNOWN_REPORT_TYPE"
    assert "'vaccination' is not a report type" in d.message
    assert d.value == "vaccination"
    with pytest.raises(DoseflowError) as exc:
        template_rows(
            "ATL", "surveillance", [parse_period("2021W38")], DEFAULT_SCHEMA, make_hierarchy()
        )
    assert exc.value.code == "REPORT_UNKNOWN_PARTICIPANT"
    assert exc.value.detail.value == "ATL"
