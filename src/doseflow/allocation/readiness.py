"""Readiness gates decided outside the allocation engine (e.g. reporting compliance).

A participant's own readiness (authorisation, indemnification, deployment plan, import
permit) is part of its record. Other gates are decided elsewhere and handed to a run as
data: an :class:`ExtraGate` names the gate ("reporting compliance") and holds, per ISO3
code, whether the participant passed and why not. The engine applies them in the
eligibility filter like any other condition (``Exclusion.FAILED_GATE``) and shows the
gate's own reasons in explanations, without knowing where they came from: allocation does
not import reporting; the store fetches the reporting compliance gate and passes it in.

Gates are given per round (a participant's compliance is judged as of each round's date):
``run_rounds(scenario, gates={round_number: (gate, ...)})``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

import numpy as np
import numpy.typing as npt

from doseflow.allocation.table import ParticipantTable

#: The name of the gate fed from reporting compliance (``doseflow.store.reporting``).
COMPLIANCE_GATE = "reporting compliance"


class GateVerdict(Protocol):
    """What a gate says about one participant (``doseflow.reporting.GateResult`` fits)."""

    @property
    def passed(self) -> bool: ...

    @property
    def reasons(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class GateOutcome:
    """One participant's result at a gate: passed or not, and the reasons for failing."""

    passed: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExtraGate:
    """A named gate with a verdict per ISO3 code. Participants without a verdict pass
    (a gate only excludes those it has something against)."""

    name: str
    outcomes: Mapping[str, GateOutcome] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_results(
        cls, name: str, results: Mapping[str, GateVerdict | tuple[bool, Sequence[str]]]
    ) -> ExtraGate:
        """A gate from ``iso3 -> (passed, reasons)`` pairs or objects with ``passed`` and
        ``reasons`` (such as reporting's ``GateResult``)."""
        outcomes: dict[str, GateOutcome] = {}
        for iso3, verdict in results.items():
            if isinstance(verdict, tuple):
                passed, reasons = verdict
            else:
                passed, reasons = verdict.passed, verdict.reasons
            outcomes[iso3.upper()] = GateOutcome(bool(passed), tuple(reasons))
        return cls(name, MappingProxyType(outcomes))


#: Extra gates per round number.
RoundGates = Mapping[int, Sequence[ExtraGate]]


@dataclass(frozen=True)
class GateFailures:
    """Who failed any extra gate of a round (by participant index) and why, as text."""

    failed: npt.NDArray[np.bool_]
    notes: Mapping[int, tuple[str, ...]]

    @property
    def any(self) -> bool:
        return bool(self.notes)


def gate_failures(table: ParticipantTable, gates: Iterable[ExtraGate]) -> GateFailures:
    """The participants of ``table`` that fail any of ``gates`` and the reasons, each
    prefixed by the gate's name ("reporting compliance: surveillance: 2 of the last 4
    reports missing ...")."""
    failed = np.zeros(len(table), dtype=bool)
    notes: dict[int, list[str]] = {}
    for gate in gates:
        for iso3, outcome in gate.outcomes.items():
            i = table.position(iso3)
            if i is None or outcome.passed:
                continue
            failed[i] = True
            texts = [f"{gate.name}: {r}" for r in outcome.reasons] or [f"{gate.name}: not passed"]
            notes.setdefault(i, []).extend(texts)
    return GateFailures(failed, MappingProxyType({i: tuple(t) for i, t in notes.items()}))
