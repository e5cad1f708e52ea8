"""Whole-number shares: split a supply in proportion to weights, none above its demand.

This is water-filling in integers. Each cell ``c`` gets ``min(demand_c, λ·weight_c)`` for
the one level ``λ`` that uses the supply (or every demand is met); the fractions left by
rounding down are handed out one by one, largest fraction first (ties: lowest index), so
the shares always add up exactly to ``min(supply, total demand)`` and never exceed a demand.
Only exact integer sums and element-by-element float arithmetic are used, so a plain Python
loop (the benchmark's baseline) computes the very same shares.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def share_rows(supply: I64, demand: I64, weight: I64) -> I64:
    """Split ``supply[i]`` across the cells of row ``i`` (every row independently).

    ``demand`` and ``weight`` are ``(rows, cells)`` arrays of whole numbers; a cell with no
    weight or no demand gets nothing.
    """
    demand = np.asarray(demand, dtype=np.int64)
    weight = np.asarray(weight, dtype=np.int64)
    rows, cells = demand.shape
    x = np.zeros((rows, cells), dtype=np.int64)
    active = (demand > 0) & (weight > 0)
    left = np.asarray(supply, dtype=np.int64).copy()
    wf = weight.astype(np.float64)
    while True:
        wsum = np.where(active, weight, 0).sum(axis=1)
        live = (left > 0) & (wsum > 0)
        if not live.any():
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            q = (left.astype(np.float64)[:, None] * wf) / wsum.astype(np.float64)[:, None]
        cand = active & live[:, None]
        hit = cand & (q >= demand)
        hit_rows = hit.any(axis=1)
        if hit_rows.any():
            x = np.where(hit, demand, x)
            left = left - np.where(hit, demand, 0).sum(axis=1)
            active &= ~hit
        done_rows = live & ~hit_rows
        if done_rows.any():
            fin = cand & done_rows[:, None]
            floor_q = np.floor(np.where(fin, q, 0.0))
            base = floor_q.astype(np.int64)
            x = x + base
            rem = np.where(done_rows, left - base.sum(axis=1), 0)
            frac = np.where(fin, q - floor_q, 0.0)
            key = np.where(fin, -frac, np.inf)
            order = np.argsort(key, axis=1, kind="stable")
            rank = np.empty_like(order)
            np.put_along_axis(rank, order, np.arange(cells)[None, :], axis=1)
            give = fin & (rank < rem[:, None])
            x = x + give
            leftover = rem - give.sum(axis=1)
            for row in np.flatnonzero(leftover):  # float rounding only; practically never
                _settle(x[row], demand[row], frac[row], fin[row], int(leftover[row]))
            left = np.where(done_rows, 0, left)
            active &= ~done_rows[:, None]
    return x


def _settle(x: I64, demand: I64, frac: F64, cells: npt.NDArray[np.bool_], rem: int) -> None:
    """Hand out (``rem`` > 0) or take back (``rem`` < 0) single units after rounding."""
    idx = [int(i) for i in np.flatnonzero(cells)]
    while rem > 0:
        moved = False
        for i in sorted(idx, key=lambda i: (-frac[i], i)):
            if rem and x[i] < demand[i]:
                x[i] += 1
                rem -= 1
                moved = True
        if not moved:
            return
    while rem < 0:
        moved = False
        for i in sorted(idx, key=lambda i: (frac[i], i)):
            if rem and x[i] > 0:
                x[i] -= 1
                rem += 1
                moved = True
        if not moved:
            return


def share(supply: int, demand: I64, weight: I64) -> I64:
    """Split one ``supply`` across the cells of a flat array (see :func:`share_rows`)."""
    d = np.asarray(demand, dtype=np.int64)
    out = share_rows(
        np.array([supply], dtype=np.int64), d.reshape(1, -1), np.asarray(weight).reshape(1, -1)
    )
    return out.reshape(d.shape)


def share_by_levels(budget: I64, demand: I64, weight: I64, levels: Sequence[Sequence[int]]) -> I64:
    """Split each region's ``budget`` over its groups, level by level.

    ``levels`` lists group indexes in serving order (one level per priority rank, or a
    single level holding every group); a level is served fully before the next gets any.
    """
    left = np.asarray(budget, dtype=np.int64).copy()
    x = np.zeros(demand.shape, dtype=np.int64)
    for level in levels:
        cols = np.asarray(level, dtype=np.intp)
        part = share_rows(left, demand[:, cols], weight[:, cols])
        x[:, cols] = part
        left = left - part.sum(axis=1)
    return x


def share_with_room(
    supply: int, demand: I64, weight: I64, levels: Sequence[Sequence[int]], room: I64
) -> I64:
    """Split a national ``supply`` over (region, group) cells, level by level, with each
    region taking no more than its ``room`` in total.

    Within a level the cells are water-filled together; a region whose share would exceed
    its room is held at its room (its groups split by :func:`share_rows`) and the rest of
    the supply is shared again among the others, whose level can only rise. What a level
    cannot use passes to the next.
    """
    x = np.zeros(demand.shape, dtype=np.int64)
    room = np.asarray(room, dtype=np.int64).copy()
    left = int(supply)
    for level in levels:
        cols = np.asarray(level, dtype=np.intp)
        dem = demand[:, cols]
        wgt = weight[:, cols]
        free = (room > 0) & (dem.sum(axis=1) > 0)
        while left > 0 and free.any():
            idx = np.flatnonzero(free)
            y = share(left, dem[idx], wgt[idx])
            tot = y.sum(axis=1)
            over = tot > room[idx]
            if not over.any():
                x[idx[:, None], cols] += y
                left -= int(tot.sum())
                room[idx] -= tot
                break
            held = idx[over]
            z = share_rows(room[held], dem[held], wgt[held])
            x[held[:, None], cols] += z
            used = z.sum(axis=1)
            left -= int(used.sum())
            room[held] -= used
            free[held] = False
    return x
