"""Global comparison: for an allocation round, which way of sharing the same supply saves most
lives across all participants?

Every participant is modelled with its own population (WPP 2019), contact matrix (Prem 2017 or
the documented fallback) and delivery schedule, under the same epidemic assumptions, and four
allocation rules share the *same pooled deliveries* (same products, same dates, same total):

* ``round``: what the allocation round actually gave each participant;
* ``population``: every delivery shared in proportion to population;
* ``threat-vulnerability``: in proportion to population x (base + threat-and-vulnerability
  score), the allocation engine's own score and weights for the round's policy;
* ``impact-maximising``: a greedy split by marginal deaths averted per dose. Each
  participant's curve of deaths against doses is modelled at ``levels`` points from no doses
  to a full course for every willing person; the pooled doses then go, segment by segment,
  to the participant whose next segment averts most deaths per dose (the last segment taken
  in part), and the resulting split is modelled again to report its deaths. Greedy is optimal
  when every curve has diminishing returns (the usual case); it is a heuristic otherwise.

Under the three alternative rules a participant receives a fraction of every pooled delivery
(fractional doses are fine in a model), so only *who* gets supply changes, never *when*.
Participants the model cannot represent (territories with no age bands in WPP 2019) are
listed in ``skipped`` and keep no supply under any rule.

Given a ``progress`` callback, the comparison reports as it goes: participants prepared,
then the model runs in chunks (each run is integrated on its own, so chunks give the same
figures as one batch), then the impact-maximising split modelled again.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd

from doseflow.allocation import AllocationRun, RoundResult
from doseflow.allocation.threat import threat_scores
from doseflow.data import population as wpp
from doseflow.domain.errors import DoseflowError
from doseflow.domain.product import ProductKind
from doseflow.domain.progress import Progress, no_progress
from doseflow.impact.bands import AgeBands
from doseflow.impact.model import simulate
from doseflow.impact.results import OUTCOMES, SimulationResult
from doseflow.impact.rollout import DEFAULT_CAPACITY_SHARE, DeliverySchedule
from doseflow.impact.scenario import (
    DEFAULT_BANDS,
    DEFAULT_HORIZON_DAYS,
    DEFAULT_R0,
    Scenario,
    country_scenario,
)
from doseflow.impact.strategy import Strategy
from doseflow.impact.vaccine import VaccineProfile

FloatArray = npt.NDArray[np.float64]

DEFAULT_LEVELS = 16


class AllocationRule(StrEnum):
    ROUND = "round"
    POPULATION = "population"
    THREAT = "threat-vulnerability"
    IMPACT = "impact-maximising"


@dataclass(frozen=True)
class AllocationComparison:
    """Per participant and rule: doses and deaths; and totals per rule."""

    #: rule, iso3, population, doses, and for deaths, infections, symptomatic cases and YLL:
    #: the outcome, without vaccination, averted and averted as a share (``deaths_averted_share``)
    participants: pd.DataFrame
    skipped: tuple[tuple[str, str], ...]  # (iso3, reason)
    start: date

    def totals(self) -> pd.DataFrame:
        """One row per rule (best first by deaths averted): doses, and each outcome, without
        vaccination, averted, and averted as a share of the total without vaccination."""
        summed = [
            "doses",
            *(f"{o}{suffix}" for o in OUTCOMES for suffix in ("", "_no_vaccine", "_averted")),
        ]
        t = self.participants.groupby("rule", sort=False)[summed].sum()
        for o in OUTCOMES:
            base = t[f"{o}_no_vaccine"]
            t[f"{o}_averted_share"] = (t[f"{o}_averted"] / base.where(base > 0, 1.0)).astype(float)
        return t.sort_values("deaths_averted", ascending=False).reset_index()


def round_deliveries(source: AllocationRun | RoundResult) -> dict[str, list[tuple[date, str, int]]]:
    """(date available, product code, doses) per participant, vaccines only, from every round."""
    rounds = source.rounds if isinstance(source, AllocationRun) else (source,)
    out: dict[str, list[tuple[date, str, int]]] = defaultdict(list)
    for rnd in rounds:
        iso3 = rnd.context.table.iso3
        for pr in rnd.pools:
            if pr.product.kind is not ProductKind.VACCINE:
                continue
            for i in np.flatnonzero(pr.doses > 0):
                out[str(iso3[i])].append((pr.pool.available, pr.product.code, int(pr.doses[i])))
    return dict(out)


def _pooled(deliveries: Mapping[str, list[tuple[date, str, int]]]) -> list[tuple[date, str, int]]:
    total: dict[tuple[date, str], int] = defaultdict(int)
    for rows in deliveries.values():
        for d, p, n in rows:
            total[(d, p)] += n
    return [(d, p, n) for (d, p), n in sorted(total.items())]


def _outcomes(result: SimulationResult | _Outcomes, run: int, baseline: int) -> dict[str, float]:
    """Run ``run``'s outcomes against ``baseline`` (its participant without vaccination)."""
    row: dict[str, float] = {}
    for o in OUTCOMES:
        with_v, without = float(getattr(result, o)[run]), float(getattr(result, o)[baseline])
        row[o] = with_v
        row[f"{o}_no_vaccine"] = without
        row[f"{o}_averted"] = without - with_v
        row[f"{o}_averted_share"] = (without - with_v) / without if without > 0 else 0.0
    return row


