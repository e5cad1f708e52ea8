"""How many doses arrive in arms each day: a steady rate, or an explicit delivery schedule.

Both end as *doses administered per day per product*; the model turns them into courses with
:func:`doseflow.domain.units.course_equivalents` (a person counts as vaccinated, with the
product's full protection, once their course is complete; a two-dose course therefore needs two
doses per person).

* :class:`RateRollout`: ``doses_per_day_share`` x population doses a day from ``start_day``
  until ``supply_share`` x population doses have been given.
* :class:`DeliverySchedule`: doses of each product delivered on given days (from an allocation
  round or the ledger); delivered doses go into national stock and are administered
  first-in first-out at up to ``capacity_share`` x population doses a day (default 0.5% a day).
  Deliveries dated before day 0 are in stock on day 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import numpy.typing as npt

from doseflow.domain.errors import DoseflowError

FloatArray = npt.NDArray[np.float64]

#: Default administration capacity for delivery schedules: doses a day as a share of population.
DEFAULT_CAPACITY_SHARE = 0.005


def _check_share(name: str, value: float, *, upper: float | None = 1.0) -> None:
    if not (value >= 0.0 and (upper is None or value <= upper)) or math.isnan(value):
        raise DoseflowError(
            "IMPACT_BAD_PARAMETER",
            f"{name} must be a non-negative share" + ("" if upper is None else f" at most {upper}"),
            field=name,
            expected="a number >= 0" + ("" if upper is None else f" and <= {upper}"),
            value=value,
        )


@dataclass(frozen=True)
class RateRollout:
    """A steady rollout of one product."""

    doses_per_day_share: float
    supply_share: float
    product: str = "vaccine"
    start_day: int = 0

    def __post_init__(self) -> None:
        _check_share("doses_per_day_share", self.doses_per_day_share)
        _check_share("supply_share", self.supply_share, upper=None)
        if self.start_day < 0:
            raise DoseflowError(
                "IMPACT_BAD_PARAMETER",
                "start_day must not be negative",
                field="start_day",
                expected="a day >= 0",
                value=self.start_day,
            )

    @property
    def products(self) -> tuple[str, ...]:
        return (self.product,)

    def daily_doses(self, population: float, horizon: int) -> dict[str, FloatArray]:
        """Doses administered on each day 0..horizon-1 (a partial last day at the cap)."""
        doses = rate_daily_doses(
            np.array([self.doses_per_day_share * population]),
            np.array([self.supply_share * population]),
            np.array([self.start_day]),
            horizon,
        )
        return {self.product: doses[0]}


def rate_daily_doses(
    rate: FloatArray, supply: FloatArray, start_day: npt.NDArray[np.int64], horizon: int
) -> FloatArray:
    """Doses administered on each day 0..horizon-1 by many steady rollouts at once (one row
    each: ``rate`` doses a day from ``start_day`` until ``supply`` doses have been given).

    The rule of :meth:`RateRollout.daily_doses`, which calls it with one row: a batch of
    scenarios works out all its steady rollouts in a few NumPy passes rather than one call
    each (per-call overhead was most of the time of preparing a batch). Rows are taken a
    block at a time through one small buffer: whole-batch temporaries (megabytes, fresh pages
    from the system each time) cost more than the arithmetic."""
    n = len(rate)
    days = np.arange(horizon + 1, dtype=np.float64)
    out = np.empty((n, horizon))
    block = max(1, min(n, _BLOCK_VALUES // (horizon + 1)))
    buffer = np.empty((block, horizon + 1))
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        # doses given by the start of each day 0..horizon: none before the start, then the
        # rate until the supply is used up (the day it runs out gets the remainder)
        given = buffer[: hi - lo]
        np.subtract(days, start_day[lo:hi, None], out=given)
        given *= rate[lo:hi, None]
        np.clip(given, 0.0, supply[lo:hi, None], out=given)
        np.subtract(given[:, 1:], given[:, :-1], out=out[lo:hi])
    return out


#: Values in :func:`rate_daily_doses`'s buffer (256 KiB: stays in a core's cache).
_BLOCK_VALUES = 32_768


@dataclass(frozen=True)
class Delivery:
    """``doses`` of ``product`` available in the country on ``day`` (0 = epidemic start)."""

    day: int
    product: str
    doses: int


@dataclass(frozen=True)
class DeliverySchedule:
    """Deliveries administered first-in first-out within a daily capacity."""

    deliveries: tuple[Delivery, ...]
    capacity_share: float | None = DEFAULT_CAPACITY_SHARE
    products_order: tuple[str, ...] = ()
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.capacity_share is not None:
            _check_share("capacity_share", self.capacity_share)
        for d in self.deliveries:
            if d.doses < 0:
                raise DoseflowError(
                    "IMPACT_BAD_PARAMETER",
                    f"delivery of {d.product} on day {d.day} has negative doses",
                    field="doses",
                    expected="doses >= 0",
                    value=d.doses,
                )

    @classmethod
    def from_dated(
        cls,
        rows: Iterable[tuple[date, str, int]],
        start: date,
        capacity_share: float | None = DEFAULT_CAPACITY_SHARE,
    ) -> DeliverySchedule:
        """From (date, product code, doses) rows, e.g. an allocation round or ledger receipts."""
        return cls(
            tuple(Delivery((d - start).days, p, int(n)) for d, p, n in rows),
            capacity_share,
        )

    @property
    def products(self) -> tuple[str, ...]:
        seen = dict.fromkeys(self.products_order)
        seen.update(dict.fromkeys(d.product for d in self.deliveries))
        return tuple(seen)

    @property
    def total_doses(self) -> int:
        return sum(d.doses for d in self.deliveries)

    def scaled(self, factor: float) -> DeliverySchedule:
        """The same timing with every delivery multiplied by ``factor`` (fractional doses
        allowed: used to compare allocation rules that share out the same pooled deliveries)."""
        return replace(self, scale=self.scale * factor)

    def daily_doses(self, population: float, horizon: int) -> dict[str, FloatArray]:
        """Doses administered per product on each day 0..horizon-1."""
        factor = self.scale
        products = self.products
        arrivals = np.zeros((len(products), horizon))
        col = {p: i for i, p in enumerate(products)}
        for d in self.deliveries:
            if d.day < horizon:
                arrivals[col[d.product], max(d.day, 0)] += d.doses * factor
        if self.capacity_share is None:
            return {p: arrivals[i] for p, i in col.items()}
        # A first-in first-out queue served at a constant capacity c (Lindley's recursion in
        # closed form): backlog B(t) = S(t) - min(0, min_{u<=t} S(u)), S(t) = sum(arrivals - c).
        capacity = self.capacity_share * population
        total = arrivals.sum(axis=0)
        surplus = np.cumsum(total - capacity)
        backlog = surplus - np.minimum(0.0, np.minimum.accumulate(surplus))
        given = np.cumsum(total) - backlog  # doses administered by the end of each day
        # which doses those were: arrivals in order (day, then product order), first in first out
        blocks = arrivals.T.ravel()  # day-major
        ends = np.concatenate([[0.0], np.cumsum(blocks)])
        out = np.empty_like(arrivals)
        for k in range(len(products)):
            own = np.where(np.arange(blocks.size) % len(products) == k, blocks, 0.0)
            own_ends = np.concatenate([[0.0], np.cumsum(own)])
            out[k] = np.diff(np.interp(given, ends, own_ends), prepend=0.0)
        return {p: out[i] for p, i in col.items()}


Rollout = RateRollout | DeliverySchedule
