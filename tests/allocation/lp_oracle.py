"""The lexicographic max-min sharing of several pools, by repeated linear programmes.

An oracle for tests, independent of the engine's method: maximise the common level ``t``
(HiGHS), then find the participants that cannot rise above it (maximise each one's total
with everyone else held at the level) and fix them; repeat until everyone is fixed.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog

FloatArray = npt.NDArray[np.float64]


def lex_max_min(
    supply: FloatArray,
    slopes: FloatArray,
    starts: FloatArray,
    ceilings: FloatArray,
    edge_caps: FloatArray,
) -> FloatArray:
    """Courses per participant (totals) of the lexicographic max-min sharing."""
    n, k = edge_caps.shape
    rows, cols = np.nonzero(edge_caps > 0)
    m = rows.size
    caps = np.minimum(ceilings, edge_caps.sum(axis=1))
    fixed: dict[int, float] = {i: 0.0 for i in range(n) if caps[i] <= 0}
    inc = np.zeros((n, m))
    inc[rows, np.arange(m)] = 1.0
    pool_rows = np.zeros((k, m))
    pool_rows[cols, np.arange(m)] = 1.0
    bounds = [(0.0, float(edge_caps[r, c])) for r, c in zip(rows, cols, strict=True)]

    def solve(c: FloatArray, extra: list[tuple[FloatArray, float]], with_t: bool) -> FloatArray:
        width = m + (1 if with_t else 0)
        a_ub = [np.pad(pool_rows[p], (0, width - m)) for p in range(k)]
        b_ub = list(supply)
        for i in range(n):
            a_ub.append(np.pad(inc[i], (0, width - m)))
            b_ub.append(float(caps[i]))
        for i, v in fixed.items():
            a_ub.append(-np.pad(inc[i], (0, width - m)))
            b_ub.append(-v * (1 - 1e-9))
        for row, rhs in extra:
            a_ub.append(row)
            b_ub.append(rhs)
        res = linprog(
            c,
            A_ub=np.array(a_ub),
            b_ub=np.array(b_ub),
            bounds=bounds + ([(None, None)] if with_t else []),
            method="highs",
        )
        assert res.status == 0, res.message
        return np.asarray(res.x, dtype=np.float64)

    while len(fixed) < n:
        active = [i for i in range(n) if i not in fixed]
        # maximise t: total_i >= slope_i * (t - start_i) for every active i
        extra = []
        for i in active:
            row = np.append(-inc[i], slopes[i])
            extra.append((row, float(slopes[i] * starts[i])))
        c = np.zeros(m + 1)
        c[-1] = -1.0
        t = float(solve(c, extra, True)[-1])
        need = {i: max(0.0, float(slopes[i] * (t - starts[i]))) for i in active}
        held = [
            (np.where(np.arange(n)[:, None] == j, -inc, 0.0).sum(axis=0), -need[j] * (1 - 1e-9))
            for j in active
        ]
        frozen = []
        for i in active:
            best = -float(solve(-inc[i], held, False) @ inc[i])
            if -best <= need[i] + 1e-6 * max(1.0, need[i]):
                frozen.append(i)
        if not frozen:  # numerical safety: the lowest level's participants
            frozen = active
        for i in frozen:
            fixed[i] = min(need[i], float(caps[i]))
    return np.array([fixed[i] for i in range(n)])
