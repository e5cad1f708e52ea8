"""Plausibility flags: reported figures that are possible to type but hard to believe.

Each flag names its method, gives a plain-language explanation with the figures behind it,
a strength (low, medium, high) and a score whose meaning depends on the method. The methods
(formulas in ``docs/reporting.md``):

``beta_binomial_positivity``
    A participant's tests ``n`` and positives ``k`` over the weeks it reported, against what
    its neighbours found in the same weeks. Positivity differs between countries far more
    than a binomial with the neighbours' pooled rate allows (testing policy, who is tested,
    epidemic timing), so the participant's positivity over those weeks is taken as unknown,
    drawn from a beta distribution fitted to the neighbours' weekly positivity by the method
    of moments (mean ``m``, between-country variance ``v``: the variance of the weekly rates
    less their binomial sampling variance; ``α + β = m(1 − m)/v − 1``). The probability of
    ``k`` or fewer positives is then the beta-binomial ``P(X ≤ k)``; for ``k = 0`` it is
    ``B(α, β + n) / B(α, β)``. Computed in log space (SciPy ``betaln``, ``betabinom``) so
    that probabilities like 10^-200 do not underflow. Score: ``-log10 P``. When the
    neighbours' weekly rates show no spread beyond sampling noise the model is the binomial
    with rate ``m``.
``administered_exceeds_received``
    Cumulative doses administered in an org unit above the cumulative doses it reported
    receiving. Score: the excess as a share of doses received.
``coverage_above_100``
    Cumulative first doses over the population (WPP 2019 for a country, the hierarchy file
    for a region) above 1. Score: the coverage ratio.
``robust_z_score``
    A value far outside its own series' history: ``z = (x - median) / s`` over the previous
    ``window`` values, with ``s`` the median absolute deviation scaled to a normal standard
    deviation (``1.4826 * MAD``, SciPy ``median_abs_deviation(scale="normal")``), but never
    below the Poisson standard deviation at the median, ``sqrt(max(median, 1))``, so flat
    count series do not flag every small change. Flags ``|z| > 3.5`` (Iglewicz & Hoaglin).
``illness_without_tests``
    Influenza-like illness or SARI cases reported for a week with no tests (zero or none).
``part_exceeds_whole``
    Health workers tested, or positives, above the people tested in the same week.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from doseflow.reporting.hierarchy import Hierarchy
from doseflow.reporting.periods import Period, PeriodType, parse_period
from doseflow.reporting.schema import DataElement, Role, Schema, parse_category_key
from doseflow.reporting.values import DataValue


class Method(StrEnum):
    BETA_BINOMIAL_POSITIVITY = "beta_binomial_positivity"
    ADMINISTERED_EXCEEDS_RECEIVED = "administered_exceeds_received"
    COVERAGE_ABOVE_100 = "coverage_above_100"
    ROBUST_Z_SCORE = "robust_z_score"
    ILLNESS_WITHOUT_TESTS = "illness_without_tests"
    PART_EXCEEDS_WHOLE = "part_exceeds_whole"


class Strength(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True)
class Flag:
    method: Method
    participant: str
    org_unit: str
    data_element: str
    first_period: str
    last_period: str
    strength: Strength
    score: float
    explanation: str
    figures: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def to_dict(self) -> dict[str, object]:
        return {
            "method": self.method.value,
            "participant": self.participant,
            "org_unit": self.org_unit,
            "data_element": self.data_element,
            "first_period": self.first_period,
            "last_period": self.last_period,
            "strength": self.strength.value,
            "score": self.score if math.isfinite(self.score) else None,
            "explanation": self.explanation,
            "figures": dict(self.figures),
        }


@dataclass(frozen=True)
class PlausibilityOptions:
    positivity_alpha: float = 0.01  # flag when P(X <= k) is below this
    z_threshold: float = 3.5
    z_window: int = 26  # previous values the median and MAD are taken over
    z_min_history: int = 8  # no z-score before this many previous values
    coverage_threshold: float = 1.0
    methods: frozenset[Method] = frozenset(Method)


def _periods_text(periods: Sequence[Period]) -> str:
    if len(periods) == 1:
        return periods[0].code
    return f"{periods[0].code}–{periods[-1].code} ({len(periods)} periods)"


def _n(x: float) -> str:
    return f"{x:,.0f}"


class ValueTable:
    """Reported values summed over categories, by (participant, org unit, element, period)."""

    def __init__(self, values: Iterable[DataValue], schema: Schema) -> None:
        self.schema = schema
        self.total: dict[tuple[str, str, str], dict[Period, float]] = defaultdict(dict)
        self.by_category: dict[tuple[str, str, str, str], dict[Period, float]] = defaultdict(dict)
        for v in values:
            period = parse_period(v.period)
            series = self.total[(v.participant, v.org_unit, v.data_element)]
            series[period] = series.get(period, 0.0) + v.value
            # summed over attribute option combos too
            cat_series = self.by_category[(v.participant, v.org_unit, v.data_element, v.category)]
            cat_series[period] = cat_series.get(period, 0.0) + v.value

    def role_codes(self, role: Role) -> tuple[str, ...]:
        return tuple(e.code for e in self.schema.elements_with_role(role))

    def series(self, participant: str, org_unit: str, role: Role) -> dict[Period, float]:
        """The role's elements summed, per period."""
        found: dict[Period, float] = {}
        for code in self.role_codes(role):
            for period, x in self.total.get((participant, org_unit, code), {}).items():
                found[period] = found.get(period, 0.0) + x
        return found

    def org_units(self) -> set[tuple[str, str]]:
        return {(p, o) for p, o, _ in self.total}

    def participant_series(
        self, participant: str, role: Role, hierarchy: Hierarchy
    ) -> dict[Period, float]:
        """The participant's figure per period: its national value where reported, else the
        sum of its top-level regions."""
        national = self.series(participant, participant, role)
        regions = [u.code for u in hierarchy.children(participant)]
        summed: dict[Period, float] = {}
        for code in regions:
            for period, x in self.series(participant, code, role).items():
                summed[period] = summed.get(period, 0.0) + x
        return {**summed, **national}


