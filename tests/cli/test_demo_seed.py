"""``doseflow demo`` seeds Reporting and Impact with the bundled examples, once; and the
progress lines it prints while it works."""

from __future__ import annotations

import io
import json
import re
import shutil
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from doseflow.cli.app import run
from doseflow.cli.demo import STEPS, example_path


def _example_values() -> list[dict[str, str]]:
    document = json.loads(example_path("reporting_prk_surveillance.json").read_text("utf-8"))
    values: list[dict[str, str]] = document["dataValues"]
    return values


@pytest.fixture(scope="module")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from doseflow.store.database import open_database

    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    open_database(str(path)).dispose()
    return path


@pytest.fixture
def db(tmp_path: Path, migrated_template: Path) -> str:
    path = tmp_path / "demo.sqlite"
    shutil.copyfile(migrated_template, path)
    return str(path)


def test_reporting_seed_is_the_example_and_idempotent(db: str) -> None:
    from doseflow.cli.reporting import demo_reporting
    from doseflow.reporting import load_requirements, load_schema
    from doseflow.store import reporting as store
    from doseflow.store.database import open_database
    from doseflow.store.reporting_hierarchy import stored_hierarchy
    from doseflow.store.reporting_tables import hierarchies, submissions

    engine = open_database(db)
    out = Console(file=io.StringIO(), width=300)
    demo_reporting(engine, out, example_path)
    first = out.file.getvalue()  # type: ignore[attr-defined]
    expected = _example_values()
    assert f"({len(expected)} values, {len(expected)} stored; 0 conflicts)" in first
    demo_reporting(engine, out, example_path)
    assert f"({len(expected)} values, already stored;" in out.file.getvalue()  # type: ignore[attr-defined]

    stored = store.load_values(engine)
    assert len(stored) == len(expected)
    assert sorted((v.org_unit, v.period, v.data_element, v.value) for v in stored) == sorted(
        (e["orgUnit"], e["period"], e["dataElement"], float(e["value"])) for e in expected
    )
    with engine.connect() as conn:
        assert len(conn.execute(hierarchies.select()).all()) == 1
        assert {r.submission_count for r in conn.execute(submissions.select())} == {1}
    found = stored_hierarchy(engine)
    assert found is not None
    assert found.hierarchy.neighbours_of("PRK")
    wanted = load_requirements(example_path("reporting_requirements.yaml"), load_schema(None))
    assert sorted(store.stored_requirements(engine), key=repr) == sorted(wanted, key=repr)
    engine.dispose()


def test_the_stored_impact_run_is_what_the_service_computes(db: str) -> None:
    from doseflow.allocation import load_scenario
    from doseflow.cli.impact import demo_impact
    from doseflow.service import impact_job
    from doseflow.store.allocation import AllocationStore
    from doseflow.store.database import open_database
    from doseflow.store.service_jobs import JobStatus, list_jobs

    engine = open_database(db)
    allocation = AllocationStore(engine)
    scenario = load_scenario(example_path("covax_2021.yaml"))
    allocation.save_scenario(scenario)
    outcome = allocation.run(scenario.name)
    demo_impact(outcome, Path(db).parent / "out", engine=engine, levels=4)
    demo_impact(outcome, Path(db).parent / "out", engine=engine, levels=4)
    jobs = list_jobs(engine, kind=impact_job.KIND)
    assert len(jobs) == 1
    job = jobs[0]
    assert job.status is JobStatus.SUCCEEDED
    assert job.params["scenario"] == "covax-2021"
    assert job.params["levels"] == 4
    # the service, given the stored parameters, computes exactly the stored result
    again = json.loads(json.dumps(impact_job.run(engine, job.params), default=str))
    assert job.result == again
    engine.dispose()


def test_step_loop_and_phase_are_plain_lines_off_a_terminal() -> None:
    from doseflow.cli.progress import loop, phase, step

    out = Console(file=io.StringIO(), width=200)
    assert not out.is_terminal
    with step(out, 2, 5, "Cold chain"):
        out.print("working")
    with loop(out, "values", 20, after=0) as advance:
        for done in range(1, 21):
            advance(done)
    with phase(out, "storing", after=0.05):
        time.sleep(0.5)
    lines = out.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert lines[0] == "[2/5] Cold chain..."
    assert lines[1] == "working"
    assert lines[2].startswith("[2/5] Cold chain: done in ")
    assert lines[3:14] == [f"values: {n:,} of 20" for n in (1, *range(2, 21, 2))]
    assert lines[14] == "storing..."
    assert lines[15].startswith("storing: done in ")
    assert len(lines) == 16


def test_on_a_terminal_only_the_outer_display_is_drawn() -> None:
    from doseflow.cli.progress import loop, phase, step

    out = Console(file=io.StringIO(), width=200, force_terminal=True)
    with step(out, 1, 1, "Outer"):
        with phase(out, "inner call", after=0):
            time.sleep(0.2)
        with loop(out, "inner loop", 2, after=0) as advance:
            advance(1)
            advance(2)
    drawn = out.file.getvalue()  # type: ignore[attr-defined]
    assert "[1/1] Outer: done in " in drawn
    assert "inner" not in drawn
    with loop(out, "alone", 2, after=0) as advance:
        advance(1)
        advance(2)
    assert "alone" in out.file.getvalue()  # type: ignore[attr-defined]


def test_quick_loops_and_calls_say_nothing() -> None:
    from doseflow.cli.progress import loop, phase

    out = Console(file=io.StringIO(), width=200)
    with loop(out, "values", 3, after=60) as advance:
        for done in range(1, 4):
            advance(done)
    with phase(out, "storing", after=60):
        pass
    assert out.file.getvalue() == ""  # type: ignore[attr-defined]


