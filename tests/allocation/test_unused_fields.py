"""A field no round of the scenario uses is refused (ALLOC_FIELD_UNUSED), never dropped.

One case per field (and per reason): the field is added to a small valid scenario whose
rounds do not read it, and the error must name its path, its line and what to do.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from doseflow.allocation import parse_scenario, scenario_from_document
from doseflow.domain.errors import DoseflowError

PHASE1: dict[str, Any] = {
    "name": "t",
    "products": [{"code": "AZ", "pack_doses": 100}, {"code": "PF", "pack_doses": 100}],
    "participants": [
        {"iso3": "PRK", "financing": "amc"},
        {"iso3": "NGA", "financing": "amc"},
    ],
    "rounds": [{"date": "2021-02-03", "tranches": [{"product": "AZ", "doses": 100000}]}],
}


def _phase2() -> dict[str, Any]:
    doc = copy.deepcopy(PHASE1)
    doc["rounds"][0]["phase"] = 2
    return doc


def _top_up() -> dict[str, Any]:
    doc = copy.deepcopy(PHASE1)
    doc["rounds"][0]["kind"] = "top-up"
    return doc


def _set(doc: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    target: Any = doc
    for part in path[:-1]:
        target = target.setdefault(part, {}) if isinstance(part, str) else target[part]
    target[path[-1]] = value
    return doc


P0 = ("participants", 0)
CASES: list[tuple[str, dict[str, Any], tuple[str | int, ...], Any, str, str]] = [
    # (case, base document, path set, value, field reported, words in the message)
    (
        "absorption",
        PHASE1,
        (*P0, "absorption_per_month"),
        1000,
        "participants[0].absorption_per_month",
        "no phase-2",
    ),
    (
        "awaiting",
        PHASE1,
        (*P0, "awaiting_second_dose"),
        {"AZ": 10},
        "participants[0].awaiting_second_dose",
        "no top-up round",
    ),
    (
        "awaiting-product",
        _top_up(),
        (*P0, "awaiting_second_dose"),
        {"PF": 10},
        "participants[0].awaiting_second_dose.PF",
        "no top-up round completes",
    ),
    (
        "share-of-level",
        _phase2(),
        (*P0, "share_of_level"),
        0.9,
        "participants[0].share_of_level",
        "no phase-1",
    ),
    ("ceiling", _phase2(), (*P0, "ceiling"), 0.1, "participants[0].ceiling", "no phase-1"),
    (
        "request",
        PHASE1,
        (*P0, "requests"),
        {"PF": 1000},
        "participants[0].requests.PF",
        "no round supplies",
    ),
    (
        "requested-coverage",
        PHASE1,
        (*P0, "requested_coverage"),
        {"PF": 0.1},
        "participants[0].requested_coverage.PF",
        "no round supplies",
    ),
    (
        "delays",
        PHASE1,
        (*P0, "delays"),
        {"PF": "2021-03-01"},
        "participants[0].delays.PF",
        "no round supplies",
    ),
    (
        "opt-out",
        PHASE1,
        (*P0, "opt_out"),
        ["PF"],
        "participants[0].opt_out[0]",
        "no round supplies",
    ),
    (
        "threat",
        _set(PHASE1, ("policy", "severe"), {"enabled": False}),
        (*P0, "threat"),
        {"deaths_per_million": 3},
        "participants[0].threat",
        "threat and vulnerability",
    ),
    (
        "other-sources",
        _set(PHASE1, ("policy", "count_other_sources"), False),
        (*P0, "other_sources_doses"),
        5000,
        "participants[0].other_sources_doses",
        "count_other_sources",
    ),
    ("target", PHASE1, ("policy", "target"), 0.5, "policy.target", "no phase-2"),
    (
        "phase2-weight",
        PHASE1,
        ("policy", "phase2_weight"),
        "threat",
        "policy.phase2_weight",
        "no phase-2",
    ),
    ("ladder", _phase2(), ("policy", "ladder"), [0.1], "policy.ladder", "no phase-1"),
    ("floors", _phase2(), ("policy", "floors"), {"AZ": 100}, "policy.floors", "no phase-1"),
    (
        "floors-product",
        PHASE1,
        ("policy", "floors"),
        {"PF": 100},
        "policy.floors.PF",
        "no round supplies",
    ),
    (
        "caps-product",
        PHASE1,
        ("policy", "caps"),
        {"PF": 100},
        "policy.caps.PF",
        "no round supplies",
    ),
    ("severe", _phase2(), ("policy", "severe"), {"threshold": 0.1}, "policy.severe", "no phase-1"),
    (
        "need-of-a-vaccine",
        PHASE1,
        ("policy", "need_per_1000"),
        {"AZ": 10},
        "policy.need_per_1000.AZ",
        "vaccine",
    ),
    (
        "other-sources-course",
        _set(PHASE1, ("policy", "count_other_sources"), False),
        ("policy", "other_sources_doses_per_course"),
        1,
        "policy.other_sources_doses_per_course",
        "other sources",
    ),
    ("policy-phase", _phase2(), ("policy", "phase"), 1, "policy.phase", "own phase"),
    (
        "severe-off",
        PHASE1,
        ("policy", "severe"),
        {"enabled": False, "threshold": 0.1},
        "policy.severe.threshold",
        "not enabled",
    ),
    (
        "decline-recipients",
        _set(
            PHASE1,
            ("declines",),
            [{"round": 1, "product": "AZ", "iso3": "PRK", "redirect": "same-rules"}],
        ),
        ("declines", 0, "recipients"),
        ["NGA"],
        "declines[0].recipients",
        "same-rules",
    ),
    ("months", PHASE1, ("rounds", 0, "months"), 3, "rounds[0].months", "phase-2"),
    ("completes", PHASE1, ("rounds", 0, "completes"), ["AZ"], "rounds[0].completes", "top-up"),
    ("top-up-phase", _top_up(), ("rounds", 0, "phase"), 1, "rounds[0].phase", "top-up"),
    (
        "round-target",
        PHASE1,
        ("rounds", 0, "policy"),
        {"target": 0.5},
        "rounds[0].policy.target",
        "not a phase-2",
    ),
]


@pytest.mark.parametrize(
    ("base", "path", "value", "field", "words"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_a_field_no_round_uses_is_refused(
    base: dict[str, Any], path: tuple[str | int, ...], value: Any, field: str, words: str
) -> None:
    scenario_from_document(base)  # valid without the field
    with pytest.raises(DoseflowError) as exc:
        scenario_from_document(_set(base, path, value), source="s.json")
    found = [(d.code, d.location.field) for d in exc.value.details]
    assert found == [("ALLOC_FIELD_UNUSED", field)]
    detail = exc.value.details[0]
    assert words in detail.message
    assert detail.expected
    assert detail.location.source == "s.json"


def test_the_same_fields_are_used_where_a_round_reads_them() -> None:
    # every field of the cases above, in a scenario whose rounds read each of them
    text = """\
