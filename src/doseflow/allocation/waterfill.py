"""Water-filling: the common level every participant is raised to, found by sorting.

Each participant ``i`` receives ``x_i(L) = min(cap_i, max(floor_i, slope_i * (L - start_i)))``
for a common level ``L``: in a phase-1 round ``L`` is the coverage reached (a share of
population), ``start_i`` the coverage a participant already has and ``slope_i`` the doses one
unit of coverage costs it (population x doses per course). The total ``sum x_i(L)`` is
piecewise linear and non-decreasing in ``L``, with its kinks where a participant leaves its
floor (``start_i + floor_i / slope_i``) and where it reaches its cap
(``start_i + cap_i / slope_i``). Sorting the kinks once and accumulating slopes gives the
total at every kink; the level that spends the pool exactly lies on one segment and is
found by a binary search: O(n log n), no iteration over participants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Fill:
    """The result of a fill: the quantities, the level reached and whether floors held."""

    quantities: FloatArray
    level: float  # +inf when every cap was reached; -inf when floors could not be met
    floors_met: bool


def water_fill(
    total: float,
    slopes: FloatArray,
    starts: FloatArray,
    floors: FloatArray,
    caps: FloatArray,
    *,
    checked: bool = False,
) -> Fill:
    """Share ``total`` so every participant is at the same level, within floors and caps.

    ``floors`` are clipped to ``caps``; a participant with ``slope`` 0 receives its floor
    only. ``checked`` skips clipping when the caller guarantees ``0 <= floors <= caps``.
    When ``total`` cannot cover every floor, the result gives equal quantities up to
    each floor (``floors_met`` False, level ``-inf``); when it exceeds every cap, every cap.
    """
    if not checked:
        caps = np.maximum(caps, 0.0)
        floors = np.minimum(np.maximum(floors, 0.0), caps)
    floor_sum = float(floors.sum())
    if total >= float(caps.sum()):
        return Fill(caps.copy(), float("inf"), True)
    if total < floor_sum:
        ones = np.ones_like(floors)
        share = water_fill(total, ones, np.zeros_like(floors), np.zeros_like(floors), floors)
        return Fill(share.quantities, float("-inf"), False)
    active = np.flatnonzero((slopes > 0) & (caps > floors))
    s = slopes[active]
    start = starts[active]
    lo = start + floors[active] / s if floor_sum else start
    hi = start + caps[active] / s
    # an unlimited cap is a kink beyond any level the total can reach
    reach = float(np.max(lo)) + total / float(s.min()) + 1.0 if s.size else 0.0
    hi = np.where(np.isfinite(hi), hi, reach)
    points = np.concatenate((lo, hi))
    changes = np.concatenate((s, -s))
    order = np.argsort(points, kind="stable")
    points = points[order]
    slope_after = np.cumsum(changes[order])
    # total allocated at each kink: floors plus the area under the slope so far
    gaps = np.diff(points)
    at_points = floor_sum + np.concatenate(([0.0], np.cumsum(slope_after[:-1] * gaps)))
    k = int(np.searchsorted(at_points, total, side="right")) - 1
    if k < 0:
        level = float(points[0])
    else:
        rate = float(slope_after[k])
        level = float(points[k]) + ((total - float(at_points[k])) / rate if rate > 0 else 0.0)
    quantities = floors.copy()
    quantities[active] = np.minimum(caps[active], np.maximum(floors[active], s * (level - start)))

    return Fill(quantities, level, True)
