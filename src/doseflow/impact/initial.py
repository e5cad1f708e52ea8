"""Who is where at day 0: exposed, infectious, recovered (prior immunity) and vaccinated people
per age band, as shares of each band or as counts.

Published set-ups seed exposed *and* infectious people (0.25% of each age group in each, say)
and start with a share already immune (serostatus by age). Seeding only infectious people
shifted the share of deaths averted by up to a point against such a set-up, so a scenario may
say exactly where everyone starts. Everyone not named starts susceptible; ``susceptible``
may be given too, and must then be that remainder (a check on the arithmetic of the source).

A value is one number (the same for every band) or one per band. Shares of a band must sum
to at most 1; counts to at most the band's population. Refusal applies to everyone not
vaccinated (the vaccinated plainly accepted); the vaccinated start susceptible in the strata
of ``vaccinated_product`` (the scenario's first vaccine by default), split between responders
and non-responders as a course given during the run would be. People vaccinated before day 0
are not counted as courses given by the rollout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from doseflow.domain.errors import DoseflowError

FloatArray = npt.NDArray[np.float64]

Values = float | tuple[float, ...]

#: The compartments given, in the order of :meth:`InitialConditions.counts_for`.
COMPARTMENTS = ("exposed", "infectious", "recovered", "vaccinated")


def _bad(field: str, message: str, expected: str, value: object) -> DoseflowError:
    return DoseflowError("IMPACT_BAD_INITIAL", message, field=field, expected=expected, value=value)


@dataclass(frozen=True)
class InitialConditions:
    """Day-0 state by band. ``as_counts=False``: shares of each band's population."""

    exposed: Values = 0.0
    infectious: Values = 0.0
    recovered: Values = 0.0
    vaccinated: Values = 0.0
    susceptible: Values | None = None
    as_counts: bool = False
    vaccinated_product: str | None = None

    def __post_init__(self) -> None:
        # values as tuples of floats: the conditions stay hashable (sweep grids are cached
        # by value) whatever sequence or array they were given as
        for name in (*COMPARTMENTS, "susceptible"):
            raw = getattr(self, name)
            if raw is not None and np.ndim(raw) > 0:
                object.__setattr__(self, name, tuple(float(v) for v in np.ravel(raw)))
            elif raw is not None:
                object.__setattr__(self, name, float(raw))

    @classmethod
    def seeded(cls, share: float) -> InitialConditions:
        """``share`` of every band infectious: what ``initial_infected`` means."""
        return cls(infectious=share)

    def counts_for(self, population: FloatArray, labels: Sequence[str]) -> FloatArray:
        """(4, A) people exposed, infectious, recovered and vaccinated at day 0 in each band;
        located errors (``initial.exposed[2]``, the band named) when the values do not fit."""
        n = len(labels)
        unit = "people" if self.as_counts else "shares of the band"
        rows = []
        for name in (*COMPARTMENTS, "susceptible"):
            raw = getattr(self, name)
            if raw is None:
                continue
            values = np.asarray(raw, dtype=np.float64)
            if values.ndim == 0:
                values = np.full(n, float(values))
            if values.shape != (n,):
                raise DoseflowError(
                    "IMPACT_SHAPE_MISMATCH",
                    f"initial {name} has {values.size} values for {n} age bands",
                    field=f"initial.{name}",
                    expected=f"one number, or {n} numbers, one per band {', '.join(labels)}",
                    value=values.size,
                )
            upper = population if self.as_counts else np.ones(n)
            for a in range(n):
                v = values[a]
                if not (np.isfinite(v) and 0.0 <= v <= upper[a]):
                    raise _bad(
                        f"initial.{name}[{a}]",
                        f"initial {name} of band {labels[a]} is out of range",
                        f"{unit} between 0 and {upper[a]:g}",
                        float(v),
                    )
            rows.append(values if self.as_counts else values * population)
        people = np.stack(rows[:4])
        named = people.sum(axis=0)
        tolerance = 1e-9 * np.maximum(population, 1.0)
        for a in range(n):
            if named[a] > population[a] + tolerance[a]:
                given = named[a] if self.as_counts else named[a] / population[a]
                raise _bad(
                    f"initial[{a}]",
                    f"band {labels[a]}: exposed, infectious, recovered and vaccinated add up to "
                    "more than the band",
                    f"{unit} summing to at most {population[a] if self.as_counts else 1:g}",
                    float(given),
                )
        if self.susceptible is not None:
            remainder = population - named
            for a in range(n):
                if abs(rows[4][a] - remainder[a]) > max(tolerance[a], 0.5 if self.as_counts else 0):
                    raise _bad(
                        f"initial.susceptible[{a}]",
                        f"band {labels[a]}: susceptible is not the rest of the band",
                        f"{remainder[a] if self.as_counts else remainder[a] / population[a]:g} "
                        "(the band less exposed, infectious, recovered and vaccinated)",
                        float(rows[4][a] if self.as_counts else self.share(rows[4], population, a)),
                    )
        return np.minimum(people, population)

    @staticmethod
    def share(people: FloatArray, population: FloatArray, a: int) -> float:
        return float(people[a] / population[a]) if population[a] > 0 else 0.0
