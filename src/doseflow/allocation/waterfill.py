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
    floors: FloatArray | None,
    caps: FloatArray,
    *,
    checked: bool = False,
) -> Fill:
    """Share ``total`` so every participant is at the same level, within floors and caps.

    ``floors`` are clipped to ``caps`` (``None``: no floors); a participant with ``slope`` 0
    receives its floor only. ``checked`` skips clipping when the caller guarantees
    ``0 <= floors <= caps`` and that every cap is finite. When ``total`` cannot cover every
    floor, the result gives equal quantities up to each floor (``floors_met`` False, level
    ``-inf``); when it exceeds every cap, every cap.

    Written for many small pools (a year of weekly tranches): every step is one NumPy
    call on whole arrays, and no call is made twice.
    """
    if not checked:
        caps = np.maximum(caps, 0.0)
        if floors is not None:
            floors = np.minimum(np.maximum(floors, 0.0), caps)
    floor_sum = float(_sum(floors)) if floors is not None else 0.0
    if total >= float(_sum(caps)):
        return Fill(caps.copy(), float("inf"), True)
    if floors is not None and total < floor_sum:
        ones = np.ones_like(floors)
        share = water_fill(total, ones, np.zeros_like(floors), None, floors)
        return Fill(share.quantities, float("-inf"), False)
    if not floor_sum:
        floors = None
    movable = (slopes > 0) & (caps > floors if floors is not None else caps > 0.0)
    active = movable.nonzero()[0]
    s = slopes[active]
    start = starts[active]
    cap = caps[active]
    floor = floors[active] if floors is not None else None
    lo = start + floor / s if floor is not None else start
    hi = start + cap / s
    if not checked and not np.isfinite(hi).all():
        # an unlimited cap is a kink beyond any level the total can reach
        reach = float(np.max(lo)) + total / float(s.min()) + 1.0
        hi = np.where(np.isfinite(hi), hi, reach)
    m = s.size
    if m >= BRACKET_FROM:
        points, slope_after, at_points = _bracketed(total, floor_sum, s, lo, hi)
    else:
        points, slope_after, at_points = _kinks(s, lo, hi)
        if floor_sum:
            at_points += floor_sum
    k = int(at_points.searchsorted(total, side="right")) - 1
    if k < 0:
        level = float(points[0])
    else:
        rate = float(slope_after[k])
        level = float(points[k]) + ((total - float(at_points[k])) / rate if rate > 0 else 0.0)
    if floor is None:
        quantities = np.zeros(caps.size, dtype=np.float64)
        quantities[active] = np.minimum(cap, np.maximum(0.0, s * (level - start)))
    else:
        assert floors is not None
        quantities = floors.copy()
        quantities[active] = np.minimum(cap, np.maximum(floor, s * (level - start)))
    return Fill(quantities, level, True)


_sum = np.add.reduce

#: From this many participants that can move, the kinks are first narrowed by bisection.
BRACKET_FROM = 20_000
_BRACKET_KINKS = 4_096


def _kinks(
    s: FloatArray, lo: FloatArray, hi: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The kinks sorted, the slope after each and the total above the floors at each, for
    participants entering at ``lo`` and leaving at ``hi``."""
    m = s.size
    points = np.concatenate((lo, hi))
    changes = np.concatenate((s, -s))
    order = points.argsort(kind="stable")
    points = points[order]
    slope_after = changes[order].cumsum()
    # total allocated at each kink: the area under the slope so far
    at_points = np.empty(2 * m, dtype=np.float64)
    at_points[0] = 0.0
    if m:
        (slope_after[:-1] * (points[1:] - points[:-1])).cumsum(out=at_points[1:])
    return points, slope_after, at_points


def _bracketed(
    total: float,
    floor_sum: float,
    s: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """:func:`_kinks` for many participants: a few bisection steps on the level (each one
    pass over the participants) narrow ``[a, b]`` until few kinks lie inside, and only
    those are sorted (sorting all ``2m`` kinks is most of the time for 100,000
    participants). The first point returned is ``a``, with the total there computed
    directly and the slope of the participants moving just after it."""
    a = float(lo.min())
    b = float(hi.max())
    span = hi - lo
    gain = np.empty_like(lo)
    # plain NumPy passes, no BLAS call: a threaded dot product stalls on a busy machine
    for step in range(48):
        mid = 0.5 * (a + b)
        if not a < mid < b:
            break
        np.subtract(mid, lo, out=gain)
        np.maximum(gain, 0.0, out=gain)
        np.minimum(gain, span, out=gain)
        gain *= s
        if floor_sum + float(_sum(gain)) <= total:
            a = mid
        else:
            b = mid
        if step % 4 == 3:
            inside = int(np.count_nonzero((lo > a) & (lo <= b))) + int(
                np.count_nonzero((hi > a) & (hi <= b))
            )
            if inside <= _BRACKET_KINKS:
                break
    base = floor_sum + float(_sum(s * np.minimum(np.maximum(a - lo, 0.0), span)))
    moving = (lo <= a) & (hi > a)
    rate = float(s[moving].sum())
    enter = (lo > a) & (lo <= b)
    leave = (hi > a) & (hi <= b)
    return _inside(s, lo, hi, enter, leave, a, base, rate)


def _inside(
    s: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    enter: npt.NDArray[np.bool_],
    leave: npt.NDArray[np.bool_],
    a: float,
    base: float,
    rate: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The kinks inside ``(a, b]`` after ``a`` itself, as :func:`_kinks` gives them."""
    points = np.concatenate(([a], lo[enter], hi[leave]))
    changes = np.concatenate(([rate], s[enter], -s[leave]))
    order = points.argsort(kind="stable")
    points = points[order]
    slope_after = changes[order].cumsum()
    at_points = np.empty(points.size, dtype=np.float64)
    at_points[0] = 0.0
    (slope_after[:-1] * (points[1:] - points[:-1])).cumsum(out=at_points[1:])
    at_points += base
    return points, slope_after, at_points
