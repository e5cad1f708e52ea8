"""Rounding continuous shares to whole pack units without ever exceeding the pool.

Largest remainder (Hamilton): everyone gets the whole packs their share contains; the packs
the pool still holds go one each to the largest fractional remainders, never above a
participant's cap; what cannot be placed is held for the next round. Ties are broken by
the order of the participants (stable), so a re-run gives the same result.
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


def round_to_packs(
    shares: FloatArray, pack: int, cap_packs: IntArray, budget_packs: int
) -> Rounded:
    """Whole-pack doses from continuous ``shares`` (doses), at most ``budget_packs`` packs in
    all and ``cap_packs`` each."""
    in_packs = shares / pack
    whole = np.floor(in_packs + _EPS).astype(np.int64)
    base = np.maximum(np.minimum(whole, cap_packs), 0)
    remainder = in_packs - base
    fractional = remainder > _EPS
    direction = np.negative(fractional, dtype=np.int8)
    direction[whole > base] = CUT
    spare = budget_packs - int(np.add.reduce(base))
    if spare > 0:
        # the participants that may take one more pack, in participant order
        candidates = (fractional & (base < cap_packs)).nonzero()[0]
        if candidates.size > spare:
            order = (-remainder[candidates]).argsort(kind="stable")[:spare]
            candidates = candidates[order]
        base[candidates] += 1
        direction[candidates] = 1
    elif spare < 0:  # cannot happen when shares sum to at most the budget; guard anyway
        order = np.argsort(remainder, kind="stable")
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
