"""Who is vaccinated first: ordered age groups, proportional to population, or weights.

A strategy turns a day's courses into doses per band. Doses go to *eligible* people: alive,
willing, not yet vaccinated, and not currently incubating or infectious (they are deferred);
recovered people are vaccinated too, since nobody knows who had an asymptomatic infection.

* ``ordered``: groups in priority order; every dose goes to the first group with eligible
  people left, spread over its bands in proportion to their eligible people, and *spills over*
  to the next group as the first runs out. A group is any set of bands: one range (``60+``),
  several in brackets (``[0-19,60+]``), or ``rest`` (every band no other group names).
* ``proportional``: every band holding people of the adult threshold (``from``, default 15)
  or older, in proportion to its eligible people.
* ``weights``: per-band weights; each band's eligible people are vaccinated at a rate
  proportional to its weight (a band receives doses in proportion to weight x eligible).

The presets (``older-first``, ``younger-first``, ``proportional``) cover the bands that hold
anyone at or above the threshold: a band that straddles it (10-19 with ``from=15``) is
**included**, never dropped; write ``ordered:...`` to leave it out.

Options follow the rule after ``;``: ``from=AGE`` (the presets' threshold) and
``spill=hold|everyone``: what happens to a day's courses when the listed groups have no
eligible people left. ``hold`` (the default) keeps them unused; ``everyone`` spreads them over
the eligible people of every band the rule does not list. Either way results account for
every dose (:mod:`doseflow.impact.doses`).

A group cannot absorb more than its eligible people in ``REACH_DAYS`` (one day; with weights,
the band of largest weight sets that pace): that is what makes doses spill to the next group
smoothly, without a discontinuity in the equations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from doseflow.domain.errors import DoseflowError
from doseflow.impact.bands import AgeBands

FloatArray = npt.NDArray[np.float64]

#: Time constant (days) in which a group's eligible people can all be reached.
REACH_DAYS = 1.0
#: Default adult threshold of the presets: bands holding anyone this old or older.
DEFAULT_MIN_AGE = 15
#: The group of every band no other group of an ``ordered`` strategy names.
REST = "rest"


class StrategyKind(StrEnum):
    ORDERED = "ordered"
    PROPORTIONAL = "proportional"
    WEIGHTS = "weights"


class SpillPolicy(StrEnum):
    """What becomes of courses left when the listed groups are exhausted."""

    HOLD = "hold"
    EVERYONE = "everyone"


#: Named strategies understood by :meth:`Strategy.parse`.
PRESETS = ("older-first", "younger-first", "proportional")
#: How a strategy's text begins (used to split a list of strategies written with commas).
_HEADS = (*PRESETS, "ordered:", "weights:")

SYNTAX = (
    "older-first, younger-first, proportional, ordered:GROUP,GROUP,... (a GROUP is a range "
    "such as 60+ or 20-59, several in brackets [0-19,60+], or rest) or weights:w1,w2,... "
    "(non-negative, not all zero); options after ';': from=AGE, spill=hold|everyone"
)


def _unknown(text: str, why: str = "") -> DoseflowError:
    return DoseflowError(
        "IMPACT_UNKNOWN_STRATEGY",
        f"unknown vaccination strategy '{text}'" + (f": {why}" if why else ""),
        field="strategy",
        expected=SYNTAX,
        value=text,
    )


def _top_level(text: str) -> list[str]:
    """``text`` cut at commas outside brackets (``[0-19,60+],20-59`` is two parts)."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def split_strategies(text: str) -> list[str]:
    """Strategies written one after another with commas (``older-first,ordered:60+,20-59,
    proportional``): a comma starts a new strategy only where a strategy's name follows, so
    ``ordered:`` groups and ``weights:`` values keep their own commas."""
    out: list[str] = []
    for part in _top_level(text):
        if not part:
            continue
        if out and not part.startswith(_HEADS):
            out[-1] = f"{out[-1]},{part}"
        else:
            out.append(part)
    return out


_GROUP = re.compile(r"^\[([^\[\]]*)\]$")


