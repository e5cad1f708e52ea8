"""Published age-prioritisation studies set up with doseflow's API (issue 13).

Each study's parameters are read from ``tests/impact/published/*.json`` (transcribed from the
paper and its public code, with the source recorded there); nothing is fitted. This module
builds the scenarios with today's API, runs them, and returns per strategy and supply the
percentage of deaths averted and the best strategy, so tests and
``python -m tests.impact.reproductions`` can compare them with the published results.

Where doseflow cannot yet express a study exactly, the approximation is named in
:data:`APPROXIMATIONS` (and in ``docs/impact-reproductions.md``), never hidden.

Bubar et al. (2021), as the authors' code does it (Matrajt et al. (2021):
:mod:`tests.impact.matrajt`):

* **anticipatory rollout** (the whole supply before any transmission): 2 infectious people per
  band, and the supply vaccinated at day 0 through ``Scenario.initial`` (the split by band
  computed here, as their code does: :func:`anticipatory_vaccinated`);
* **continuous rollout** (0.1% or 0.2% of the population a day from day 0): 0.25% of each band
  exposed and 0.25% infectious; willing S, E and R vaccinated; force of infection over N - D;
  doses spread over each day and split by current eligible people (theirs: a pulse at the
  start of each day, split by day-0 eligible people; the difference is measured, see
  ``docs/impact-reproductions.md``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from doseflow.impact import (
    AgeBands,
    EfficacyMode,
    Eligibility,
    ForceDenominator,
    InitialConditions,
    RateRollout,
    Scenario,
    Strategy,
    VaccineProfile,
    custom_scenario,
    simulate,
)

FloatArray = npt.NDArray[np.float64]

PUBLISHED = Path(__file__).parent / "published"

#: What each set-up still cannot express exactly with doseflow (see docs/impact-reproductions.md).
APPROXIMATIONS = {
    "anticipatory": (
        "none in the model: the whole supply is vaccinated at day 0 through the initial "
        "conditions, the split by band computed here as the authors' code does (a rollout "
        "cannot give a whole supply at once: a group absorbs at most its eligible people a day)"
    ),
    "continuous": (
        "doses spread over each day, split in proportion to current eligible people of a "
        "group, where the authors' code gives a pulse at the start of each day split in "
        "proportion to day-0 eligible people"
    ),
}


def load(study: str) -> Any:  # JSON as recorded; typed by BubarModel.read
    """The recorded parameters and published results of ``study`` (file name stem)."""
    return json.loads((PUBLISHED / f"{study}.json").read_text())


@dataclass(frozen=True)
class Country:
    """One of the paper's country set-ups (decades 0-9 ... 80+)."""

    contacts: tuple[tuple[float, ...], ...]
    population: tuple[float, ...]
    yll_per_death: tuple[float, ...]


@dataclass(frozen=True)
class BubarModel:
    """The parameters of Bubar et al. (2021) as recorded in ``bubar2021.json``."""

    bands: tuple[str, ...]
    susceptibility: tuple[float, ...]
    ifr: tuple[float, ...]  # as in force when the saved heat maps were written (dbdd29c)
    ifr_final: tuple[float, ...]  # the final paper's (be7c604): Fig. 3B-C
    latent_days: float
    infectious_days: float
    refusal: float
    efficacy: float
    horizon_days: int
    strategies: dict[str, tuple[str, ...]]
    countries: dict[str, Country]

    @classmethod
    def read(cls) -> BubarModel:
        m = load("bubar2021")["model"]
        vaccine = m["vaccine"]
        if (
            vaccine["mode"] != "all-or-nothing"
            or vaccine["efficacy_death"] != vaccine["efficacy_infection"]
        ):  # what the set-up below assumes
            raise ValueError("bubar2021.json: expected an all-or-nothing vaccine, e_d = e_i")
        countries = {
            code: Country(
                tuple(tuple(float(x) for x in row) for row in c["contacts"]),
                tuple(
                    float(share) * float(c["population_total"]) for share in c["population_shares"]
                ),
                tuple(float(x) for x in c["yll_per_death"]),
            )
            for code, c in m["countries"].items()
        }
        return cls(
            bands=tuple(m["age_bands"]),
            susceptibility=tuple(float(x) for x in m["susceptibility_u"]),
            ifr=tuple(float(x) for x in m["ifr"]),
            ifr_final=tuple(float(x) for x in m["ifr_final_paper"]),
            latent_days=float(m["latent_days"]),
            infectious_days=float(m["infectious_days"]),
            refusal=float(m["refusal"]),
            efficacy=float(vaccine["efficacy_infection"]),
            horizon_days=int(m["horizon_days"]),
            strategies={k: tuple(v) for k, v in m["strategies"].items()},
            countries=countries,
        )


