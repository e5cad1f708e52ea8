"""Shared test data for reporting: a small hierarchy and the DPR Korea surveillance case."""

from __future__ import annotations

from datetime import date

import pytest

from doseflow.reporting import (
    DEFAULT_SCHEMA,
    DataValue,
    Hierarchy,
    OrgUnit,
    SubmissionContext,
    SubmittedValue,
    build_hierarchy,
)

AS_OF = date(2021, 9, 27)


def make_hierarchy(any_country: bool = False) -> Hierarchy:
    return build_hierarchy(
        [
            OrgUnit("PRK", "DPR Korea", "PRK", ledger_nodes=("PRK-NS",)),
            OrgUnit("PRK-SPY", "South Pyongan", "PRK", "PRK", 4_051_696, ("PRK-SPY",)),
            OrgUnit("PRK-RYG", "Ryanggang", "PRK", "PRK", 719_269, ("PRK-RYG",)),
            OrgUnit("KOR", "Republic of Korea", "KOR"),
            OrgUnit("RUS", "Russian Federation", "RUS"),
        ],
        {"PRK": ["KOR", "RUS"]},
        any_country=any_country,
    )


@pytest.fixture
def hierarchy() -> Hierarchy:
    return make_hierarchy()


@pytest.fixture
def ctx(hierarchy: Hierarchy) -> SubmissionContext:
    return SubmissionContext(schema=DEFAULT_SCHEMA, hierarchy=hierarchy, as_of=AS_OF)


def sv(element: str, period: str, org_unit: str, value: object, **kw: object) -> SubmittedValue:
    return SubmittedValue(element, period, org_unit, value, **kw)  # type: ignore[arg-type]


def prk_weekly_tests() -> list[int]:
    """Weekly tests 2021W1..W38 summing to 40,700, the last week 667 (94 ILI + 573 HWs)."""
    weeks = [1050 + (i * 37) % 61 for i in range(37)]
    weeks[-1] += 40_700 - 667 - sum(weeks)
    return [*weeks, 667]


def north_korea_case(neighbour_positivity: float = 0.01) -> list[DataValue]:
    """PRK: 40,700 tests through 2021W38 (23 Sep 2021), all negative; in the last week 94
    ILI and 573 health workers. KOR and RUS: 300,000 tests a week at a given positivity
    (illustrative neighbour figures)."""
    values: list[DataValue] = []
    for week, tests in enumerate(prk_weekly_tests(), start=1):
        period = f"2021W{week}"
        values.append(DataValue("PRK", "PRK", period, "people_tested", "default", tests))
        values.append(DataValue("PRK", "PRK", period, "positives", "default", 0))
        for nb in ("KOR", "RUS"):
            values.append(DataValue(nb, nb, period, "people_tested", "default", 300_000))
            values.append(
                DataValue(nb, nb, period, "positives", "default", 300_000 * neighbour_positivity)
            )
    values.append(DataValue("PRK", "PRK", "2021W38", "ili_cases", "default", 94))
    values.append(DataValue("PRK", "PRK", "2021W38", "health_workers_tested", "default", 573))
    return values
