"""Small scenarios shared by the impact tests (10-year bands, short horizons: fast)."""

from __future__ import annotations

import pytest

from doseflow.impact import AgeBands, RateRollout, Scenario, Strategy, country_scenario

TEN_YEAR = AgeBands.uniform(10, 80)


@pytest.fixture(scope="session")
def nga() -> Scenario:
    return country_scenario(
        "NGA",
        bands=TEN_YEAR,
        horizon_days=200,
        r0=2.2,
        rollout=RateRollout(0.01, 0.4),
        strategy=Strategy.parse("older-first"),
    )


@pytest.fixture(scope="session")
def prk() -> Scenario:
    return country_scenario(
        "PRK", bands=TEN_YEAR, horizon_days=200, rollout=RateRollout(0.005, 0.3)
    )
