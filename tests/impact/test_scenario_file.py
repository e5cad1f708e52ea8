from __future__ import annotations

from pathlib import Path

import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.impact import DeliverySchedule, EfficacyMode, RateRollout
from doseflow.impact.scenario_file import load_scenario, parse_scenario, parse_sweep


def test_country_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "prk.yaml"
    path.write_text(
        "country: PRK\nbands: 0,10,20,30,40,50,60,70,80\nr0: 2.0\nrefusal: 0.2\n"
        "vaccines:\n  - {code: AZ, efficacy_infection: 0.7, efficacy_death: 0.95,"
        " mode: all-or-nothing}\n"
        "rollout:\n  start: 2021-03-01\n  capacity_share: 0.004\n  deliveries:\n"
        "    - {date: 2021-03-10, doses: 1000000}\n    - {day: 40, doses: 500000}\n"
        "strategy: ordered:60+,40-59\n"
    )
    sc = load_scenario(path)
    assert sc.r0 == 2.0
    assert len(sc.bands) == 9
    assert sc.vaccines[0].mode is EfficacyMode.ALL_OR_NOTHING
    assert isinstance(sc.rollout, DeliverySchedule)
    assert [d.day for d in sc.rollout.deliveries] == [9, 40]
    assert sc.strategy.groups == ("60+", "40-59")


def test_custom_scenario_file() -> None:
    sc = parse_scenario(
        "custom:\n  population: [600000, 300000, 100000]\n"
        "  contacts: [[8, 3, 1], [3, 6, 2], [1, 2, 3]]\n"
        "bands: 0-19,20-59,60+\nrollout: {doses_per_day_share: 0.01, supply_share: 0.3}\n"
    )
    assert sc.bands.labels == ("0-19", "20-59", "60+")
    assert isinstance(sc.rollout, RateRollout)


def test_sweep_file() -> None:
    grid = parse_sweep(
        "countries: [NGA, PRK]\nr0: [1.5, 2.5]\nsupply_shares: [0.1]\n"
        "doses_per_day_shares: [0.005]\nstrategies: [older-first, proportional]\n"
    )
    assert grid.size == 8


def test_bad_file_error_names_line_field_and_value() -> None:
    with pytest.raises(DoseflowError) as err:
        parse_scenario(
            "country: NGA\nr0: 2\nvaccines:\n  - {code: AZ, efficacy_infection: 2}\n", "s.yaml"
        )
    detail = err.value.detail
    assert err.value.code == "IMPACT_BAD_FILE"
    assert detail.location.source == "s.yaml"
    assert detail.location.line == 4
    assert detail.location.field == "vaccines[0].efficacy_infection"
    assert detail.value == 2
    assert "less than or equal to 1" in str(err.value)


def test_country_or_custom_is_required() -> None:
    with pytest.raises(DoseflowError) as err:
        parse_scenario("r0: 2\n", "s.yaml")
    assert err.value.code == "IMPACT_BAD_FILE"
    assert "either 'country'" in str(err.value)


@pytest.mark.parametrize(
    ("delivery", "field", "expected"),
    [
        ("{day: 40, doses: true}", "doses", "not true or false"),
        ('{day: 40, doses: "12"}', "doses", "whole number"),
        ("{day: 40, doses: 10000000000000000000000000000000}", "doses", "1,000,000,000,000"),
        ("{date: 9999-12-31, doses: 10}", "date", "2000-01-01 to 2099-12-31"),
        ("{date: 0001-01-01, doses: 10}", "date", "2000-01-01 to 2099-12-31"),
    ],
)
def test_bounds_on_impact_deliveries(delivery: str, field: str, expected: str) -> None:
    text = f"country: NGA\nrollout:\n  start: 2021-03-01\n  deliveries:\n    - {delivery}\n"
    with pytest.raises(DoseflowError) as err:
        parse_scenario(text, "s.yaml")
    # the rollout is one of two shapes: the schedule's problem is among those reported
    (detail,) = [d for d in err.value if d.location.field == f"rollout.deliveries[0].{field}"]
    assert expected in (detail.expected or "")


@pytest.mark.parametrize(("r0", "expected"), [("true", "not true"), ('"2.5"', "not text")])
def test_rates_must_be_written_as_numbers(r0: str, expected: str) -> None:
    with pytest.raises(DoseflowError) as err:
        parse_scenario(f"country: NGA\nr0: {r0}\n", "s.yaml")
    assert err.value.detail.location.field == "r0"
    assert expected in (err.value.detail.expected or "")