#: Model runs integrated together between two progress reports (when progress is watched).
PROGRESS_CHUNK_RUNS = 64

#: Shares of a watched comparison's progress: preparing participants, the runs, the split.
_PREPARE_SHARE, _RUNS_SHARE = 0.05, 0.85


@dataclass(frozen=True)
class _Outcomes:
    """The per-run outcome arrays of several simulated chunks, joined in run order."""

    arrays: Mapping[str, FloatArray]

    def __getattr__(self, name: str) -> FloatArray:
        try:
            return self.arrays[name]
        except KeyError:
            raise AttributeError(name) from None


def _simulate_watched(
    runs: Sequence[Scenario], progress: Progress, start: float, share: float, label: str
) -> SimulationResult | _Outcomes:
    """``simulate(runs)`` in chunks of :data:`PROGRESS_CHUNK_RUNS`, reporting after each the
    fraction ``start + share * done / total`` and how many runs are done."""
    total = len(runs)
    chunks = [runs[i : i + PROGRESS_CHUNK_RUNS] for i in range(0, total, PROGRESS_CHUNK_RUNS)]
    parts: list[SimulationResult] = []
    done = 0
    for n, chunk in enumerate(chunks, start=1):
        parts.append(simulate(chunk, by_age=False))
        done += len(chunk)
        progress(
            start + share * done / total,
            f"{label}: chunk {n} of {len(chunks)} ({done:,} of {total:,} model runs)",
        )
    if len(parts) == 1:
        return parts[0]
    return _Outcomes({o: np.concatenate([getattr(p, o) for p in parts]) for o in OUTCOMES})


def greedy_split(curves: Sequence[FloatArray], steps: Sequence[float], budget: float) -> FloatArray:
    """Doses per participant maximising deaths averted, greedily by marginal gain per dose.

    ``curves[j][k]`` are participant ``j``'s deaths with ``k * steps[j]`` doses; segments are
    taken in order for each participant, best next segment first; the last one in part."""
    heap: list[tuple[float, int, int]] = []
    for j, (curve, step) in enumerate(zip(curves, steps, strict=True)):
        if curve.size > 1 and step > 0:
            heapq.heappush(heap, (-(curve[0] - curve[1]) / step, j, 0))
    doses = np.zeros(len(curves))
    left = budget
    while heap and left > 0:
        _, j, k = heapq.heappop(heap)
        take = min(steps[j], left)
        doses[j] += take
        left -= take
        curve = curves[j]
        if take == steps[j] and k + 2 < curve.size:
            heapq.heappush(heap, (-(curve[k + 1] - curve[k + 2]) / steps[j], j, k + 1))
    return doses