@dataclass(frozen=True)
class Strategy:
    """A prioritisation rule. ``name`` labels results; build with :meth:`parse`."""

    name: str
    kind: StrategyKind
    groups: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()
    min_age: int = DEFAULT_MIN_AGE
    spill: SpillPolicy = SpillPolicy.HOLD

    @classmethod
    def parse(cls, text: str) -> Strategy:
        """A strategy from its text (see the module docstring and ``docs/impact.md``)."""
        text = text.strip()
        rule, *options = (p.strip() for p in text.split(";"))
        min_age, spill = DEFAULT_MIN_AGE, SpillPolicy.HOLD
        for option in options:
            key, sep, value = (s.strip() for s in option.partition("="))
            if key == "from" and sep and value.isdigit():
                min_age = int(value)
            elif key == "spill" and value in tuple(SpillPolicy):
                spill = SpillPolicy(value)
            else:
                raise _unknown(text, f"option '{option}' is not from=AGE or spill=hold|everyone")
        kind, _, rest = rule.partition(":")
        if rule not in PRESETS and any(o.split("=")[0].strip() == "from" for o in options):
            raise _unknown(text, "from=AGE applies to the presets only: " + ", ".join(PRESETS))
        if rule in ("older-first", "younger-first"):
            return cls(text, StrategyKind.ORDERED, min_age=min_age, spill=spill)
        if rule == "proportional":
            return cls(text, StrategyKind.PROPORTIONAL, min_age=min_age, spill=spill)
        if kind == "ordered" and rest.strip():
            groups = tuple(_top_level(rest))
            for g in groups:
                inner = _GROUP.match(g)
                ranges = [r.strip() for r in inner.group(1).split(",")] if inner else [g]
                if not g or not all(ranges) or (g != REST and any("[" in r for r in ranges)):
                    raise _unknown(text, f"cannot read group '{g}'")
            if groups.count(REST) > 1:
                raise _unknown(text, "'rest' may appear once")
            return cls(text, StrategyKind.ORDERED, groups=groups, min_age=min_age, spill=spill)
        if kind == "weights" and rest:
            try:
                weights = tuple(float(w) for w in rest.split(","))
            except ValueError:
                weights = ()
            if weights and all(w >= 0 for w in weights) and any(w > 0 for w in weights):
                return cls(text, StrategyKind.WEIGHTS, weights=weights, spill=spill)
        raise _unknown(text)

    def adult_bands(self, bands: AgeBands) -> list[int]:
        """Bands holding anyone aged ``min_age`` or more (a band straddling it included)."""
        return [i for i, end in enumerate(bands.ends) if end is None or end > self.min_age]

    def _listed(self, bands: AgeBands) -> tuple[list[tuple[int, ...]], FloatArray]:
        n = len(bands)
        adults = self.adult_bands(bands)
        if self.kind is StrategyKind.PROPORTIONAL:
            return [tuple(adults)], np.ones(n)
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
        if not self.groups:
            older = self.name.startswith("older-first")
            return [(i,) for i in (reversed(adults) if older else adults)], np.ones(n)
        groups: list[tuple[int, ...]] = []
        seen: set[int] = set()
        for text in self.groups:
            if text == REST:
                groups.append(())
                continue
            inner = _GROUP.match(text)
            ranges = [r.strip() for r in inner.group(1).split(",")] if inner else [text]
            members = sorted({i for r in ranges for i in bands.select(r)})
            if seen & set(members) or len(members) < sum(len(bands.select(r)) for r in ranges):
                raise DoseflowError(
                    "IMPACT_BAD_GROUP",
                    f"age group '{text}' overlaps an earlier group of strategy '{self.name}'",
                    field="groups",
                    expected="groups that do not overlap",
                    value=text,
                )
            seen |= set(members)
            groups.append(tuple(members))
        if REST in self.groups:
            rest = tuple(i for i in range(n) if i not in seen)
            if not rest:
                raise DoseflowError(
                    "IMPACT_BAD_GROUP",
                    f"'rest' of strategy '{self.name}' holds no band: the other groups cover "
                    f"every band {bands.labels}",
                    field="groups",
                    expected="'rest' only when some band is in no other group",
                    value=self.name,
                )
            groups[self.groups.index(REST)] = rest
        return groups, np.ones(n)

    def spill_bands(self, bands: AgeBands) -> tuple[int, ...]:
        """Bands that receive spilled courses (none when the policy is ``hold``)."""
        if self.spill is SpillPolicy.HOLD:
            return ()
        groups, _ = self._listed(bands)
        listed = {i for g in groups for i in g}
        return tuple(i for i in range(len(bands)) if i not in listed)

    def allocation(self, bands: AgeBands) -> tuple[list[tuple[int, ...]], FloatArray]:
        """Priority groups (band indices, first served first) and per-band weights; with
        ``spill=everyone``, the bands no group lists form a last group (weight 1 each)."""
        groups, w = self._listed(bands)
        spill = self.spill_bands(bands)
        if spill:
            w = w.copy()
            w[list(spill)] = 1.0
            groups = [*groups, spill]
        return groups, w
