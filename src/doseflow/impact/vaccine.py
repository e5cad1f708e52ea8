"""Vaccine protection in the model: efficacy per product (and per age band) against infection,
symptomatic disease, death and onward transmission, leaky or all-or-nothing, with waning.

Two classic ways to read an efficacy against infection ``e`` (Halloran, Longini & Struchiner
1999):

* **leaky**: every vaccinated person's risk of infection per contact is multiplied by
  ``1 - e_inf``;
* **all-or-nothing**: a share ``e_inf`` of vaccinated people is fully protected and the rest
  not at all.

``efficacy_symptomatic`` and ``efficacy_death`` are *overall* reductions (infection and the
outcome given infection together), as trials and observational studies report them, so an
infected vaccinated person's probability of symptoms and fatality ratio are multiplied by
``(1 - e_sym) / (1 - e_inf)`` and ``(1 - e_death) / (1 - e_inf)``; both must therefore be at
least ``efficacy_infection``. ``efficacy_transmission`` multiplies the infectiousness of a
vaccinated person who is infected anyway by ``1 - e_trans``.

Every efficacy is a number or one number per age band of the scenario (checked against the
scenario's bands by :func:`check_bands`).

In the model each product has a *responder* stratum and, when all-or-nothing is used, a
*non-responder* stratum; :meth:`VaccineProfile.strata` gives their shares and multipliers.
With waning (``protection_days``), vaccinated people of a product move at rate
``1 / protection_days`` to the product's *waned* stratum (:meth:`VaccineProfile.waned`),
which keeps ``residual_protection`` of every efficacy (leaky).

Who may be vaccinated (:class:`Eligibility`) is stated per scenario; see docs/impact.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from doseflow.domain.errors import DoseflowError
from doseflow.domain.product import Product

FloatArray = npt.NDArray[np.float64]

#: An efficacy: one share for every age band, or one per band (in the scenario's band order).
Efficacy = float | tuple[float, ...]

EFFICACIES = (
    "efficacy_infection",
    "efficacy_symptomatic",
    "efficacy_death",
    "efficacy_transmission",
)


class EfficacyMode(StrEnum):
    LEAKY = "leaky"
    ALL_OR_NOTHING = "all-or-nothing"


class Eligibility(StrEnum):
    """Who a vaccination programme reaches among the willing, unvaccinated living.

    Nobody knows who is incubating an infection any more than who had an asymptomatic one, so
    by default susceptible, exposed (incubating) and recovered people are vaccinated alike;
    doses given to exposed or recovered people are used and change nobody's course of
    infection. Infectious people are not vaccinated in either case: most are symptomatic or
    isolating and vaccination is deferred. ``susceptible-recovered`` is the former
    behaviour (exposed people deferred too, which favours vaccination slightly)."""

    SUSCEPTIBLE_EXPOSED_RECOVERED = "susceptible-exposed-recovered"
    SUSCEPTIBLE_RECOVERED = "susceptible-recovered"


@dataclass(frozen=True)
class Stratum:
    """People entering a vaccinated stratum: their share of the vaccinated, and multipliers of
    susceptibility, of the infection fatality ratio, of the probability of symptoms given
    infection and of infectiousness. Each is one value per age band (length 1: every band)."""

    share: FloatArray
    susceptibility: FloatArray
    fatality: FloatArray
    symptomatic: FloatArray
    infectiousness: FloatArray


def _as_efficacy(value: object) -> Efficacy:
    """A number stays a number; a sequence or array becomes a tuple (profiles are hashed)."""
    if isinstance(value, int | float | np.floating | np.integer):
        return float(value)
    if isinstance(value, Sequence | np.ndarray):
        return tuple(float(v) for v in np.asarray(value, dtype=np.float64).ravel())
    return value  # type: ignore[return-value]  # refused by the range check below


def _array(value: Efficacy) -> FloatArray:
    return np.atleast_1d(np.asarray(value, dtype=np.float64))


def _conditional(overall: FloatArray, infection: FloatArray) -> FloatArray:
    """Multiplier of an outcome's probability given infection, from overall efficacies."""
    safe = np.where(infection < 1.0, 1.0 - infection, 1.0)
    return np.asarray(np.where(infection < 1.0, (1.0 - overall) / safe, 0.0), dtype=np.float64)