@dataclass(frozen=True)
class PlausibilityReport:
    """The flags, strongest first, and notes on what could not be checked and why (a check
    that found nothing to compare reports that instead of passing silently)."""

    flags: tuple[Flag, ...]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"flags": [f.to_dict() for f in self.flags], "notes": list(self.notes)}


def check_plausibility(
    values: Iterable[DataValue],
    schema: Schema,
    hierarchy: Hierarchy,
    options: PlausibilityOptions = PlausibilityOptions(),
    participants: Collection[str] | None = None,
) -> PlausibilityReport:
    """Every flag raised by the methods in ``options.methods``, strongest first, with notes
    on the checks that could not run; only of ``participants`` when given (the values may
    hold their neighbours' too)."""
    table = ValueTable(values, schema)
    flags: list[Flag] = []
    notes: list[str] = []
    m = options.methods
    if not table.total:
        notes.append("no reported values to check")
    if Method.BETA_BINOMIAL_POSITIVITY in m:
        flags += beta_binomial_positivity(table, hierarchy, options)
        notes += _positivity_notes(table, hierarchy, participants)
    if Method.ADMINISTERED_EXCEEDS_RECEIVED in m:
        flags += administered_exceeds_received(table)
    if Method.COVERAGE_ABOVE_100 in m:
        flags += coverage_above_100(table, hierarchy, options)
    if Method.ROBUST_Z_SCORE in m:
        flags += robust_z_scores(table, options)
    if Method.ILLNESS_WITHOUT_TESTS in m:
        flags += illness_without_tests(table)
    if Method.PART_EXCEEDS_WHOLE in m:
        flags += part_exceeds_whole(table)
    if participants is not None:
        flags = [f for f in flags if f.participant in participants]
    rank = {Strength.HIGH: 0, Strength.MEDIUM: 1, Strength.LOW: 2}
    flags.sort(key=lambda f: (rank[f.strength], f.participant, f.method.value, f.last_period))
    return PlausibilityReport(tuple(flags), tuple(notes))


def plausibility_flags(
    values: Iterable[DataValue],
    schema: Schema,
    hierarchy: Hierarchy,
    options: PlausibilityOptions = PlausibilityOptions(),
) -> list[Flag]:
    """Every flag raised by the methods in ``options.methods``, strongest first (the notes
    of :func:`check_plausibility` left out)."""
    return list(check_plausibility(values, schema, hierarchy, options).flags)


