"""Vaccine protection in the model: efficacy against infection and against death, per product.

Two classic ways to read an efficacy ``e`` (Halloran, Longini & Struchiner 1999):

* **leaky**: every vaccinated person's risk of infection per contact is multiplied by
  ``1 - e_inf``;
* **all-or-nothing**: a share ``e_inf`` of vaccinated people is fully protected and the rest
  not at all.

``efficacy_death`` is the overall reduction of the risk of dying (infection and death given
infection together), so an infected vaccinated person's fatality ratio is multiplied by
``(1 - e_death) / (1 - e_inf)``; it must be at least ``efficacy_infection``.

In the model each product has a *responder* stratum and, when all-or-nothing is used, a
*non-responder* stratum; :meth:`VaccineProfile.strata` gives their shares and multipliers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from doseflow.domain.errors import DoseflowError
from doseflow.domain.product import Product


class EfficacyMode(StrEnum):
    LEAKY = "leaky"
    ALL_OR_NOTHING = "all-or-nothing"


@dataclass(frozen=True)
class Stratum:
    """People entering a vaccinated stratum: their share of the vaccinated, and multipliers
    of susceptibility and of the infection fatality ratio."""

    share: float
    susceptibility: float
    fatality: float


@dataclass(frozen=True)
class VaccineProfile:
    """What a product does in the model. ``code`` matches a product code in schedules."""

    code: str
    efficacy_infection: float = 0.6
    efficacy_death: float = 0.9
    mode: EfficacyMode = EfficacyMode.LEAKY
    doses_per_course: int = 2

    def __post_init__(self) -> None:
        for name in ("efficacy_infection", "efficacy_death"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise DoseflowError(
                    "IMPACT_BAD_EFFICACY",
                    f"vaccine {self.code}: {name} must be a share between 0 and 1",
                    field=name,
                    expected="a number in [0, 1]",
                    value=value,
                )
        if self.efficacy_death < self.efficacy_infection:
            raise DoseflowError(
                "IMPACT_BAD_EFFICACY",
                f"vaccine {self.code}: efficacy against death includes protection from "
                "infection, so it cannot be below efficacy against infection",
                field="efficacy_death",
                expected=f"at least efficacy_infection ({self.efficacy_infection})",
                value=self.efficacy_death,
            )
        if self.doses_per_course < 1:
            raise DoseflowError(
                "IMPACT_BAD_PARAMETER",
                f"vaccine {self.code}: doses_per_course must be a positive whole number",
                field="doses_per_course",
                expected="an integer >= 1",
                value=self.doses_per_course,
            )

    @property
    def fatality_given_infection(self) -> float:
        """Multiplier of the IFR for a vaccinated person who is infected anyway."""
        if self.efficacy_infection >= 1.0:
            return 0.0
        return (1.0 - self.efficacy_death) / (1.0 - self.efficacy_infection)

    def strata(self) -> tuple[Stratum, Stratum]:
        """(responders, non-responders) for this product."""
        phi = self.fatality_given_infection
        if self.mode is EfficacyMode.LEAKY:
            return (Stratum(1.0, 1.0 - self.efficacy_infection, phi), Stratum(0.0, 1.0, phi))
        return (
            Stratum(self.efficacy_infection, 0.0, 0.0),
            Stratum(1.0 - self.efficacy_infection, 1.0, phi),
        )

    @classmethod
    def for_product(
        cls,
        product: Product,
        *,
        efficacy_infection: float = 0.6,
        efficacy_death: float = 0.9,
        mode: EfficacyMode = EfficacyMode.LEAKY,
    ) -> VaccineProfile:
        """A profile for a pool product (its code and doses per course)."""
        return cls(product.code, efficacy_infection, efficacy_death, mode, product.doses_per_course)


#: Used when a scenario names no vaccine: a two-dose course, leaky, 60% against infection and
#: 90% against death. These are modelling assumptions for illustration, not product claims.
DEFAULT_VACCINE = VaccineProfile("vaccine")
