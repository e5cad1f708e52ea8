"""``doseflow simulate run``: a scenario file from a start file or the ledger (issue 16)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from doseflow.cli.app import run
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from tests.ledger.factory import NODES, dispatched, received
from tests.reporting.test_files import example

SCENARIO = str(example("simulation_prk.yaml"))
START = str(example("simulation_prk_start.yaml"))
RUN = ["simulate", "run", "--scenario", SCENARIO, "--seed", "1", "--days", "100"]


def _json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    capsys.readouterr()
    assert run([*argv, "--format", "json"]) == 0
    rows: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return rows


def test_json_gives_each_node_and_the_total(capsys: pytest.CaptureFixture[str]) -> None:
    rows = _json([*RUN, "--start-file", START], capsys)
    assert rows == [
        {"node": "DLC", "administered": 0, "expired": 0, "vvm_discarded": 0,
         "unmet_demand": 0, "stock_at_end": 0},
        {"node": "PRK-NS", "administered": 0, "expired": 0, "vvm_discarded": 0,
         "unmet_demand": 0, "stock_at_end": 0},
        {"node": "PRK-PY", "administered": 46000, "expired": 54000, "vvm_discarded": 0,
         "unmet_demand": 154000, "stock_at_end": 0},
        {"node": "total", "administered": 46000, "expired": 54000, "vvm_discarded": 0,
         "unmet_demand": 154000, "stock_at_end": 0},
    ]  # fmt: skip


def test_a_variant_and_csv(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    argv = [*RUN, "--start-file", START, "--variant", "closed-past-expiry", "--format", "csv"]
    assert run(argv) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["node"], r["expired"], r["unmet_demand"]) for r in rows] == [
        ("DLC", "100000", "0"),
        ("PRK-NS", "0", "0"),
        ("PRK-PY", "0", "200000"),
        ("total", "100000", "200000"),
    ]


def test_the_table_names_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run([*RUN, "--start-file", START, "--variant", "stockpile-to-august"]) == 0
    out = capsys.readouterr().out
    assert "stockpile-to-august" in out
    assert "86,000" in out  # expired in total


def test_a_start_read_from_the_ledger(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """500 doses received at PRK-NS on 2021-01-03; from 2021-01-05, 100 asked a day for
    3 days: 300 given, 200 left."""
    store = LedgerStore(open_database(sqlite_url))
    store.register_nodes(NODES)
    store.append_events([dispatched("d1", 2, 500, to="PRK-NS"), received("r1", 3, 500)])
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "nodes: [{code: PRK-NS, kind: national, country: PRK}]\n"
        "demand: [{node: PRK-NS, doses_per_day: 100}]\n",
        encoding="utf-8",
    )
    argv = ["simulate", "run", "--scenario", str(scenario), "--days", "3"]
    rows = _json([*argv, "--db", sqlite_url, "--as-of", "2021-01-05"], capsys)
    assert [(r["node"], r["administered"], r["stock_at_end"]) for r in rows] == [
        ("PRK-NS", 300, 200),
        ("total", 300, 200),
    ]


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ([], "SIMULATION_BAD_OPTION"),  # no start
        (["--start-file", START, "--db", "x.sqlite"], "SIMULATION_BAD_OPTION"),  # two
        (["--db", "x.sqlite"], "SIMULATION_BAD_OPTION"),  # the ledger without a day
        (["--start-file", START, "--as-of", "June"], "SIMULATION_BAD_OPTION"),
        (["--start-file", START, "--variant", "nope"], "SIMULATION_SCENARIO_UNKNOWN_VARIANT"),
    ],
)
def test_bad_options_are_refused(
    extra: list[str],
    code: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert run([*RUN, *extra]) == 2
    assert code in capsys.readouterr().err
    assert not (tmp_path / "x.sqlite").exists()


def test_a_bad_scenario_file_is_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes:\n  - {code: A, kind: depot}\n", encoding="utf-8")
    capsys.readouterr()
    argv = ["simulate", "run", "--scenario", str(bad), "--start-file", START, "--days", "5"]
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert "SIMULATION_SCENARIO_BAD_FIELD" in err
    assert "bad.yaml:2" in err
