"""Listing commands write full values when piped, and CSV or JSON with raw figures.

``capsys`` replaces stdout with a buffer that is not a terminal: what the commands print here
is what a user gets with ``doseflow ... > file``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from doseflow.cli.app import run
from doseflow.cli.output import OutputFormat, col, emit, snake, write_xlsx
from doseflow.domain.lot import Lot
from doseflow.ledger.event_file import write_events
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from tests.ledger.factory import NODES, dispatched, received

BIG = 1_200_400_321
LONG_LOT = Lot("AZ-SII", "LOT-WITH-A-VERY-LONG-NUMBER-0123456789-ABCDEFGHIJ", date(2031, 9, 30))


def _ok(argv: list[str]) -> None:
    assert run(argv) == 0, argv


@pytest.fixture
def ledger_db(tmp_path: Path) -> str:
    """A national store holding 1,200,400,321 doses of a lot with a long number: a stock
    table wider than 80 columns."""
    db = str(tmp_path / "l.sqlite")
    LedgerStore(open_database(db)).register_nodes(NODES)
    path = tmp_path / "events.csv"
    write_events(
        path,
        [
            dispatched("d1", 2, BIG, to="PRK-NS", lot=LONG_LOT),
            received("r1", 3, BIG, lot=LONG_LOT),
        ],
    )
    _ok(["ledger", "import", str(path), "--db", db])
    return db


def test_a_wide_table_piped_keeps_every_number_whole(capsys: pytest.CaptureFixture[str]) -> None:
    columns = [col(f"a long column header {i}", numeric=i % 2 == 0) for i in range(6)]
    rows = [[BIG if i % 2 == 0 else "some words that could wrap here" for i in range(6)]]
    emit(columns, rows, title="Wide")
    out = capsys.readouterr().out
    assert out.count("1,200,400,321") == 3
    assert "…" not in out
    assert all(f"a long column header {i}" in out for i in range(6))


def test_ledger_stock_piped_is_not_cut(ledger_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    _ok(["ledger", "stock", "--db", ledger_db])
    out = capsys.readouterr().out
    assert "1,200,400,321" in out
    assert LONG_LOT.number in out
    assert "…" not in out


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_ledger_stock_csv_and_json_hold_the_table_s_figures(
    ledger_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    _ok(["ledger", "stock", "--node", "PRK-NS", "--db", ledger_db])
    table = capsys.readouterr().out
    _ok(["ledger", "stock", "--node", "PRK-NS", "--format", "csv", "--db", ledger_db])
    done = capsys.readouterr()
    rows = _csv(done.out)
    assert "Total" in done.err  # the notes go to stderr, the data alone to stdout
    _ok(["ledger", "stock", "--node", "PRK-NS", "--format", "json", "--db", ledger_db])
    objects = json.loads(capsys.readouterr().out)
    assert list(rows[0]) == ["node", "product", "lot", "expiry", "vvm", "doses"]
    assert rows == [{k: str(v) for k, v in o.items()} for o in objects]
    assert objects == [
        {
            "node": "PRK-NS",
            "product": "AZ-SII",
            "lot": LONG_LOT.number,
            "expiry": "2031-09-30",
            "vvm": 1,
            "doses": BIG,
        }
    ]
    assert f"{objects[0]['doses']:,}" in table


def test_ship_list_csv_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "ship.sqlite")
    from doseflow.allocation import load_scenario
    from doseflow.cli.demo import example_path
    from doseflow.store.allocation import AllocationStore

    alloc = AllocationStore(open_database(db))
    alloc.save_scenario(load_scenario(example_path("covax_2021.yaml")))
    alloc.run("covax-2021")
    _ok(["ship", "plan", "covax-2021", "1", "--country", "PRK", "--country", "NGA", "--db", db])
    capsys.readouterr()
    _ok(["ship", "list", "--db", db])
    table = capsys.readouterr().out
    _ok(["ship", "list", "--format", "csv", "--db", db])
    rows = _csv(capsys.readouterr().out)
    _ok(["ship", "list", "--format", "json", "--db", db])
    objects = json.loads(capsys.readouterr().out)
    shipments = LedgerStore(open_database(db)).shipments()
    assert [o["shipment"] for o in objects] == [s.shipment_id for s in shipments]
    assert [o["planned_doses"] for o in objects] == [s.planned_doses for s in shipments]
    assert [int(r["planned_doses"]) for r in rows] == [s.planned_doses for s in shipments]
    assert all(o["state"] == "planned" for o in objects)
    for s in shipments:
        assert s.shipment_id in table
        assert f"{s.planned_doses:,}" in table or f"{s.planned_doses // 1:,}" in table


def test_report_compliance_csv_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.reporting.test_files import example

    db = str(tmp_path / "r.sqlite")
    _ok(["report", "require", str(example("reporting_requirements.yaml")), "--db", db])
    args = ["report", "compliance", "--as-of", "2021-10-05", "--db", db]
    capsys.readouterr()
    _ok(args)
    table = capsys.readouterr().out
    _ok([*args, "--format", "csv"])
    rows = _csv(capsys.readouterr().out)
    _ok([*args, "--format", "json"])
    objects = json.loads(capsys.readouterr().out)
    assert rows
    assert list(rows[0]) == [
        "participant",
        "report",
        "on_time",
        "late",
        "missing",
        "not_yet_due",
    ]
    assert rows == [{k: str(v) for k, v in o.items()} for o in objects]
    for o in objects:
        line = next(x for x in table.splitlines() if o["participant"] in x and o["report"] in x)
        figures = [int(n) for n in re.findall(r"\d[\d,]*", line.split(o["report"], 1)[1])]
        assert figures == [o["on_time"], o["late"], o["missing"], o["not_yet_due"]]
    assert sum(o["missing"] for o in objects) > 0
    _ok([*args, "--detail", "--format", "json"])
    owed = json.loads(capsys.readouterr().out)
    assert set(owed[0]) == {
        "participant",
        "report",
        "period",
        "due",
        "time_zone",
        "submitted",
        "basis",
        "status",
        "days_late",
    }
    assert {o["status"] for o in owed} <= {"on_time", "late", "missing", "not_due"}
    assert len(owed) == sum(
        o["on_time"] + o["late"] + o["missing"] + o["not_yet_due"] for o in objects
    )


def test_plausibility_json_is_an_alias(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.reporting.test_files import example

    db = str(tmp_path / "r.sqlite")
    hierarchy = str(example("reporting_hierarchy.yaml"))
    src = str(example("reporting_prk_surveillance.json"))
    _ok(["report", "import", src, "--hierarchy", hierarchy, "--as-of", "2021-09-27", "--db", db])
    capsys.readouterr()
    _ok(["report", "plausibility", "--hierarchy", hierarchy, "--db", db, "--json"])
    alias = json.loads(capsys.readouterr().out)
    _ok(["report", "plausibility", "--hierarchy", hierarchy, "--db", db, "--format", "json"])
    assert json.loads(capsys.readouterr().out) == alias
    _ok(["report", "plausibility", "--hierarchy", hierarchy, "--db", db, "--format", "csv"])
    rows = _csv(capsys.readouterr().out)
    assert [r["method"] for r in rows] == [f["method"] for f in alias]


def test_keys_are_snake_case_and_xlsx_holds_raw_values(tmp_path: Path) -> None:
    assert snake("FEFO: issue first") == "fefo_issue_first"
    assert snake("from/to/reason") == "from_to_reason"
    path = tmp_path / "x.xlsx"
    rows: list[list[Any]] = [["PRK", BIG, date(2021, 1, 2)]]
    write_xlsx([col("node"), col("doses", True), col("day")], rows, path)
    sheet = load_workbook(path).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("node", "doses", "day")
    assert values[1][:2] == ("PRK", BIG)


def test_every_format_is_accepted_by_name() -> None:
    assert {f.value for f in OutputFormat} == {"table", "csv", "json"}


def test_allocate_list_and_show_csv_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.cli.test_allocation_cli import SCENARIO

    path = tmp_path / "cli.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    db = str(tmp_path / "a.sqlite")
    _ok(["allocate", "run", str(path), "--db", db])
    capsys.readouterr()
    _ok(["allocate", "list", "--format", "json", "--db", db])
    [scenario] = json.loads(capsys.readouterr().out)
    assert (scenario["name"], scenario["rounds"], scenario["declines"]) == ("cli", 2, 0)
    _ok(["allocate", "show", "cli", "--db", db])
    table = capsys.readouterr().out
    _ok(["allocate", "show", "cli", "--format", "csv", "--db", db])
    rows = _csv(capsys.readouterr().out)
    _ok(["allocate", "show", "cli", "--format", "json", "--db", db])
    objects = json.loads(capsys.readouterr().out)
    assert rows == [{k: "" if v is None else str(v) for k, v in o.items()} for o in objects]
    assert {o["iso3"] for o in objects} == {"PRK", "NPL", "MNG"}
    assert sum(o["doses"] for o in objects) == 1_600_000
    assert all(0 <= o["coverage_after"] <= 1 for o in objects)
    for o in objects:
        assert f"{o['doses']:,}" in table


def test_routes_capacity_and_feasibility_csv_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    ship = ["-s", "AZ=PRK-NS:1200000", "-s", "SINOVAC=PRK-RYG:100000"]
    _ok(["routes", *ship, "--format", "json"])
    shipments = json.loads(capsys.readouterr().out)
    assert sum(s["doses"] for s in shipments) == 1_300_000
    assert all(isinstance(s["arrives_day"], int | float) for s in shipments)
    _ok(["capacity", *ship, "--format", "csv"])
    done = capsys.readouterr()
    gaps = _csv(done.out)
    assert "short of storage" in done.err
    short = [g for g in gaps if float(g["gap_litres"]) > 0]
    assert ("Hyesan (Ryanggang)", "2-8 °C") in [(g["node"], g["band"]) for g in short]
    _ok(["coldchain", "feasibility", "-p", "PFIZER-BNT", "-p", "AZ", "--format", "json"])
    verdicts = json.loads(capsys.readouterr().out)
    assert {v["ok"] for v in verdicts} == {True, False}
    assert all((v["route"] is None) == (not v["ok"]) for v in verdicts)


def test_impact_compare_json_is_the_comparison_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    args = ["impact", "compare", "--country", "NGA", "--bands", "0,20,40,60", "--supply", "0.2"]
    _ok([*args, "--format", "json", "--out", str(tmp_path)])
    done = capsys.readouterr()
    rows = json.loads(done.out)
    assert "best by" in done.err
    frame = pd.read_csv(tmp_path / "comparison.csv")
    assert [r["strategy"] for r in rows] == frame["strategy"].tolist()
    assert [r["deaths_averted"] for r in rows] == pytest.approx(frame["deaths_averted"].tolist())


def test_a_stock_card_piped_and_as_json(ledger_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    _ok(["ledger", "card", "PRK-NS", "AZ-SII", "--db", ledger_db])
    table = capsys.readouterr().out
    assert table.count("1,200,400,321") == 3  # in, lot balance, balance: whole, on one line
    assert "…" not in table
    _ok(["ledger", "card", "PRK-NS", "AZ-SII", "--format", "json", "--db", ledger_db])
    opening, receipt = json.loads(capsys.readouterr().out)
    assert (opening["event"], opening["balance"]) == ("opening", 0)
    assert (receipt["in"], receipt["out"], receipt["balance"]) == (BIG, None, BIG)
    assert receipt["date"].startswith("2021-01-03T12:00")
