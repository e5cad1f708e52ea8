"""``doseflow allocate ...``, ``doseflow explain`` and ``doseflow demo``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from doseflow.cli.app import run

SCENARIO = """\
name: cli
products:
  - {code: AZ, pack_doses: 100}
  - {code: SV, pack_doses: 100}
participants:
  - {iso3: PRK, financing: amc}
  - {iso3: NPL, financing: amc}
  - {iso3: MNG, financing: amc}
rounds:
  - date: 2021-02-03
    tranches: [{product: AZ, doses: 1000000}]
  - date: 2021-09-01
    tranches: [{product: SV, doses: 600000}]
"""


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "cli.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite database, made once per module (migrations are the slow
    part of a fresh database); tests get a copy."""
    from doseflow.store.database import open_database

    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    open_database(str(path)).dispose()
    return path


@pytest.fixture
def db(tmp_path: Path, migrated_template: Path) -> str:
    """A fresh copy of the migrated template: an empty database of this test's own."""
    path = tmp_path / "a.sqlite"
    shutil.copyfile(migrated_template, path)
    return str(path)


def test_run_decline_show_explain_export(
    tmp_path: Path, scenario_file: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["allocate", "run", str(scenario_file), "--db", db]) == 0
    out = capsys.readouterr().out
    assert "Round 1" in out
    assert "stored scenario 'cli'" in out
    code = run(
        [
            "allocate",
            "decline",
            "cli",
            "--round",
            "2",
            "--product",
            "SV",
            "--iso3",
            "PRK",
            "--reason",
            "for others",
            "--to",
            "MNG",
            "--db",
            db,
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "MNG" in out
    assert "declined" in out
    assert run(["explain", "PRK", "--round", "2", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "Declined" in out
    assert "named recipients (MNG)" in out
    assert run(["allocate", "show", "cli", "--round", "2", "--db", db]) == 0
    assert "Allocation lines" in capsys.readouterr().out
    for fmt in ("csv", "json", "parquet", "xlsx"):
        target = tmp_path / f"lines.{fmt}"
        assert (
            run(["allocate", "export", "cli", "--format", fmt, "--out", str(target), "--db", db])
            == 0
        )
        assert target.exists()
    frame = pd.read_csv(tmp_path / "lines.csv")
    assert set(frame["iso3"]) == {"PRK", "NPL", "MNG"}
    assert (frame["doses"] % 100 == 0).all()
    assert pd.read_parquet(tmp_path / "lines.parquet")["doses"].sum() == frame["doses"].sum()
    assert pd.read_excel(tmp_path / "lines.xlsx")["doses"].tolist() == frame["doses"].tolist()
    data = json.loads((tmp_path / "lines.json").read_text())
    assert data[0]["explanation"]["pool"] == data[0]["pool"]
    assert run(["allocate", "publish", "cli", "--round", "1", "--db", db]) == 0
    assert "published" in capsys.readouterr().out


def test_bad_file_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCENARIO.replace("iso3: MNG", "iso3: QQQ"), encoding="utf-8")
    db = tmp_path / "b.sqlite"
    assert run(["allocate", "run", str(bad), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "ALLOC_UNKNOWN_ISO3" in err
    assert "QQQ" in err
    assert "participants[2].iso3" in err
    assert not db.exists()


def test_bad_export_format(
    tmp_path: Path, scenario_file: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(["allocate", "run", str(scenario_file), "--db", db])
    code = run(
        ["allocate", "export", "cli", "--format", "xls", "--out", str(tmp_path / "x"), "--db", db]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "ALLOC_BAD_EXPORT_FORMAT" in err
    assert "'xls'" in err


def test_explain_needs_a_scenario_when_several_are_stored(
    tmp_path: Path, scenario_file: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(SCENARIO.replace("name: cli", "name: other"), encoding="utf-8")
    run(["allocate", "run", str(scenario_file), "--db", db])
    run(["allocate", "run", str(other), "--db", db])
    capsys.readouterr()
    assert run(["explain", "PRK", "--db", db]) == 2
    err = capsys.readouterr().err
    assert "ALLOC_SCENARIO_REQUIRED" in err
    assert "cli, other" in err
    assert run(["explain", "PRK", "--scenario", "other", "--json", "--db", db]) == 0
    assert json.loads(capsys.readouterr().out)[0]["iso3"] == "PRK"


def test_run_with_the_compliance_gate(
    scenario_file: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from doseflow.reporting import Requirement, parse_period
    from doseflow.reporting.periods import PeriodType
    from doseflow.store.database import open_database
    from doseflow.store.reporting import save_requirements

    owed = Requirement("NPL", "administration", PeriodType.MONTHLY, 15, parse_period("202012"))
    save_requirements(open_database(db), [owed])
    assert run(["allocate", "run", str(scenario_file), "--db", db]) == 0
    assert "excluded" not in capsys.readouterr().out
    assert run(["allocate", "run", str(scenario_file), "--db", db, "--compliance-gate"]) == 0
    out = capsys.readouterr().out
    assert "Round 1: NPL excluded: reporting compliance: administration: 1 of the last 1" in out
    assert "Round 2: NPL excluded: reporting compliance: administration: 4 of the last 4" in out
    assert run(["explain", "NPL", "--round", "1", "--scenario", "cli", "--db", db]) == 0
    assert "Not eligible: reporting compliance: administration" in capsys.readouterr().out


def test_validate(scenario_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["allocate", "validate", str(scenario_file)]) == 0
    assert "3 participants" in capsys.readouterr().out


@pytest.mark.slow  # the whole demo (every area's step) twice: ~10 s of CPU a run
def test_demo_twice_is_idempotent(
    tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert run(["demo", "--db", db, "--out", str(out)]) == 0
    first = capsys.readouterr().out
    from doseflow.allocation import load_scenario, run_rounds
    from doseflow.cli.demo import example_path

    example = run_rounds(load_scenario(example_path("covax_2021.yaml")))
    declined = example.round(3).pool("SINOVAC").declines[0].declined
    assert f"PRK declined {declined:,} doses of SINOVAC" in first
    assert (out / "allocation_lines.csv").exists()
    assert run(["demo", "--db", db, "--out", str(out)]) == 0
    capsys.readouterr()
    assert run(["allocate", "list", "--db", db]) == 0
    listing = capsys.readouterr().out
    assert "covax-2021" in listing
    from doseflow.store.allocation import AllocationStore
    from doseflow.store.database import open_database

    store = AllocationStore(open_database(db))
    assert [r.revision for r in store.rounds("covax-2021")] == [1, 1, 1, 1]
    # rounds 1-3 published for participants, the demand-driven round awaiting publication,
    # and a second demo run keeps them so
    assert [str(r.status) for r in store.rounds("covax-2021")] == [
        "published",
        "published",
        "published",
        "run",
    ]


def test_file_declines_are_listed_and_explain_covers_every_pool(
    tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from doseflow.cli.demo import example_path

    example = example_path("covax_2021.yaml")
    assert run(["allocate", "run", str(example), "--db", db]) == 0
    capsys.readouterr()
    assert run(["allocate", "list", "--db", db]) == 0
    listing = capsys.readouterr().out
    row = next(line for line in listing.splitlines() if "covax-2021" in line)
    assert row.split("│")[3].strip() == "1"  # the file's decline is counted
    decline = ["allocate", "decline", "covax-2021", "--round", "1", "--product", "AZ-SII"]
    code = run([*decline, "--iso3", "KEN", "--db", db])
    assert code == 0
    capsys.readouterr()
    assert run(["allocate", "declines", "covax-2021", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "PRK" in out
    assert "covax_2021.yaml, declines[0]" in out
    assert "KEN" in out
    assert "via the CLI" in out
    assert run(["allocate", "declines", "covax-2021", "--format", "json", "--db", db]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["source"].endswith("covax_2021.yaml, declines[0]")
    assert rows[0]["iso3"] == "PRK"
    assert (rows[-1]["iso3"], rows[-1]["product"], rows[-1]["round"]) == ("KEN", "AZ-SII", 1)
    assert rows[-1]["doses"] is None  # all its doses
    assert "via the CLI" in rows[-1]["source"]
    assert run(["explain", "KEN", "--round", "1", "--scenario", "covax-2021", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "pool PFIZER" in out
    assert "Not eligible: no cold-chain capacity" in out
    assert run(["explain", "PRK", "--round", "3", "--scenario", "covax-2021", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "raised to the common coverage level" not in out
    assert "covax_2021.yaml, declines[0]" in out
    target = tmp_path / "lines.csv"
    assert run(["allocate", "export", "covax-2021", "--out", str(target), "--db", db]) == 0
    frame = pd.read_csv(target).fillna("")
    prk = frame[(frame["iso3"] == "PRK") & (frame["product"] == "SINOVAC")]
    assert list(prk["binding"]) == ["declined"]
    assert list(prk["decline_sources"]) == [f"{example}, declines[0]"]
    ken = frame[(frame["iso3"] == "KEN") & (frame["product"] == "AZ-SII")]
    assert len(ken) == 1
    assert ken["decline_sources"].str.endswith("UTC via the CLI").all()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_run_with_participants_from_a_table_gives_the_yaml_results(
    tmp_path: Path,
    db: str,
    migrated_template: Path,
    suffix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from doseflow.cli.demo import example_path

    example = example_path("covax_2021.yaml")
    table = tmp_path / f"participants{suffix}"
    assert run(["allocate", "participants-template", str(table)]) == 0
    assert "wrote 42 participants" in capsys.readouterr().out
    other = tmp_path / "table.sqlite"
    shutil.copyfile(migrated_template, other)
    assert run(["allocate", "run", str(example), "--db", db]) == 0
    assert (
        run(["allocate", "run", str(example), "--participants", str(table), "--db", str(other)])
        == 0
    )
    exports = []
    for database in (db, str(other)):
        target = tmp_path / f"lines-{Path(database).stem}.csv"
        assert (
            run(["allocate", "export", "covax-2021", "--out", str(target), "--db", database]) == 0
        )
        exports.append(target.read_text(encoding="utf-8"))
    assert exports[0] == exports[1]
    assert len(exports[0].splitlines()) > 40


def test_participants_table_problems_are_located_and_nothing_is_stored(
    tmp_path: Path, scenario_file: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "p.csv"
    table.write_text("iso3,financing,colour\nPRK,gift,red\n", encoding="utf-8")
    assert run(["allocate", "validate", str(scenario_file), "--participants", str(table)]) == 2
    err = capsys.readouterr().err
    assert f"[ALLOC_UNKNOWN_FIELD] {table}:1:3, field 'colour'" in err
    assert f"[ALLOC_INVALID_FIELD] {table}:2:2, field 'financing'" in err
    assert (
        run(["allocate", "run", str(scenario_file), "--participants", str(table), "--db", db]) == 2
    )
    from doseflow.store.allocation import AllocationStore
    from doseflow.store.database import open_database

    assert AllocationStore(open_database(db)).scenarios() == []


def test_participants_template_of_a_scenario_and_validate_with_a_sheet(
    tmp_path: Path, scenario_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = tmp_path / "p.xlsx"
    assert (
        run(["allocate", "participants-template", str(book), "--scenario", str(scenario_file)]) == 0
    )
    args = ["allocate", "validate", str(scenario_file), "--participants", str(book)]
    assert run([*args, "--participants-sheet", "participants"]) == 0
    assert "3 participants" in capsys.readouterr().out
    assert run([*args, "--participants-sheet", "nope"]) == 2
    assert "ALLOC_BAD_TABLE" in capsys.readouterr().err


SMALL_STATES = """\
name: small-states
products:
  - {code: AZ, pack_doses: 2400}
  - {code: PF, pack_doses: 1170, storage: ultra-cold}
participants:
  - {iso3: NIU, financing: amc, population: 1618}
  - {iso3: KEN, financing: amc}
  - {iso3: PHL, financing: amc, cold_chain: ["2-8", ultra-cold]}
policy:
  floors: {AZ: 100800}
  floors_prevail: false
  severe: {enabled: false}
rounds:
  - date: 2021-02-03
    tranches:
      - {product: AZ, doses: 2400000}
      - {product: PF, doses: 117000, available: 2021-02-20}
"""


def test_export_keeps_every_participant_and_pool_given_nothing(
    tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 12, finding 2: a participant whose floor the ceiling clipped to nothing, and one
    not eligible for a pool, are lines of the export (each with its explanation)."""
    path = tmp_path / "small.yaml"
    path.write_text(SMALL_STATES, encoding="utf-8")
    assert run(["allocate", "run", str(path), "--db", db]) == 0
    target = tmp_path / "lines.csv"
    assert run(["allocate", "export", "small-states", "--out", str(target), "--db", db]) == 0
    frame = pd.read_csv(target)
    assert len(frame) == 3 * 2  # every participant x pool
    niu = frame[(frame["iso3"] == "NIU") & (frame["product"] == "AZ")]
    assert list(niu["doses"]) == [0]
    assert list(niu["binding"]) == ["floor-clipped"]
    ken = frame[(frame["iso3"] == "KEN") & (frame["product"] == "PF")]
    assert list(ken["binding"]) == ["not-eligible"]
    as_json = tmp_path / "lines.json"
    export = ["allocate", "export", "small-states", "--format", "json", "--out", str(as_json)]
    assert run([*export, "--db", db]) == 0
    data = json.loads(as_json.read_text())
    (line,) = [d for d in data if d["iso3"] == "NIU" and d["product"] == "AZ"]
    assert "floor of 2,400 doses was clipped by its coverage ceiling" in line["text"]
    assert "reached its coverage ceiling" not in line["text"]
    # the shipping surfaces still list only what is shipped
    assert run(["allocate", "show", "small-states", "--db", db]) == 0
    shown = capsys.readouterr().out.split("Allocation lines")[-1]
    assert "NIU" not in shown