@dataclass(frozen=True)
class StudyResult:
    """% deaths averted, ``averted[strategy][case index, supply index]``; a case is
    (country, R0)."""

    strategies: tuple[str, ...]
    cases: tuple[tuple[str, float], ...]
    supply_percent: tuple[int, ...]
    averted: dict[str, FloatArray]

    def best(self) -> list[list[str]]:
        """Best strategy (most deaths averted) per R0 and supply (ties: first listed)."""
        stacked = np.stack([self.averted[s] for s in self.strategies])
        winners = stacked.argmax(axis=0)
        return [[self.strategies[int(w)] for w in row] for row in winners]


def bubar_strategies() -> dict[str, Strategy]:
    """The paper's five strategies: the named bands first, leftovers to every other band
    (``ordered:[bands],rest``; all ages: one group)."""
    model = BubarModel.read()
    strategies: dict[str, Strategy] = {}
    for name, members in model.strategies.items():
        first = f"[{','.join(members)}]"
        rest = ",rest" if len(members) < len(model.bands) else ""
        strategies[name] = Strategy.parse(f"ordered:{first}{rest}")
    return strategies


def bubar_efficacy(*, age_dependent: bool = False) -> tuple[float, ...]:
    """Efficacy by band: 90% everywhere, or (Fig. 3 dashed) the code's
    ``get_v_e(p = 0.5, y0 = 0.9, hinge_age = 50)``: 90% up to the 50-59 band, then falling
    linearly to 50% at 80+ (decade starts 0, 10, ..., 80)."""
    model = BubarModel.read()
    y0 = model.efficacy
    if not age_dependent:
        return (y0,) * len(model.bands)
    final, hinge = 0.5, 50
    return tuple(
        y0 if x <= hinge else y0 + (final - y0) / (80 - hinge) * (x - hinge)
        for x in range(0, 90, 10)
    )


def anticipatory_vaccinated(
    population: Sequence[float] | FloatArray, members: Sequence[int], supply: float, refusal: float
) -> FloatArray:
    """People vaccinated at t = 0 per band in the anticipatory set-up, as the authors'
    ``run_sim`` (``num_perday == 1``) computes them: the willing susceptible (N - 2 seeds,
    x (1 - refusal)) of the strategy's bands share the supply in proportion to their number
    (so all fill at the same time); what exceeds them goes to every other band, again in
    proportion to their willing susceptible."""
    eligible = (np.asarray(population, dtype=np.float64) - 2.0) * (1.0 - refusal)
    inside = np.zeros(len(eligible), dtype=bool)
    inside[list(members)] = True
    out = np.zeros(len(eligible))
    first = float(eligible[inside].sum())
    out[inside] = eligible[inside] * min(1.0, supply / first)
    left = supply - float(out.sum())
    if left > 0 and (~inside).any():
        out[~inside] = eligible[~inside] * min(1.0, left / float(eligible[~inside].sum()))
    return out


def bubar_scenario(
    country: str,
    r0: float,
    rollout: str,
    *,
    final_ifr: bool = False,
    age_dependent: bool = False,
) -> Scenario:
    """The set-up of Bubar et al. (2021) for ``country`` (ISO3, one of the paper's nine) with
    no vaccine yet (``rollout`` picks the seeding: continuous, 0.25% of each band exposed and
    0.25% infectious; anticipatory, 2 infectious people per band; ``final_ifr``: the final
    paper's IFR, used by its Fig. 3B-C, rather than the one in force when the heat maps were
    saved; ``age_dependent``: Fig. 3's efficacy falling with age)."""
    model = BubarModel.read()
    data = model.countries[country]
    n = len(model.bands)
    if rollout == "anticipatory":
        initial = InitialConditions(infectious=(2.0,) * n, as_counts=True)
    else:
        initial = InitialConditions(exposed=0.0025, infectious=0.0025)
    efficacy = bubar_efficacy(age_dependent=age_dependent)
    return custom_scenario(
        f"Bubar 2021 {country} R0={r0:.2f} {rollout}",
        AgeBands.parse(",".join(model.bands)),
        data.population,
        data.contacts,
        susceptibility=model.susceptibility,
        ifr=model.ifr_final if final_ifr else model.ifr,
        life_expectancy=data.yll_per_death,
        r0=r0,
        latent_days=model.latent_days,
        infectious_days=model.infectious_days,
        initial=initial,
        refusal=model.refusal,
        vaccines=(VaccineProfile("bubar", efficacy, efficacy, EfficacyMode.ALL_OR_NOTHING, 1),),
        horizon_days=model.horizon_days,
        eligibility=Eligibility.SUSCEPTIBLE_EXPOSED_RECOVERED,
        denominator=ForceDenominator.LIVING,
    )


