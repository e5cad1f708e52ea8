"""Matrajt et al. (2021) set up with doseflow's API (issue 13's second study).

Every parameter is read from ``tests/impact/published/matrajt2021.json`` (transcribed from
the authors' public code and data, sources recorded there); nothing is fitted.

Their model (``coronavirusEqs2_withHospitalizationsAndICU_withVaccine4``) has more infectious
stages than doseflow's SEIR-D: asymptomatic (5 days, relative infectiousness 1),
pre-symptomatic (2 days, 1.3), then symptomatic (3 days, 1) or hospitalised (not
infectious). It vaccinates once, at t = 0, before a single wave, and counts deaths as a
mortality rate times all infections. Such an epidemic's final size depends on the
infectiousness of an infection in each band only through its total, so the set-up here
folds each band's expected infectiousness ``tau_j`` (in infectious-days) into column ``j``
of the contact matrix, ``C'_ij = C_ij tau_j / D``, and uses a single infectious stage of
``D`` days: the next-generation matrix, hence R0 and the final size, are theirs. What this
cannot match is timing (their stages are not exponential with the same mean): it shows only
where the 365-day horizon cuts an epidemic that has not finished.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from doseflow.impact import (
    AgeBands,
    EfficacyMode,
    ForceDenominator,
    InitialConditions,
    Scenario,
    VaccineProfile,
    custom_scenario,
    simulate,
)
from tests.impact.reproductions import load

FloatArray = npt.NDArray[np.float64]

#: Length of doseflow's single infectious stage; any value gives the same next-generation
#: matrix once tau is folded into the contacts (it only changes timing).
INFECTIOUS_DAYS = 5.0


@dataclass(frozen=True)
class MatrajtModel:
    """The parameters of Matrajt et al. (2021) as recorded in ``matrajt2021.json``."""

    bands: tuple[str, ...]
    population: FloatArray
    contacts: FloatArray
    susceptibility: FloatArray
    mortality: FloatArray
    hospitalised: FloatArray
    fraction_symptomatic: float
    days: dict[str, float]
    infectiousness: dict[str, float]
    r0: float
    recovered: float
    infections: float
    horizon_days: int
    group_bands: tuple[tuple[int, ...], ...]  # the five vaccine groups' band indices
    group_age_shares: tuple[FloatArray, ...]
    orders: dict[str, tuple[int, ...]]  # vaccine groups in filling order, by strategy
    coverage_percent: tuple[int, ...]

    @classmethod
    def read(cls) -> MatrajtModel:
        doc = load("matrajt2021")
        m = doc["model"]
        if m["vaccine"]["mode"] != "leaky" or m["relative_infectiousness"]["hospitalised"] != 0:
            # what the set-up below assumes (with infectious hospitalised patients, their
            # R0 function and their equations disagree on the length of that stage)
            raise ValueError("matrajt2021.json: expected a leaky vaccine, no infectious H")
        bands = tuple(m["age_bands"])
        groups = m["vaccine_groups"]
        names = list(groups)
        return cls(
            bands=bands,
            population=np.asarray(m["population_shares"], dtype=np.float64)
            * float(m["population_total"]),
            contacts=np.asarray(m["contacts_all_locations"], dtype=np.float64),
            susceptibility=np.asarray(m["susceptibility_red_sus"], dtype=np.float64),
            mortality=np.asarray(m["mortality_rate_among_all_infections"], dtype=np.float64),
            hospitalised=np.asarray(m["hospitalisation_rate_among_symptomatic"], dtype=np.float64),
            fraction_symptomatic=float(m["fraction_symptomatic"]),
            days={k: float(v) for k, v in m["days"].items()},
            infectiousness={k: float(v) for k, v in m["relative_infectiousness"].items()},
            r0=float(m["r0"]),
            recovered=float(m["fraction_recovered_at_start"]),
            infections=float(m["infections_at_start"]),
            horizon_days=int(m["horizon_days"]),
            group_bands=tuple(tuple(bands.index(b) for b in groups[g]) for g in names),
            group_age_shares=tuple(
                np.asarray(s, dtype=np.float64) for s in m["vaccine_group_age_shares"]
            ),
            orders={
                name: tuple(names.index(g) for g in order)
                for name, order in doc["strategies_order"].items()
            },
            coverage_percent=tuple(int(c) for c in doc["coverage_percent"]),
        )

    @property
    def group_population(self) -> FloatArray:
        return np.array([self.population[list(b)].sum() for b in self.group_bands])

    def infectiousness_days(self) -> FloatArray:
        """Expected infectiousness of one infection in each band, in infectious-days:
        asymptomatic, or pre-symptomatic then symptomatic unless hospitalised (their
        hospitalised and ICU patients do not infect)."""
        d, r, f = self.days, self.infectiousness, self.fraction_symptomatic
        symptomatic = (
            r["presymptomatic"] * d["presymptomatic"]
            + (1.0 - self.hospitalised) * r["symptomatic"] * d["symptomatic"]
        )
        tau = (1.0 - f) * r["asymptomatic"] * d["asymptomatic"] + f * symptomatic
        return np.asarray(tau, dtype=np.float64)

    def seeds(self) -> FloatArray:
        """Infections at t = 0 per band: 1,000 split by population share."""
        return np.asarray(self.infections * self.population / self.population.sum())


def group_doses(model: MatrajtModel, strategy: str, doses: float) -> FloatArray:
    """Doses per vaccine group: pro-rata, or filling the groups in the strategy's order."""
    if strategy == "pro-rata":
        return np.asarray(doses * model.group_population / model.population.sum())
    out, left = np.zeros(len(model.group_bands)), doses
    for g in model.orders[strategy]:
        out[g] = min(left, float(model.group_population[g]))
        left -= out[g]
    return out