def _positivity_notes(
    table: ValueTable, hierarchy: Hierarchy, participants: Collection[str] | None
) -> list[str]:
    """Why the positivity check did not run for participants that reported tests."""
    testing = sorted(
        p
        for p in {p for p, _ in table.org_units()}
        if (participants is None or p in participants)
        and table.participant_series(p, Role.TESTED, hierarchy)
    )
    alone = [p for p in testing if not hierarchy.neighbours_of(p)]
    unmatched = [
        p
        for p in testing
        if hierarchy.neighbours_of(p)
        and not any(
            table.participant_series(nb, Role.TESTED, hierarchy)
            for nb in hierarchy.neighbours_of(p)
        )
    ]
    notes: list[str] = []
    if alone:
        notes.append(
            f"{Method.BETA_BINOMIAL_POSITIVITY.value} not checked for {', '.join(alone)}: the "
            "hierarchy names no neighbours to compare them with"
        )
    if unmatched:
        notes.append(
            f"{Method.BETA_BINOMIAL_POSITIVITY.value} not checked for {', '.join(unmatched)}: "
            "none of their neighbours reported tests"
        )
    return notes


def format_probability(log10_p: float) -> str:
    """A probability given by its base-10 logarithm, written so that a reader can check it:
    ``2.0e-24 (10^-23.70)``. Mantissa and exponent are taken from the logarithm, so a
    probability far below the smallest float (10^-308) is still written exactly."""
    if log10_p >= -4:
        return f"{10**log10_p:.4f} (10^{log10_p:.2f})"
    exponent = math.floor(log10_p)
    mantissa = 10 ** (log10_p - exponent)
    if round(mantissa, 1) >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.1f}e{exponent} (10^{log10_p:.2f})"


@dataclass(frozen=True)
class PositivityModel:
    """The beta distribution of positivity fitted to the neighbours' weekly rates.

    ``alpha`` and ``beta`` are ``None`` when the rates show no spread beyond their binomial
    sampling noise: the model is then the binomial with rate ``mean``.
    """

    mean: float  # m: the mean of the weekly rates
    sd: float  # the between-country standard deviation, sqrt(v)
    weeks: int  # neighbour-weeks the fit is over
    alpha: float | None
    beta: float | None

    @property
    def dispersion(self) -> float:
        """``ρ = 1 / (α + β + 1)``: 0 for a binomial, 1 when every country is all or none."""
        if self.alpha is None or self.beta is None:
            return 0.0
        return 1.0 / (self.alpha + self.beta + 1.0)


def fit_positivity(tests: Sequence[float], positives: Sequence[float]) -> PositivityModel:
    """Method-of-moments beta fit to weekly positivity ``positives[i] / tests[i]``.

    The variance of the weekly rates is the between-country (and between-week) variance
    plus binomial sampling noise ``r(1 − r)/n``; the noise is taken out so that a large
    neighbour testing at one steady rate does not look more variable than it is.
    """
    n = np.asarray(tests, dtype=float)
    rates = np.asarray(positives, dtype=float) / n
    mean = float(rates.mean())
    if len(rates) < 2 or not 0 < mean < 1:
        return PositivityModel(mean, 0.0, len(rates), None, None)
    noise = float(np.mean(rates * (1 - rates) / n))
    between = float(rates.var(ddof=1)) - noise
    if between <= 0:
        return PositivityModel(mean, 0.0, len(rates), None, None)
    # a beta with mean m has variance below m(1 − m); a sample can reach it (all or none)
    size = max(mean * (1 - mean) / between - 1, 1e-6)
    return PositivityModel(mean, math.sqrt(between), len(rates), mean * size, (1 - mean) * size)


def log_probability_at_most(k: int, n: int, model: PositivityModel) -> float:
    """Natural log of ``P(X ≤ k)`` for ``X`` beta-binomial (``n``, ``α``, ``β``), or binomial
    (``n``, mean) when the model has no spread; exact in log space."""
    from scipy.special import betaln, logsumexp
    from scipy.stats import betabinom, binom

    if k >= n:
        return 0.0
    if model.alpha is None or model.beta is None:
        if k == 0:
            return float(n * math.log1p(-model.mean))
        return float(logsumexp(binom.logpmf(np.arange(k + 1), n, model.mean)))
    a, b = model.alpha, model.beta
    if k == 0:
        return float(betaln(a, b + n) - betaln(a, b))
    return float(logsumexp(betabinom.logpmf(np.arange(k + 1), n, a, b)))


def _pct(x: float) -> str:
    return f"{x:.2%}" if x >= 0.0001 else f"{x:.2e}"