def bubar_vaccinated(
    base: Scenario, strategy: str, rollout: str, supply_percent: float, rate: float
) -> Scenario:
    """``base`` with ``strategy`` at ``supply_percent``: the anticipatory supply as people
    vaccinated at day 0 (computed here, as the authors' code does); the continuous one as a
    steady rollout of ``rate`` x population a day from day 0."""
    model = BubarModel.read()
    rule = bubar_strategies()[strategy]
    if rollout == "anticipatory":
        members = [model.bands.index(b) for b in model.strategies[strategy]]
        vaccinated = anticipatory_vaccinated(
            base.population,
            members,
            supply_percent / 100.0 * base.total_population,
            base.refusal,
        )
        assert base.initial is not None
        initial = replace(base.initial, vaccinated=tuple(float(v) for v in vaccinated))
        return replace(base, strategy=rule, initial=initial)
    return replace(base, strategy=rule, rollout=RateRollout(rate, supply_percent / 100.0, "bubar"))


def run_bubar(
    rollout: str,
    cases: Sequence[tuple[str, float]],
    supply_percent: Sequence[int],
    *,
    rate: float = 0.001,
    final_ifr: bool = False,
    age_dependent: bool = False,
) -> StudyResult:
    """% deaths averted by each strategy for each (country, R0) case and supply (one batch);
    rows of :attr:`StudyResult.averted` follow ``cases``. ``rate``: doses a day as a share of
    the population of a continuous rollout (default 0.1%, as in the saved heat maps)."""
    strategies = bubar_strategies()
    scenarios: list[Scenario] = []
    for country, value in cases:
        base = bubar_scenario(
            country, value, rollout, final_ifr=final_ifr, age_dependent=age_dependent
        )
        scenarios.append(base)  # no vaccination
        for strategy in strategies:
            for pct in supply_percent:
                scenarios.append(bubar_vaccinated(base, strategy, rollout, pct, rate))
    deaths = simulate(scenarios, by_age=False).deaths
    per_r0 = 1 + len(strategies) * len(supply_percent)
    averted: dict[str, FloatArray] = {}
    for s_index, name in enumerate(strategies):
        rows = []
        for r_index in range(len(cases)):
            start = r_index * per_r0
            baseline = deaths[start]
            first = start + 1 + s_index * len(supply_percent)
            rows.append(100.0 * (1.0 - deaths[first : first + len(supply_percent)] / baseline))
        averted[name] = np.asarray(rows)
    return StudyResult(tuple(strategies), tuple(cases), tuple(supply_percent), averted)


#: The published best-strategy tables: name -> (rollout, key in the JSON, cases from keys).
BUBAR_FIGURES = {
    "r0-anticipatory": ("anticipatory", "best_for_deaths_anticipatory"),
    "r0-continuous": ("continuous", "best_for_deaths_continuous_0.1pct_per_day"),
    "countries": ("continuous", "best_for_deaths_by_country_r0_1.15_continuous_0.1pct_per_day"),
}


def bubar_published_best(figure: str) -> tuple[list[tuple[str, float]], list[list[str]]]:
    """The published best strategy for deaths: (country, R0) cases (rows) x supply 1..50%."""
    table: dict[str, list[str]] = load("bubar2021")["published"][BUBAR_FIGURES[figure][1]]
    if figure == "countries":
        cases = [(country, 1.15) for country in table]
    else:
        cases = [("USA", float(r0)) for r0 in table]
    return cases, list(table.values())


@dataclass(frozen=True)
class RankingComparison:
    """Our % deaths averted on a published best-strategy grid, and the published best."""

    result: StudyResult
    published: list[list[str]]

    def shortfall(self) -> FloatArray:
        """Per cell, points by which the published best strategy falls short of the best
        strategy here (0 where they agree)."""
        averted = self.result.averted
        rows = []
        for i, row in enumerate(self.published):
            best = np.max([averted[s][i] for s in self.result.strategies], axis=0)
            rows.append(best - np.array([averted[name][i, j] for j, name in enumerate(row)]))
        return np.asarray(rows)

    def agreement(self) -> float:
        """Share of cells whose best strategy here is the published one."""
        ours = self.result.best()
        cells = [(i, j) for i, row in enumerate(self.published) for j in range(len(row))]
        return sum(ours[i][j] == self.published[i][j] for i, j in cells) / len(cells)


def compare_bubar(figure: str) -> RankingComparison:
    """Run one of :data:`BUBAR_FIGURES` (every strategy at supply 1..50%)."""
    cases, published = bubar_published_best(figure)
    result = run_bubar(BUBAR_FIGURES[figure][0], cases, range(1, 51))
    return RankingComparison(result, published)


