"""Why a participant received what it did from one pool: structured, and as plain text.

An :class:`Explanation` is built on demand from a pool's result arrays (so a run of many
rounds stays fast) and serialises to JSON for the store and the REST service.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import IntEnum, StrEnum
from typing import Any


class Mode(StrEnum):
    """How a pool was shared."""

    EQUAL_COVERAGE = "equal-coverage"
    FLOOR_SHORTFALL = "floor-shortfall"
    THREAT_WEIGHTED = "threat-weighted"
    DEMAND_DRIVEN = "demand-driven"
    TOP_UP = "second-dose-top-up"
    REDISTRIBUTION = "redistribution"


class Binding(IntEnum):
    """What limited a participant's quantity."""

    NOT_ELIGIBLE = 0
    LEVEL = 1
    CEILING = 2
    CAP = 3
    FLOOR = 4
    ABOVE_LEVEL = 5
    DEMAND_MET = 6
    WEIGHTED_SHARE = 7
    MINIMUM = 8
    PRIORITY_EXHAUSTED = 9
    DECLINED = 10
    REQUEST = 11
    FLOOR_ABOVE_CEILING = 12
    FLOOR_CLIPPED = 13
    ABSORPTION = 14
    TARGET = 15

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


BINDING_TEXT: dict[Binding, str] = {
    Binding.NOT_ELIGIBLE: "not eligible for this pool",
    Binding.LEVEL: "raised to the common coverage level of the pool",
    Binding.CEILING: "reached its coverage ceiling",
    Binding.CAP: "limited by the policy's cap per participant",
    Binding.FLOOR: "raised to the policy's floor (minimum quantity)",
    Binding.ABOVE_LEVEL: "already above the coverage level this pool reached",
    Binding.DEMAND_MET: "its outstanding need (people awaiting a further dose) was met in full",
    Binding.WEIGHTED_SHARE: "received its weighted share of a pool too small for every need",
    Binding.MINIMUM: "received the minimum every participant gets in a constrained round",
    Binding.PRIORITY_EXHAUSTED: (
        "the pool ran out before its turn in threat-and-vulnerability order (equal "
        "scores by ISO3 code)"
    ),
    Binding.DECLINED: "declined what the pool's rules gave it",
    Binding.REQUEST: "limited by its request (the most it asked for of this product in the round)",
    Binding.FLOOR_ABOVE_CEILING: "received its floor, above its coverage ceiling",
    Binding.FLOOR_CLIPPED: "its floor was clipped by its coverage ceiling",
    Binding.ABSORPTION: (
        "limited by its absorption capacity (the doses a month it can administer times the "
        "round's months, less what the round's earlier pools gave it)"
    ),
    Binding.TARGET: "reached the phase-2 coverage target",
}

#: How each ceiling rounding reads ("ceiling 4,716.8 doses rounded to the nearest pack").
ROUNDING_WORDS: dict[str, str] = {
    "down": "rounded down to whole packs",
    "nearest": "rounded to the nearest pack",
    "up": "rounded up to whole packs",
}


@dataclass(frozen=True)
class CeilingFacts:
    """The numbers behind a participant's ceiling and floor in one pool."""

    room: float  # doses left under its coverage ceiling (nominal)
    packs: int  # that room in whole packs, by the policy's rounding
    pack: int
    rounding: str  # down, nearest or up
    floor: int  # the floor asked for it (doses, whole packs); 0: none
    floors_prevail: bool

    def ceiling_text(self) -> str:
        return (
            f"ceiling {self.room:,.1f} doses {ROUNDING_WORDS[self.rounding]}: "
            f"{self.packs * self.pack:,}"
        )