def vaccinated_at_start(model: MatrajtModel, per_group: Sequence[float] | FloatArray) -> FloatArray:
    """Susceptible people protected at t = 0, as the authors' ``runVaccination`` computes
    them: a group's doses split over its bands by population share (floored, at most the
    band), of which only the susceptible share of S + E + A + P + RA is given to S (the rest
    is wasted on people already infected or recovered without symptoms)."""
    per_band = np.zeros(len(model.bands))
    for g, members in enumerate(model.group_bands):
        per_band[list(members)] = per_group[g] * model.group_age_shares[g]
    per_band = np.minimum(np.floor(per_band), np.floor(model.population))
    seeds = model.seeds()
    susceptible = (1.0 - model.recovered) * (model.population - seeds)
    asymptomatic_recovered = (
        (1.0 - model.fraction_symptomatic) * model.recovered * (model.population - seeds)
    )
    asymptomatic_now = (1.0 - model.fraction_symptomatic) * seeds
    share = susceptible / (susceptible + asymptomatic_now + asymptomatic_recovered)
    return np.asarray(np.minimum(susceptible, per_band * share))


def matrajt_scenario(
    efficacy: float, vaccinated: Sequence[float] | FloatArray, horizon_days: int | None = None
) -> Scenario:
    """Their set-up (R0 3, 20% recovered, 1,000 infections, 365 days unless
    ``horizon_days``) with ``vaccinated`` susceptible people protected at t = 0 by a leaky
    vaccine of ``efficacy`` against infection only."""
    model = MatrajtModel.read()
    seeds = model.seeds()
    contacts = model.contacts * model.infectiousness_days()[None, :] / INFECTIOUS_DAYS
    initial = InitialConditions(
        infectious=tuple(seeds),
        recovered=tuple(model.recovered * (model.population - seeds)),
        vaccinated=tuple(float(v) for v in vaccinated),
        as_counts=True,
    )
    vaccine = VaccineProfile("matrajt", efficacy, efficacy, EfficacyMode.LEAKY, 1)
    return custom_scenario(
        f"Matrajt 2021 VE={efficacy}",
        AgeBands.parse(",".join(model.bands)),
        model.population.tolist(),
        contacts.tolist(),
        susceptibility=model.susceptibility.tolist(),
        ifr=model.mortality.tolist(),
        r0=model.r0,
        latent_days=model.days["exposed"],
        infectious_days=INFECTIOUS_DAYS,
        initial=initial,
        refusal=0.0,
        vaccines=(vaccine,),
        horizon_days=model.horizon_days if horizon_days is None else horizon_days,
        denominator=ForceDenominator.INITIAL,
    )


