"""Age-specific severity and life expectancy: the published curves the model uses by default.

* Infection fatality ratio: Levin AT et al. (2020) "Assessing the age specificity of infection
  fatality rates for COVID-19: systematic review, meta-analysis, and public policy
  implications", Eur J Epidemiol 35:1123-1138: ``log10(IFR %) = -3.27 + 0.0524 x age``.
  The fit was made on ages up to about 90; doseflow holds the age at 90 above that, so the
  IFR never exceeds 25% (the unclipped curve passes 100% near age 100).
* Remaining life expectancy for years of life lost: the GBD 2019 reference life table
  (Global Burden of Disease Collaborative Network, IHME 2021, doi:10.6069/1D4Y-YQ37), the
  normative table the GBD uses for YLL, the same for every country and both sexes.
* Clinical (symptomatic) fraction of infections by age: Davies NG, Klepac P, Liu Y, Prem K,
  Jit M, CMMID COVID-19 working group, Eggo RM (2020) "Age-dependent effects in the
  transmission and control of COVID-19 epidemics", Nat Med 26:1205-1211: posterior means by
  ten-year band (0-9 ... 70+), from 21% of infections at 10-19 to 69% over 70.

A band's value is the population-weighted mean over the five-year WPP bands it holds when the
population by five-year band is known, else the value at the band's mid-age.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt

from doseflow.impact.bands import AgeBands

FloatArray = npt.NDArray[np.float64]

#: Levin et al. (2020) meta-regression: log10(IFR in %) = LEVIN_INTERCEPT + LEVIN_SLOPE x age.
LEVIN_INTERCEPT = -3.27
LEVIN_SLOPE = 0.0524
#: Ages above this are evaluated at this age (the fit's data end here).
LEVIN_MAX_AGE = 90.0

#: GBD 2019 reference life table: exact age -> remaining life expectancy (years).
GBD2019_REFERENCE_LIFE_TABLE: tuple[tuple[float, float], ...] = (
    (0, 88.8718951),
    (1, 88.00051053),
    (5, 84.03008056),
    (10, 79.04633476),
    (15, 74.0665492),
    (20, 69.10756792),
    (25, 64.14930031),
    (30, 59.1962771),
    (35, 54.25261364),
    (40, 49.31739311),
    (45, 44.43332057),
    (50, 39.63473787),
    (55, 34.91488095),
    (60, 30.25343822),
    (65, 25.68089534),
    (70, 21.28820012),
    (75, 17.10351469),
    (80, 13.23872477),
    (85, 9.990181244),
    (90, 7.617724915),
    (95, 5.922359078),
)


def levin_ifr(age: FloatArray | float) -> FloatArray:
    """Infection fatality ratio (a fraction, not %) at ``age`` years (Levin et al. 2020)."""
    a = np.minimum(np.asarray(age, dtype=np.float64), LEVIN_MAX_AGE)
    return np.asarray(10.0 ** (LEVIN_INTERCEPT + LEVIN_SLOPE * a) / 100.0, dtype=np.float64)


def remaining_life_expectancy(age: FloatArray | float) -> FloatArray:
    """GBD 2019 reference remaining life expectancy at ``age`` (linear between table ages;
    beyond 95 the value at 95 is kept)."""
    ages = np.array([a for a, _ in GBD2019_REFERENCE_LIFE_TABLE])
    values = np.array([v for _, v in GBD2019_REFERENCE_LIFE_TABLE])
    return np.asarray(np.interp(np.asarray(age, dtype=np.float64), ages, values), dtype=np.float64)


def _five_year_midpoints() -> FloatArray:
    return np.arange(0, 101, 5, dtype=np.float64) + 2.5


def per_band(
    bands: AgeBands,
    curve_at_age: FloatArray,
    five_year_population: npt.NDArray[np.int64] | FloatArray | None,
    curve_at_midpoints: FloatArray,
) -> FloatArray:
    """Average a curve over each band, weighted by five-year population when it is known."""
    if five_year_population is None:
        return curve_at_midpoints
    index = np.asarray(bands.index_of_five_year())
    weights = np.asarray(five_year_population, dtype=np.float64)
    num = np.bincount(index, weights=weights * curve_at_age, minlength=len(bands))
    den = np.bincount(index, weights=weights, minlength=len(bands))
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), curve_at_midpoints)


def ifr_by_band(
    bands: AgeBands, five_year_population: npt.NDArray[np.int64] | None = None
) -> FloatArray:
    """Levin IFR per band (population-weighted over five-year bands when population is known)."""
    return per_band(
        bands,
        levin_ifr(_five_year_midpoints()),
        five_year_population,
        levin_ifr(np.asarray(bands.midpoints)),
    )


def life_expectancy_by_band(
    bands: AgeBands, five_year_population: npt.NDArray[np.int64] | None = None
) -> FloatArray:
    """GBD 2019 reference remaining life expectancy per band, for years of life lost."""
    return per_band(
        bands,
        remaining_life_expectancy(_five_year_midpoints()),
        five_year_population,
        remaining_life_expectancy(np.asarray(bands.midpoints)),
    )


#: Davies et al. (2020), Nat Med 26:1205, clinical fraction by ten-year band (0-9 ... 70+):
#: the share of infections that are symptomatic (posterior means, as in the authors' covidm).
DAVIES_CLINICAL_FRACTION: tuple[float, ...] = (
    0.2904,
    0.2096,
    0.2704,
    0.3285,
    0.4024,
    0.4958,
    0.6269,
    0.6860,
)


def clinical_fraction(age: FloatArray | float) -> FloatArray:
    """Share of infections that are symptomatic at ``age`` years (Davies et al. 2020: the value
    of the ten-year band holding the age; 70 and over share the last)."""
    decade = np.clip(np.asarray(age, dtype=np.float64) // 10, 0, 7).astype(np.int64)
    return np.asarray(np.array(DAVIES_CLINICAL_FRACTION)[decade], dtype=np.float64)


def clinical_fraction_by_band(
    bands: AgeBands, five_year_population: npt.NDArray[np.int64] | None = None
) -> FloatArray:
    """Davies clinical fraction per band (population-weighted over five-year bands when the
    population is known, else at the band's mid-age)."""
    return per_band(
        bands,
        clinical_fraction(_five_year_midpoints()),
        five_year_population,
        clinical_fraction(np.asarray(bands.midpoints)),
    )


class ForceDenominator(StrEnum):
    """What ``N_b`` in the force of infection ``beta * u_a * sum_b C_ab I_b / N_b`` is.

    ``initial``: band ``b``'s population at day 0 (the default; deaths then slightly dilute
    contacts as if the dead still mixed, by at most the band's cumulative IFR). ``living``:
    its living population ``N_b - D_b``, contacts spread over those still alive."""

    INITIAL = "initial"
    LIVING = "living"
