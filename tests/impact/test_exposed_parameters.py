"""Issue 13: every model parameter the Python API takes is expressible in scenario and sweep
files and through the CLI, and every outcome (infections, symptomatic cases, deaths, years of
life lost, averted in number and in %) is reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from doseflow.cli.app import run
from doseflow.domain.errors import DoseflowError
from doseflow.impact import (
    AgeBands,
    EfficacyMode,
    Eligibility,
    ForceDenominator,
    RateRollout,
    Strategy,
    VaccineProfile,
    compare_strategies,
    custom_scenario,
    simulate,
)
from doseflow.impact.scenario_file import parse_scenario, parse_sweep
from doseflow.impact.sweep import run_chunk

EVERYTHING = """\
name: island
custom:
  population: [600000, 300000, 100000]
  contacts: [[8, 3, 1], [3, 6, 2], [1, 2, 3]]
bands: 0-19,20-59,60+
r0: 2.2
horizon_days: 200
eligibility: susceptible-recovered
denominator: living
symptomatic_fraction: [0.2, 0.45, 0.7]
vaccines:
  - code: AZ
    efficacy_infection: [0.5, 0.6, 0.4]
    efficacy_symptomatic: [0.6, 0.7, 0.6]
    efficacy_death: 0.9
    efficacy_transmission: [0.3, 0.3, 0.1]
    mode: all-or-nothing
    doses_per_course: 2
    protection_days: 180
    residual_protection: 0.25
  - code: J1
    efficacy_infection: 0.4
    efficacy_death: [0.7, 0.8, 0.85]
    efficacy_transmission: 0.2
    doses_per_course: 1
