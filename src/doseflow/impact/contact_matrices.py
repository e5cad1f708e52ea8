"""Contact matrices for any age bands: Prem et al. (2017), aggregated; fallbacks; or given.

Prem, Cook & Jit (2017), PLoS Comput Biol 13(9): e1005697, projected mean daily contacts for
152 countries in 16 five-year bands (0-4 ... 75+). To reach the analyst's bands:

1. the 75+ band is opened out over the WPP bands 75-79 ... 100+: each of them makes the same
   contacts per person as the 75+ band, and contacts *with* 75+ people are shared among
   them in proportion to their population;
2. five-year bands are merged into the chosen bands: rows are averaged weighted by the
   population of the merged bands (a person's contacts), columns are summed (contacts with
   anyone in the merged band);
3. by default the matrix is made reciprocal (the total contacts band a has with band b equal
   those b has with a): ``C'[a,b] = (C[a,b] N[a] + C[b,a] N[b]) / (2 N[a])``.

Countries without a Prem matrix (North Korea, Somalia, several small states...): the default
fallback is the mean of the matrices of countries in the same World Bank income group *and*
region when at least three exist, else of the same income group (North Korea, a low-income
East Asian country with no low-income East Asian neighbour in the data, gets the low-income
mean), else of the whole set. ``proxy="KOR"`` uses a named country's matrix instead. Either
way the matrix is then aggregated with the target country's *own* population.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from doseflow.data import contacts as prem
from doseflow.data import population as wpp
from doseflow.domain.errors import DoseflowError
from doseflow.impact.bands import AgeBands

FloatArray = npt.NDArray[np.float64]

#: Least number of same income-group-and-region countries for a regional income-group mean.
MIN_REGIONAL_PEERS = 3


class MatrixOrigin(StrEnum):
    """Where a country's contact matrix came from (kept with every result)."""

    PREM = "prem2017"
    INCOME_REGION_MEAN = "income-group-and-region mean"
    INCOME_MEAN = "income-group mean"
    GLOBAL_MEAN = "mean of all Prem countries"
    PROXY = "proxy country"
    GIVEN = "given"


@dataclass(frozen=True)
class SourcedMatrix:
    """A 16x16 Prem-band matrix and where it came from (``peers``: the countries averaged)."""

    matrix: FloatArray
    origin: MatrixOrigin
    peers: tuple[str, ...]

    def describe(self) -> str:
        if self.origin is MatrixOrigin.PREM:
            return "Prem et al. 2017"
        shown = ", ".join(self.peers[:6]) + (", ..." if len(self.peers) > 6 else "")
        return f"{self.origin.value} ({len(self.peers)} countries: {shown})"


def prem_matrix(iso3: str, proxy: str | None = None) -> SourcedMatrix:
    """The Prem matrix of ``iso3``, of ``proxy`` if named, or the documented fallback."""
    iso3 = iso3.upper()
    if proxy is not None:
        proxy = proxy.upper()
        if not prem.has_matrix(proxy):
            raise DoseflowError(
                "IMPACT_NO_CONTACT_PROXY",
                f"proxy country '{proxy}' for {iso3} has no Prem et al. 2017 contact matrix",
                field="contact_proxy",
                expected="an ISO3 code among the 152 Prem countries (e.g. CHN, KOR)",
                value=proxy,
            )
        return SourcedMatrix(np.array(prem.contact_matrix(proxy)), MatrixOrigin.PROXY, (proxy,))
    if prem.has_matrix(iso3):
        return SourcedMatrix(np.array(prem.contact_matrix(iso3)), MatrixOrigin.PREM, (iso3,))
    target = wpp.country(iso3)
    candidates = [
        wpp.countries()[c] for c in sorted(prem.countries_with_matrices()) if c in wpp.countries()
    ]
    same_income = [
        c for c in candidates if target.income_group and c.income_group == target.income_group
    ]
    same_region = [c for c in same_income if c.region == target.region]
    if len(same_region) >= MIN_REGIONAL_PEERS:
        peers, origin = same_region, MatrixOrigin.INCOME_REGION_MEAN
    elif same_income:
        peers, origin = same_income, MatrixOrigin.INCOME_MEAN
    else:
        peers, origin = candidates, MatrixOrigin.GLOBAL_MEAN
    mean = np.mean([prem.contact_matrix(c.iso3) for c in peers], axis=0)
    return SourcedMatrix(mean, origin, tuple(c.iso3 for c in peers))


def expand_to_wpp(matrix16: FloatArray, five_year_population: FloatArray) -> FloatArray:
    """Open the Prem 75+ band out over WPP's 75-79 ... 100+ (21 x 21 result)."""
    n_prem = matrix16.shape[0]
    n_wpp = five_year_population.shape[0]
    old = five_year_population[n_prem - 1 :]
    share = old / old.sum() if old.sum() > 0 else np.full(old.shape, 1.0 / old.size)
    rows = np.vstack([matrix16, np.repeat(matrix16[-1:], n_wpp - n_prem, axis=0)])
    return np.hstack([rows[:, : n_prem - 1], rows[:, n_prem - 1 :] * share])


def aggregate(
    matrix: FloatArray, fine_population: FloatArray, index: list[int], n_bands: int
) -> FloatArray:
    """Merge fine bands into ``n_bands`` bands (``index[i]``: the band of fine band ``i``)."""
    member = np.zeros((len(index), n_bands))
    member[np.arange(len(index)), index] = 1.0
    by_col = matrix @ member  # contacts of each fine band with each coarse band
    weighted = member.T @ (by_col * fine_population[:, None])
    band_pop = member.T @ fine_population
    return np.asarray(weighted / np.where(band_pop > 0, band_pop, 1.0)[:, None])


def make_reciprocal(matrix: FloatArray, population: FloatArray) -> FloatArray:
    """Average the two directions so total contacts a->b equal b->a."""
    total = matrix * population[:, None]
    sym = (total + total.T) / 2.0
    return np.asarray(sym / np.where(population > 0, population, 1.0)[:, None])


def contacts_for_bands(
    iso3: str,
    bands: AgeBands,
    five_year_population: npt.NDArray[np.int64],
    *,
    proxy: str | None = None,
    reciprocal: bool = True,
) -> tuple[FloatArray, SourcedMatrix]:
    """The contact matrix of ``iso3`` on ``bands`` and where it came from."""
    sourced = prem_matrix(iso3, proxy)
    pop = np.asarray(five_year_population, dtype=np.float64)
    fine = expand_to_wpp(sourced.matrix, pop)
    matrix = aggregate(fine, pop, bands.index_of_five_year(), len(bands))
    band_pop = np.asarray(
        np.bincount(bands.index_of_five_year(), weights=pop, minlength=len(bands)), dtype=np.float64
    )
    if reciprocal:
        matrix = make_reciprocal(matrix, band_pop)
    return matrix, sourced