STRATEGIES = ("pro-rata", "older-first", "adults-20-49-first")


def run_matrajt(efficacy: float, horizon_days: int | None = None) -> dict[str, FloatArray]:
    """% deaths averted per strategy at the recorded coverages (one batch), and in
    ``"no vaccine"`` the deaths without vaccination (one value)."""
    model = MatrajtModel.read()
    total = float(model.population.sum())
    scenarios = [matrajt_scenario(efficacy, np.zeros(len(model.bands)), horizon_days)]
    for strategy in STRATEGIES:
        for pct in model.coverage_percent:
            doses = group_doses(model, strategy, round(pct / 100.0 * total))
            vaccinated = vaccinated_at_start(model, doses)
            scenarios.append(matrajt_scenario(efficacy, vaccinated, horizon_days))
    deaths = simulate(scenarios, by_age=False).deaths
    n = len(model.coverage_percent)
    out = {
        s: 100.0 * (1.0 - deaths[1 + i * n : 1 + (i + 1) * n] / deaths[0])
        for i, s in enumerate(STRATEGIES)
    }
    out["no vaccine"] = deaths[:1].copy()
    return out


def authors_results(efficacy: float, horizon_days: int = 365) -> dict[str, FloatArray]:
    """The authors' code's % deaths averted (recorded in the JSON) for ``efficacy``, run
    for their 365 days or (as recorded separately) 3650; ``"no vaccine"``: their deaths."""
    key = "authors_code_results"
    if horizon_days != 365:
        key += f"_{horizon_days}_days"
    table: dict[str, Any] = load("matrajt2021")[key]["by_efficacy"][str(efficacy)]
    out = {s: np.asarray(table[s], dtype=np.float64) for s in STRATEGIES}
    out["no vaccine"] = np.asarray([table["deaths_no_vaccine"]], dtype=np.float64)
    return out


#: Strategies closer than this (points) rank as a tie: at 80% coverage both orderings give
#: the same allocation (every adult, then the same children), so their order is noise.
TIE_POINTS = 0.05


def ranking(averted: dict[str, FloatArray]) -> list[tuple[frozenset[str], ...]]:
    """Per coverage, the strategies from most to fewest deaths averted, as groups of ties
    (within :data:`TIE_POINTS` of the group's best)."""
    out = []
    for j in range(len(averted[STRATEGIES[0]])):
        order = sorted(STRATEGIES, key=lambda s: -float(averted[s][j]))
        groups: list[list[str]] = []
        for s in order:
            if groups and averted[groups[-1][0]][j] - averted[s][j] < TIE_POINTS:
                groups[-1].append(s)
            else:
                groups.append([s])
        out.append(tuple(frozenset(g) for g in groups))
    return out


def main() -> None:
    """Print the comparison cell by cell."""
    model = MatrajtModel.read()
    for efficacy in (0.3, 0.5, 0.9):
        ours, theirs = run_matrajt(efficacy), authors_results(efficacy)
        for s in STRATEGIES:
            for j, pct in enumerate(model.coverage_percent):
                print(
                    f"VE {efficacy} {s:20s} {pct:3d}%  ours {ours[s][j]:7.3f}  "
                    f"theirs {theirs[s][j]:7.3f}  diff {ours[s][j] - theirs[s][j]:+.3f}"
                )


if __name__ == "__main__":
    main()
