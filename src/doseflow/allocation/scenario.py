"""A scenario: products, participants, policy, a sequence of rounds and any declines.

These are the inputs of :func:`doseflow.allocation.run_rounds`, built in Python or read from
a YAML/TOML file by :mod:`doseflow.allocation.scenario_file`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from doseflow.allocation.policy import Phase, Policy
from doseflow.domain.participant import Participant
from doseflow.domain.product import Product
from doseflow.domain.supply import Tranche


class RoundKind(StrEnum):
    REGULAR = "regular"
    TOP_UP = "top-up"  # exceptional round completing started courses


class Redirect(StrEnum):
    """Where declined doses go."""

    SAME_RULES = "same-rules"  # every other eligible participant, by the round's rules
    NAMED = "named"  # only the named participants
    MOST_AFFECTED = "most-affected"  # weighted by threat and vulnerability


@dataclass(frozen=True)
class Decline:
    """A participant declines all (``doses`` None) or part of a product in one round.

    ``pool`` narrows the decline to one pool id when a round has several pools of the
    product (e.g. purchased and donated); otherwise pools are declined in delivery order.
    ``source`` says where the decline comes from (a scenario file's entry, or when it was
    recorded), so it is shown with the decline wherever the decline is shown.
    """

    round: int
    product: str
    iso3: str
    doses: int | None = None
    reason: str = ""
    redirect: Redirect = Redirect.SAME_RULES
    recipients: frozenset[str] = frozenset()
    pool: str | None = None
    source: str = ""

    @property
    def redirect_text(self) -> str:
        if self.redirect is Redirect.NAMED:
            return "named recipients (" + ", ".join(sorted(self.recipients)) + ")"
        if self.redirect is Redirect.MOST_AFFECTED:
            return "threat and vulnerability (most severely affected first)"
        return "the round's rules (equal coverage)"


@dataclass(frozen=True)
class RoundSpec:
    """One allocation round: its supply and how it is shared.

    ``months`` is the period the round covers (absorption capacity is per month);
    ``completes`` maps, for a top-up round, the products whose started courses it completes.
    ``policy`` overrides the scenario's policy for this round only.
    """

    number: int
    name: str
    date: date
    tranches: tuple[Tranche, ...]
    kind: RoundKind = RoundKind.REGULAR
    phase: Phase | None = None
    months: float = 1.0
    completes: frozenset[str] = frozenset()
    policy: Policy | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    products: Mapping[str, Product]
    participants: tuple[Participant, ...]
    policy: Policy
    rounds: tuple[RoundSpec, ...]
    declines: tuple[Decline, ...] = ()
    description: str = ""
    source: str | None = None
    document: Mapping[str, object] = field(default_factory=dict)

    def round(self, number: int) -> RoundSpec:
        from doseflow.domain.errors import DoseflowError

        for r in self.rounds:
            if r.number == number:
                return r
        raise DoseflowError(
            "ALLOC_UNKNOWN_ROUND",
            f"scenario '{self.name}' has no round {number}",
            field="round",
            expected="one of " + ", ".join(str(r.number) for r in self.rounds),
            value=number,
        )
