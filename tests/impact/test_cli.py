"""``doseflow impact ...`` through the real command line entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from doseflow.cli.app import run


def test_run_prints_outcomes_and_writes_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        [
            "impact",
            "run",
            "--participant",
            "PRK",
            "--bands",
            "0,20,40,60",
            "--supply",
            "0.2",
            "--out",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "deaths" in out
    assert "income-group mean" in out  # PRK has no Prem matrix: the fallback is named
    by_age = pd.read_csv(tmp_path / "by_age.csv")
    assert list(by_age["band"][:4]) == ["0-19", "20-39", "40-59", "60+"]


def test_run_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(
            [
                "impact",
                "run",
                "--participant",
                "NGA",
                "--bands",
                "0,20,40,60",
                "--supply",
                "0.1",
                "--json",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert '"deaths_averted"' in out


def test_compare_writes_table_and_charts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        [
            "impact",
            "compare",
            "--participant",
            "NGA",
            "--bands",
            "0,20,40,60",
            "--supply",
            "0.1,0.3",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    assert "best" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "comparison.csv")) == 6
    assert (tmp_path / "deaths_averted.png").exists()
    assert (tmp_path / "deaths_averted.html").exists()


def test_sweep_runs_and_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text(
        "countries: [PRK]\nr0: [2.0]\nsupply_shares: [0.1, 0.3]\ndoses_per_day_shares: [0.01]\n"
        "strategies: [older-first, proportional]\nbands: 0,20,40,60\n"
        "horizon_days: 90\nchunk_size: 2\n"
    )
    out = tmp_path / "sweep"
    assert run(["impact", "sweep", str(grid), "--out", str(out)]) == 0
    assert "(2 run, 0 already done)" in capsys.readouterr().out
    assert run(["impact", "sweep", str(grid), "--out", str(out), "--no-plot"]) == 0
    assert "(0 run, 2 already done)" in capsys.readouterr().out
    assert len(pd.read_parquet(out / "results.parquet")) == 4
    argv = ["impact", "sweep", str(grid), "--out", str(out), "--no-plot", "--format", "json"]
    assert run(argv) == 0
    got = capsys.readouterr()
    rows = json.loads(got.out)  # the chunks' line on stderr, the sums alone on stdout
    assert "(0 run, 2 already done)" in got.err
    results = pd.read_parquet(out / "results.parquet")
    assert len(rows) == 4
    for row in rows:
        mine = results[
            (results.strategy == row["strategy"]) & (results.supply_share == row["supply_share"])
        ]
        assert row["deaths_averted"] == pytest.approx(float(mine.deaths_averted.sum()))
        share = row["deaths_averted"] / float(mine.deaths_no_vaccine.sum())
        assert row["deaths_averted_share"] == pytest.approx(share)
    assert run([*argv[:-1], "csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith("strategy,supply_share,deaths_averted,deaths_averted_share,")


def test_global_compares_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "alloc.yaml"
    scenario.write_text(
        "name: t\nproducts:\n  - {code: AZ, pack_doses: 2400, doses_per_vial: 10}\n"
        "participants:\n  - {iso3: NGA, financing: amc}\n  - {iso3: PRK, financing: amc}\n"
        "rounds:\n  - date: 2021-03-01\n    tranches:\n      - {product: AZ, doses: 4800000}\n"
    )
    assert (
        run(["impact", "global", str(scenario), "--levels", "4", "--out", str(tmp_path / "g")]) == 0
    )
    out = capsys.readouterr().out
    assert "impact-maximis" in out
    assert (tmp_path / "g" / "allocation_rules.csv").exists()
    assert run(["impact", "global", str(scenario), "--levels", "4", "--format", "json"]) == 0
    rules = {row["rule"]: row for row in json.loads(capsys.readouterr().out)}
    assert any("impact-maximis" in rule for rule in rules)
    for row in rules.values():
        assert row["doses"] == pytest.approx(4_800_000, rel=0.01)
        assert 0 <= row["deaths_averted_share"] <= 1
        assert row["deaths_averted"] > 0


def test_no_scenario_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["impact", "run"]) == 2
    err = capsys.readouterr().err
    assert "IMPACT_NO_SCENARIO" in err
    assert "--participant" in err


def test_bad_number_list_is_a_bad_parameter(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["impact", "compare", "--participant", "NGA", "--supply", "lots"]) == 2
    err = capsys.readouterr().err
    assert "IMPACT_BAD_PARAMETER" in err
    assert "'lots'" in err


def test_compare_takes_several_ordered_strategies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Several ``ordered:`` strategies in one comparison: repeated --strategy, and --strategies
    whose commas inside a strategy stay inside it."""
    args = ["impact", "compare", "--participant", "NGA", "--bands", "0,20,40,60", "--supply", "0.2"]
    code = run(
        [
            *args,
            "--strategy",
            "ordered:60+",
            "--strategy",
            "ordered:[20-39,60+],rest;spill=everyone",
            "--strategies",
            "ordered:40-59,60+,older-first",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    table = pd.read_csv(tmp_path / "comparison.csv")
    assert sorted(set(table["strategy"])) == sorted(
        ["ordered:60+", "ordered:[20-39,60+],rest;spill=everyone", "ordered:40-59,60+",
         "older-first"]
    )  # fmt: skip
    held = table.set_index("strategy")["doses_held"]
    assert held["ordered:60+"] > 1.0  # only 60+ listed: doses are held, and shown
    assert "ordered:60+ at 20%: doses held" in capsys.readouterr().out


def test_run_reports_held_doses(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(
        ["impact", "run", "--participant", "NGA", "--bands", "0,20,40,60", "--supply", "0.2",
         "--strategy", "ordered:60+", "--json"]
    )  # fmt: skip
    assert code == 0
    import json

    summary = json.loads(capsys.readouterr().out)
    assert summary["doses_held"] > 0.5 * summary["doses"]
    assert (
        abs(
            summary["doses_to_groups"]
            + summary["doses_spilled"]
            + summary["doses_held"]
            - summary["doses"]
        )
        < 1.0
    )


def test_global_takes_a_stored_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``impact global NAME --db ...`` compares the rules for a scenario stored with
    ``doseflow allocate run``, as the allocation commands name it."""
    scenario = tmp_path / "alloc.yaml"
    scenario.write_text(
        "name: stored-one\nproducts:\n  - {code: AZ, pack_doses: 2400, doses_per_vial: 10}\n"
        "participants:\n  - {iso3: NGA, financing: amc}\n  - {iso3: PRK, financing: amc}\n"
        "rounds:\n  - date: 2021-03-01\n    tranches:\n      - {product: AZ, doses: 4800000}\n"
    )
    db = str(tmp_path / "d.sqlite")
    assert run(["allocate", "run", str(scenario), "--db", db]) == 0
    capsys.readouterr()
    out_dir = tmp_path / "g"
    args = ["impact", "global", "stored-one", "--db", db, "--levels", "4", "--out", str(out_dir)]
    assert run(args) == 0
    assert "impact-maximis" in capsys.readouterr().out
    stored = pd.read_csv(out_dir / "allocation_rules.csv")
    assert (
        run(["impact", "global", str(scenario), "--levels", "4", "--out", str(tmp_path / "f")]) == 0
    )
    from_file = pd.read_csv(tmp_path / "f" / "allocation_rules.csv")
    pd.testing.assert_frame_equal(stored, from_file)
    assert run(["impact", "global", "no-such", "--db", db]) == 2
    assert "ALLOC_UNKNOWN_SCENARIO" in capsys.readouterr().err


def test_compare_includes_the_scenario_files_own_strategy(tmp_path: Path) -> None:
    """A scenario file's ``strategy:`` is compared with the defaults, not dropped."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "name: nga\ncountry: NGA\nbands: '0,20,40,60'\nstrategy: 'ordered:20-39,rest'\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    code = run(["impact", "compare", str(scenario), "--supply", "0.2", "--out", str(out)])
    assert code == 0
    table = pd.read_csv(out / "comparison.csv")
    assert "ordered:20-39,rest" in set(table["strategy"])
    assert "older-first" in set(table["strategy"])
