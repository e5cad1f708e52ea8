"""``doseflow report ...`` end to end on a SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from doseflow.cli.app import run
from doseflow.cli.console import console, err_console

from .fhir_schema import assert_valid_r4
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
    assert flags[0]["method"] == "beta_binomial_positivity"
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
    document = assert_valid_r4(fhir.read_text())
    kinds = {e["resource"]["resourceType"] for e in document["entry"]}
    assert kinds == {"MeasureReport", "Organization", "Location"}
    assert "fhirVersion=4.0" in capsys.readouterr().err


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
    assert run(["report", "schema", "--format", "json"]) == 0
    elements = {row["element"]: row for row in json.loads(capsys.readouterr().out)}
    assert "doses_administered" in elements
    assert all(set(row) >= {"report", "minimum", "maximum", "role"} for row in elements.values())
    assert any(isinstance(row["minimum"], int | float) for row in elements.values())


def test_export_fhir_shipments_transaction(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from doseflow.store.database import open_database
    from doseflow.store.ledger import LedgerStore
    from tests.ledger.factory import NODES, dispatched, planned

    engine = open_database(db)
    ledger = LedgerStore(engine)
    ledger.register_nodes(NODES)
    ledger.append_events([planned("p1", 1, 1000), dispatched("d1", 2, 1000)])
    engine.dispose()
    out = tmp_path / "shipments.json"
    args = ["report", "export", "--format", "fhir-shipments", "--out", str(out), "--db", db]
    base = ["--bundle-type", "transaction", "--base-url", "https://fhir.example.org/r4"]
    assert run([*args, *base]) == 0
    document = assert_valid_r4(out.read_text())
    assert document["type"] == "transaction"
    assert all(e["fullUrl"].startswith("https://fhir.example.org/r4/") for e in document["entry"])
    assert {e["request"]["method"] for e in document["entry"]} == {"PUT"}
    assert "application/fhir+json; fhirVersion=4.0" in capsys.readouterr().err
    assert run([*args, *base, "--method", "POST"]) == 2
    assert "REPORT_FHIR_OPTIONS" in capsys.readouterr().err


def test_a_stored_hierarchy_serves_every_command_not_given_one(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    src = str(example("reporting_prk_surveillance.json"))
    # without a hierarchy the regions are unknown and the neighbours unnamed
    assert run(["report", "hierarchy", "show", "--db", db]) == 0
    assert "default hierarchy" in capsys.readouterr().out
    assert run(["report", "import", src, "--as-of", "2021-09-27", "--db", db, "--json"]) == 0
    capsys.readouterr()
    assert run(["report", "plausibility", "--db", db, "--json"]) == 0
    captured = capsys.readouterr()
    flags = json.loads(captured.out)
    assert not [f for f in flags if f["method"] == "beta_binomial_positivity"]
    assert "beta_binomial_positivity not checked for KOR, PRK, RUS" in captured.err
    assert "hierarchy used: default hierarchy" in captured.err
    assert "store one with `doseflow report hierarchy load FILE`" in captured.err

    assert run(["report", "hierarchy", "load", HIERARCHY, "--by", "who", "--db", db]) == 0
    assert "8 participants, 3 with neighbours" in capsys.readouterr().out
    assert run(["report", "hierarchy", "show", "--db", db]) == 0
    assert "stored hierarchy #1 (" in capsys.readouterr().out
    assert run(["report", "plausibility", "--db", db, "--json"]) == 0
    captured = capsys.readouterr()
    flags = json.loads(captured.out)
    assert flags[0]["method"] == "beta_binomial_positivity"
    assert flags[0]["participant"] == "PRK"
    assert "not checked for PRK" not in captured.err
    assert "not checked for RUS" in captured.err  # the example names no neighbours for RUS
    # submissions take the stored hierarchy too: a region it names is accepted
    region = [
        {"dataElement": "people_tested", "period": "2021W38", "orgUnit": "PRK-RYG", "value": "5"}
    ]
    one = Path(db).with_name("one.json")
    one.write_text(json.dumps({"dataValues": region}))
    assert run(["report", "import", str(one), "--as-of", "2021-09-27", "--db", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["accepted"] == 1


def test_loading_an_invalid_hierarchy_stores_nothing(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("participants: []\n")
    assert run(["report", "hierarchy", "load", str(bad), "--db", db]) == 2
    assert "REPORT_HIERARCHY_INVALID" in capsys.readouterr().err
    assert run(["report", "hierarchy", "show", "--db", db]) == 0
    assert "default hierarchy" in capsys.readouterr().out


def test_the_report_commands_load_without_scipy(tmp_path: Path) -> None:
    """SciPy is imported by the plausibility computations themselves, not at start-up."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import doseflow.cli.reporting\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] == 'scipy']\n"
        "assert loaded == [], loaded\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


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


def test_a_template_without_a_database_creates_none(tmp_path: Path) -> None:
    """`report template` reads the stored hierarchy only if a database is there: asking for
    a form must not leave an empty database file behind."""
    db = tmp_path / "absent.sqlite"
    out = tmp_path / "t.csv"
    args = ["--participant", "PRK", "--report", "surveillance", "--period", "2021W38"]
    assert run(["report", "template", *args, "--out", str(out), "--db", str(db)]) == 0
    assert out.exists()
    assert not db.exists()


def test_stored_mapping_is_used_when_none_is_given(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = str(example("reporting_dhis2_mapping.yaml"))
    assert run(["report", "mapping", "show", "--db", db]) == 0
    assert "no mapping: doseflow's codes" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("org_units:\n  PRK: {id: not-a-uid}\n")
    assert run(["report", "mapping", "load", str(bad), "--db", db]) == 2
    assert "REPORT_MAPPING_INVALID" in capsys.readouterr().err
    assert run(["report", "mapping", "load", mapping, "--by", "who", "--db", db]) == 0
    assert "stored mapping #1 from" in capsys.readouterr().out
    assert run(["report", "mapping", "show", "--db", db]) == 0
    assert "stored mapping #1 (" in capsys.readouterr().out

    # a file by the instance's UIDs, imported without --mapping
    by_uid = {
        "dataValues": [
            {
                "dataElement": "C19Tested01",
                "period": "2021W38",
                "orgUnit": "OuDPRKorea1",
                "value": "667",
            }
        ]
    }
    src = tmp_path / "uid.json"
    src.write_text(json.dumps(by_uid))
    args = ["--hierarchy", HIERARCHY, "--as-of", "2021-09-27", "--db", db]
    assert run(["report", "import", str(src), "--id-scheme", "uid", "--json", *args]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["counts"]["accepted"] == 1
    assert "mapping used: stored mapping #1 (" in captured.err

    out = tmp_path / "out.json"
    assert run(["report", "export", "--format", "dhis2-json", "--out", str(out), "--db", db]) == 0
    assert "mapping used: stored mapping #1 (" in capsys.readouterr().err
    (value,) = json.loads(out.read_text())["dataValues"]
    assert (value["dataElement"], value["orgUnit"]) == ("C19Tested01", "OuDPRKorea1")
    # --mapping still wins over the stored one
    empty = tmp_path / "empty.yaml"
    empty.write_text("{}\n")
    code_args = ["--mapping", str(empty), "--id-scheme", "code", "--out", str(out)]
    assert run(["report", "export", "--format", "dhis2-json", *code_args, "--db", db]) == 0
    assert f"mapping used: mapping file {empty}" in capsys.readouterr().err
    (value,) = json.loads(out.read_text())["dataValues"]
    assert (value["dataElement"], value["orgUnit"]) == ("people_tested", "PRK")
