"""UN WPP 2019 population on 1 July 2020, by country and five-year age band.

201 countries have 21 age bands (0-4 ... 100+); 43 further small states and territories
have a total only. Source: UN DESA World Population Prospects 2019 (CC BY 3.0 IGO), see
``docs/data-sources.md``.

One figure is changed on reading, the files staying as published: WPP 2019's Serbia
includes Kosovo, which the data also lists on its own (``XKX``), so Serbia is given without
Kosovo (:data:`PART_OF`), and every person is counted once whichever of the two a scenario
names.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from doseflow.data.files import open_bundled
from doseflow.domain.errors import DoseflowError

#: Lower bound (years) of each WPP age band; the last band is 100+.
AGE_BAND_STARTS: tuple[int, ...] = tuple(range(0, 101, 5))
AGE_BAND_LABELS: tuple[str, ...] = tuple(
    f"{a}-{a + 4}" if a < 100 else "100+" for a in AGE_BAND_STARTS
)

#: Rows of the WPP compilation that carry no ISO3 code; their ISO 3166-1 codes by name.
#: (Only the code is supplied; no number in the data is changed.)
MISSING_ISO3_BY_NAME: dict[str, str] = {
    "French Guiana": "GUF",
    "Guadeloupe": "GLP",
    "Martinique": "MTQ",
    "Mayotte": "MYT",
    "Reunion": "REU",
    "Western Sahara": "ESH",
}

#: Places a WPP figure includes that the data also lists on their own: the figure of the
#: key is given without those of its values. WPP 2019's Serbia is "including Kosovo"
#: (8,737,370 in 2020); Kosovo (1,932,774) has its own row, its own health system and its
#: own COVAX deliveries, so Serbia is 6,804,596 and the two together are WPP's figure.
PART_OF: Mapping[str, tuple[str, ...]] = MappingProxyType({"SRB": ("XKX",)})

_BY_AGE_FILE = "wpp2019_population_2020_by_age.csv"
_TOTALS_FILE = "wpp2019_population_2020_totals.csv"


@dataclass(frozen=True)
class Country:
    """A country or territory with its 2020 population (persons)."""

    iso3: str
    name: str
    region: str | None
    income_group: str | None
    population: int
    age_bands: tuple[int, ...] | None  # persons per AGE_BAND_LABELS band, or None

    @property
    def has_age_bands(self) -> bool:
        return self.age_bands is not None

    def population_by_age(self) -> npt.NDArray[np.int64]:
        """Persons per five-year band (0-4 ... 100+); an error if the data has no bands."""
        if self.age_bands is None:
            raise DoseflowError(
                "DATA_NO_AGE_BANDS",
                f"{self.name} ({self.iso3}) has a total population only, no age bands",
                field="iso3",
                expected="one of the 201 countries with WPP age bands, or a population given",
                value=self.iso3,
            )
        return np.asarray(self.age_bands, dtype=np.int64)

    def share_aged(self, min_age: int) -> float:
        """Share of the population aged ``min_age`` or more (``min_age`` a multiple of 5)."""
        bands = self.population_by_age()
        if min_age % 5 or not 0 <= min_age <= 100:
            raise ValueError(f"min_age must be a multiple of 5 in 0..100, got {min_age}")
        return float(bands[min_age // 5 :].sum() / bands.sum())


def _iso3_of(row: Mapping[str, str]) -> str:
    return row["iso3"] or MISSING_ISO3_BY_NAME[row["name"]]


@cache
def countries() -> Mapping[str, Country]:
    """Every country and territory, keyed by ISO3 code (read once, cached)."""
    by_age: dict[str, tuple[int, ...]] = {}
    with open_bundled(_BY_AGE_FILE) as fh:
        for row in csv.DictReader(fh):
            by_age[_iso3_of(row)] = tuple(
                int(row[f"pop_{label.replace('-', '_').replace('+', 'plus')}"])
                for label in AGE_BAND_LABELS
            )
    result: dict[str, Country] = {}
    with open_bundled(_TOTALS_FILE) as fh:
        for row in csv.DictReader(fh):
            iso3 = _iso3_of(row)
            result[iso3] = Country(
                iso3=iso3,
                name=row["name"],
                region=row["region"] or None,
                income_group=row["income_group"] or None,
                population=int(row["population"]),
                age_bands=by_age.get(iso3),
            )
    for iso3, parts in PART_OF.items():
        result[iso3] = _without(result[iso3], [result[p].population for p in parts])
    return MappingProxyType(result)


def _without(whole: Country, parts: list[int]) -> Country:
    """``whole`` less the populations of ``parts``, its age bands scaled to the new total.

    The parts have no age bands of their own, so each band keeps its share of the whole
    (largest remainders, so the bands add up to the total exactly)."""
    total = whole.population - sum(parts)
    bands = whole.age_bands
    if bands is not None:
        exact = [b * total / sum(bands) for b in bands]
        floors = [int(x) for x in exact]
        order = sorted(range(len(exact)), key=lambda i: floors[i] - exact[i])
        for i in order[: total - sum(floors)]:
            floors[i] += 1
        bands = tuple(floors)
    return replace(whole, population=total, age_bands=bands)


def country(iso3: str) -> Country:
    """The country with this ISO3 code, or a ``DATA_UNKNOWN_ISO3`` error."""
    found = countries().get(iso3.upper())
    if found is None:
        raise DoseflowError(
            "DATA_UNKNOWN_ISO3",
            f"'{iso3}' is not a known ISO 3166-1 alpha-3 code",
            field="iso3",
            expected="an ISO3 code from the bundled WPP 2019 data (e.g. PRK, NGA, XKX)",
            value=iso3,
        )
    return found


def population(iso3: str) -> int:
    """Total 2020 population of ``iso3`` (persons)."""
    return country(iso3).population
