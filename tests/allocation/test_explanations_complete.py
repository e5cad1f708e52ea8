"""Issue 12, findings 3 and 4, on the bundled example: a decline is explained as a decline
(what, where from, where the doses went), every participant x pool of a round has an
explanation, and a line's coverage is the coverage table's number."""

from __future__ import annotations

from functools import cache

import pytest

from doseflow.allocation import AllocationRun, load_scenario, run_rounds
from doseflow.cli.demo import example_path
from doseflow.domain.product import ProductKind


@cache
def example_run() -> AllocationRun:
    return run_rounds(load_scenario(example_path("covax_2021.yaml")))


def test_a_declined_allocation_is_explained_as_a_decline() -> None:
    result = example_run().round(3)
    (pool,) = [pr for pr in result.pools if pr.product.code == "SINOVAC"]
    i = result.context.table.index["PRK"]
    e = result.explanation(pool, i)
    assert e.doses == 0
    assert e.rule_doses > 0
    assert e.binding == "declined"
    assert "common coverage level" not in e.binding_text
    assert f"declined {e.rule_doses:,} doses" in e.binding_text
    (note,) = e.declined
    assert note.doses == e.rule_doses
    assert note.source.endswith("covax_2021.yaml, declines[0]")
    assert note.given, "where the doses went"
    record = pool.declines[0]
    assert sum(q for _, q in note.given) == note.doses - record.held
    text = e.render()
    assert "raised to the common coverage level" not in text
    assert "covax_2021.yaml" in text
    assert note.given[0][0] in text  # a recipient is named


def test_every_participant_and_pool_of_a_round_is_explained() -> None:
    run = example_run()
    for result in run.rounds:
        found = result.explain("KEN")
        assert [e.pool for e in found] == [pr.pool.id for pr in result.pools]
    pfizer = [e for e in run.explain("KEN", 1) if e.product == "PFIZER"]
    assert pfizer
    assert all(not e.eligible for e in pfizer)
    assert all("NO_COLD_CHAIN" in e.exclusions for e in pfizer)
    assert all(e.binding == "not-eligible" for e in pfizer)
    assert "Not eligible: no cold-chain capacity" in pfizer[0].render()


def _last_vaccine_lines(run: AllocationRun, number: int) -> dict[str, float]:
    result = run.round(number)
    last: dict[str, float] = {}
    for line in result.lines(include_zero=True):
        if result.context.products[line.product].kind is ProductKind.VACCINE:
            last[line.iso3] = line.explanation.coverage_after
    return last


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_line_coverage_is_the_coverage_table_after_every_round(number: int) -> None:
    run = example_run()
    table = {c.iso3: c.coverage for c in run.round(number).coverage()}
    last = _last_vaccine_lines(run, number)
    assert set(last) == set(table)
    for iso3, coverage in table.items():
        assert last[iso3] == pytest.approx(coverage, rel=1e-12, abs=1e-15), iso3


TWO_POOLS = """\
name: two-pools
products:
  - {code: AZ, pack_doses: 100}
  - {code: SV, pack_doses: 100}
participants:
  - {iso3: PRK, financing: amc}
  - {iso3: NPL, financing: amc}
  - {iso3: MNG, financing: amc}
rounds:
  - date: 2021-02-03
    tranches:
      - {product: AZ, doses: 1000000, available: 2021-02-03}
      - {product: SV, doses: 600000, available: 2021-02-10}
declines:
  - {round: 1, product: AZ, iso3: PRK, recipients: [NPL]}
"""


def test_line_coverage_after_a_decline_in_an_earlier_pool_of_the_round() -> None:
    from doseflow.allocation import parse_scenario

    run = run_rounds(parse_scenario(TWO_POOLS))
    result = run.round(1)
    assert [pr.product.code for pr in result.pools] == ["AZ", "SV"]
    table = {c.iso3: c.coverage for c in result.coverage()}
    last = _last_vaccine_lines(run, 1)
    for iso3, coverage in table.items():
        assert last[iso3] == pytest.approx(coverage, rel=1e-12, abs=1e-15), iso3
    # each line starts where the one before it in delivery order ended
    npl = result.explain("NPL")
    assert npl[1].coverage_before == pytest.approx(npl[0].coverage_after, rel=1e-12)