@dataclass(frozen=True)
class VaccineProfile:
    """What a product does in the model. ``code`` matches a product code in schedules.

    ``efficacy_symptomatic=None`` means the same as ``efficacy_infection`` (no protection
    against symptoms beyond protection from infection). ``protection_days=None``: no waning."""

    code: str
    efficacy_infection: Efficacy = 0.6
    efficacy_death: Efficacy = 0.9
    mode: EfficacyMode = EfficacyMode.LEAKY
    doses_per_course: int = 2
    efficacy_symptomatic: Efficacy | None = None
    efficacy_transmission: Efficacy = 0.0
    protection_days: float | None = None
    residual_protection: float = 0.0

    def __post_init__(self) -> None:
        for name in EFFICACIES:
            raw = getattr(self, name)
            if raw is None:
                continue
            value = _as_efficacy(raw)
            object.__setattr__(self, name, value)
            try:
                arr = np.atleast_1d(np.asarray(value, dtype=np.float64))
            except (TypeError, ValueError):
                arr = np.array([np.nan])
            if arr.size == 0 or not np.all((arr >= 0.0) & (arr <= 1.0)):
                raise DoseflowError(
                    "IMPACT_BAD_EFFICACY",
                    f"vaccine {self.code}: {name} must be a share between 0 and 1 "
                    "(or one share per age band)",
                    field=name,
                    expected="a number in [0, 1], or a list of them, one per age band",
                    value=value,
                )
        infection = _array(self.efficacy_infection)
        for name in ("efficacy_death", "efficacy_symptomatic"):
            raw = getattr(self, name)
            if raw is None:
                continue
            other = _array(raw)
            if min(other.size, infection.size) > 1 and other.size != infection.size:
                raise DoseflowError(
                    "IMPACT_SHAPE_MISMATCH",
                    f"vaccine {self.code}: {name} has {other.size} values by age band and "
                    f"efficacy_infection {infection.size}",
                    field=name,
                    expected=f"one number, or {infection.size} numbers (one per age band)",
                    value=other.size,
                )
            if np.any(other < infection):
                what = name.removeprefix("efficacy_")
                raise DoseflowError(
                    "IMPACT_BAD_EFFICACY",
                    f"vaccine {self.code}: efficacy against {what} includes protection "
                    "from infection, so it cannot be below efficacy against infection",
                    field=name,
                    expected=f"at least efficacy_infection ({self.efficacy_infection})",
                    value=raw,
                )
        if self.doses_per_course < 1:
            raise DoseflowError(
                "IMPACT_BAD_PARAMETER",
                f"vaccine {self.code}: doses_per_course must be a positive whole number",
                field="doses_per_course",
                expected="an integer >= 1",
                value=self.doses_per_course,
            )
        if self.protection_days is not None and not (
            np.isfinite(self.protection_days) and self.protection_days > 0
        ):
            raise DoseflowError(
                "IMPACT_BAD_PARAMETER",
                f"vaccine {self.code}: protection_days (mean duration of protection) must be "
                "a positive number of days, or absent for no waning",
                field="protection_days",
                expected="days > 0, or null",
                value=self.protection_days,
            )
        if not 0.0 <= self.residual_protection <= 1.0:
            raise DoseflowError(
                "IMPACT_BAD_PARAMETER",
                f"vaccine {self.code}: residual_protection is the share of each efficacy kept "
                "after waning",
                field="residual_protection",
                expected="a share in [0, 1]",
                value=self.residual_protection,
            )

    @property
    def wanes(self) -> bool:
        return self.protection_days is not None

    @property
    def waning_rate(self) -> float:
        """Per day, out of the product's vaccinated strata (0 without waning)."""
        return 0.0 if self.protection_days is None else 1.0 / self.protection_days

    @property
    def per_band(self) -> bool:
        """True when some efficacy is given per age band."""
        return any(isinstance(getattr(self, name), tuple) for name in EFFICACIES)

    def _efficacies(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        infection = _array(self.efficacy_infection)
        symptomatic = (
            infection if self.efficacy_symptomatic is None else _array(self.efficacy_symptomatic)
        )
        return (
            infection,
            symptomatic,
            _array(self.efficacy_death),
            _array(self.efficacy_transmission),
        )

    @property
    def fatality_given_infection(self) -> FloatArray:
        """Multiplier of the IFR for a vaccinated person who is infected anyway."""
        infection, _, death, _ = self._efficacies()
        return _conditional(death, infection)

    def strata(self) -> tuple[Stratum, Stratum]:
        """(responders, non-responders) for this product."""
        infection, symptomatic, death, transmission = self._efficacies()
        phi = _conditional(death, infection)
        psi = _conditional(symptomatic, infection)
        rho = 1.0 - transmission
        one, zero = np.ones(1), np.zeros(1)
        if self.mode is EfficacyMode.LEAKY:
            return (
                Stratum(one, 1.0 - infection, phi, psi, rho),
                Stratum(zero, one, phi, psi, rho),
            )
        return (
            Stratum(infection, zero, zero, zero, rho),
            Stratum(1.0 - infection, one, phi, psi, rho),
        )

    def waned(self) -> Stratum:
        """The product's waned stratum: ``residual_protection`` of every efficacy, leaky."""
        infection, symptomatic, death, transmission = (
            self.residual_protection * e for e in self._efficacies()
        )
        return Stratum(
            np.zeros(1),
            1.0 - infection,
            _conditional(death, infection),
            _conditional(symptomatic, infection),
            1.0 - transmission,
        )

    @classmethod
    def for_product(
        cls,
        product: Product,
        *,
        efficacy_infection: Efficacy = 0.6,
        efficacy_death: Efficacy = 0.9,
        mode: EfficacyMode = EfficacyMode.LEAKY,
    ) -> VaccineProfile:
        """A profile for a pool product (its code and doses per course)."""
        return cls(product.code, efficacy_infection, efficacy_death, mode, product.doses_per_course)


def check_bands(vaccine: VaccineProfile, n_bands: int, where: str) -> None:
    """Refuse an efficacy given per band whose length is not the scenario's number of bands
    (``where`` names the scenario)."""
    for name in EFFICACIES:
        value = getattr(vaccine, name)
        if isinstance(value, tuple) and len(value) != n_bands:
            raise DoseflowError(
                "IMPACT_SHAPE_MISMATCH",
                f"{where}: vaccine {vaccine.code}: {name} has {len(value)} values for "
                f"{n_bands} age bands",
                field=f"vaccines[{vaccine.code}].{name}",
                expected=f"one number, or {n_bands} numbers (one per age band)",
                value=len(value),
            )


#: Used when a scenario names no vaccine: a two-dose course, leaky, 60% against infection and
#: 90% against death. These are modelling assumptions for illustration, not product claims.
DEFAULT_VACCINE = VaccineProfile("vaccine")