def _model_text(model: PositivityModel, n: int, k: int) -> tuple[str, str]:
    """How the model was fitted, and the formula of the probability, in words a reader can
    recompute (SciPy: ``betaln``, ``betabinom.cdf``)."""
    weekly = (
        f"their weekly positivity averaged {_pct(model.mean)}, with a standard deviation of "
        f"{_pct(model.sd)} between countries and weeks beyond sampling noise, over "
        f"{model.weeks} country-weeks"
    )
    if model.alpha is None or model.beta is None:
        fit = f"{weekly}, no more spread than sampling noise, so the model is the binomial"
        formula = (
            f"(1 − {model.mean:.6f})^{n:,}"
            if k == 0
            else f"P(X ≤ {k:,}), X ~ Binomial({n:,}, {model.mean:.6f})"
        )
        return fit, formula
    fit = (
        f"{weekly}; the beta distribution with that mean and spread has α = {model.alpha:.6g}, "
        f"β = {model.beta:.6g} (dispersion ρ = 1/(α + β + 1) = {model.dispersion:.3g})"
    )
    formula = (
        f"B(α, β + {n:,}) / B(α, β)" if k == 0 else f"P(X ≤ {k:,}), X ~ BetaBinomial({n:,}, α, β)"
    )
    return fit, formula


def beta_binomial_positivity(
    table: ValueTable, hierarchy: Hierarchy, options: PlausibilityOptions
) -> list[Flag]:
    flags: list[Flag] = []
    participants = {p for p, _ in table.org_units()}
    for participant in sorted(participants):
        neighbours = hierarchy.neighbours_of(participant)
        if not neighbours:
            continue
        tests = table.participant_series(participant, Role.TESTED, hierarchy)
        positives = table.participant_series(participant, Role.POSITIVE, hierarchy)
        weeks = sorted(
            w for w in tests if w in positives and w.type is PeriodType.WEEKLY and tests[w] > 0
        )
        if not weeks:
            continue
        nb_tests_weekly: list[float] = []
        nb_pos_weekly: list[float] = []
        reporting_nb: list[str] = []
        covered: set[Period] = set()
        for nb in neighbours:
            nb_tests = table.participant_series(nb, Role.TESTED, hierarchy)
            nb_pos = table.participant_series(nb, Role.POSITIVE, hierarchy)
            shared = [w for w in weeks if w in nb_tests and w in nb_pos and nb_tests[w] > 0]
            if shared:
                reporting_nb.append(nb)
                covered.update(shared)
                nb_tests_weekly += [nb_tests[w] for w in shared]
                nb_pos_weekly += [min(nb_pos[w], nb_tests[w]) for w in shared]
        weeks = [w for w in weeks if w in covered]
        if not weeks:
            continue
        n = int(sum(tests[w] for w in weeks))
        k = int(sum(positives[w] for w in weeks))
        n_nb = sum(nb_tests_weekly)
        k_nb = sum(nb_pos_weekly)
        if k_nb <= 0:
            continue
        model = fit_positivity(nb_tests_weekly, nb_pos_weekly)
        if k / n >= model.mean:
            continue
        log10_p = log_probability_at_most(k, n, model) / math.log(10)
        if log10_p >= math.log10(options.positivity_alpha):
            continue
        strength = (
            Strength.HIGH if log10_p < -6 else Strength.MEDIUM if log10_p < -3 else Strength.LOW
        )
        fit, formula = _model_text(model, n, k)
        explanation = (
            f"{participant} reported {_n(n)} people tested and {_n(k)} positive over "
            f"{_periods_text(weeks)}. In the same weeks its neighbours "
            f"({', '.join(reporting_nb)}) found {_pct(k_nb / n_nb)} of tests positive "
            f"({_n(k_nb)} of {_n(n_nb)}); {fit}. For a country whose positivity is drawn from "
            f"that distribution, {_n(k)} or fewer positives in {_n(n)} tests has probability "
            f"P = {formula} = {format_probability(log10_p)}."
        )
        flags.append(
            Flag(
                Method.BETA_BINOMIAL_POSITIVITY,
                participant,
                participant,
                table.role_codes(Role.POSITIVE)[0],
                weeks[0].code,
                weeks[-1].code,
                strength,
                -log10_p,
                explanation,
                MappingProxyType(
                    {
                        "tests": float(n),
                        "positives": float(k),
                        "neighbour_tests": n_nb,
                        "neighbour_positives": k_nb,
                        "neighbour_positivity": k_nb / n_nb,
                        "neighbour_weeks": float(model.weeks),
                        "fitted_mean": model.mean,
                        "fitted_sd": model.sd,
                        **(
                            {"alpha": model.alpha, "beta": model.beta}
                            if model.alpha is not None and model.beta is not None
                            else {}
                        ),
                        "dispersion": model.dispersion,
                        "log10_probability": log10_p,
                    }
                ),
            )
        )
    return flags


