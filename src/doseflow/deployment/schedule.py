"""When planned doses are given: a day-by-day administration schedule for every region.

Rule (the same one the coverage projection reports): a region starts on the day its
shipment arrives and gives at most its daily capacity, shared by all products in plan
order. Each day it first gives the later doses that have fallen due (second doses
``interval_days`` after the first, most advanced dose first), then first doses to the
people still waiting. The day-by-day recursion is evaluated a block of ``interval_days``
at a time: within a block the doses falling due are already known, and a queue served at
a daily capacity has a closed form (the cumulative minimum of its net input), so each
block is a handful of NumPy operations over every region at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Administration:
    """Doses of one product given per day, for the regions ``rows`` that give any.

    ``by_dose[j]`` holds dose ``j + 1`` of the course, one row per entry of ``rows``;
    ``capacity_left`` (every region) is the daily capacity still free for later products.
    """

    rows: I64
    by_dose: tuple[I64, ...]
    capacity_left: I64

    @property
    def total(self) -> I64:
        out = self.by_dose[0].copy()
        for later in self.by_dose[1:]:
            out += later
        return out

    def full(self, dose: int) -> I64:
        """Dose ``dose`` (0 = first) given per region (all regions) and day."""
        out = np.zeros(self.capacity_left.shape, dtype=np.int64)
        out[self.rows] = self.by_dose[dose]
        return out

    def used_by_day(self) -> I64:
        """Cumulative doses given up to and including each day, every region."""
        out = np.zeros(self.capacity_left.shape, dtype=np.int64)
        out[self.rows] = np.cumsum(self.total, axis=1)
        return out


def _served(backlog: I64, arrivals: I64, avail: I64) -> tuple[I64, I64]:
    """Doses served per day from a queue (start ``backlog``; ``arrivals`` per day) by a
    server giving at most ``avail`` per day; returns (served per day, backlog at the end)."""
    net = backlog[:, None] + np.cumsum(arrivals - avail, axis=1)
    queue = net - np.minimum(np.minimum.accumulate(net, axis=1), 0)
    cum_served = backlog[:, None] + np.cumsum(arrivals, axis=1) - queue
    served = np.diff(cum_served, axis=1, prepend=0)
    return served, queue[:, -1]


def administer(
    people: I64,
    doses_per_person: int,
    interval_days: int,
    capacity: I64,
    arrival: I64,
) -> Administration:
    """Give ``people[r]`` courses of ``doses_per_person`` doses in region ``r``.

    ``capacity`` is the free daily capacity, ``(regions, days)``; nothing is given before
    ``arrival[r]`` (a day index). Doses that do not fit in the days simulated stay ungiven.
    Only regions with people to vaccinate are simulated.
    """
    rows = np.flatnonzero(np.asarray(people) > 0)
    days = capacity.shape[1]
    n = len(rows)
    day_index = np.arange(days)
    opened = day_index[None, :] >= arrival[rows][:, None]
    cap_rows = capacity[rows]
    avail_all = np.where(opened, cap_rows, 0)
    given = [np.zeros((n, days), dtype=np.int64) for _ in range(doses_per_person)]
    waiting = np.asarray(people, dtype=np.int64)[rows]
    backlog = [np.zeros(n, dtype=np.int64) for _ in range(doses_per_person)]
    block = interval_days if doses_per_person > 1 else days
    block = max(1, block)
    for start in range(0, days, block):
        if n == 0:
            break
        stop = min(days, start + block)
        avail = avail_all[:, start:stop]
        for j in range(doses_per_person - 1, 0, -1):
            lo, hi = start - interval_days, stop - interval_days
            arrivals = np.zeros((n, stop - start), dtype=np.int64)
            if hi > 0:
                src = given[j - 1][:, max(lo, 0) : hi]
                arrivals[:, arrivals.shape[1] - src.shape[1] :] = src
            served, backlog[j] = _served(backlog[j], arrivals, avail)
            given[j][:, start:stop] = served
            avail = avail - served
        first = np.minimum(waiting[:, None], np.cumsum(avail, axis=1))
        first = np.diff(first, axis=1, prepend=0)
        given[0][:, start:stop] = first
        waiting = waiting - first.sum(axis=1)
        avail_all[:, start:stop] = avail - first
    left = capacity.copy()
    left[rows] = np.where(opened, avail_all, cap_rows)
    return Administration(rows=rows, by_dose=tuple(given), capacity_left=left)