rollout: {doses_per_day_share: 0.01, supply_share: 0.3, product: J1}
strategy: older-first
"""


def _api_twin() -> object:
    return custom_scenario(
        "island",
        AgeBands.parse("0-19,20-59,60+"),
        [600000, 300000, 100000],
        [[8, 3, 1], [3, 6, 2], [1, 2, 3]],
        r0=2.2,
        horizon_days=200,
        eligibility=Eligibility.SUSCEPTIBLE_RECOVERED,
        denominator=ForceDenominator.LIVING,
        symptomatic_fraction=np.array([0.2, 0.45, 0.7]),
        vaccines=(
            VaccineProfile(
                "AZ",
                efficacy_infection=(0.5, 0.6, 0.4),
                efficacy_symptomatic=(0.6, 0.7, 0.6),
                efficacy_death=0.9,
                efficacy_transmission=(0.3, 0.3, 0.1),
                mode=EfficacyMode.ALL_OR_NOTHING,
                doses_per_course=2,
                protection_days=180,
                residual_protection=0.25,
            ),
            VaccineProfile(
                "J1",
                efficacy_infection=0.4,
                efficacy_death=(0.7, 0.8, 0.85),
                efficacy_transmission=0.2,
                doses_per_course=1,
            ),
        ),
        rollout=RateRollout(0.01, 0.3, "J1"),
        strategy=Strategy.parse("older-first"),
    )


def test_a_file_with_every_new_field_is_the_api_scenario() -> None:
    """Parity: the file and the API give the same scenario, field by field, and results."""
    from_file = parse_scenario(EVERYTHING, "everything.yaml")
    direct = _api_twin()
    assert from_file.vaccines == direct.vaccines  # type: ignore[attr-defined]
    for name in ("eligibility", "denominator", "r0", "horizon_days", "rollout", "strategy"):
        assert getattr(from_file, name) == getattr(direct, name), name
    for name in ("population", "contacts", "symptomatic_fraction", "ifr", "life_expectancy"):
        assert np.array_equal(getattr(from_file, name), getattr(direct, name)), name
    assert from_file.eligibility is Eligibility.SUSCEPTIBLE_RECOVERED
    assert from_file.vaccines[0].protection_days == 180
    a, b = simulate([from_file]), simulate([direct])  # type: ignore[list-item]
    for outcome in ("infections", "symptomatic", "deaths", "yll", "vaccinated"):
        assert np.array_equal(getattr(a, outcome), getattr(b, outcome)), outcome


def test_the_new_fields_change_the_result() -> None:
    """Not read and dropped: each field moves the outcome."""
    base = simulate([parse_scenario(EVERYTHING)])
    for old, new in (
        ("eligibility: susceptible-recovered", "eligibility: susceptible-exposed-recovered"),
        ("denominator: living", "denominator: initial"),
        ("symptomatic_fraction: [0.2, 0.45, 0.7]", "symptomatic_fraction: [0.3, 0.45, 0.7]"),
        ("efficacy_death: [0.7, 0.8, 0.85]", "efficacy_death: [0.7, 0.8, 0.95]"),
        ("efficacy_transmission: 0.2", "efficacy_transmission: 0.0"),
        ("product: J1", "product: AZ"),
    ):
        assert old in EVERYTHING
        other = simulate([parse_scenario(EVERYTHING.replace(old, new))])
        assert not np.array_equal(other.symptomatic, base.symptomatic) or not np.array_equal(
            other.deaths, base.deaths
        ), new


def test_a_per_band_efficacy_of_the_wrong_length_is_located() -> None:
    text = EVERYTHING.replace("efficacy_death: [0.7, 0.8, 0.85]", "efficacy_death: [0.7, 0.8]")
    with pytest.raises(DoseflowError) as err:
        parse_scenario(text, "everything.yaml")
    detail = err.value.detail
    assert detail.code == "IMPACT_SHAPE_MISMATCH"
    assert detail.location.source == "everything.yaml"
    assert detail.location.field == "vaccines[1].efficacy_death"
    assert detail.location.line == 23
    assert "3" in str(detail.expected)


def test_an_efficacy_out_of_range_in_a_list_is_located() -> None:
    text = EVERYTHING.replace("[0.5, 0.6, 0.4]", "[0.5, 1.6, 0.4]")
    with pytest.raises(DoseflowError) as err:
        parse_scenario(text, "everything.yaml")
    assert err.value.code == "IMPACT_BAD_FILE"
    assert len(err.value.details) == 1  # one problem, not one per form a share may take
    detail = err.value.detail
    assert detail.location.field == "vaccines[0].efficacy_infection[1]"
    assert detail.location.line == 13
    assert detail.expected == "a number <= 1"


def test_efficacy_against_death_below_infection_is_located() -> None:
    text = EVERYTHING.replace("efficacy_death: 0.9", "efficacy_death: 0.3")
    with pytest.raises(DoseflowError) as err:
        parse_scenario(text, "everything.yaml")
    detail = err.value.detail
    assert detail.code == "IMPACT_BAD_EFFICACY"
    assert detail.location.field == "vaccines[0].efficacy_death"
    assert detail.location.line == 15


def test_bad_eligibility_and_symptomatic_fraction_are_located() -> None:
    with pytest.raises(DoseflowError) as err:
        parse_scenario(EVERYTHING.replace("eligibility: susceptible-recovered", "eligibility: all"))
    assert err.value.detail.location.field == "eligibility"
    assert err.value.detail.location.line == 8
    with pytest.raises(DoseflowError) as err:
        parse_scenario(EVERYTHING.replace("[0.2, 0.45, 0.7]", "[0.2, 0.45]"))
    assert err.value.detail.code == "IMPACT_SHAPE_MISMATCH"
    assert err.value.detail.location.field == "symptomatic_fraction"
    assert err.value.detail.location.line == 10


SWEEP = """\
countries: [NGA]
populations:
  - name: island
    population: [600000, 300000, 100000]
    contacts: [[8, 3, 1], [3, 6, 2], [1, 2, 3]]
    bands: 0-19,20-59,60+
    symptomatic_fraction: [0.2, 0.45, 0.7]
bands: 0,20,60
r0: [2.0]
supply_shares: [0.2]
doses_per_day_shares: [0.01]
strategies: [older-first]
horizon_days: 150
eligibility: susceptible-recovered
denominator: living
vaccine:
  code: AZ
  efficacy_infection: [0.5, 0.6, 0.4]
  efficacy_symptomatic: 0.7
  efficacy_transmission: 0.2
  protection_days: 200
  residual_protection: 0.3