def _cumulative(series: Mapping[Period, float], kind: PeriodType) -> list[tuple[Period, float]]:
    total = 0.0
    out: list[tuple[Period, float]] = []
    for period in sorted(p for p in series if p.type is kind):
        total += series[period]
        out.append((period, total))
    return out


def administered_exceeds_received(table: ValueTable) -> list[Flag]:
    flags: list[Flag] = []
    for participant, org_unit in sorted(table.org_units()):
        administered = table.series(participant, org_unit, Role.ADMINISTERED)
        received = table.series(participant, org_unit, Role.RECEIVED)
        if not administered or not received:
            continue
        for kind in PeriodType:
            given = dict(_cumulative(administered, kind))
            got = _cumulative(received, kind)
            if not given or not got:
                continue
            periods = sorted(set(given) | {p for p, _ in got})
            rec_total = 0.0
            rec_by = dict(got)
            first_over: Period | None = None
            adm_total = 0.0
            for period in periods:
                rec_total = rec_by.get(period, rec_total)
                adm_total = given.get(period, adm_total)
                if adm_total > rec_total and first_over is None:
                    first_over = period
            if first_over is None or adm_total <= rec_total or rec_total <= 0:
                continue
            share = (adm_total - rec_total) / rec_total
            strength = (
                Strength.HIGH if share > 0.10 else Strength.MEDIUM if share > 0.01 else Strength.LOW
            )
            flags.append(
                Flag(
                    Method.ADMINISTERED_EXCEEDS_RECEIVED,
                    participant,
                    org_unit,
                    table.role_codes(Role.ADMINISTERED)[0],
                    first_over.code,
                    periods[-1].code,
                    strength,
                    share,
                    f"{org_unit} reported {_n(adm_total)} doses administered up to "
                    f"{periods[-1].code} but only {_n(rec_total)} doses received: "
                    f"{_n(adm_total - rec_total)} more than it had ({share:.1%}), first from "
                    f"{first_over.code}.",
                    MappingProxyType({"administered": adm_total, "received": rec_total}),
                )
            )
    return flags


def _dose_one_keys(element: DataElement, schema: Schema) -> tuple[str, ...]:
    if "dose" not in element.categories:
        return ()
    first = schema.categories["dose"].options[0].code
    return tuple(
        k for k in schema.category_keys(element) if parse_category_key(k).get("dose") == first
    )


def coverage_above_100(
    table: ValueTable, hierarchy: Hierarchy, options: PlausibilityOptions
) -> list[Flag]:
    flags: list[Flag] = []
    schema = table.schema
    for participant, org_unit in sorted(table.org_units()):
        population = hierarchy.population(org_unit)
        if not population:
            continue
        for element in schema.elements_with_role(Role.ADMINISTERED):
            keys = _dose_one_keys(element, schema)
            if not keys:
                continue
            series: dict[Period, float] = {}
            for k in keys:
                for period, x in table.by_category.get(
                    (participant, org_unit, element.code, k), {}
                ).items():
                    series[period] = series.get(period, 0.0) + x
            for kind in PeriodType:
                cum = _cumulative(series, kind)
                if not cum:
                    continue
                last_period, total = cum[-1]
                ratio = total / population
                if ratio <= options.coverage_threshold:
                    continue
                first_over = next(p for p, x in cum if x / population > options.coverage_threshold)
                strength = (
                    Strength.HIGH
                    if ratio > 1.2
                    else Strength.MEDIUM
                    if ratio > 1.05
                    else Strength.LOW
                )
                flags.append(
                    Flag(
                        Method.COVERAGE_ABOVE_100,
                        participant,
                        org_unit,
                        element.code,
                        first_over.code,
                        last_period.code,
                        strength,
                        ratio,
                        f"{org_unit} reported {_n(total)} first doses up to {last_period.code}, "
                        f"{ratio:.1%} of its population of {_n(population)}: more people "
                        "vaccinated than live there.",
                        MappingProxyType({"first_doses": total, "population": float(population)}),
                    )
                )
    return flags


#: SciPy's ``scale="normal"`` for the median absolute deviation: ``special.ndtri(0.75)``.
_NORMAL_MAD_SCALE = 0.6744897501960817


