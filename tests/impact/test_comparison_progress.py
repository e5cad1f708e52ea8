"""A watched comparison reports its progress as it goes (participants, then chunks of model
runs, rising to 1) and gives the same figures as an unwatched one run in a single batch."""

from __future__ import annotations

import pandas as pd
import pytest

from doseflow.impact import global_comparison
from doseflow.impact.global_comparison import compare_allocations
from tests.impact.test_comparisons import _run


def test_progress_rises_to_one_through_chunks_and_changes_no_figure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = _run(24_000_000)
    plain = compare_allocations(run, horizon_days=120, levels=4)
    monkeypatch.setattr(global_comparison, "PROGRESS_CHUNK_RUNS", 5)
    heard: list[tuple[float, str]] = []
    watched = compare_allocations(
        run, horizon_days=120, levels=4, progress=lambda f, m: heard.append((f, m))
    )
    pd.testing.assert_frame_equal(watched.participants, plain.participants)
    fractions = [f for f, _ in heard]
    assert fractions == sorted(fractions)
    assert 0 <= fractions[0] < 0.1
    assert fractions[-1] == 1.0
    chunk_messages = [m for _, m in heard if "chunk" in m]
    # 3 modelled participants: 3 baselines + 3 round + 6 shared + 12 curve points = 24 runs
    assert len(chunk_messages) == 5
    assert chunk_messages[-1] == "modelling the rules: chunk 5 of 5 (24 of 24 model runs)"
    assert any(m == "preparing participant NGA" for _, m in heard)