"""


def test_a_sweep_file_takes_the_new_parameters_and_reports_every_outcome() -> None:
    grid = parse_sweep(SWEEP, "sweep.yaml")
    assert grid.eligibility is Eligibility.SUSCEPTIBLE_RECOVERED
    assert grid.denominator is ForceDenominator.LIVING
    assert grid.vaccine.efficacy_infection == (0.5, 0.6, 0.4)
    assert grid.vaccine.protection_days == 200
    assert grid.populations[0].symptomatic_fraction == (0.2, 0.45, 0.7)
    frames = [run_chunk(c) for c in grid.chunks()]
    for frame in frames:
        row = frame.iloc[0]
        for outcome in ("deaths", "infections", "symptomatic", "yll"):
            averted = row[f"{outcome}_no_vaccine"] - row[outcome]
            assert row[f"{outcome}_averted"] == pytest.approx(averted)
            assert row[f"{outcome}_averted_share"] == pytest.approx(
                averted / row[f"{outcome}_no_vaccine"]
            )
            assert 0 < row[f"{outcome}_averted_share"] < 1
    other = parse_sweep(SWEEP.replace("eligibility: susceptible-recovered\n", ""))
    assert other.key() != grid.key()
    assert run_chunk(other.chunks()[0])["deaths"][0] != frames[0]["deaths"][0]


def test_a_sweep_vaccine_of_the_wrong_length_is_located() -> None:
    text = SWEEP.replace("efficacy_infection: [0.5, 0.6, 0.4]", "efficacy_infection: [0.5, 0.6]")
    with pytest.raises(DoseflowError) as err:
        parse_sweep(text, "sweep.yaml")
    detail = err.value.detail
    assert detail.code == "IMPACT_SHAPE_MISMATCH"
    assert detail.location.field == "vaccine.efficacy_infection"
    assert detail.location.line == 18


def test_comparison_reports_every_outcome_averted_and_ranks_by_any() -> None:
    sc = parse_scenario(EVERYTHING)
    comparison = compare_strategies(
        sc, [Strategy.parse(s) for s in ("older-first", "younger-first")], [0.1, 0.4]
    )
    t = comparison.table
    for outcome in ("deaths", "infections", "symptomatic", "yll"):
        share = t[f"{outcome}_averted"] / t[f"{outcome}_no_vaccine"]
        assert np.allclose(t[f"{outcome}_averted_share"], share)
    by_sym = comparison.best_by_supply("symptomatic")
    assert "symptomatic_averted" in by_sym.columns
    for row in by_sym.to_dict("records"):
        level = t[t["supply_share"] == row["supply_share"]]
        assert row["symptomatic_averted"] == level["symptomatic_averted"].max()


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "everything.yaml"
    path.write_text(EVERYTHING, encoding="utf-8")
    return path


def test_run_json_reports_every_outcome_and_the_infection_definition(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["impact", "run", str(_write(tmp_path)), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    for outcome in ("deaths", "infections", "symptomatic", "yll"):
        assert summary[f"{outcome}_averted"] == pytest.approx(
            summary[f"{outcome}_no_vaccine"] - summary[outcome]
        )
        assert summary[f"{outcome}_averted_share"] == pytest.approx(
            summary[f"{outcome}_averted"] / summary[f"{outcome}_no_vaccine"]
        )
    assert "exposed" in summary["infections_definition"]
    assert summary["eligibility"] == "susceptible-recovered"
    assert summary["denominator"] == "living"


def test_run_text_shows_symptomatic_cases_and_shares(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["impact", "run", str(_write(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "symptomatic cases" in out
    assert "% averted" in out
    assert "infections:" in out  # the definition used is printed


def test_run_options_override_eligibility_and_denominator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path)
    assert run(["impact", "run", str(path), "--json"]) == 0
    from_file = json.loads(capsys.readouterr().out)
    args = ["--eligibility", "susceptible-exposed-recovered", "--denominator", "initial"]
    assert run(["impact", "run", str(path), "--json", *args]) == 0
    overridden = json.loads(capsys.readouterr().out)
    assert overridden["eligibility"] == "susceptible-exposed-recovered"
    assert overridden["denominator"] == "initial"
    assert overridden["deaths"] != from_file["deaths"]
    assert run(["impact", "run", str(path), "--eligibility", "everyone"]) == 2
    assert "IMPACT_BAD_PARAMETER" in capsys.readouterr().err


def test_compare_table_and_csv_have_every_outcome_and_say_what_best_means(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["impact", "compare", str(_write(tmp_path)), "--supply", "0.1,0.4"]
    assert run([*args, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for heading in ("deaths", "infections", "symptomatic", "YLL", "averted by vaccination"):
        assert heading in text
    assert "best by deaths averted" in text
    import pandas as pd

    table = pd.read_csv(out / "comparison.csv")
    for outcome in ("deaths", "infections", "symptomatic", "yll"):
        assert f"{outcome}_averted" in table.columns
        assert f"{outcome}_averted_share" in table.columns
    assert run([*args, "--best-by", "yll"]) == 0
    assert "best by years of life lost averted" in capsys.readouterr().out
    assert run([*args, "--best-by", "happiness"]) == 2
    assert "IMPACT_UNKNOWN_METRIC" in capsys.readouterr().err


def test_global_comparison_reports_every_outcome_averted_and_its_share() -> None:
    from doseflow.allocation import parse_scenario as parse_allocation
    from doseflow.allocation import run_rounds
    from doseflow.impact.global_comparison import compare_allocations

    allocation = run_rounds(
        parse_allocation(
            "name: g\nproducts:\n  - {code: AZ, pack_doses: 2400, doses_per_vial: 10}\n"
            "participants:\n  - {iso3: NGA, financing: amc}\n  - {iso3: PRK, financing: amc}\n"
            "rounds:\n  - date: 2021-03-01\n    tranches:\n      - {product: AZ, doses: 4800000}\n"
        )
    )
    comparison = compare_allocations(allocation, horizon_days=120, levels=3)
    per, totals = comparison.participants, comparison.totals()
    for outcome in ("deaths", "infections", "symptomatic", "yll"):
        assert np.allclose(per[f"{outcome}_averted"], per[f"{outcome}_no_vaccine"] - per[outcome])
        assert np.allclose(
            per[f"{outcome}_averted_share"],
            per[f"{outcome}_averted"] / per[f"{outcome}_no_vaccine"],
        )
        assert np.allclose(
            totals[f"{outcome}_averted_share"],
            totals[f"{outcome}_averted"] / totals[f"{outcome}_no_vaccine"],
        )
    later = compare_allocations(
        allocation, horizon_days=120, levels=3, eligibility=Eligibility.SUSCEPTIBLE_RECOVERED
    )
    assert not np.array_equal(later.participants["infections"], per["infections"])


AXES = """\
countries: [NGA]
bands: 0,20,60
r0: [2.0]
supply_shares: [0.2]
doses_per_day_shares: [0.01]
strategies: [older-first]
horizon_days: 150
eligibility: [susceptible-exposed-recovered, susceptible-recovered]
denominator: [initial, living]
vaccines:
  - {code: weak, efficacy_infection: 0.3, efficacy_death: 0.6}
  - {code: strong, efficacy_infection: [0.7, 0.8, 0.6], efficacy_death: 0.95}