@dataclass(frozen=True)
class CurveComparison:
    """% deaths averted here and by the authors' code, ``[strategy][case, supply]``."""

    result: StudyResult
    theirs: dict[str, FloatArray]

    def difference(self) -> FloatArray:
        """Ours minus theirs, strategies x cases x supplies (points)."""
        return np.stack([self.result.averted[s] - self.theirs[s] for s in self.result.strategies])

    def rankings(self) -> tuple[list[list[tuple[str, ...]]], list[list[tuple[str, ...]]]]:
        """Strategies from most to fewest deaths averted, per case and supply: (ours, theirs)."""
        names = self.result.strategies
        out: list[list[list[tuple[str, ...]]]] = [[], []]
        for k, table in enumerate((self.result.averted, self.theirs)):
            for i in range(len(self.result.cases)):
                out[k].append(
                    [
                        tuple(sorted(names, key=lambda n: -table[n][i, j]))
                        for j in range(len(self.result.supply_percent))
                    ]
                )
        return out[0], out[1]


def compare_bubar_fig3(
    *,
    age_dependent: bool = False,
    doses_spread_over_day: bool = False,
    split_by_current_eligible: bool = False,
) -> CurveComparison:
    """Fig. 3B-C (USA, R0 1.15 and 1.5, 0.2%/day, final IFR) against the authors' numbers:
    solid lines (90% at every age) or, with ``age_dependent``, dashed (falling with age).
    ``doses_spread_over_day``: against the authors' code run with each day's doses as 32
    pulses over the day instead of one at its start (a check, not a published result)."""
    key = "fig3_percent_deaths_averted"
    if doses_spread_over_day:
        key = "fig3_doses_spread_over_each_day"
        if split_by_current_eligible:  # and each pulse split as doseflow splits doses
            key = "fig3_doses_spread_and_split_by_current_eligible"
    fig = load("bubar2021")["published"][key]
    supply = [int(x) for x in fig["supply_percent"]]
    cases = [("USA", 1.15), ("USA", 1.5)]
    variant = "age_dependent" if age_dependent else "constant"
    tables = [
        fig["percent_deaths_averted"][f"r0_{r0}_{variant}_efficacy"] for r0 in ("1.15", "1.5")
    ]
    result = run_bubar(
        "continuous", cases, supply, rate=0.002, final_ifr=True, age_dependent=age_dependent
    )
    theirs = {
        name: np.array([[float(x) for x in table[name]] for table in tables])
        for name in result.strategies
    }
    return CurveComparison(result, theirs)


def main() -> None:  # pragma: no cover - a report for people, exercised by hand
    for figure in BUBAR_FIGURES:
        comparison = compare_bubar(figure)
        result, published = comparison.result, comparison.published
        short = comparison.shortfall()
        rollout = BUBAR_FIGURES[figure][0]
        print(
            f"\n== Bubar 2021, {figure}: best strategy agrees in {comparison.agreement():.1%} "
            f"of cells; published best within 0.5 points of ours in {np.mean(short <= 0.5):.1%}"
        )
        print("approximation:", APPROXIMATIONS[rollout])
        ours = result.best()
        for i, (country, r0) in enumerate(result.cases):
            diff = [
                f"{j + 1}%:{ours[i][j]}/{published[i][j]}({short[i, j]:.2f})"
                for j in range(50)
                if ours[i][j] != published[i][j]
            ]
            label = f"{country} R0={r0:.2f}"
            print(f"{label} ours/published (points short): {' '.join(diff) or 'all agree'}")
        for i, (country, r0) in enumerate(result.cases):
            if country != "USA" or f"{r0:.2f}" not in ("1.15", "1.50", "2.00"):
                continue
            for name in result.strategies:
                cells = " ".join(f"{result.averted[name][i, j]:5.1f}" for j in (9, 19, 29, 39, 49))
                print(f"R0={r0:.2f} {name:>9} % deaths averted at 10..50%: {cells}")

    for age_dependent in (False, True):
        fig3 = compare_bubar_fig3(age_dependent=age_dependent)
        variant = "efficacy falling with age" if age_dependent else "90% at every age"
        print(f"\n== Bubar 2021, Fig. 3B-C ({variant}): authors' code/ours, % deaths averted")
        print("supply %:", fig3.result.supply_percent)
        for i, (_, r0) in enumerate(fig3.result.cases):
            for name in fig3.result.strategies:
                pairs = zip(fig3.theirs[name][i], fig3.result.averted[name][i], strict=True)
                print(f"R0={r0:.2f} {name:>9}", " ".join(f"{t:5.1f}/{o:5.1f}" for t, o in pairs))
        ranks_ours, ranks_theirs = fig3.rankings()
        worst = float(np.abs(fig3.difference()).max())
        same = ranks_ours == ranks_theirs
        print(f"max |difference| {worst:.2f} points; rankings identical: {same}")


if __name__ == "__main__":  # pragma: no cover
    main()
