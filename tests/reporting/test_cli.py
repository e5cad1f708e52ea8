"""``doseflow report ...`` end to end on a SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from doseflow.cli.app import run
from doseflow.cli.console import console, err_console

from .test_files import example

HIERARCHY = str(example("reporting_hierarchy.yaml"))


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables fold cells at 80 columns; wide consoles keep each message on one line."""
    for con in (console, err_console):
        monkeypatch.setattr(con, "width", 250)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "r.sqlite")


def test_import_plausibility_export(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = str(example("reporting_prk_surveillance.json"))
    args = ["--hierarchy", HIERARCHY, "--as-of", "2021-09-27", "--db", db]
    assert run(["report", "import", src, "--dry-run", *args]) == 0
    assert "dry run" in capsys.readouterr().out
    assert run(["report", "import", src, "--json", *args]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["counts"]["accepted"] == 230
    assert summary["status"] == "OK"
    assert run(["report", "import", src, "--json", *args]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["ignored"] == 230
    assert run(["report", "plausibility", "--hierarchy", HIERARCHY, "--db", db, "--json"]) == 0
    flags = json.loads(capsys.readouterr().out)
    assert flags[0]["method"] == "binomial_positivity"
    assert flags[0]["figures"]["tests"] == 40_700
    out = tmp_path / "prk.adx.xml"
    mapping = str(example("reporting_dhis2_mapping.yaml"))
    assert (
        run(
            [
                "report",
                "export",
                "--format",
                "adx",
                "--participant",
                "PRK",
                "--mapping",
                mapping,
                "--out",
                str(out),
                "--db",
                db,
            ]
        )
        == 0
    )
    assert 'dataElement="C19_TESTED"' in out.read_text()
    fhir = tmp_path / "prk.fhir.json"
    assert (
        run(
            [
                "report",
                "export",
                "--format",
                "fhir",
                "--period",
                "2021W38",
                "--out",
                str(fhir),
                "--db",
                db,
            ]
        )
        == 0
    )
    assert json.loads(fhir.read_text())["entry"][0]["resource"]["resourceType"] == "MeasureReport"


def test_template_submit_lock_reopen(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    xlsx = tmp_path / "t.xlsx"
    assert (
        run(
            [
                "report",
                "template",
                "--participant",
                "PRK",
                "--report",
                "surveillance",
                "--period",
                "2021W38",
                "--out",
                str(xlsx),
                "--hierarchy",
                HIERARCHY,
            ]
        )
        == 0
    )
    wb = load_workbook(xlsx)
    wb["Data entry"]["J2"] = 667
    wb["Data entry"]["J3"] = "n/a"
    wb.save(xlsx)
    common = ["--hierarchy", HIERARCHY, "--as-of", "2021-09-27", "--db", db]
    assert run(["report", "submit", str(xlsx), *common]) == 1  # one conflict
    out = capsys.readouterr().out
    assert "REPORT_BAD_VALUE" in out
    assert ":3:J" in out
    assert (
        run(
            [
                "report",
                "lock",
                "--participant",
                "PRK",
                "--report",
                "surveillance",
                "--period",
                "2021W38",
                "--by",
                "who",
                "--db",
                db,
            ]
        )
        == 0
    )
    assert (
        run(
            [
                "report",
                "reopen",
                "--participant",
                "PRK",
                "--report",
                "surveillance",
                "--period",
                "2021W38",
                "--by",
                "moph",
                "--reason",
                "fix",
                "--db",
                db,
            ]
        )
        == 0
    )
    assert run(["report", "locks", "--db", db]) == 0
    assert "reopen" in capsys.readouterr().out
    reqs = str(example("reporting_requirements.yaml"))
    assert run(["report", "require", reqs, "--db", db]) == 0
    assert (
        run(["report", "compliance", "--as-of", "2021-10-05", "--gate", "--detail", "--db", db])
        == 0
    )
    assert "Readiness gate" in capsys.readouterr().out


def test_cli_errors(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["report", "compliance", "--as-of", "5 Oct", "--db", db]) == 2
    err = capsys.readouterr().err
    assert "REPORT_BAD_DATE" in err
    assert "'5 Oct' is not a date" in err
    assert run(["report", "export", "--format", "xls", "--db", db]) == 2
    err = capsys.readouterr().err
    assert "REPORT_UNKNOWN_FORMAT" in err
    assert "'xls' is not an export format" in err
    assert run(["report", "schema"]) == 0
    assert "doses_administered" in capsys.readouterr().out


def test_import_with_dhis2_summary_strategy_and_deletion(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--hierarchy", HIERARCHY, "--as-of", "2021-09-27", "--db", db]
    rows = [
        {"dataElement": "people_tested", "period": "2021W38", "orgUnit": "PRK", "value": "667"},
        {"dataElement": "positives", "period": "2021W38", "orgUnit": "PRK", "value": "0"},
    ]
    src = tmp_path / "week.json"
    src.write_text(json.dumps({"dataValues": rows}))
    assert run(["report", "import", str(src), "--summary-format", "dhis2", *args]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["responseType"] == "ImportSummary"
    assert summary["status"] == "SUCCESS"
    assert summary["importCount"] == {"imported": 2, "updated": 0, "ignored": 0, "deleted": 0}
    gone = tmp_path / "gone.json"
    gone.write_text(json.dumps({"dataValues": [{**rows[0], "deleted": True}]}))
    assert run(["report", "import", str(gone), "--summary-format", "dhis2", *args]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["importCount"]["deleted"] == 1
    assert run(["report", "import", str(src), "--import-strategy", "UPDATES", "--json", *args]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["import_strategy"] == "UPDATE"
    assert summary["counts"]["ignored"] == 2  # one deleted (UPDATE creates nothing), one same
    assert run(["report", "import", str(src), "--import-strategy", "MERGE", *args]) == 2