"""


def test_vaccines_eligibility_and_denominator_are_axes_of_a_sweep(tmp_path: Path) -> None:
    from doseflow.impact import run_sweep

    grid = parse_sweep(AXES, "axes.yaml")
    assert grid.size == 2 * 2 * 2
    results = run_sweep(grid, tmp_path).results
    assert len(results) == 8
    assert set(results["vaccine"]) == {"weak", "strong"}
    assert set(results["eligibility"]) == {e.value for e in Eligibility}
    assert set(results["denominator"]) == {"initial", "living"}
    # every row against its own baseline: the same for both vaccines and eligibilities
    baselines = results.groupby("denominator")["deaths_no_vaccine"].nunique()
    assert (baselines == 1).all()
    assert results.groupby("denominator")["deaths_no_vaccine"].first().nunique() == 2
    by = results.set_index(["vaccine", "eligibility", "denominator"])["deaths_averted"]
    assert (by["strong"] > by["weak"]).all()
    # each point is the scenario the API builds for it
    from doseflow.impact import ForceDenominator, country_scenario

    point = results[
        (results["vaccine"] == "strong")
        & (results["eligibility"] == "susceptible-recovered")
        & (results["denominator"] == "living")
    ].iloc[0]
    direct = country_scenario(
        "NGA",
        bands=AgeBands.parse("0,20,60"),
        r0=2.0,
        horizon_days=150,
        vaccines=grid.vaccine_axis,
        eligibility=Eligibility.SUSCEPTIBLE_RECOVERED,
        denominator=ForceDenominator.LIVING,
        rollout=RateRollout(0.01, 0.2, "strong"),
    )
    assert point["deaths"] == pytest.approx(float(simulate([direct]).deaths[0]), rel=1e-12)


def test_a_sweep_gives_one_vaccine_or_a_list_not_both() -> None:
    with pytest.raises(DoseflowError) as err:
        parse_sweep(AXES + "vaccine: {code: x}\n", "axes.yaml")
    assert err.value.detail.location.field == "vaccines"
    assert err.value.detail.location.line == 10
    text = AXES.replace("[0.7, 0.8, 0.6]", "[0.7, 0.8]")
    with pytest.raises(DoseflowError) as err:
        parse_sweep(text, "axes.yaml")
    assert err.value.detail.location.field == "vaccines[1].efficacy_infection"
    assert err.value.detail.location.line == 12
    with pytest.raises(DoseflowError) as err:
        parse_sweep(AXES.replace("[initial, living]", "[initial, dead]"), "axes.yaml")
    assert err.value.detail.location.field == "denominator[1]"
    assert err.value.detail.location.line == 9


def test_global_takes_eligibility_and_denominator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    allocation = tmp_path / "alloc.yaml"
    allocation.write_text(
        "name: g\nproducts:\n  - {code: AZ, pack_doses: 2400, doses_per_vial: 10}\n"
        "participants:\n  - {iso3: NGA, financing: amc}\n  - {iso3: PRK, financing: amc}\n"
        "rounds:\n  - date: 2021-03-01\n    tranches:\n      - {product: AZ, doses: 4800000}\n",
        encoding="utf-8",
    )
    args = ["impact", "global", str(allocation), "--levels", "3"]
    assert run([*args, "--out", str(tmp_path / "a")]) == 0
    assert "symptomatic" in capsys.readouterr().out
    assert run([*args, "--denominator", "living", "--out", str(tmp_path / "b")]) == 0
    default = pd.read_csv(tmp_path / "a" / "allocation_rules.csv")
    living = pd.read_csv(tmp_path / "b" / "allocation_rules.csv")
    assert "symptomatic_averted_share" in default.columns
    assert not np.array_equal(default["deaths"], living["deaths"])
    assert run([*args, "--eligibility", "nobody"]) == 2
    assert "IMPACT_BAD_PARAMETER" in capsys.readouterr().err


def test_sweep_command_shows_shares_averted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    grid = tmp_path / "grid.yaml"
    grid.write_text(
        "countries: [PRK]\nr0: [2.0]\nsupply_shares: [0.3]\ndoses_per_day_shares: [0.01]\n"
        "strategies: [older-first]\nbands: 0,20,40,60\nhorizon_days: 90\n",
        encoding="utf-8",
    )
    out = tmp_path / "sweep"
    assert run(["impact", "sweep", str(grid), "--out", str(out), "--no-plot"]) == 0
    text = capsys.readouterr().out
    row = pd.read_parquet(out / "results.parquet").iloc[0]
    assert f"({row['deaths_averted_share']:.1%})" in text
    assert f"({row['symptomatic_averted_share']:.1%})" in text
    assert "symptomatic" in text