def compare_allocations(
    source: AllocationRun | RoundResult,
    *,
    start: date | None = None,
    r0: float = DEFAULT_R0,
    strategy: Strategy | None = None,
    bands: AgeBands = DEFAULT_BANDS,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    capacity_share: float | None = DEFAULT_CAPACITY_SHARE,
    vaccines: Mapping[str, VaccineProfile] | None = None,
    levels: int = DEFAULT_LEVELS,
    contact_proxies: Mapping[str, str] | None = None,
    rules: Sequence[AllocationRule] = tuple(AllocationRule),
    progress: Progress | None = None,
    **params: object,
) -> AllocationComparison:
    """Model every participant of ``source`` under each allocation rule (see module doc),
    telling ``progress`` (if given) how far it has got."""
    report = progress or no_progress
    rounds = source.rounds if isinstance(source, AllocationRun) else (source,)
    last = rounds[-1]
    table = last.context.table
    products = last.context.products
    deliveries = round_deliveries(source)
    pooled = _pooled(deliveries)
    if not pooled:
        raise DoseflowError(
            "IMPACT_ROUND_EMPTY",
            "the allocation gave no vaccine doses to anyone: nothing to compare",
            field="round",
            expected="a round that allocated vaccine doses",
            value=last.name,
        )
    day0 = start or min(d for d, _, _ in pooled)
    profiles = {
        code: VaccineProfile.for_product(p)
        for code, p in products.items()
        if p.kind is ProductKind.VACCINE
    }
    profiles.update(vaccines or {})
    vaccine_tuple = tuple(profiles[c] for c in sorted({p for _, p, _ in pooled}))
    strategy = strategy or Strategy.parse("older-first")
    proxies = {k.upper(): v for k, v in (contact_proxies or {}).items()}

    modelled: list[int] = []
    skipped: list[tuple[str, str]] = []
    bases: list[Scenario] = []
    iso3s: list[str] = []
    for i, p in enumerate(table.participants):
        report(_PREPARE_SHARE * i / len(table), f"preparing participant {p.iso3}")
        country = wpp.countries().get(p.iso3)
        if country is None or not country.has_age_bands:
            skipped.append((p.iso3, "no age bands in WPP 2019"))
            continue
        modelled.append(i)
        iso3s.append(p.iso3)
        bases.append(
            country_scenario(
                p.iso3,
                bands=bands,
                contact_proxy=proxies.get(p.iso3),
                r0=r0,
                strategy=strategy,
                horizon_days=horizon_days,
                vaccines=vaccine_tuple,
                **params,  # type: ignore[arg-type]
            )
        )
    pop = np.array([b.total_population for b in bases])
    pooled_schedule = DeliverySchedule.from_dated(pooled, day0, capacity_share)
    pooled_total = float(pooled_schedule.total_doses)

    shares: dict[AllocationRule, FloatArray] = {}
    if AllocationRule.POPULATION in rules:
        shares[AllocationRule.POPULATION] = pop / pop.sum()
    if AllocationRule.THREAT in rules:
        among = np.zeros(len(table), dtype=bool)
        among[modelled] = True
        score = threat_scores(table, last.policy.threat, among)[modelled]
        w = pop * (last.policy.threat.base + score)
        shares[AllocationRule.THREAT] = w / w.sum()

    runs: list[Scenario] = [b.without_vaccination() for b in bases]
    labels: list[tuple[AllocationRule, int, float]] = []
    if AllocationRule.ROUND in rules:
        for j, b in enumerate(bases):
            own = deliveries.get(iso3s[j], [])
            sched = DeliverySchedule.from_dated(own, day0, capacity_share)
            runs.append(replace(b, rollout=sched))
            labels.append((AllocationRule.ROUND, j, float(sched.total_doses)))
    for rule, s in shares.items():
        for j, b in enumerate(bases):
            runs.append(replace(b, rollout=pooled_schedule.scaled(float(s[j]))))
            labels.append((rule, j, float(s[j]) * pooled_total))
    curve_index: list[list[int]] = []
    steps: list[float] = []
    if AllocationRule.IMPACT in rules:
        for j, b in enumerate(bases):
            # the most a participant can use: a full course for every willing person
            per_course = max(v.doses_per_course for v in vaccine_tuple)
            need = min(per_course * (1 - b.refusal) * b.total_population, pooled_total)
            steps.append(need / levels)
            idx = [j]  # level 0 is the no-vaccination run
            for k in range(1, levels + 1):
                idx.append(len(runs))
                runs.append(
                    replace(b, rollout=pooled_schedule.scaled(k * need / levels / pooled_total))
                )
            curve_index.append(idx)
    result: SimulationResult | _Outcomes = (
        simulate(runs, by_age=False)
        if progress is None
        else _simulate_watched(runs, report, _PREPARE_SHARE, _RUNS_SHARE, "modelling the rules")
    )
    rows: list[dict[str, object]] = []

    def add(rule: AllocationRule, j: int, run: int, doses: float) -> None:
        b = bases[j]
        rows.append(
            {
                "rule": rule.value,
                "iso3": iso3s[j],
                "population": b.total_population,
                "doses": doses,
                **_outcomes(result, run, j),
            }
        )

    for position, (rule, j, doses) in enumerate(labels, start=len(bases)):
        add(rule, j, position, doses)
    if curve_index:
        split = greedy_split([result.deaths[idx] for idx in curve_index], steps, pooled_total)
        chosen = [
            replace(b, rollout=pooled_schedule.scaled(split[j] / pooled_total))
            for j, b in enumerate(bases)
        ]
        report(_PREPARE_SHARE + _RUNS_SHARE, "modelling the impact-maximising split")
        final = simulate([*runs[: len(bases)], *chosen], by_age=False)
        for j in range(len(bases)):
            b = bases[j]
            rows.append(
                {
                    "rule": AllocationRule.IMPACT.value,
                    "iso3": iso3s[j],
                    "population": b.total_population,
                    "doses": float(split[j]),
                    **_outcomes(final, len(bases) + j, j),
                }
            )
    report(1.0, "comparison done")
    return AllocationComparison(pd.DataFrame(rows), tuple(skipped), day0)
