"""A scenario: one population, one epidemic, one vaccination plan, fully resolved to numbers.

Build one for a country from bundled data with :func:`country_scenario`, or from your own
numbers with :func:`custom_scenario`. Scenarios are values: :func:`dataclasses.replace` makes
variants (another R0, supply, strategy) cheaply, and the model runs many at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from doseflow.data import population as wpp
from doseflow.domain.errors import DoseflowError
from doseflow.impact.bands import AgeBands
from doseflow.impact.contact_matrices import contacts_for_bands
from doseflow.impact.epidemiology import (
    ForceDenominator,
    clinical_fraction_by_band,
    ifr_by_band,
    levin_ifr,
    life_expectancy_by_band,
    remaining_life_expectancy,
)
from doseflow.impact.initial import InitialConditions
from doseflow.impact.rollout import RateRollout, Rollout
from doseflow.impact.strategy import Strategy
from doseflow.impact.vaccine import DEFAULT_VACCINE, Eligibility, VaccineProfile, check_bands

FloatArray = npt.NDArray[np.float64]

#: Defaults (ancestral SARS-CoV-2; see docs/impact.md for sources and how to change them).
DEFAULT_R0 = 2.5
DEFAULT_LATENT_DAYS = 4.0
DEFAULT_INFECTIOUS_DAYS = 5.0
DEFAULT_INITIAL_INFECTED = 1e-4
DEFAULT_REFUSAL = 0.1
DEFAULT_HORIZON_DAYS = 365
DEFAULT_BANDS = AgeBands.uniform(5, 75)


def _bad(field_name: str, message: str, expected: str, value: object) -> DoseflowError:
    return DoseflowError(
        "IMPACT_BAD_PARAMETER", message, field=field_name, expected=expected, value=value
    )


@dataclass(frozen=True, eq=False)
class Scenario:
    """Everything one model run needs. Arrays are per age band, in ``bands`` order."""

    name: str
    bands: AgeBands
    population: FloatArray
    contacts: FloatArray
    susceptibility: FloatArray
    ifr: FloatArray
    life_expectancy: FloatArray
    r0: float = DEFAULT_R0
    latent_days: float = DEFAULT_LATENT_DAYS
    infectious_days: float = DEFAULT_INFECTIOUS_DAYS
    initial_infected: float = DEFAULT_INITIAL_INFECTED
    #: Day-0 state by band and compartment; when given, it replaces ``initial_infected``.
    initial: InitialConditions | None = None
    refusal: float = DEFAULT_REFUSAL
    vaccines: tuple[VaccineProfile, ...] = (DEFAULT_VACCINE,)
    rollout: Rollout | None = None
    strategy: Strategy = field(default_factory=lambda: Strategy.parse("older-first"))
    horizon_days: int = DEFAULT_HORIZON_DAYS
    labels: Mapping[str, str | float] = field(default_factory=dict)
    #: who is vaccinated among the willing unvaccinated (see :class:`Eligibility`)
    eligibility: Eligibility = Eligibility.SUSCEPTIBLE_EXPOSED_RECOVERED
    #: N_b of the force of infection: population at day 0, or living (see ForceDenominator)
    denominator: ForceDenominator = ForceDenominator.INITIAL
    #: share of infections that are symptomatic, by band (None: Davies et al. 2020 by age)
    symptomatic_fraction: FloatArray | None = None

    def __post_init__(self) -> None:
        n = len(self.bands)
        if self.symptomatic_fraction is None:
            object.__setattr__(self, "symptomatic_fraction", clinical_fraction_by_band(self.bands))
        object.__setattr__(self, "eligibility", Eligibility(self.eligibility))
        object.__setattr__(self, "denominator", ForceDenominator(self.denominator))
        for name in (
            "population",
            "contacts",
            "susceptibility",
            "ifr",
            "life_expectancy",
            "symptomatic_fraction",
        ):
            arr = np.asarray(getattr(self, name), dtype=np.float64)
            want = (n, n) if name == "contacts" else (n,)
            if arr.shape != want:
                raise DoseflowError(
                    "IMPACT_SHAPE_MISMATCH",
                    f"scenario {self.name}: {name} has shape {arr.shape} for {n} age bands",
                    field=name,
                    expected=f"shape {want} ({', '.join(self.bands.labels)})",
                    value=arr.shape,
                )
            if not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise _bad(
                    name,
                    f"scenario {self.name}: {name} must be finite and non-negative",
                    "numbers >= 0",
                    arr.tolist(),
                )
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        if self.population.sum() <= 0:
            raise _bad(
                "population",
                f"scenario {self.name}: population is zero",
                "a positive population",
                0,
            )
        for name in ("ifr", "symptomatic_fraction"):
            arr = getattr(self, name)
            if np.any(arr > 1):
                raise _bad(
                    name,
                    f"scenario {self.name}: a value of {name} is above 1",
                    "fractions in [0, 1]",
                    float(arr.max()),
                )
        checks = (
            ("r0", self.r0, self.r0 > 0 and math.isfinite(self.r0), "a number > 0"),
            ("latent_days", self.latent_days, self.latent_days > 0, "days > 0"),
            ("infectious_days", self.infectious_days, self.infectious_days > 0, "days > 0"),
            (
                "initial_infected",
                self.initial_infected,
                0 < self.initial_infected < 1,
                "a share in (0, 1)",
            ),
            ("refusal", self.refusal, 0 <= self.refusal <= 1, "a share in [0, 1]"),
            (
                "horizon_days",
                self.horizon_days,
                self.horizon_days >= 1,
                "a whole number of days >= 1",
            ),
        )
        for name, value, ok, expected in checks:
            if not ok:
                raise _bad(name, f"scenario {self.name}: {name} is out of range", expected, value)
        if not np.any((self.contacts * self.susceptibility[:, None]) > 0):
            raise _bad(
                "contacts",
                f"scenario {self.name}: no contacts between susceptible people",
                "a contact matrix with positive entries",
                0,
            )
        for vaccine in self.vaccines:  # efficacies given per band: one per band
            check_bands(vaccine, n, f"scenario {self.name}")
        codes = [v.code for v in self.vaccines]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise DoseflowError(
                "IMPACT_DUPLICATE_VACCINE",
                f"scenario {self.name}: vaccine {', '.join(twice)} is listed twice; a rollout "
                "names a vaccine by its code, so the second profile could never be used",
                field="vaccines",
                expected="one profile per product code",
                value=twice,
            )
        if self.rollout is not None:
            known = {v.code for v in self.vaccines}
            for product in self.rollout.products:
                if product not in known:
                    raise DoseflowError(
                        "IMPACT_UNKNOWN_PRODUCT",
                        f"scenario {self.name}: the rollout delivers '{product}' but no vaccine "
                        "profile has that code",
                        field="vaccines",
                        expected=f"one of {sorted(known)} or a VaccineProfile for '{product}'",
                        value=product,
                    )
        self.strategy.allocation(self.bands)  # validate now, not deep in a batch
        if self.initial is not None:
            given = self.initial.vaccinated_product
            codes = [v.code for v in self.vaccines]
            if given is not None and given not in codes:
                raise DoseflowError(
                    "IMPACT_UNKNOWN_PRODUCT",
                    f"scenario {self.name}: people vaccinated at day 0 had '{given}' but no "
                    "vaccine profile has that code",
                    field="initial.vaccinated_product",
                    expected=f"one of {codes}",
                    value=given,
                )
            self.initial_counts()  # validate now

    def initial_counts(self) -> FloatArray:
        """(4, A): people exposed, infectious, recovered and vaccinated at day 0 per band
        (``initial`` when given, else ``initial_infected`` of every band infectious)."""
        if self.initial is None:
            out = np.zeros((4, len(self.bands)))
            out[1] = self.initial_infected * self.population
            return out
        return self.initial.counts_for(self.population, self.bands.labels)

    def initial_vaccine(self) -> int:
        """Index among ``vaccines`` of the product the day-0 vaccinated had."""
        product = None if self.initial is None else self.initial.vaccinated_product
        codes = [v.code for v in self.vaccines]
        return 0 if product is None else codes.index(product)

    @property
    def total_population(self) -> float:
        return float(self.population.sum())

    def daily_courses(self) -> FloatArray:
        """Courses completed per day for each vaccine (vaccines x horizon)."""
        from doseflow.domain.units import course_equivalents

        out = np.zeros((len(self.vaccines), self.horizon_days))
        if self.rollout is None:
            return out
        doses = self.rollout.daily_doses(self.total_population, self.horizon_days)
        for i, vaccine in enumerate(self.vaccines):
            if vaccine.code in doses:
                out[i] = doses[vaccine.code] * course_equivalents(1.0, vaccine.doses_per_course)
        return out

    def without_vaccination(self) -> Scenario:
        """The same epidemic with no vaccine given (the counterfactual)."""
        from dataclasses import replace

        return replace(self, rollout=None, name=f"{self.name} (no vaccination)")


def country_scenario(
    iso3: str,
    *,
    bands: AgeBands = DEFAULT_BANDS,
    contact_proxy: str | None = None,
    susceptibility: Sequence[float] | None = None,
    ifr: Sequence[float] | None = None,
    life_expectancy: Sequence[float] | None = None,
    name: str | None = None,
    **params: object,
) -> Scenario:
    """A scenario for ``iso3`` from bundled WPP 2019 population and Prem 2017 contacts (with
    the documented fallback when the country has no matrix). ``params`` are the other
    :class:`Scenario` fields (``r0``, ``rollout``, ``strategy``, ``vaccines``...)."""
    country = wpp.country(iso3)
    five_year = country.population_by_age()
    index = bands.index_of_five_year()
    pop = np.asarray(
        np.bincount(index, weights=five_year.astype(np.float64), minlength=len(bands)),
        dtype=np.float64,
    )
    matrix, sourced = contacts_for_bands(country.iso3, bands, five_year, proxy=contact_proxy)
    labels: dict[str, str | float] = {"country": country.iso3, "contacts": sourced.describe()}
    extra = params.pop("labels", None)
    params.setdefault("symptomatic_fraction", clinical_fraction_by_band(bands, five_year))
    if isinstance(extra, Mapping):
        labels.update(extra)
    return Scenario(
        name=name or country.iso3,
        bands=bands,
        population=pop,
        contacts=matrix,
        susceptibility=np.ones(len(bands))
        if susceptibility is None
        else np.asarray(susceptibility, dtype=np.float64),
        ifr=ifr_by_band(bands, five_year) if ifr is None else np.asarray(ifr, dtype=np.float64),
        life_expectancy=life_expectancy_by_band(bands, five_year)
        if life_expectancy is None
        else np.asarray(life_expectancy, dtype=np.float64),
        labels=labels,
        **params,  # type: ignore[arg-type]
    )


def custom_scenario(
    name: str,
    bands: AgeBands,
    population: Sequence[float],
    contacts: Sequence[Sequence[float]],
    *,
    susceptibility: Sequence[float] | None = None,
    ifr: Sequence[float] | None = None,
    life_expectancy: Sequence[float] | None = None,
    **params: object,
) -> Scenario:
    """A scenario from the analyst's own population and contact matrix (any bands). IFR and
    life expectancy default to Levin 2020 and GBD 2019 at each band's mid-age."""
    mids = np.asarray(bands.midpoints)
    return Scenario(
        name=name,
        bands=bands,
        population=np.asarray(population, dtype=np.float64),
        contacts=np.asarray(contacts, dtype=np.float64),
        susceptibility=np.ones(len(bands))
        if susceptibility is None
        else np.asarray(susceptibility, dtype=np.float64),
        ifr=levin_ifr(mids) if ifr is None else np.asarray(ifr, dtype=np.float64),
        life_expectancy=remaining_life_expectancy(mids)
        if life_expectancy is None
        else np.asarray(life_expectancy, dtype=np.float64),
        **params,  # type: ignore[arg-type]
    )


def steady_rollout(
    doses_per_day_share: float, supply_share: float, product: str = DEFAULT_VACCINE.code
) -> RateRollout:
    """Shorthand for :class:`RateRollout`."""
    return RateRollout(doses_per_day_share, supply_share, product)
