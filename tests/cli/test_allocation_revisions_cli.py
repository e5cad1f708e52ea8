"""``doseflow allocate revise``, ``diff`` and ``revisions`` (issue 12)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from doseflow.cli.app import run
from doseflow.store.allocation import AllocationStore
from doseflow.store.allocation_revisions import RevisionStore
from doseflow.store.database import open_database
from tests.cli import test_allocation_cli as base

# the allocation CLI tests' fixtures: a scenario file and a fresh migrated database
scenario_file = base.scenario_file
migrated_template = base.migrated_template
db = base.db

T1 = "R1-AZ-1"


def test_revise_diff_and_list(
    scenario_file: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["allocate", "run", str(scenario_file), "--db", db]) == 0
    capsys.readouterr()
    added = "id=DON-1,product=AZ,doses=200000,origin=donation,donor=Japan"
    code = run(
        [
            "allocate",
            "revise",
            "cli",
            "--round",
            "1",
            "--supply",
            f"{T1}=700000",
            "--add-tranche",
            added,
            "--db",
            db,
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "revision 1" in out
    assert "DON-1 (AZ) added: 200,000 doses" in out
    assert "level-rose" not in out
    assert "pool" in out.split("why")[1]

    assert run(["allocate", "revisions", "cli", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "CLI" in out
    assert "900,000" in out
    assert run(["allocate", "revisions", "cli", "--format", "json", "--db", db]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["round"], r["revision"]) for r in listed][-1] == (1, 1)
    assert 900_000 in [r["supply"] for r in listed]
    assert all(isinstance(r["current"], bool) for r in listed)

    assert (
        run(
            [
                "allocate",
                "diff",
                "cli",
                "--round",
                "1",
                "--from",
                "0",
                "--to",
                "1",
                "--format",
                "json",
                "--db",
                db,
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    expected = RevisionStore(AllocationStore(open_database(db))).diff("cli", 1, 0, 1)
    assert data == {"from": 0, "to": 1, **expected.to_dict()}
    assert sum(r["change"] for r in data["participants"]) == data["allocated_change"]

    assert (
        run(
            [
                "allocate",
                "diff",
                "cli",
                "--round",
                "1",
                "--from",
                "1",
                "--to",
                "0",
                "--format",
                "csv",
                "--db",
                db,
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    back = {r["iso3"]: int(r["change"]) for r in rows}
    assert back == {r["iso3"]: -r["change"] for r in data["participants"]}


def test_bad_revisions_name_the_field(
    scenario_file: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["allocate", "run", str(scenario_file), "--db", db]) == 0
    capsys.readouterr()
    bad = ["allocate", "revise", "cli", "--round", "1", "--db", db]
    assert run([*bad, "--supply", "NOPE=5"]) == 2
    err = capsys.readouterr().err
    assert "ALLOC_UNKNOWN_TRANCHE" in err
    assert "supply.NOPE" in err
    assert T1 in err
    assert run([*bad, "--supply", f"{T1}=lots"]) == 2
    err = capsys.readouterr().err
    assert "ALLOC_INVALID_FIELD" in err
    assert f"supply.{T1}" in err
    assert run([*bad, "--add-tranche", "product=AZ,doses=5"]) == 2
    assert "add[0].id" in capsys.readouterr().err
    assert run([*bad]) == 2
    assert "ALLOC_EMPTY_REVISION" in capsys.readouterr().err
    diff = ["allocate", "diff", "cli", "--round", "1", "--from", "0", "--to", "3", "--db", db]
    assert run(diff) == 2
    err = capsys.readouterr().err
    assert "ALLOC_UNKNOWN_REVISION" in err
    assert "'from'" in err
