"""Rounding continuous shares to whole pack units without ever exceeding the pool.

Largest remainder (Hamilton): everyone gets the whole packs their share contains; the packs
the pool still holds go one each to the largest fractional remainders, never above a
participant's cap; what cannot be placed is held for the next round. Equal remainders
(equal to within float noise, :data:`TIE`) are broken by ISO3 code (the participant table's
``tie_rank``), so the order of the participants in the file never matters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from doseflow.allocation.policy import CeilingRounding

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Remainders below this (in packs) are float noise, not a share of a pack.
_EPS = 1e-9

#: Remainders closer than this (in packs) are equal: shares worked out from the same
#: inputs listed in another order may differ in their last bits, and such noise must not
#: decide who gets a pack (a millionth of a pack is far below any real difference).
TIE = 1e-6


#: What is added (in packs) before taking the floor: down, nearest (half a pack or more goes
#: up) and up, each with the float-noise tolerance on the side that keeps a whole number whole.
_OFFSET = {
    CeilingRounding.DOWN: _EPS,
    CeilingRounding.NEAREST: 0.5 + _EPS,
    CeilingRounding.UP: 1.0 - _EPS,
}


def ceiling_packs(
    room: FloatArray, pack: int, rounding: CeilingRounding, *, scratch: bool = False
) -> IntArray:
    """The room under each participant's ceiling (doses) in whole packs, by the policy's
    ``rounding`` (none below zero); ``scratch`` lets it reuse ``room``.

    One function for the engine and for the explanations, so the packs an explanation
    quotes are the packs the rules used."""
    out = np.maximum(room, 0.0, out=room if scratch else None)
    out /= pack
    out += _OFFSET[CeilingRounding(rounding)]
    np.floor(out, out=out)
    return out.astype(np.int64)


#: A share holding more whole packs than the participant may take (its cap: the room left
#: under its ceiling when pools before it on the date took some), cut to that.
CUT = -2


@dataclass(frozen=True)
class Rounded:
    """Doses per participant (whole packs) and who was rounded up (+1), down (-1) or cut
    to its cap (:data:`CUT`)."""

    doses: IntArray
    direction: npt.NDArray[np.int8]


def _largest_first(remainder: FloatArray, ties: IntArray, count: int) -> IntArray:
    """Indices of the ``count`` largest of ``remainder`` (``0 < count < remainder.size``).
    Remainders within :data:`TIE` of their neighbour in size are equal: when the last one
    taken is equal to the first one left, that group is chosen from by ``ties``. One sort,
    as without ties; the tie key is looked at only when there is a tie at the cut."""
    by = np.argsort(-remainder, kind="stable")
    ordered = remainder[by]
    if ordered[count - 1] - ordered[count] > TIE:
        return by[:count]
    # a new group wherever the next remainder is smaller by more than float noise
    breaks = np.flatnonzero(ordered[:-1] - ordered[1:] > TIE)
    at = int(np.searchsorted(breaks, count - 1))  # the first break after the cut
    first = int(breaks[at - 1]) + 1 if at > 0 else 0
    last = int(breaks[at]) + 1 if at < breaks.size else by.size
    group = by[first:last]
    group = group[np.argsort(ties[group], kind="stable")]
    return np.concatenate((by[:first], group[: count - first]))


def round_to_packs(
    shares: FloatArray, pack: int, cap_packs: IntArray, budget_packs: int, ties: IntArray
) -> Rounded:
    """Whole-pack doses from continuous ``shares`` (doses), at most ``budget_packs`` packs in
    all and ``cap_packs`` each; equal remainders are ordered by ``ties`` (the participant
    table's ``tie_rank``: ISO3 order)."""
    in_packs = shares / pack
    whole = np.floor(in_packs + _EPS).astype(np.int64)
    base = np.maximum(np.minimum(whole, cap_packs), 0)
    remainder = in_packs - base
    fractional = remainder > _EPS
    direction = np.negative(fractional, dtype=np.int8)
    direction[whole > base] = CUT
    spare = budget_packs - int(np.add.reduce(base))
    if spare > 0:
        # the participants that may take one more pack
        candidates = (fractional & (base < cap_packs)).nonzero()[0]
        if candidates.size > spare:
            order = _largest_first(remainder[candidates], ties[candidates], spare)
            candidates = candidates[order]
        base[candidates] += 1
        direction[candidates] = 1
    elif spare < 0:  # cannot happen when shares sum to at most the budget; guard anyway
        # smallest remainders first (equal within TIE: the last in ISO3 order first)
        by = np.argsort(remainder, kind="stable")
        steps = np.cumsum(np.diff(remainder[by]) > TIE)
        group = np.empty(by.size, dtype=np.int64)
        group[by] = np.concatenate(([0], steps))
        order = np.lexsort((-ties, group))
        taken = 0
        for i in order:
            if taken == -spare:
                break
            if base[i] > 0:
                base[i] -= 1
                direction[i] = -1
                taken += 1
    base *= pack
    return Rounded(base, direction)