def normal_mad(history: npt.NDArray[np.float64]) -> float:
    """The median absolute deviation scaled to a normal's standard deviation, as SciPy's
    ``median_abs_deviation(history, scale="normal")`` computes it (same steps, same number),
    without its per-call argument handling, which cost more than the sums themselves."""
    median = np.median(history)
    return float(np.median(np.abs(history - median)) / _NORMAL_MAD_SCALE)


def robust_z_scores(table: ValueTable, options: PlausibilityOptions) -> list[Flag]:
    flags: list[Flag] = []
    for (participant, org_unit, code, category), series in sorted(
        table.by_category.items(), key=lambda kv: kv[0]
    ):
        for kind in PeriodType:
            periods = sorted(p for p in series if p.type is kind)
            if len(periods) <= options.z_min_history:
                continue
            xs = np.array([series[p] for p in periods], dtype=float)
            for t in range(options.z_min_history, len(periods)):
                history = xs[max(0, t - options.z_window) : t]
                median = float(np.median(history))
                mad = normal_mad(history)
                scale = max(mad, math.sqrt(max(abs(median), 1.0)))
                z = (xs[t] - median) / scale
                if abs(z) <= options.z_threshold:
                    continue
                strength = (
                    Strength.HIGH
                    if abs(z) >= 10
                    else Strength.MEDIUM
                    if abs(z) >= 5
                    else Strength.LOW
                )
                direction = "above" if z > 0 else "below"
                cat = "" if category == "default" else f" [{category}]"
                flags.append(
                    Flag(
                        Method.ROBUST_Z_SCORE,
                        participant,
                        org_unit,
                        code,
                        periods[t].code,
                        periods[t].code,
                        strength,
                        float(z),
                        f"{code}{cat} of {org_unit} in {periods[t].code} is {_n(xs[t])}, far "
                        f"{direction} its previous {len(history)} values (median {_n(median)}, "
                        f"robust spread {scale:,.1f}): robust z-score {z:+.1f}.",
                        MappingProxyType(
                            {"value": float(xs[t]), "median": median, "mad_scaled": mad, "z": z}
                        ),
                    )
                )
    return flags


def illness_without_tests(table: ValueTable) -> list[Flag]:
    flags: list[Flag] = []
    for participant, org_unit in sorted(table.org_units()):
        ili = table.series(participant, org_unit, Role.ILI)
        sari = table.series(participant, org_unit, Role.SARI)
        tests = table.series(participant, org_unit, Role.TESTED)
        for period in sorted(set(ili) | set(sari)):
            ill = ili.get(period, 0.0) + sari.get(period, 0.0)
            tested = tests.get(period)
            if ill <= 0 or (tested is not None and tested > 0):
                continue
            reported = "reported zero tests" if tested is not None else "reported no test figure"
            flags.append(
                Flag(
                    Method.ILLNESS_WITHOUT_TESTS,
                    participant,
                    org_unit,
                    (table.role_codes(Role.ILI) + table.role_codes(Role.SARI))[0],
                    period.code,
                    period.code,
                    Strength.HIGH if tested is not None else Strength.MEDIUM,
                    ill,
                    f"{org_unit} reported {_n(ill)} influenza-like illness or SARI cases in "
                    f"{period.code} but {reported}: respiratory illness is normally tested.",
                    MappingProxyType({"ili_sari": ill, "tested": tested or 0.0}),
                )
            )
    return flags


def part_exceeds_whole(table: ValueTable) -> list[Flag]:
    flags: list[Flag] = []
    for participant, org_unit in sorted(table.org_units()):
        tests = table.series(participant, org_unit, Role.TESTED)
        for role, what in (
            (Role.HEALTH_WORKERS_TESTED, "health workers tested"),
            (Role.POSITIVE, "positives"),
        ):
            part = table.series(participant, org_unit, role)
            for period in sorted(part):
                tested = tests.get(period)
                if tested is None or part[period] <= tested:
                    continue
                flags.append(
                    Flag(
                        Method.PART_EXCEEDS_WHOLE,
                        participant,
                        org_unit,
                        table.role_codes(role)[0],
                        period.code,
                        period.code,
                        Strength.HIGH,
                        part[period] / tested if tested else math.inf,
                        f"{org_unit} reported {_n(part[period])} {what} in {period.code} but "
                        f"only {_n(tested)} people tested in all.",
                        MappingProxyType({"part": part[period], "tested": tested}),
                    )
                )
    return flags
