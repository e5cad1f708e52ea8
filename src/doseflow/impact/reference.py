"""The accuracy check: the same equations solved by SciPy's LSODA at tight tolerances.

:func:`reference_deaths` integrates one scenario with ``scipy.integrate.solve_ivp`` using the
very right-hand side the fast integrator uses (a batch of one), so the two differ only in how
they integrate. Vaccination rates change at whole days; the solve runs day by day-boundary as
one call with those times as ``t_eval`` and ``max_step`` of a day, so LSODA never steps over
a change unawares.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.integrate import solve_ivp

from doseflow.impact.model import compile_batch
from doseflow.impact.scenario import Scenario

FloatArray = npt.NDArray[np.float64]

REFERENCE_RTOL = 1e-10
REFERENCE_ATOL = 1e-6  # persons


def reference_daily_deaths(
    scenario: Scenario, *, rtol: float = REFERENCE_RTOL, atol: float = REFERENCE_ATOL
) -> FloatArray:
    """Cumulative deaths at the end of each day 0..horizon (LSODA), total over bands."""
    batch = compile_batch([scenario])
    y0 = batch.initial_state()
    shape = y0.shape
    k = batch.n_strata
    inputs = [batch.day_inputs(d) for d in range(batch.horizon)]
    out = np.empty(shape)

    def f(t: float, flat: FloatArray) -> FloatArray:
        day = min(int(t), batch.horizon - 1)
        return batch.rhs(flat.reshape(shape), inputs[day], out).ravel().copy()

    days = np.arange(batch.horizon + 1, dtype=np.float64)
    sol = solve_ivp(
        f,
        (0.0, float(batch.horizon)),
        y0.ravel(),
        method="LSODA",
        t_eval=days,
        rtol=rtol,
        atol=atol,
        max_step=1.0,
    )
    if not sol.success:  # not a user error: LSODA does not fail on these smooth equations
        raise RuntimeError(f"solve_ivp failed on {scenario.name}: {sol.message}")
    states = sol.y.T.reshape((len(days), *shape))
    return np.asarray(states[:, 4 * k].sum(axis=(1, 2)))


def reference_deaths(scenario: Scenario) -> float:
    """Deaths at the horizon by LSODA (tight tolerances)."""
    return float(reference_daily_deaths(scenario)[-1])
