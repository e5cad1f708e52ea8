"""Readiness gates decided outside allocation (reporting compliance): applied by the
eligibility filter, told in explanations, honoured by redistribution, off by default."""

from __future__ import annotations

import pytest

from doseflow.allocation import (
    COMPLIANCE_GATE,
    Decline,
    Exclusion,
    ExtraGate,
    GateOutcome,
    parse_scenario,
    run_rounds,
    with_compliance_gate,
)
from doseflow.domain.errors import DoseflowError
from tests.allocation.builders import participant, product, scenario, tranche

MISSING = "surveillance: 2 of the last 4 reports missing (2021W30, 2021W31); at most 0 allowed"


def _small():  # type: ignore[no-untyped-def]
    return scenario(
        [product("AZ", pack=10)],
        [participant("AAA"), participant("BBB"), participant("CCC")],
        [[tranche("AZ", 60_000)], [tranche("AZ", 60_000)]],
    )


def _gate(**verdicts: GateOutcome) -> ExtraGate:
    return ExtraGate(COMPLIANCE_GATE, verdicts)


def test_failed_gate_excludes_with_the_gate_reasons_in_the_explanation() -> None:
    sc = _small()
    gates = {1: (_gate(AAA=GateOutcome(False, (MISSING,)), BBB=GateOutcome(True)),)}
    run = run_rounds(sc, gates=gates)
    first = run.round(1).pools[0]
    assert first.doses.tolist() == [0, 30_000, 30_000]
    assert Exclusion.FAILED_GATE & int(first.exclusions[0])
    e = run.explain("AAA", 1)[0]
    assert not e.eligible
    assert e.exclusions == ("FAILED_GATE",)
    assert e.exclusion_text == (f"reporting compliance: {MISSING}",)
    assert f"Not eligible: reporting compliance: {MISSING}." in e.render()
    # round 2 has no verdict against AAA: it is back, and catches up on coverage
    assert run.round(2).pools[0].doses[0] > 0
    assert run.round(2).gate_notes == {}


def test_gate_off_by_default_includes_everyone() -> None:
    sc = _small()
    assert sc.policy.compliance_gate.enabled is False
    run = run_rounds(sc)
    assert run.round(1).pools[0].doses.tolist() == [20_000, 20_000, 20_000]
    assert run.explain("AAA", 1)[0].eligible


def test_tuples_and_result_objects_are_accepted_and_unknown_codes_ignored() -> None:
    class Verdict:  # the shape of doseflow.reporting.GateResult
        passed = False
        reasons = ("administration: 1 of the last 1 reports missing (202107)",)

    gate = ExtraGate.from_results(
        COMPLIANCE_GATE, {"aaa": (False, ["late"]), "BBB": Verdict(), "ZZZ": (False, ["x"])}
    )
    run = run_rounds(_small(), gates={1: (gate,)})
    assert run.round(1).pools[0].doses.tolist() == [0, 0, 60_000]
    assert run.explain("AAA", 1)[0].exclusion_text == ("reporting compliance: late",)
    assert run.explain("BBB", 1)[0].exclusion_text == (
        "reporting compliance: administration: 1 of the last 1 reports missing (202107)",
    )


def test_redistributed_declines_skip_participants_that_failed_the_gate() -> None:
    gates = {1: (_gate(AAA=GateOutcome(False, (MISSING,))),)}
    run = run_rounds(_small(), [Decline(1, "AZ", "BBB", reason="no space")], gates=gates)
    pool = run.round(1).pools[0]
    assert pool.doses.tolist() == [0, 0, 60_000]


def test_enabled_gate_without_results_is_refused() -> None:
    sc = with_compliance_gate(_small())
    assert sc.policy.compliance_gate.enabled
    with pytest.raises(DoseflowError) as exc:
        run_rounds(sc)
    assert exc.value.code == "ALLOC_GATE_RESULTS_MISSING"
    assert "no compliance results were given" in exc.value.detail.message
    assert exc.value.detail.value == 1
    # with verdicts it runs
    assert run_rounds(sc, gates={1: (_gate(),), 2: (_gate(),)}).round(2).allocated == 60_000


FILE = """\
name: gated
products: [{code: AZ, pack_doses: 100}]
participants: [{iso3: PRK, financing: amc}, {iso3: NPL, financing: amc}]
policy: {compliance_gate: {enabled: true, lookback_periods: 2, max_missing: 1, max_late: 0}}
rounds:
  - {date: 2021-08-02, tranches: [{product: AZ, doses: 100000}]}
  - {date: 2021-09-06, policy: {compliance_gate: {enabled: false}},
     tranches: [{product: AZ, doses: 100000}]}
"""


def test_scenario_file_sets_the_gate_per_scenario_and_round() -> None:
    sc = parse_scenario(FILE)
    gate = sc.policy.compliance_gate
    assert (gate.enabled, gate.lookback_periods, gate.max_missing, gate.max_late) == (
        True,
        2,
        1,
        0,
    )
    assert sc.round(2).policy is not None
    assert sc.round(2).policy.compliance_gate.enabled is False
    plain = parse_scenario(FILE.replace("enabled: true", "enabled: false"))
    assert plain.policy.compliance_gate.enabled is False
    on = with_compliance_gate(plain)
    assert on.policy.compliance_gate.enabled
    assert on.policy.compliance_gate.lookback_periods == 2  # other settings kept
    assert on.document["policy"]["compliance_gate"]["enabled"] is True
    assert with_compliance_gate(on, enabled=False).policy.compliance_gate.enabled is False


def test_bad_gate_setting_is_reported() -> None:
    with pytest.raises(DoseflowError) as exc:
        parse_scenario(FILE.replace("lookback_periods: 2", "lookback_periods: 0"))
    assert exc.value.code == "ALLOC_INVALID_FIELD"
    assert exc.value.detail.location.field == "policy.compliance_gate.lookback_periods"
    assert exc.value.detail.value == 0