def binding_text(binding: Binding, mode: str, facts: CeilingFacts | None) -> str:
    """Why a participant got what it did, in words, with the numbers of its ceiling and
    floor where they are what limited it."""
    if facts is None:
        return BINDING_TEXT[binding]
    floor = facts.floor
    minimum = (
        "minimum shipment (the larger of the policy's floor and the severe-supply minimum)"
        if mode == Mode.THREAT_WEIGHTED
        else "floor"
    )
    if binding is Binding.CEILING and facts.packs == 0 and facts.room > 0:
        # it has not reached its ceiling: what is left of it is less than the rounding's pack
        return f"the room under its coverage ceiling rounds to no pack ({facts.ceiling_text()})"
    if binding is Binding.FLOOR_ABOVE_CEILING:
        return (
            f"received its {minimum} of {floor:,} doses, above its coverage ceiling "
            f"({facts.ceiling_text()}): a floor prevails over the ceiling of a participant "
            "whose whole ceiling holds less than the floor (a floor is at most a full course "
            "for every person, in whole packs, and at least one pack)"
        )
    if binding is Binding.FLOOR_CLIPPED:
        given = facts.packs * facts.pack
        result = "nothing from this pool" if given == 0 else f"{given:,} doses"
        why = (
            "the policy clips floors to ceilings"
            if not facts.floors_prevail
            else "a floor prevails only over the ceiling of a participant whose whole ceiling "
            "holds less than the floor"
        )
        return (
            f"its {minimum} of {floor:,} doses was clipped by its coverage ceiling "
            f"({facts.ceiling_text()}), so it received {result} ({why})"
        )
    if binding is Binding.FLOOR and floor:
        if mode == Mode.FLOOR_SHORTFALL:
            return (
                "the pool could not cover every floor, so it was shared equally up to each "
                f"participant's floor (its floor: {floor:,} doses)"
            )
        return f"raised to the policy's floor of {floor:,} doses"
    if binding is Binding.MINIMUM and floor:
        return f"{BINDING_TEXT[binding]} ({floor:,} doses)"
    return BINDING_TEXT[binding]


@dataclass(frozen=True)
class DeclineNote:
    """Doses declined by ``from_iso3`` and what happened to them (for ``to_iso3``).

    On the decliner's own note (``to_iso3`` None), ``given`` lists every recipient and its
    doses and ``held`` what nobody could take (carried to the next round); ``source`` says
    where the decline comes from (a scenario file's entry, or when it was recorded)."""

    from_iso3: str
    to_iso3: str | None
    doses: int
    reason: str
    redirect: str  # "same rules", "named recipients" or "most severely affected"
    source: str = ""
    given: tuple[tuple[str, int], ...] = ()
    held: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeclineNote:
        values = dict(data)
        values["given"] = tuple((str(c), int(q)) for c, q in values.get("given") or ())
        return cls(**values)

    def where_text(self) -> str:
        """Where the declined doses went, in words."""
        parts = [f"{c} {q:,}" for c, q in self.given]
        text = "to " + ", ".join(parts) if parts else "to nobody"
        if self.held:
            text += f"; {self.held:,} held for the next round"
        return text


