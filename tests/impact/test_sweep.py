"""Sweeps: chunking, resume, and the three executors giving the same results."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.impact import (
    AgeBands,
    DaskExecutor,
    InProcessExecutor,
    PoolExecutor,
    SweepGrid,
    make_executor,
    run_sweep,
)
from doseflow.impact.scenario_file import parse_sweep
from doseflow.impact.sweep import CHUNK_DIR, MANIFEST, run_chunk

GRID = SweepGrid(
    countries=("NGA", "PRK"),
    r0=(1.5, 2.5),
    supply_shares=(0.1, 0.4),
    doses_per_day_shares=(0.005,),
    strategies=("older-first", "proportional"),
    bands=AgeBands.uniform(20, 60),
    horizon_days=120,
    chunk_size=3,
)


def test_grid_chunks_never_mix_countries_and_cover_every_point() -> None:
    chunks = GRID.chunks()
    assert sum(len(c.points) for c in chunks) == GRID.size == 16
    assert all(len({p[0] for p in c.points}) == 1 for c in chunks)


def test_chunk_rows_compare_with_their_own_baseline() -> None:
    frame = run_chunk(GRID.chunks()[0])
    assert (frame["deaths_averted"] == frame["deaths_no_vaccine"] - frame["deaths"]).all()
    assert (frame["deaths_averted"] > 0).all()


def test_rerun_skips_chunks_already_done(tmp_path: Path) -> None:
    first = run_sweep(GRID, tmp_path)
    n = len(GRID.chunks())
    assert first.chunks_run == tuple(range(n))
    # lose one chunk file (an interrupted run): only that chunk runs again
    (tmp_path / CHUNK_DIR / GRID.chunks()[2].filename).unlink()
    seen: list[tuple[int, int]] = []
    second = run_sweep(GRID, tmp_path, progress=lambda done, total: seen.append((done, total)))
    assert second.chunks_run == (2,)
    assert len(second.chunks_skipped) == n - 1
    assert seen[0] == (n - 1, n)
    assert seen[-1] == (n, n)
    pd.testing.assert_frame_equal(second.results, first.results)
    assert json.loads((tmp_path / MANIFEST).read_text())["done"] == list(range(n))
    assert pd.read_parquet(tmp_path / "results.parquet").shape[0] == GRID.size


def test_executors_give_identical_results(tmp_path: Path) -> None:
    reference = run_sweep(GRID, tmp_path / "in-process", InProcessExecutor()).results
    pool = PoolExecutor(2)
    try:
        pooled = run_sweep(GRID, tmp_path / "pool", pool).results
    finally:
        pool.close()
    dask = DaskExecutor(workers=2, processes=False)
    try:
        distributed = run_sweep(GRID, tmp_path / "dask", dask).results
    finally:
        dask.close()
    pd.testing.assert_frame_equal(pooled, reference)
    pd.testing.assert_frame_equal(distributed, reference)


def test_sweep_mismatch_error(tmp_path: Path) -> None:
    small = SweepGrid(
        ("PRK",),
        (2.0,),
        (0.2,),
        (0.005,),
        ("older-first",),
        bands=AgeBands.uniform(20, 60),
        horizon_days=60,
    )
    run_sweep(small, tmp_path)
    other = SweepGrid(
        ("PRK",),
        (3.0,),
        (0.2,),
        (0.005,),
        ("older-first",),
        bands=AgeBands.uniform(20, 60),
        horizon_days=60,
    )
    with pytest.raises(DoseflowError) as err:
        run_sweep(other, tmp_path)
    assert err.value.code == "IMPACT_SWEEP_MISMATCH"
    assert "different sweep grid" in str(err.value)
    assert err.value.detail.value == small.key()


def test_empty_grid_error() -> None:
    with pytest.raises(DoseflowError) as err:
        SweepGrid(("NGA",), (), (0.1,), (0.01,), ("older-first",))
    assert err.value.code == "IMPACT_EMPTY_GRID"
    assert "no values for 'r0'" in str(err.value)
    assert err.value.detail.value == 0


def test_unknown_executor_error() -> None:
    with pytest.raises(DoseflowError) as err:
        make_executor("spark")
    assert err.value.code == "IMPACT_UNKNOWN_EXECUTOR"
    assert "unknown executor" in str(err.value)
    assert err.value.detail.value == "spark"


def test_unreachable_dask_scheduler_error() -> None:
    with pytest.raises(DoseflowError) as err:
        DaskExecutor("tcp://127.0.0.1:9", timeout="1s")
    assert err.value.code == "IMPACT_DASK_UNREACHABLE"
    assert "cannot reach the Dask scheduler" in str(err.value)
    assert err.value.detail.value == "tcp://127.0.0.1:9"


def test_sweep_of_populations_given_by_the_analyst(tmp_path: Path) -> None:
    """Own population and contacts, and a bundled country with its life expectancy and
    susceptibility replaced, swept like bundled countries (results named as given)."""
    grid = parse_sweep(
        "countries: [PRK]\n"
        "populations:\n"
        "  - name: island\n"
        "    population: [600000, 300000, 100000, 50000]\n"
        "    contacts: [[8, 3, 1, 1], [3, 6, 2, 1], [1, 2, 3, 1], [1, 1, 1, 2]]\n"
        "    life_expectancy: [60, 40, 25, 10]\n"
        "  - name: PRK-young\n"
        "    country: PRK\n"
        "    susceptibility: [0.5, 1, 1, 1]\n"
        "r0: [2.0]\nsupply_shares: [0.2]\ndoses_per_day_shares: [0.01]\n"
        "strategies: [older-first, 'ordered:20-39,rest']\nbands: 0,20,40,60\nhorizon_days: 60\n"
        "initial: {exposed: 0.001, infectious: 0.001, recovered: 0.1}\n"
    )
    assert grid.size == 6
    outcome = run_sweep(grid, tmp_path / "s", InProcessExecutor())
    rows = outcome.results.set_index(["country", "strategy"])
    assert set(outcome.results["country"]) == {"PRK", "island", "PRK-young"}
    assert rows.loc[("island", "older-first"), "population"] == 1_050_000
    # PRK-young differs from PRK only by children's susceptibility
    assert (
        rows.loc[("PRK-young", "older-first"), "population"]
        == rows.loc[("PRK", "older-first"), "population"]
    )
    # (R0 is held, so transmission among adults rises: more deaths, not fewer)
    assert (
        rows.loc[("PRK-young", "older-first"), "deaths_no_vaccine"]
        > 1.5 * rows.loc[("PRK", "older-first"), "deaths_no_vaccine"]
    )
    # the same population run on its own gives the same numbers (the file read it all)
    from doseflow.impact import AgeBands, RateRollout, Strategy, custom_scenario, simulate
    from doseflow.impact.initial import InitialConditions

    own = custom_scenario(
        "island",
        AgeBands((0, 20, 40, 60)),
        [600000, 300000, 100000, 50000],
        [[8, 3, 1, 1], [3, 6, 2, 1], [1, 2, 3, 1], [1, 1, 1, 2]],
        life_expectancy=[60, 40, 25, 10],
        r0=2.0,
        horizon_days=60,
        initial=InitialConditions(exposed=0.001, infectious=0.001, recovered=0.1),
        rollout=RateRollout(0.01, 0.2),
        strategy=Strategy.parse("older-first"),
    )
    result = simulate([own])
    assert rows.loc[("island", "older-first"), "deaths"] == pytest.approx(result.deaths[0])
    assert rows.loc[("island", "older-first"), "yll"] == pytest.approx(result.yll[0])


def test_bad_sweep_population_is_located() -> None:
    text = (
        "populations:\n  - name: a\n    country: NGA\n"
        "  - name: b\n    population: [1, 2]\n    contacts: [[1, 1], [1, 1], [1, 1]]\n"
        "r0: [2.0]\nsupply_shares: [0.2]\ndoses_per_day_shares: [0.01]\n"
        "strategies: [older-first]\nbands: 0,20\n"
    )
    with pytest.raises(DoseflowError) as err:
        parse_sweep(text, "g.yaml")
    detail = err.value.detail
    assert detail.code == "IMPACT_SHAPE_MISMATCH"
    assert detail.location.field == "populations[1].contacts"
    assert detail.location.line == 6
    with pytest.raises(DoseflowError) as err:
        parse_sweep(text.replace("country: NGA", "country: NGA\n    population: [1, 2]"), "g.yaml")
    assert "not both" in str(err.value)
