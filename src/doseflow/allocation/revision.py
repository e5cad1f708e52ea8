"""Revising a round's supply: the same scenario with one round's tranches changed.

A supply forecast moves (a manufacturer delivers 12 M doses fewer, a donor adds a tranche),
so a round is re-run with its revised supply as a new *revision*. Only the round's
tranches change: the scenario's participants, policy (floors, caps, ceilings, buffer) and
declines are kept. Rounds before it are unchanged (a run is deterministic and they do not
see its supply); the round itself and every round after it are re-run, because coverage and
undistributed doses carry from round to round.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from types import MappingProxyType
from typing import Any

from doseflow.allocation.readiness import RoundGates
from doseflow.allocation.results import AllocationRun
from doseflow.allocation.scenario import Decline, Scenario
from doseflow.allocation.scenario_file import TrancheDoc, tranche_from_doc
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.domain.supply import Tranche


@dataclass(frozen=True)
class SupplyChange:
    """What a revision changes in one round's supply: new doses of existing tranches (by
    id), tranches added, and tranches removed (by id)."""

    doses: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    added: tuple[Tranche, ...] = ()
    removed: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not self.doses and not self.added and not self.removed


@dataclass(frozen=True)
class TrancheChange:
    """One tranche's doses before and after a revision (``None``: not in the round)."""

    tranche: str
    product: str
    before: int | None
    after: int | None

    @property
    def change(self) -> int:
        return (self.after or 0) - (self.before or 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tranche": self.tranche,
            "product": self.product,
            "before": self.before,
            "after": self.after,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrancheChange:
        return cls(str(data["tranche"]), str(data["product"]), data["before"], data["after"])

    def text(self) -> str:
        if self.before is None:
            return f"{self.tranche} ({self.product}) added: {self.after or 0:,} doses"
        if self.after is None:
            return f"{self.tranche} ({self.product}) removed: was {self.before:,} doses"
        return f"{self.tranche} ({self.product}): {self.before:,} -> {self.after:,} doses"


def _problem(code: str, message: str, fld: str, expected: str, value: Any) -> ErrorDetail:
    return ErrorDetail(code, message, ErrorLocation(field=fld), expected=expected, value=value)


def _check(scenario: Scenario, number: int, change: SupplyChange) -> None:
    """Every problem of ``change`` at once, each naming its field."""
    spec = scenario.round(number)  # ALLOC_UNKNOWN_ROUND
    own = {t.id for t in spec.tranches}
    known = ", ".join(sorted(own)) or "(the round has no tranches)"
    problems: list[ErrorDetail] = []
    if change.empty:
        problems.append(
            _problem(
                "ALLOC_EMPTY_REVISION",
                f"a revision of round {number} must change its supply",
                "supply",
                "at least one --supply, --add-tranche or --remove-tranche",
                None,
            )
        )
    for tid in sorted(change.doses):
        if tid not in own:
            problems.append(
                _problem(
                    "ALLOC_UNKNOWN_TRANCHE",
                    f"round {number} has no tranche '{tid}'",
                    f"supply.{tid}",
                    f"the id of one of the round's tranches: {known}",
                    tid,
                )
            )
    for tid in sorted(change.removed):
        if tid not in own:
            problems.append(
                _problem(
                    "ALLOC_UNKNOWN_TRANCHE",
                    f"round {number} has no tranche '{tid}' to remove",
                    "remove",
                    f"the id of one of the round's tranches: {known}",
                    tid,
                )
            )
        elif tid in change.doses:
            problems.append(
                _problem(
                    "ALLOC_INVALID_FIELD",
                    f"tranche '{tid}' is both given new doses and removed",
                    "remove",
                    "a tranche either revised or removed",
                    tid,
                )
            )
    used = {t.id for r in scenario.rounds for t in r.tranches}
    members = {p.iso3 for p in scenario.participants}
    for k, t in enumerate(change.added):
        if t.id in used:
            problems.append(
                _problem(
                    "ALLOC_DUPLICATE",
                    f"tranche id '{t.id}' is already used in the scenario",
                    f"add[{k}].id",
                    "a tranche id not used by any round",
                    t.id,
                )
            )
        used.add(t.id)
        if t.product not in scenario.products:
            problems.append(
                _problem(
                    "ALLOC_UNKNOWN_PRODUCT",
                    f"added tranche '{t.id}' names a product the scenario does not define",
                    f"add[{k}].product",
                    "one of " + ", ".join(sorted(scenario.products)),
                    t.product,
                )
            )
        for code in sorted((t.earmarked or frozenset()) - members):
            problems.append(
                _problem(
                    "ALLOC_UNKNOWN_PARTICIPANT",
                    f"added tranche '{t.id}' is earmarked for a code that is not a participant",
                    f"add[{k}].earmarked",
                    "the ISO3 codes of participants",
                    code,
                )
            )
        for code in sorted((t.members.iso3 if t.members else frozenset()) - members):
            problems.append(
                _problem(
                    "ALLOC_UNKNOWN_PARTICIPANT",
                    f"added tranche '{t.id}' names a member that is not a participant",
                    f"add[{k}].members.iso3",
                    "the ISO3 codes of participants",
                    code,
                )
            )
    if problems:
        raise DoseflowError.from_details(problems)


def revise_round(scenario: Scenario, number: int, change: SupplyChange) -> Scenario:
    """``scenario`` with round ``number``'s supply changed (validated first: every problem
    is reported at once, each with its field). Tranches keep their order; added ones come
    last."""
    _check(scenario, number, change)
    spec = scenario.round(number)
    tranches = [
        replace(t, doses=change.doses.get(t.id, t.doses))
        for t in spec.tranches
        if t.id not in change.removed
    ]
    tranches.extend(change.added)
    rounds = tuple(
        replace(r, tranches=tuple(tranches)) if r.number == number else r for r in scenario.rounds
    )
    return replace(scenario, rounds=rounds)


def with_round_supply(scenario: Scenario, supply: Mapping[int, Sequence[Tranche]]) -> Scenario:
    """``scenario`` with the tranches of the rounds in ``supply`` replaced (the supply of
    record of revised rounds, as kept by the store)."""
    if not supply:
        return scenario
    rounds = tuple(
        replace(r, tranches=tuple(supply[r.number])) if r.number in supply else r
        for r in scenario.rounds
    )
    return replace(scenario, rounds=rounds)


def supply_changes(before: Scenario, after: Scenario, number: int) -> tuple[TrancheChange, ...]:
    """What changed in round ``number``'s tranches between two versions of a scenario,
    ordered by tranche id."""
    old = {t.id: t for t in before.round(number).tranches}
    new = {t.id: t for t in after.round(number).tranches}
    out = []
    for tid in sorted(old.keys() | new.keys()):
        a, b = old.get(tid), new.get(tid)
        if a is not None and b is not None and a.doses == b.doses:
            continue
        product = (b or a).product  # type: ignore[union-attr]
        out.append(
            TrancheChange(
                tid, product, None if a is None else a.doses, None if b is None else b.doses
            )
        )
    return tuple(out)


def revise(
    scenario: Scenario,
    number: int,
    change: SupplyChange,
    declines: Sequence[Decline] | None = None,
    *,
    gates: RoundGates | None = None,
) -> AllocationRun:
    """The run of ``scenario`` with round ``number``'s supply revised: its floors, caps and
    declines kept, round ``number`` and every later round re-run."""
    from doseflow.allocation.engine import run_rounds

    return run_rounds(revise_round(scenario, number, change), declines, gates=gates)


def tranche_to_dict(t: Tranche) -> dict[str, Any]:
    """A tranche as JSON (how the store keeps a revised round's supply)."""
    return {
        "id": t.id,
        "product": t.product,
        "doses": t.doses,
        "available": t.available.isoformat(),
        "origin": t.origin.value,
        "donor": t.donor,
        "earmarked": None if t.earmarked is None else sorted(t.earmarked),
        "expiry": None if t.expiry is None else t.expiry.isoformat(),
        "members": None
        if t.members is None
        else {
            "financing": sorted(f.value for f in t.members.financing),
            "iso3": sorted(t.members.iso3),
        },
    }


def tranche_from_dict(data: Mapping[str, Any]) -> Tranche:
    """A tranche from the store's JSON (:func:`tranche_to_dict`), read by the scenario
    files' own model and translation, so the two never disagree on a field."""
    doc = TrancheDoc.model_validate(dict(data))
    return tranche_from_doc(doc, str(data["id"]), date.fromisoformat(str(data["available"])))
