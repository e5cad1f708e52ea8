"""Prem, Cook & Jit (2017) projected contact matrices for 152 countries.

``matrix[i, j]`` is the mean number of daily contacts a person in age band ``i`` has with
people in band ``j`` (16 bands, 0-4 ... 75+), by setting. Countries without a matrix (North
Korea among them) get none here: the impact engine documents and applies its fallback.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from doseflow.data.files import open_bundled
from doseflow.domain.errors import DoseflowError

CONTACT_BAND_STARTS: tuple[int, ...] = tuple(range(0, 76, 5))
CONTACT_BAND_LABELS: tuple[str, ...] = tuple(
    f"{a}-{a + 4}" if a < 75 else "75+" for a in CONTACT_BAND_STARTS
)
_FILE = "prem2017_contact_matrices.csv.gz"


class Setting(StrEnum):
    ALL = "all"
    HOME = "home"
    SCHOOL = "school"
    WORK = "work"
    OTHER = "other"


@cache
def _matrices() -> Mapping[tuple[str, Setting], npt.NDArray[np.float64]]:
    index = {label: i for i, label in enumerate(CONTACT_BAND_LABELS)}
    n = len(CONTACT_BAND_LABELS)
    found: dict[tuple[str, Setting], npt.NDArray[np.float64]] = {}
    with open_bundled(_FILE) as fh:
        for row in csv.DictReader(fh):
            key = (row["iso3"], Setting(row["setting"]))
            mat = found.get(key)
            if mat is None:
                mat = found[key] = np.zeros((n, n))
            mat[index[row["age_of_individual"]], index[row["age_of_contact"]]] = float(
                row["mean_daily_contacts"]
            )
    for mat in found.values():
        mat.setflags(write=False)
    return MappingProxyType(found)


@cache
def countries_with_matrices() -> frozenset[str]:
    """ISO3 codes that have a Prem et al. 2017 matrix."""
    return frozenset(iso3 for iso3, _ in _matrices())


def has_matrix(iso3: str) -> bool:
    return iso3.upper() in countries_with_matrices()


def contact_matrix(iso3: str, setting: Setting = Setting.ALL) -> npt.NDArray[np.float64]:
    """The 16x16 matrix for ``iso3`` (read-only), or ``DATA_NO_CONTACT_MATRIX``."""
    mat = _matrices().get((iso3.upper(), Setting(setting)))
    if mat is None:
        raise DoseflowError(
            "DATA_NO_CONTACT_MATRIX",
            f"no Prem et al. 2017 contact matrix for '{iso3}'",
            field="iso3",
            expected="one of the 152 countries with a matrix, or a fallback (see impact docs)",
            value=iso3,
        )
    return mat
