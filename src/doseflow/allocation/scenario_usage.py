"""Which scenario fields the rounds of a scenario use, and those no round does.

A field the engine does not use is refused (``ALLOC_FIELD_UNUSED``), never dropped in
silence: an absorption capacity with no demand-driven round, a request for a product no
round supplies, months on a supply-driven round. Only the fields a file states are checked
(defaults are not the analyst's words). The table of which round kind uses which field is
in docs/allocation.md ("Which fields each round uses"); this module is its executable form.

A round's kind decides what it reads:

* phase-1 (supply-driven) regular rounds: ceilings, the ladder, floors, the severe-supply
  rule (and the threat weights while it is on), shares of the level;
* phase-2 (demand-driven) regular rounds: absorption capacity, months, target, the phase-2
  weight (and the threat weights when it is ``threat``);
* top-up rounds: people awaiting a second dose, ``completes``;
* every round: requests (of a product some round supplies), caps, the humanitarian buffer,
  readiness and eligibility fields, other sources (when the policy counts them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from doseflow.allocation.policy import SharingWeight
from doseflow.allocation.scenario import Redirect, RoundKind
from doseflow.domain.product import ProductKind

if TYPE_CHECKING:
    from doseflow.allocation.scenario_file import (
        DeclineDoc,
        ParticipantDoc,
        PolicyDoc,
        ProductDoc,
        RoundDoc,
        TrancheDoc,
    )

Path = list[int | str]


@dataclass(frozen=True)
class Unused:
    """One field no round uses: where, why, and what to do."""

    path: Path
    message: str
    expected: str
    value: Any


@dataclass(frozen=True)
class _Round:
    """What one round is (kind, phase, its policy as merged) and what it supplies."""

    index: int
    kind: RoundKind
    phase: int
    policy: PolicyDoc
    own_policy: Mapping[str, Any]
    supplies: frozenset[str]
    completes: frozenset[str]
    most_affected_decline: bool

    @property
    def phase1(self) -> bool:
        return self.kind is RoundKind.REGULAR and self.phase == 1

    @property
    def phase2(self) -> bool:
        return self.kind is RoundKind.REGULAR and self.phase == 2

    @property
    def top_up(self) -> bool:
        return self.kind is RoundKind.TOP_UP

    def uses_threat(self) -> bool:
        return (
            (self.phase1 and self.policy.severe.enabled)
            or (self.phase2 and self.policy.phase2_weight is SharingWeight.THREAT)
            or self.most_affected_decline
        )


_Uses = Callable[[_Round], bool]

#: Policy fields read by some round kinds only: the test, and the rounds it names.
_POLICY_USE: dict[str, tuple[_Uses, str]] = {
    "ladder": (lambda r: r.phase1, "no phase-1 (supply-driven) round uses it"),
    "floors": (lambda r: r.phase1, "no phase-1 (supply-driven) round uses it"),
    "severe": (lambda r: r.phase1, "no phase-1 (supply-driven) round uses it"),
    "target": (lambda r: r.phase2, "no phase-2 (demand-driven) round uses it"),
    "phase2_weight": (lambda r: r.phase2, "no phase-2 (demand-driven) round uses it"),
    "threat": (
        lambda r: r.uses_threat(),
        "no round shares by threat and vulnerability (phase 1 with the severe-supply rule "
        "on, phase 2 weighted by threat, or a decline to the most affected)",
    ),
    "other_sources_doses_per_course": (
        lambda r: r.policy.count_other_sources,
        "no round's policy counts doses from other sources",
    ),
}
_ADD_ROUND = "remove it, or add a round that uses it"


def _rounds(
    policy: PolicyDoc,
    rounds: Sequence[tuple[int, RoundDoc, list[tuple[int, TrancheDoc]]]],
    declines: Sequence[tuple[int, DeclineDoc]],
    policy_model: type[PolicyDoc],
) -> list[_Round]:
    out: list[_Round] = []
    for i, r, tranches in rounds:
        number = r.number or i + 1
        merged = policy
        own: Mapping[str, Any] = r.policy or {}
        if own:
            try:
                merged = policy_model.model_validate({**policy.model_dump(), **own})
            except ValidationError:  # reported by the builder; judge by the file's policy
                merged = policy
        phase = r.phase or merged.phase
        affected = any(
            d.round == number and d.redirect is Redirect.MOST_AFFECTED for _, d in declines
        )
        out.append(
            _Round(
                i,
                r.kind,
                phase,
                merged,
                own,
                frozenset(t.product for _, t in tranches),
                frozenset(r.completes),
                affected,
            )
        )
    return out


def unused_fields(
    products: Sequence[tuple[int, ProductDoc]],
    participants: Sequence[tuple[int, ParticipantDoc]],
    policy: PolicyDoc | None,
    rounds: Sequence[tuple[int, RoundDoc, list[tuple[int, TrancheDoc]]]],
    declines: Sequence[tuple[int, DeclineDoc]],
    policy_model: type[PolicyDoc],
    unsupplied: frozenset[str],
) -> list[Unused]:
    """Every field the file states that no round of the scenario uses. ``unsupplied``: the
    products the file defines and no tranche of any round holds (a code the file does not
    define is reported as ALLOC_UNKNOWN_PRODUCT, not again here)."""
    if policy is None or not rounds:
        return []  # the policy or every round has problems of its own: judge nothing
    found = _rounds(policy, rounds, declines, policy_model)
    out: list[Unused] = []
    out += _policy_fields(policy, found, unsupplied, products)
    for r in found:
        out += _round_fields(r, rounds, unsupplied, products)
    for i, p in participants:
        out += _participant_fields(i, p, found, unsupplied, bool(declines))
    return out + _decline_fields(declines)


def _product_keys(
    path: Path, keys: Sequence[str], unsupplied: frozenset[str], what: str
) -> list[Unused]:
    return [
        Unused(
            [*path, code],
            f"{what} names product '{code}', which no round supplies",
            "a product of a tranche of some round (remove the entry, or add the supply)",
            code,
        )
        for code in keys
        if code in unsupplied
    ]


def _need_keys(
    path: Path, need: Mapping[str, float], products: Sequence[tuple[int, ProductDoc]]
) -> list[Unused]:
    kinds = {p.code: p.kind for _, p in products}
    return [
        Unused(
            [*path, "need_per_1000", code],
            f"need_per_1000 of '{code}' is not used: it is a vaccine, whose need is its course",
            "need_per_1000 only for products of kind 'supply'",
            value,
        )
        for code, value in need.items()
        if kinds.get(code, ProductKind.SUPPLY) is not ProductKind.SUPPLY
    ]


def _policy_fields(
    policy: PolicyDoc,
    rounds: Sequence[_Round],
    unsupplied: frozenset[str],
    products: Sequence[tuple[int, ProductDoc]],
) -> list[Unused]:
    out: list[Unused] = []
    stated = policy.model_fields_set
    for key, (uses, why) in _POLICY_USE.items():
        # the file's policy reaches the rounds that do not set the field themselves
        if key in stated and not any(uses(r) for r in rounds if key not in r.own_policy):
            out.append(
                Unused(
                    ["policy", key],
                    f"policy {key} is not used: {why}",
                    _ADD_ROUND,
                    getattr(policy, key),
                )
            )
    if "phase" in stated and not any(
        r.kind is RoundKind.REGULAR and "phase" not in r.own_policy and r.phase == policy.phase
        for r in rounds
    ):
        out.append(
            Unused(
                ["policy", "phase"],
                "policy phase is not used: every regular round states its own phase",
                "remove it (or leave a round's phase to the policy)",
                policy.phase,
            )
        )
    for key in ("floors", "caps", "need_per_1000"):
        if key in stated:
            mapping: Mapping[str, Any] = getattr(policy, key)
            out += _product_keys(["policy", key], list(mapping), unsupplied, f"policy {key}")
    if "need_per_1000" in stated:
        out += _need_keys(["policy"], policy.need_per_1000, products)
    # (not compliance_gate: its settings are kept in the file for `--compliance-gate`,
    # which switches the gate on for one run; see scenario_file.with_compliance_gate)
    for key in ("severe",):
        part = getattr(policy, key)
        if key in stated and not part.enabled:
            out += [
                Unused(
                    ["policy", key, name],
                    f"policy {key}.{name} is not used: {key} is not enabled",
                    f"remove it, or set {key}.enabled: true",
                    getattr(part, name),
                )
                for name in sorted(part.model_fields_set - {"enabled"})
            ]
    return out


def _decline_fields(declines: Sequence[tuple[int, DeclineDoc]]) -> list[Unused]:
    """Recipients named on a decline whose doses are not redirected to named recipients."""
    return [
        Unused(
            ["declines", i, "recipients"],
            f"the recipients of the decline are not used: its redirect is {d.redirect.value}",
            "remove the recipients, or set redirect: named",
            list(d.recipients),
        )
        for i, d in declines
        if d.recipients and d.redirect is not None and d.redirect is not Redirect.NAMED
    ]


def _round_fields(
    r: _Round,
    rounds: Sequence[tuple[int, RoundDoc, list[tuple[int, TrancheDoc]]]],
    unsupplied: frozenset[str],
    products: Sequence[tuple[int, ProductDoc]],
) -> list[Unused]:
    doc = next(d for i, d, _ in rounds if i == r.index)
    base: Path = ["rounds", r.index]
    stated = doc.model_fields_set
    out: list[Unused] = []
    if "months" in stated and not r.phase2:
        out.append(
            Unused(
                [*base, "months"],
                "months is not used: only a phase-2 (demand-driven) round reads it "
                "(absorption capacity per month times months)",
                "remove it, or make the round phase 2",
                doc.months,
            )
        )
    if "completes" in stated and doc.completes and not r.top_up:
        out.append(
            Unused(
                [*base, "completes"],
                "completes is not used: only a top-up round completes started courses",
                "remove it, or make the round kind: top-up",
                list(doc.completes),
            )
        )
    if "phase" in stated and r.top_up:
        out.append(
            Unused(
                [*base, "phase"],
                "phase is not used: a top-up round shares by outstanding second doses",
                "remove it from the top-up round",
                doc.phase,
            )
        )
    for key, value in r.own_policy.items():
        rule = _POLICY_USE.get(key)
        if rule is not None and not rule[0](r):
            out.append(
                Unused(
                    [*base, "policy", key],
                    f"policy {key} is not used: {_this_round(key)}",
                    "remove it from this round's policy",
                    value,
                )
            )
        if key in ("floors", "caps", "need_per_1000") and isinstance(value, Mapping):
            keys = [c for c in value if isinstance(c, str)]
            out += _product_keys([*base, "policy", key], keys, unsupplied, f"policy {key}")
    need = r.own_policy.get("need_per_1000")
    if isinstance(need, Mapping):
        out += _need_keys([*base, "policy"], need, products)
    return out


def _this_round(key: str) -> str:
    if key in ("target", "phase2_weight"):
        return "this round is not a phase-2 (demand-driven) round"
    if key == "threat":
        return "this round does not share by threat and vulnerability"
    if key == "other_sources_doses_per_course":
        return "this round's policy does not count doses from other sources"
    return "this round is not a phase-1 (supply-driven) round"


def _participant_fields(
    i: int, p: ParticipantDoc, rounds: Sequence[_Round], unsupplied: frozenset[str], declines: bool
) -> list[Unused]:
    base: Path = ["participants", i]
    stated = p.model_fields_set
    out: list[Unused] = []

    def check(key: str, used: bool, why: str, expected: str = _ADD_ROUND) -> None:
        if key in stated and not used:
            out.append(
                Unused(
                    [*base, key],
                    f"{key} of {p.iso3} is not used: {why}",
                    expected,
                    _plain(getattr(p, key)),
                )
            )

    phase1 = any(r.phase1 for r in rounds)
    check(
        "absorption_per_month",
        any(r.phase2 for r in rounds),
        "no phase-2 (demand-driven) round uses it",
    )
    check("share_of_level", phase1, "no phase-1 (supply-driven) round has a common level")
    check(
        "ceiling",
        phase1 or declines,
        "no phase-1 (supply-driven) round and no decline uses a ceiling",
    )
    check("threat", any(r.uses_threat() for r in rounds), _POLICY_USE["threat"][1])
    check(
        "other_sources_doses",
        any(r.policy.count_other_sources for r in rounds),
        "no round's policy counts doses from other sources (count_other_sources)",
    )
    top_ups = [r for r in rounds if r.top_up]
    check("awaiting_second_dose", bool(top_ups), "no top-up round completes started courses")
    if top_ups and "awaiting_second_dose" in stated:
        for code in p.awaiting_second_dose:
            if not any(_completes(r, rounds, code) for r in top_ups):
                out.append(
                    Unused(
                        [*base, "awaiting_second_dose", code],
                        f"awaiting_second_dose of {p.iso3} names '{code}', which no top-up "
                        "round completes",
                        "a product in a top-up round's completes (or, without completes, "
                        "a product the top-up round's pools hold)",
                        code,
                    )
                )
    for key in ("requests", "requested_coverage", "delays"):
        if key in stated:
            mapping: Mapping[str, Any] = getattr(p, key)
            out += _product_keys([*base, key], list(mapping), unsupplied, f"{key} of {p.iso3}")
    if "opt_out" in stated:
        out += [
            Unused(
                [*base, "opt_out", j],
                f"the opt-out of {p.iso3} names product '{code}', which no round supplies",
                "a product of a tranche of some round",
                code,
            )
            for j, code in enumerate(p.opt_out)
            if code in unsupplied
        ]
    return out


def _completes(r: _Round, rounds: Sequence[_Round], code: str) -> bool:
    """Whether top-up round ``r`` completes courses of ``code``: named in ``completes``, or
    (without it) the product of one of its pools, its own or carried from earlier rounds."""
    if r.completes:
        return code in r.completes
    earlier = [x for x in rounds if x.index <= r.index]
    return any(code in x.supplies for x in earlier)


def _plain(value: Any) -> Any:
    """A value as the file wrote it (a mapping or list, not a pydantic model)."""
    dump = getattr(value, "model_dump", None)
    return dump(mode="json", exclude_defaults=True) if callable(dump) else value
