"""Strategy comparison and the global comparison of allocation rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from doseflow.allocation import AllocationRun, parse_scenario, run_rounds
from doseflow.domain.errors import DoseflowError
from doseflow.impact import Scenario, Strategy, compare_strategies
from doseflow.impact.global_comparison import AllocationRule, compare_allocations, round_deliveries
from doseflow.impact.plots import plot_allocation_rules, plot_strategies

ALLOCATION = """
name: impact test round
products:
  - {code: AZ, pack_doses: 2400, doses_per_vial: 10, doses_per_course: 2}
participants:
  - {iso3: NGA, financing: amc}
  - {iso3: PRK, financing: amc}
  - {iso3: BRA, financing: self-financing}
  - {iso3: TUV, financing: amc, population: 11000}
rounds:
  - date: 2021-03-01
    tranches:
      - {product: AZ, doses: DOSES}
"""


def _run(doses: int) -> AllocationRun:
    return run_rounds(parse_scenario(ALLOCATION.replace("DOSES", str(doses))))


STRATS = [Strategy.parse(s) for s in ("older-first", "younger-first", "proportional")]


def test_strategy_comparison_table_and_best(nga: Scenario, tmp_path: Path) -> None:
    comparison = compare_strategies(nga, STRATS, [0.05, 0.3])
    table = comparison.table
    assert len(table) == 6
    assert (table["deaths_averted"] == table["deaths_no_vaccine"] - table["deaths"]).all()
    best = comparison.best_by_supply()
    for level, strategy in zip(best["supply_share"], best["strategy"], strict=True):
        rows = table[table["supply_share"] == level]
        assert rows.loc[rows["deaths_averted"].idxmax(), "strategy"] == strategy
    png, html = plot_strategies(table, tmp_path)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = html.read_text()
    assert "<script" in text
    assert 'src="https://cdn' not in text


def test_unknown_metric_error(nga: Scenario) -> None:
    comparison = compare_strategies(nga, STRATS[:1], [0.1])
    with pytest.raises(DoseflowError) as err:
        comparison.best_by_supply("happiness")
    assert err.value.code == "IMPACT_UNKNOWN_METRIC"
    assert "cannot rank" in str(err.value)
    assert err.value.detail.value == "happiness"


def test_empty_comparison_error(nga: Scenario) -> None:
    with pytest.raises(DoseflowError) as err:
        compare_strategies(nga, [], [0.1])
    assert err.value.code == "IMPACT_EMPTY_GRID"
    assert "at least one" in str(err.value)
    assert err.value.detail.value == 0


def test_global_comparison_shares_the_same_supply(tmp_path: Path) -> None:
    run = _run(24_000_000)
    delivered = round_deliveries(run)
    comparison = compare_allocations(run, horizon_days=200, levels=8)
    totals = comparison.totals().set_index("rule")
    modelled_round = sum(n for iso3, rows in delivered.items() if iso3 != "TUV" for _, _, n in rows)
    assert totals.loc[AllocationRule.ROUND.value, "doses"] == pytest.approx(modelled_round)
    pooled = sum(n for rows in delivered.values() for _, _, n in rows)
    for rule in (AllocationRule.POPULATION, AllocationRule.THREAT, AllocationRule.IMPACT):
        assert totals.loc[rule.value, "doses"] == pytest.approx(pooled)
    # the greedy split is at least as good as the rules it can reproduce at its resolution
    assert (
        totals.loc["impact-maximising", "deaths_averted"]
        >= totals.loc["population", "deaths_averted"]
    )
    assert comparison.skipped == (("TUV", "no age bands in WPP 2019"),)
    per = comparison.participants
    assert set(per["iso3"]) == {"NGA", "PRK", "BRA"}
    png, html = plot_allocation_rules(comparison.totals(), tmp_path)
    assert png.exists()
    assert html.exists()


def test_round_without_vaccine_doses_error() -> None:
    with pytest.raises(DoseflowError) as err:
        compare_allocations(_run(0))
    assert err.value.code == "IMPACT_ROUND_EMPTY"
    assert "no vaccine doses" in str(err.value)
    assert err.value.detail.value is not None
