"""Random streams keyed by identity, drawn for the whole horizon up front.

Each stream is derived from (seed, kind, code), e.g. ("lane", "DLC>PRK-NS"), through a
stable hash (BLAKE2b of the text: Python's ``hash`` changes between processes) and
``numpy.random.SeedSequence(entropy=seed, spawn_key=...)``. A stream's numbers depend on
nothing else, so adding a lane or changing one lane's distribution leaves every other
stream's draws unchanged. Draws have shape (replications, days): NumPy fills them row by
row, so replication r's row is the same whatever the number of replications.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from doseflow.domain.errors import DoseflowError

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def stable_hash(text: str) -> int:
    """A 64-bit hash of ``text`` that is the same in every process and on every machine."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def stream(seed: int, kind: str, code: str) -> np.random.Generator:
    """The random stream of the entity ``code`` of ``kind`` (lane, store, demand) in a run
    with ``seed``."""
    sequence = np.random.SeedSequence(
        entropy=seed, spawn_key=(stable_hash(kind), stable_hash(code))
    )
    return np.random.Generator(np.random.PCG64(sequence))


class Distribution(StrEnum):
    FIXED = "fixed"
    UNIFORM = "uniform"
    TRIANGULAR = "triangular"


@dataclass(frozen=True)
class LeadTime:
    """A lane's lead time in days: ``fixed`` (``low``), ``uniform`` on [low, high] or
    ``triangular`` (low, mode, high). A draw is rounded up to whole days (a shipment
    arrives on the day it gets there)."""

    distribution: Distribution
    low: float
    high: float | None = None
    mode: float | None = None

    def __post_init__(self) -> None:
        high = self.low if self.high is None else self.high
        mode = self.low if self.mode is None else self.mode
        ok = 0 <= self.low <= high and (
            self.distribution is not Distribution.TRIANGULAR or self.low <= mode <= high
        )
        if self.distribution is not Distribution.FIXED and self.high is None:
            ok = False
        if self.distribution is Distribution.TRIANGULAR and self.mode is None:
            ok = False
        if not ok:
            raise DoseflowError(
                "SIMULATION_BAD_LEAD_TIME",
                f"lead time {self.distribution.value}: low={self.low}, mode={self.mode}, "
                f"high={self.high} is not a distribution of days",
                field="lead_time",
                expected="0 <= low <= mode <= high (high for uniform and triangular, "
                "mode for triangular)",
                value=f"{self.low}/{self.mode}/{self.high}",
            )

    @classmethod
    def fixed(cls, days: float) -> LeadTime:
        return cls(Distribution.FIXED, days)

    def draw(self, generator: np.random.Generator, replications: int, days: int) -> IntArray:
        """Lead times for a dispatch on each day of each replication, whole days rounded up:
        shape (replications, days)."""
        shape = (replications, days)
        if self.distribution is Distribution.FIXED:
            raw = np.full(shape, self.low, dtype=np.float64)
        elif self.distribution is Distribution.UNIFORM:
            assert self.high is not None
            raw = generator.uniform(self.low, self.high, size=shape)
        else:
            assert self.high is not None
            assert self.mode is not None
            if self.low == self.high:
                raw = np.full(shape, self.low, dtype=np.float64)
            else:
                raw = generator.triangular(self.low, self.mode, self.high, size=shape)
        return np.ceil(raw - 1e-9).astype(np.int64)


def bernoulli_days(
    generator: np.random.Generator, probability: float, replications: int, days: int
) -> BoolArray:
    """Whether an event happens on each day: independent, with ``probability`` per day."""
    return generator.random((replications, days)) < probability


def poisson_counts(
    generator: np.random.Generator, rate: float, replications: int, days: int
) -> IntArray:
    """How many events happen on each day, Poisson with ``rate`` per day."""
    return generator.poisson(rate, size=(replications, days)).astype(np.int64)


def outage_days(
    generator: np.random.Generator,
    per_year: float,
    duration: int,
    replications: int,
    days: int,
) -> BoolArray:
    """Days without power: an outage starts on a day with probability ``per_year / 365``
    and lasts ``duration`` days (overlapping outages merge)."""
    starts = bernoulli_days(generator, per_year / 365.0, replications, days)
    out = np.zeros((replications, days), dtype=np.bool_)
    for offset in range(max(duration, 0)):
        out[:, offset:] |= starts[:, : days - offset] if offset < days else False
    return out