name: all-used
products:
  - {code: AZ, pack_doses: 100}
  - {code: PF, pack_doses: 100}
participants:
  - {iso3: PRK, financing: amc, absorption_per_month: 1000, awaiting_second_dose: {AZ: 10},
     share_of_level: 0.9, ceiling: 0.1, requests: {PF: 1000}, requested_coverage: {AZ: 0.1},
     delays: {PF: 2021-03-01}, opt_out: [PF], threat: {deaths_per_million: 3},
     other_sources_doses: 5000}
  - {iso3: NGA, financing: amc}
policy: {target: 0.5, phase2_weight: threat, ladder: [0.1], floors: {AZ: 100}}
rounds:
  - date: 2021-02-03
    tranches: [{product: AZ, doses: 100000}]
  - date: 2021-03-03
    phase: 2
    months: 2
    tranches: [{product: PF, doses: 100000}]
  - date: 2021-04-03
    kind: top-up
    completes: [AZ]
    tranches: [{product: PF, doses: 1000}]
"""
    assert parse_scenario(text).participants[0].share_of_level == 0.9


def test_every_unused_field_is_reported_at_once_with_its_line() -> None:
    text = """\
name: t
products:
  - {code: AZ, pack_doses: 100}
participants:
  - {iso3: PRK, financing: amc}
  - {iso3: NGA, financing: amc,
     absorption_per_month: 1000}
policy:
  target: 0.5
rounds:
  - date: 2021-02-03
    months: 3
    tranches: [{product: AZ, doses: -1}]
"""
    with pytest.raises(DoseflowError) as exc:
        parse_scenario(text, "yaml", "s.yaml")
    found = [(d.code, d.location.field, d.location.line) for d in exc.value.details]
    assert ("ALLOC_FIELD_UNUSED", "participants[1].absorption_per_month", 7) in found
    assert ("ALLOC_FIELD_UNUSED", "policy.target", 9) in found
    assert ("ALLOC_FIELD_UNUSED", "rounds[0].months", 12) in found
    assert ("ALLOC_NEGATIVE_QUANTITY", "rounds[0].tranches[0].doses", 13) in found


def test_compliance_gate_settings_are_kept_for_the_command_line_switch() -> None:
    # `doseflow allocate run --compliance-gate` switches the gate on with the file's settings
    doc = _set(PHASE1, ("policy", "compliance_gate"), {"lookback_periods": 2})
    assert scenario_from_document(doc).policy.compliance_gate.lookback_periods == 2


def test_finding_5_file_is_not_refused_a_phase_one_request_is_used() -> None:
    doc = _set(PHASE1, (*P0, "requests"), {"AZ": 120000})
    assert scenario_from_document(doc).participants[0].demand.requests == {"AZ": 120000}
