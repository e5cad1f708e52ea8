"""Work shared across the pools of a run (so a year of weekly tranches stays fast) must
not leak between pools: cached per-product flags are read-only, the state after a round is
the pools added up, and a decline recomputes it."""

from __future__ import annotations

import numpy as np
import pytest

from doseflow.allocation import Decline, run_rounds
from tests.allocation.builders import participant, product, scenario, tranche


def _weekly():  # type: ignore[no-untyped-def]
    return scenario(
        [product("AZ", pack=10), product("PF", pack=6, doses_per_vial=6)],
        [participant("AAA", 1_000_000), participant("BBB", 2_500_000), participant("CCC")],
        [[tranche("AZ", 40_000 + 70 * w), tranche("PF", 30_000 + 6 * w)] for w in range(4)],
    )


def test_pools_of_one_product_share_read_only_exclusions() -> None:
    run = run_rounds(_weekly())
    az = [pr for r in run.rounds for pr in r.pools if pr.product.code == "AZ"]
    assert all(pr.exclusions is az[0].exclusions for pr in az)
    with pytest.raises(ValueError, match="read-only"):
        az[0].exclusions[0] = 1


def test_state_after_each_round_is_the_pools_added_up() -> None:
    sc = _weekly()
    run = run_rounds(sc, [Decline(2, "AZ", "AAA", reason="later")])
    for r in run.rounds:
        expected = r.state_before.doses.copy()
        for pr in r.pools:
            expected[:, r.context.column(pr.product.code)] += pr.doses
        assert np.array_equal(r.state_after.doses, expected)
    second = run.round(2)
    assert second.pools[0].doses[0] == 0  # AAA declined its AZ ...
    assert second.state_after.doses[0, 0] == second.state_before.doses[0, 0]  # ... in the state
    assert np.array_equal(run.round(3).state_before.doses, run.round(2).state_after.doses)
