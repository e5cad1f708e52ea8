from __future__ import annotations

from pathlib import Path

import pytest

from doseflow.cli.app import run
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore

from .test_deployment_file import EXAMPLE


def test_deploy_plan_writes_outputs_and_records_planned_events_once(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "deploy",
        "plan",
        str(EXAMPLE),
        "--out",
        str(tmp_path),
        "--record",
        "--db",
        db_url,
        "--explain",
        "RG",
    ]
    assert run(args) == 0
    printed = capsys.readouterr().out
    assert "Ryanggang (RG) gets" in printed
    assert "Projected coverage" in printed
    for name in (
        "shipments.csv",
        "regions.csv",
        "coverage_weekly.csv",
        "coverage.png",
        "coverage.html",
    ):
        assert (tmp_path / f"deployment_{name}").stat().st_size > 0
    html = (tmp_path / "deployment_coverage.html").read_text()
    assert "<script" in html
    assert 'src="https://cdn.plot.ly' not in html  # JavaScript inlined, opens offline
    assert len(html) > 1_000_000
    store = LedgerStore(open_database(db_url))
    first = store.event_count()
    shipped = sum(
        int(line.split(",")[6])
        for line in (tmp_path / "deployment_shipments.csv").read_text().splitlines()[1:]
    )
    assert first == len((tmp_path / "deployment_shipments.csv").read_text().splitlines()) - 1
    assert shipped <= 1_992_000
    assert run(args) == 0  # recording the same plan again adds nothing
    assert store.event_count() == first


def test_deploy_plan_with_an_unknown_region_to_explain_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["deploy", "plan", str(EXAMPLE), "--out", str(tmp_path), "--explain", "XX"])
    assert code == 2
    assert "DEPLOY_UNKNOWN_REGION" in capsys.readouterr().err


def test_deploy_plan_strategy_override(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(["deploy", "plan", str(EXAMPLE), "--out", str(tmp_path), "--strategy", "proportional"])
        == 0
    )
    assert "proportional" in capsys.readouterr().out