@dataclass(frozen=True)
class Explanation:
    """Everything behind one participant's quantity from one pool in one round."""

    round: int
    round_name: str
    pool: str
    product: str
    iso3: str
    name: str
    eligible: bool
    exclusions: tuple[str, ...]
    exclusion_text: tuple[str, ...]
    mode: str
    level: float | None
    coverage_before: float
    coverage_after: float
    ceiling: float | None
    rung_reached: int
    ladder: tuple[float, ...]
    binding: str
    binding_text: str
    unrounded_doses: float
    rule_doses: int
    doses: int
    packs: int
    pack_doses: int
    rounding: str
    threat_score: float | None
    weight: float | None
    delivery_rank: int | None
    declined: tuple[DeclineNote, ...] = ()
    received: tuple[DeclineNote, ...] = ()
    #: The pools of the date this pool was shared jointly with (itself included), or empty
    #: when it was shared alone; ``level`` is then the participant's own level across them.
    shared_with: tuple[str, ...] = ()
    #: The share of the common level the participant's coverage is held at (None: 100%).
    share_of_level: float | None = None
    #: Doses left under its coverage ceiling when the pool was shared, that room in whole
    #: packs by the policy's ``ceiling_rounding`` (down, nearest, up), and the floor the rules
    #: asked for it (doses, whole packs; 0: none). None/"" where no ceiling applies.
    ceiling_doses: float | None = None
    ceiling_packs: int | None = None
    ceiling_rounding: str = ""
    floor_doses: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("level", "ceiling", "threat_score", "weight"):
            value = data[key]
            if isinstance(value, float) and not math.isfinite(value):
                data[key] = None if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Explanation:
        values = dict(data)
        for key in ("level",):
            if values.get(key) in ("inf", "-inf"):
                values[key] = float(values[key])
        for key in ("exclusions", "exclusion_text", "ladder", "shared_with"):
            values[key] = tuple(values.get(key) or ())
        values["declined"] = tuple(DeclineNote.from_dict(d) for d in values.get("declined") or ())
        values["received"] = tuple(DeclineNote.from_dict(d) for d in values.get("received") or ())
        return cls(**values)

    def render(self) -> str:
        """A few plain sentences a national programme manager can read."""
        lines = [
            f"Round {self.round} ({self.round_name}), pool {self.pool}: "
            f"{self.iso3} {self.name} received {self.doses:,} doses "
            f"({self.packs:,} packs of {self.pack_doses:,})."
        ]
        if self.rule_doses != self.doses:
            lines.append(
                f"The pool's rules gave {self.rule_doses:,} doses; declines changed that (below)."
            )
        if not self.eligible:
            lines.append("Not eligible: " + "; ".join(self.exclusion_text) + ".")
        else:
            lines.append(f"Shared by {self.mode}; {self.binding_text}.")
            if self.level is not None and math.isfinite(self.level):
                if self.shared_with:
                    pools = ", ".join(self.shared_with)
                    lines.append(
                        f"Its coverage level across the pools shared jointly ({pools}): "
                        f"{self.level:.2%}."
                    )
                else:
                    lines.append(f"Common coverage level of the pool: {self.level:.2%}.")
                if self.share_of_level is not None:
                    lines.append(
                        f"Its coverage is held at {self.share_of_level:.0%} of the common "
                        f"level {self.level:.2%}: {self.share_of_level * self.level:.2%}."
                    )
            cov = f"Coverage {self.coverage_before:.2%} -> {self.coverage_after:.2%}"
            if self.ceiling is not None:
                cov += f" (ceiling {self.ceiling:.2%}"
                if self.ladder:
                    rungs = ", ".join(f"{r:.0%}" for r in self.ladder)
                    cov += f"; ladder {rungs}: {self.rung_reached} rung(s) reached"
                cov += ")"
            lines.append(cov + ".")
            if self.ceiling_doses is not None and self.ceiling_packs is not None:
                lines.append(self._ceiling_sentence())
            if self.rounding == "cut":
                lines.append(
                    f"Continuous share {self.unrounded_doses:,.0f} doses, more whole packs "
                    f"than it could take: cut to {self.rule_doses:,} (the room under its "
                    "ceiling left by the pools before this one, or its cap)."
                )
            elif self.rounding != "none":
                lines.append(
                    f"Continuous share {self.unrounded_doses:,.0f} doses, rounded "
                    f"{self.rounding} to whole packs (largest remainder; equal remainders "
                    "by ISO3 code)."
                )
            if self.threat_score is not None:
                rank = f", delivery rank {self.delivery_rank}" if self.delivery_rank else ""
                lines.append(f"Threat-and-vulnerability score {self.threat_score:.3f}{rank}.")
        for note in self.declined:
            reason = f" ({note.reason})" if note.reason else ""
            source = f" [{note.source}]" if note.source else ""
            lines.append(
                f"Declined {note.doses:,} doses{reason}{source}; redistributed by "
                f"{note.redirect}: {note.where_text()}."
            )
        for note in self.received:
            reason = f" ({note.reason})" if note.reason else ""
            source = f" [{note.source}]" if note.source else ""
            lines.append(
                f"Received {note.doses:,} doses declined by {note.from_iso3}{reason}{source}."
            )
        return "\n".join(lines)

    def _ceiling_sentence(self) -> str:
        assert self.ceiling_doses is not None
        assert self.ceiling_packs is not None
        rounded = self.ceiling_packs * self.pack_doses
        text = (
            f"Room under its coverage ceiling: ceiling {self.ceiling_doses:,.1f} doses "
            f"{ROUNDING_WORDS.get(self.ceiling_rounding, 'in whole packs')}: {rounded:,}"
        )
        over = rounded - self.ceiling_doses
        if self.rule_doses >= rounded > 0 and over > 0.05:
            text += (
                f"; reaching it puts {self.iso3} above its nominal ceiling by {over:,.1f} "
                "doses (less than one pack)"
            )
        return text + "."
