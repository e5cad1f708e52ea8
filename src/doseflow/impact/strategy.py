"""Who is vaccinated first: ordered age groups, proportional to population, or weights.

A strategy turns a day's courses into doses per band. Doses go to *eligible* people: alive,
willing, not yet vaccinated, and not currently incubating or infectious (they are deferred);
recovered people are vaccinated too, since nobody knows who had an asymptomatic infection.

* ``ordered``: groups in priority order; every dose goes to the first group with eligible
  people left, spread over its bands in proportion to their eligible people, and *spills over*
  to the next group as the first runs out.
* ``proportional``: every band whose lower bound is at least ``min_age``, in proportion to
  its eligible people.
* ``weights``: per-band weights; each band's eligible people are vaccinated at a rate
  proportional to its weight (a band receives doses in proportion to weight x eligible).

A group cannot absorb more than its eligible people in ``REACH_DAYS`` (one day; with weights,
the band of largest weight sets that pace): that is what makes doses spill to the next group
smoothly, without a discontinuity in the equations.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from doseflow.domain.errors import DoseflowError
from doseflow.impact.bands import AgeBands

FloatArray = npt.NDArray[np.float64]

#: Time constant (days) in which a group's eligible people can all be reached.
REACH_DAYS = 1.0
#: Default youngest age vaccinated by the presets (bands whose lower bound is >= this).
DEFAULT_MIN_AGE = 15


class StrategyKind(StrEnum):
    ORDERED = "ordered"
    PROPORTIONAL = "proportional"
    WEIGHTS = "weights"


#: Named strategies understood by :meth:`Strategy.parse`.
PRESETS = ("older-first", "younger-first", "proportional")


@dataclass(frozen=True)
class Strategy:
    """A prioritisation rule. ``name`` labels results; build with :meth:`parse` or directly."""

    name: str
    kind: StrategyKind
    groups: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()
    min_age: int = DEFAULT_MIN_AGE

    @classmethod
    def parse(cls, text: str) -> Strategy:
        """``older-first``, ``younger-first``, ``proportional``, ``ordered:60+,40-59,...`` or
        ``weights:0,0,1,1,...`` (one weight per band)."""
        text = text.strip()
        kind, _, rest = text.partition(":")
        if text in ("older-first", "younger-first"):
            return cls(text, StrategyKind.ORDERED)
        if text == "proportional":
            return cls(text, StrategyKind.PROPORTIONAL)
        if kind == "ordered" and rest:
            return cls(text, StrategyKind.ORDERED, groups=tuple(g.strip() for g in rest.split(",")))
        if kind == "weights" and rest:
            try:
                weights = tuple(float(w) for w in rest.split(","))
            except ValueError:
                weights = ()
            if weights and all(w >= 0 for w in weights) and any(w > 0 for w in weights):
                return cls(text, StrategyKind.WEIGHTS, weights=weights)
        raise DoseflowError(
            "IMPACT_UNKNOWN_STRATEGY",
            f"unknown vaccination strategy '{text}'",
            field="strategy",
            expected="older-first, younger-first, proportional, ordered:60+,40-59,... or "
            "weights:w1,w2,... (non-negative, not all zero)",
            value=text,
        )

    def allocation(self, bands: AgeBands) -> tuple[list[tuple[int, ...]], FloatArray]:
        """Priority groups (band indices, first served first) and per-band weights."""
        n = len(bands)
        eligible = [i for i, s in enumerate(bands.starts) if s >= self.min_age]
        if self.kind is StrategyKind.PROPORTIONAL:
            return [tuple(eligible)], np.ones(n)
        if self.kind is StrategyKind.WEIGHTS:
            if len(self.weights) != n:
                raise DoseflowError(
                    "IMPACT_SHAPE_MISMATCH",
                    f"strategy '{self.name}' has {len(self.weights)} weights for {n} age bands",
                    field="weights",
                    expected=f"{n} weights, one per band {bands.labels}",
                    value=len(self.weights),
                )
            w = np.asarray(self.weights, dtype=np.float64)
            return [tuple(i for i in range(n) if w[i] > 0)], w
        if self.name == "older-first" and not self.groups:
            return [(i,) for i in reversed(eligible)], np.ones(n)
        if self.name == "younger-first" and not self.groups:
            return [(i,) for i in eligible], np.ones(n)
        groups = [bands.select(g) for g in self.groups]
        seen: set[int] = set()
        for text, g in zip(self.groups, groups, strict=True):
            if seen & set(g):
                raise DoseflowError(
                    "IMPACT_BAD_GROUP",
                    f"age group '{text}' overlaps an earlier group of strategy '{self.name}'",
                    field="groups",
                    expected="groups that do not overlap",
                    value=text,
                )
            seen |= set(g)
        return groups, np.ones(n)
