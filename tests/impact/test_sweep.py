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