@pytest.mark.slow  # the whole demo twice, then the service on its database
def test_after_the_demo_reporting_and_impact_show_the_examples(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from doseflow.service import create_app
    from doseflow.store.service import Role, issue_token
    from doseflow.store.service_settings import SecuritySettings
    from tests.service.conftest import dashboard_sign_in

    out = tmp_path / "out"
    assert run(["demo", "--db", db, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for number, (title, _) in enumerate(STEPS, start=1):
        assert f"[{number}/{len(STEPS)}] {title}..." in printed
    assert run(["demo", "--db", db, "--out", str(out)]) == 0
    capsys.readouterr()

    expected = _example_values()
    last = next(
        e
        for e in expected
        if (e["orgUnit"], e["period"], e["dataElement"]) == ("PRK", "2021W38", "people_tested")
    )
    tested = sum(
        int(e["value"])
        for e in expected
        if e["orgUnit"] == "PRK" and e["dataElement"] == "people_tested"
    )
    app = create_app(f"sqlite:///{db}", security=SecuritySettings.relaxed())
    token = issue_token(app.state.engine, role=Role.ADMINISTRATOR, user="t").token
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        values = client.get(
            "/api/reports/values",
            params={"iso3": "PRK", "period": "2021W38", "data_element": "people_tested"},
            headers=auth,
        )
        assert values.status_code == 200
        assert [float(v["value"]) for v in values.json()] == [float(last["value"])]  # 667
        every = client.get("/api/reports/values", params={"limit": 1000}, headers=auth)
        assert len(every.json()) == len(expected)  # the demo ran twice: nothing twice
        compliance = client.get(
            "/api/reports/compliance", params={"iso3": "PRK", "limit": 1000}, headers=auth
        ).json()
        week = next(
            r for r in compliance if (r["report"], r["period"]) == ("surveillance", "2021W38")
        )
        assert week["submitted_at"] is not None
        assert week["status"] == "late"  # stored by the demo today, due in 2021
        flags = client.get("/api/reports/plausibility", params={"iso3": "PRK"}, headers=auth)
        positivity = next(f for f in flags.json() if f["method"] == "beta_binomial_positivity")
        assert positivity["figures"]["tests"] == tested  # 40,700
        runs = client.get("/api/impact-runs", headers=auth).json()
        assert len(runs) == 1
        assert runs[0]["status"] == "succeeded"
        assert runs[0]["params"]["scenario"] == "covax-2021"

        assert dashboard_sign_in(client, token).status_code == 303
        reporting = client.get("/dashboard/reporting").text
        assert "beta_binomial_positivity" in reporting
        assert "No plausibility flag." not in reporting
        impact = client.get("/dashboard/impact").text
        assert "Latest comparison: covax-2021" in impact
    app.state.engine.dispose()

    # docs/service.md quotes these figures of the seeded data
    docs = (Path(__file__).parents[2] / "docs" / "service.md").read_text(encoding="utf-8")
    seeded = docs[docs.index("### What the demo stores") :]
    seeded = " ".join(seeded[: seeded.index("## Tokens")].split())
    assert f"{len(expected)} values, PRK's people tested" in seeded
    assert f"PRK's {int(last['value']):,} people tested that week" in seeded
    assert f"PRK's {tested:,} tests without a positive" in seeded
    assert f"{runs[0]['params']['levels']} levels" in seeded
    said = re.search(
        r"with (\d+) participants; (\d+) reporting requirements", " ".join(printed.split())
    )
    assert said is not None
    assert f"`reporting_hierarchy.yaml`: {said.group(1)} participants" in seeded
    assert f"the {said.group(2)} example requirements" in seeded


def test_report_import_says_what_it_does_on_stderr_only(
    db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from doseflow.cli import progress

    monkeypatch.setattr(progress, "SHOW_AFTER", 0.0)  # as if every step were slow
    source = example_path("reporting_prk_surveillance.json")
    hierarchy = str(example_path("reporting_hierarchy.yaml"))
    args = ["report", "import", str(source), "--json", "--hierarchy", hierarchy]
    assert run([*args, "--as-of", "2021-09-27", "--db", db]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["counts"]["accepted"] == len(_example_values())
    lines = captured.err.splitlines()
    assert f"Reading {source}..." in lines
    assert f"Checking and storing {len(_example_values())} values..." in lines
    done = f"Checking and storing {len(_example_values())} values: done in "
    assert any(line.startswith(done) for line in lines)


def test_a_finished_job_is_stored_once_on_both_backends(db_url: str) -> None:
    from doseflow.store.database import open_database
    from doseflow.store.finished_jobs import finished_job_id, store_finished_job
    from doseflow.store.service_jobs import JobStatus, count_jobs

    engine = open_database(db_url)
    params = {"scenario": "covax-2021", "levels": 12, "round": None}
    result = {"totals": [{"rule": "round", "deaths_averted": 1.5}]}
    first, created = store_finished_job(
        engine, kind="impact-comparison", params=params, result=result, submitted_by="demo"
    )
    assert created
    again, created = store_finished_job(
        engine, kind="impact-comparison", params=params, result=result, submitted_by="demo"
    )
    assert not created
    assert again.id == first.id == finished_job_id("impact-comparison", params)
    assert count_jobs(engine, kind="impact-comparison") == 1
    assert again.status is JobStatus.SUCCEEDED
    assert again.result == result
    assert again.params == params
    assert again.finished_at is not None
    engine.dispose()
