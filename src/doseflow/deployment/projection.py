"""Projected coverage by group and region over time, from a plan's administration schedule.

The schedule is the one the planner used to check expiry (see
:mod:`doseflow.deployment.schedule`). Within a region, people are reached in the order the
strategy serves groups (a priority level before the next; groups of one level pro rata),
so a priority group's coverage rises first. Coverage is people over the group's target
population (not over the coverage target).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from doseflow.deployment.result import DeploymentPlan
from doseflow.deployment.schedule import administer

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CoverageProjection:
    """People reached by day: ``started``/``completed`` are (regions, groups, days) counts
    of people with a first dose / a complete course; ``second_doses_unplanned`` counts, per
    day, later doses falling due that the plan did not reserve (to come from new supply)."""

    start: date
    target: npt.NDArray[np.int64]
    started: F64
    completed: F64
    second_doses_unplanned: F64
    group_names: tuple[str, ...]
    region_codes: tuple[str, ...]

    @property
    def days(self) -> int:
        return int(self.started.shape[2])

    def dates(self, step: int = 1) -> list[date]:
        return [self.start + timedelta(days=d) for d in range(0, self.days, step)]

    def by_group(self, *, complete: bool = False) -> F64:
        """National coverage of each group's target population, (groups, days)."""
        people = (self.completed if complete else self.started).sum(axis=0)
        target = np.maximum(self.target.sum(axis=0), 1)
        out: F64 = people / target[:, None]
        return out

    def by_region(self, *, complete: bool = False) -> F64:
        """Coverage of all priority groups together in each region, (regions, days)."""
        people = (self.completed if complete else self.started).sum(axis=1)
        target = np.maximum(self.target.sum(axis=1), 1)
        out: F64 = people / target[:, None]
        return out

    def rows(self, step: int = 7) -> list[tuple[date, str, str, float, float]]:
        """(date, region, group, started share, completed share) every ``step`` days."""
        out = []
        tgt = np.maximum(self.target, 1)
        for d in range(0, self.days, step):
            day = self.start + timedelta(days=d)
            for r, region in enumerate(self.region_codes):
                for g, group in enumerate(self.group_names):
                    out.append(
                        (
                            day,
                            region,
                            group,
                            float(self.started[r, g, d] / tgt[r, g]),
                            float(self.completed[r, g, d] / tgt[r, g]),
                        )
                    )
        return out


def project_coverage(plan: DeploymentPlan) -> CoverageProjection:
    """Coverage over the plan's simulated days (horizon plus the longest course)."""
    inp = plan.input
    n_r, n_g = plan.target.shape
    days = plan.sim_days
    capacity = np.repeat(
        np.array([r.doses_per_day for r in inp.regions], dtype=np.int64)[:, None], days, axis=1
    )
    arrival = np.array([r.lead_days for r in inp.regions], dtype=np.int64)
    started = np.zeros((n_r, n_g, days), dtype=np.float64)
    completed = np.zeros((n_r, n_g, days), dtype=np.float64)
    unplanned = np.zeros(days, dtype=np.float64)
    for pp in plan.products:
        kp = pp.policy.doses_per_person
        people = pp.people.sum(axis=1)
        given = administer(people, kp, pp.policy.interval_days, capacity, arrival)
        capacity = given.capacity_left
        first = np.cumsum(given.full(0), axis=1).astype(np.float64)
        full = (
            np.cumsum(given.full(kp - 1), axis=1).astype(np.float64)
            if kp == pp.policy.doses_per_course
            else np.zeros_like(first)
        )
        if kp < pp.policy.doses_per_course and pp.policy.interval_days < days:
            due = given.by_dose[0].sum(axis=0)[: days - pp.policy.interval_days]
            unplanned[pp.policy.interval_days :] += np.cumsum(due)
        for reached, out in ((first, started), (full, completed)):
            before = np.zeros_like(reached)
            for level in plan.levels:
                cols = list(level)
                cells = pp.people[:, cols].astype(np.float64)
                total = cells.sum(axis=1)
                take = np.clip(reached - before, 0.0, total[:, None])
                with np.errstate(divide="ignore", invalid="ignore"):
                    part = np.where(total[:, None] > 0, cells / total[:, None], 0.0)
                out[:, cols, :] += part[:, :, None] * take[:, None, :]
                before = before + take
    return CoverageProjection(
        start=inp.start,
        target=plan.target,
        started=started,
        completed=completed,
        second_doses_unplanned=unplanned,
        group_names=tuple(g.name for g in inp.groups),
        region_codes=tuple(r.code for r in inp.regions),
    )