FULL = """\
custom:
  name: island
  population: [600000, 300000, 100000]
  contacts: [[8, 3, 1], [3, 6, 2], [1, 2, 3]]
bands: 0-19,20-59,60+
r0: 1.8
latent_days: 3
infectious_days: 6
susceptibility: [0.5, 1, 1]
ifr: [0.0001, 0.002, 0.05]
life_expectancy: [60, 35, 12]
refusal: 0.15
horizon_days: 200
initial:
  unit: share
  exposed: 0.0025
  infectious: 0.0025
  recovered: [0.05, 0.1, 0.2]
  vaccinated: [0, 0, 0.1]
vaccines:
  - {code: AZ, efficacy_infection: 0.7, efficacy_death: 0.95}
rollout: {doses_per_day_share: 0.01, supply_share: 0.3, start_day: 10}
strategy: ordered:[0-19,60+],rest;spill=everyone
"""


def test_a_file_says_everything_the_api_can() -> None:
    sc = parse_scenario(FULL, "full.yaml")
    assert sc.name == "island"
    assert list(sc.life_expectancy) == [60, 35, 12]
    assert list(sc.susceptibility) == [0.5, 1, 1]
    assert (sc.latent_days, sc.infectious_days, sc.horizon_days) == (3, 6, 200)
    assert sc.initial is not None
    counts = sc.initial_counts()
    assert list(counts[2]) == [30000, 30000, 20000]
    assert list(counts[3]) == [0, 0, 10000]
    assert sc.strategy.groups == ("[0-19,60+]", "rest")
    assert isinstance(sc.rollout, RateRollout)
    assert sc.rollout.start_day == 10


def test_initial_counts_in_a_country_file() -> None:
    sc = parse_scenario(
        "country: NGA\nbands: 0,20,40,60\nlife_expectancy: [60, 40, 25, 10]\n"
        "initial: {unit: people, infectious: [100, 100, 50, 10], exposed: 200}\n"
    )
    assert list(sc.initial_counts()[1]) == [100, 100, 50, 10]
    assert list(sc.initial_counts()[0]) == [200] * 4
    assert list(sc.life_expectancy) == [60, 40, 25, 10]


def test_initial_that_does_not_fit_is_located_in_the_file() -> None:
    text = FULL.replace("recovered: [0.05, 0.1, 0.2]", "recovered: [0.05, 0.1, 0.95]")
    with pytest.raises(DoseflowError) as err:
        parse_scenario(text, "full.yaml")
    detail = err.value.detail
    assert detail.code == "IMPACT_BAD_INITIAL"
    assert detail.location.source == "full.yaml"
    assert detail.location.field == "initial[2]"
    assert detail.location.line == 14  # the 'initial:' entry
    text = FULL.replace("exposed: 0.0025", "exposed: [0.1, 0.1]")
    with pytest.raises(DoseflowError) as err:
        parse_scenario(text, "full.yaml")
    assert err.value.detail.location.field == "initial.exposed"
    assert err.value.detail.location.line == 16


def test_initial_and_initial_infected_together_are_refused() -> None:
    with pytest.raises(DoseflowError) as err:
        parse_scenario("country: NGA\ninitial_infected: 0.001\ninitial: {infectious: 0.001}\n")
    assert err.value.code == "IMPACT_BAD_FILE"
    assert err.value.detail.location.field == "initial_infected"
    assert err.value.detail.location.line == 2


def test_contact_proxy_with_custom_contacts_is_refused() -> None:
    text = FULL.replace("bands:", "contact_proxy: KOR\nbands:")
    with pytest.raises(DoseflowError) as err:
        parse_scenario(text, "full.yaml")
    assert err.value.detail.location.field == "contact_proxy"


def test_two_vaccines_with_one_code_are_refused() -> None:
    """A rollout names a vaccine by its code: a second profile with the same code could
    never be used, so it is refused rather than ignored."""
    with pytest.raises(DoseflowError) as err:
        parse_scenario(
            "country: NGA\nvaccines:\n  - {code: AZ, efficacy_infection: 0.6}\n"
            "  - {code: AZ, efficacy_infection: 0.8}\n",
            "s.yaml",
        )
    assert err.value.code == "IMPACT_DUPLICATE_VACCINE"
    assert "AZ" in str(err.value)
