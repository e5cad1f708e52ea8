"""``doseflow impact ...``: a single run, a strategy comparison, a sweep, and the global
comparison of allocation rules for an allocation scenario.

Commands parse options, call :mod:`doseflow.impact` (and :mod:`doseflow.allocation` to run the
rounds a global comparison needs), and render; the model lives in the engine.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from doseflow.cli.console import console, err_console
from doseflow.cli.context import CONTEXT_SETTINGS
from doseflow.cli.options import DB_HELP, db_option, participant_option, round_option
from doseflow.cli.output import (
    OutputFormat,
    Shown,
    TableOrJson,
    emit,
    format_option,
    note,
    print_table,
    table_or_json_option,
)
from doseflow.cli.output import col as column
from doseflow.cli.progress import loop
from doseflow.cli.vocabulary import VocabularyTyper
from doseflow.domain.errors import DoseflowError

if TYPE_CHECKING:
    import pandas as pd

    from doseflow.impact import Scenario

impact_app = VocabularyTyper(
    context_settings=CONTEXT_SETTINGS,
    help="Impact modelling: deaths averted by vaccination strategies and allocation rules.",
    no_args_is_help=True,
)

STRATEGIES_HELP = (
    "Strategies one after another with commas (older-first,ordered:60+,20-59,proportional): "
    "a comma starts a new strategy only before a strategy's name. Or use --strategy."
)
STRATEGY_HELP = (
    "A strategy (repeat for several): older-first, younger-first, proportional, "
    "ordered:60+,[0-19,40-59],rest, weights:...; options ;from=AGE ;spill=hold|everyone."
)


#: ``impact global``'s defaults, the values of ``Eligibility.SUSCEPTIBLE_EXPOSED_RECOVERED`` and
#: ``ForceDenominator.INITIAL``, spelt out so that ``doseflow impact --help`` does not import
#: the model (SciPy, pandas); tests/cli/test_startup.py holds them to the enums.
DEFAULT_ELIGIBILITY = "susceptible-exposed-recovered"
DEFAULT_DENOMINATOR = "initial"

#: Strategies ``impact compare`` runs when given none.
DEFAULT_COMPARED = ("older-first", "younger-first", "proportional")


def _floats(text: str, name: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values:
        raise DoseflowError(
            "IMPACT_BAD_PARAMETER",
            f"cannot read the list of numbers given to --{name}",
            field=name,
            expected="comma-separated numbers, e.g. 0.05,0.1,0.2",
            value=text,
        )
    return values


ELIGIBILITY_HELP = (
    "Who is vaccinated among the willing: susceptible-exposed-recovered (default) or "
    "susceptible-recovered (exposed people deferred). Overrides the scenario file."
)
DENOMINATOR_HELP = (
    "Population the force of infection divides by: initial (day 0, default) or living "
    "(the dead no longer mix). Overrides the scenario file."
)
BEST_BY_HELP = "Outcome averted that ranks strategies: deaths, yll, infections or symptomatic."
#: How each outcome is named on screen.
OUTCOME_LABELS = {
    "deaths": "deaths",
    "infections": "infections",
    "symptomatic": "symptomatic cases",
    "yll": "years of life lost",
}


def _choice(values: tuple[str, ...], text: str, name: str) -> str:
    if text not in values:
        raise DoseflowError(
            "IMPACT_BAD_PARAMETER",
            f"--{name} takes one of {', '.join(values)}",
            field=name,
            expected=" or ".join(values),
            value=text,
        )
    return text


def _base(
    scenario_file: Path | None,
    country: str | None,
    bands: str | None,
    r0: float | None,
    strategy: str | None,
    eligibility: str | None = None,
    denominator: str | None = None,
) -> Scenario:
    from doseflow.impact import AgeBands, Eligibility, ForceDenominator, Strategy, country_scenario
    from doseflow.impact.scenario_file import load_scenario

    if scenario_file is not None:
        base = load_scenario(scenario_file)
    elif country is not None:
        base = country_scenario(
            country, bands=AgeBands.parse(bands) if bands else AgeBands.uniform(5, 75)
        )
    else:
        raise DoseflowError(
            "IMPACT_NO_SCENARIO",
            "name a country (--participant) or a scenario file",
            field="participant",
            expected="--participant ISO3 or a SCENARIO file",
        )
    if r0 is not None:
        base = replace(base, r0=r0)
    if strategy is not None:
        base = replace(base, strategy=Strategy.parse(strategy))
    if eligibility is not None:
        allowed = tuple(e.value for e in Eligibility)
        base = replace(base, eligibility=Eligibility(_choice(allowed, eligibility, "eligibility")))
    if denominator is not None:
        allowed = tuple(d.value for d in ForceDenominator)
        chosen = _choice(allowed, denominator, "denominator")
        base = replace(base, denominator=ForceDenominator(chosen))
    return base


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _fmt(x: float) -> str:
    return f"{x:,.0f}"


@impact_app.command("run")
def run_command(
    scenario_file: Path | None = typer.Argument(
        None, help="Scenario file (YAML/JSON); see docs/impact.md."
    ),
    country: str | None = participant_option(
        None, "A country by ISO3 code (bundled WPP 2019 / Prem 2017)."
    ),
    bands: str | None = typer.Option(
        None, help="Age bands, e.g. 0,10,20,...,80 or 0-17,18-59,60+."
    ),
    r0: float | None = typer.Option(None, help="Basic reproduction number."),
    supply: float | None = typer.Option(None, help="Doses available as a share of population."),
    speed: float = typer.Option(
        0.005, help="Doses a day as a share of population (with --supply)."
    ),
    strategy: str | None = typer.Option(None, help=STRATEGY_HELP),
    eligibility: str | None = typer.Option(None, help=ELIGIBILITY_HELP),
    denominator: str | None = typer.Option(None, help=DENOMINATOR_HELP),
    out: Path | None = typer.Option(None, help="Folder for by-age and daily CSV files."),
    fmt: TableOrJson = table_or_json_option(
        "table (the outcomes, the doses and the age bands as tables) or json (the figures "
        "of the summary); several tables, so no csv (--out writes by_age.csv and daily.csv)."
    ),
) -> None:
    """Run one scenario and its no-vaccination counterfactual."""
    from doseflow.impact import RateRollout, averted, simulate
    from doseflow.impact.results import INFECTIONS_DEFINITION, OUTCOMES

    base = _base(scenario_file, country, bands, r0, strategy, eligibility, denominator)
    if supply is not None:
        base = replace(base, rollout=RateRollout(speed, supply, base.vaccines[0].code))
    result = simulate([base, base.without_vaccination()])
    avert = averted(result, result, [1, 1])
    summary: dict[str, object] = {
        "scenario": base.name,
        "strategy": base.strategy.name,
        "r0": base.r0,
        "eligibility": base.eligibility.value,
        "denominator": base.denominator.value,
        "population": base.total_population,
        "courses": float(result.vaccinated[0]),
        "doses": float(result.doses.doses[0]),
        "doses_to_groups": float(result.doses.to_groups[0]),
        "doses_spilled": float(result.doses.spilled[0]),
        "doses_held": float(result.doses.held[0]),
    }
    figures: dict[str, float] = {}
    for outcome in OUTCOMES:
        figures[outcome] = float(getattr(result, outcome)[0])
        figures[f"{outcome}_no_vaccine"] = float(getattr(result, outcome)[1])
    figures.update(avert.row(0))
    summary.update(figures)
    summary["infections_definition"] = INFECTIONS_DEFINITION
    summary["contacts"] = str(base.labels.get("contacts", "given"))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        result.by_age().to_csv(out / "by_age.csv", index=False)
        result.timeseries().to_csv(out / "daily.csv", index=False)
    if fmt is TableOrJson.JSON:
        console.print_json(json.dumps(summary))
        return
    table = Table(title=f"{base.name}: {base.strategy.name}, R0 {base.r0:g}")
    table.add_column("outcome")
    table.add_column("with vaccination", justify="right")
    table.add_column("without", justify="right")
    table.add_column("averted", justify="right")
    table.add_column("% averted", justify="right")
    for outcome in ("infections", "symptomatic", "deaths", "yll"):
        table.add_row(
            OUTCOME_LABELS[outcome],
            _fmt(figures[outcome]),
            _fmt(figures[f"{outcome}_no_vaccine"]),
            _fmt(figures[f"{outcome}_averted"]),
            _pct(figures[f"{outcome}_averted_share"]),
        )
    table.add_row("courses completed", _fmt(result.vaccinated[0]), "0", "", "")
    print_table(table)
    console.print(f"infections: {INFECTIONS_DEFINITION}", highlight=False)
    console.print(
        f"eligibility: {base.eligibility.value} (who is vaccinated among the willing); "
        f"denominator: {base.denominator.value} (population the force of infection divides by)",
        highlight=False,
    )
    if base.rollout is not None:
        account = result.doses
        console.print(
            f"doses {_fmt(account.doses[0])}: to the strategy's groups "
            f"{_fmt(account.to_groups[0])}, spilled {_fmt(account.spilled[0])}, "
            f"held {_fmt(account.held[0])} (spill={base.strategy.spill})",
            highlight=False,
        )
    console.print(f"contact matrix: {summary['contacts']}")
    ages = Table(title="By age band")
    for col in (
        "band",
        "population",
        "courses",
        "infections",
        "symptomatic",
        "deaths",
        "deaths without vaccine",
    ):
        ages.add_column(col, justify="left" if col == "band" else "right")
    for a, label in enumerate(base.bands.labels):
        ages.add_row(
            label,
            _fmt(base.population[a]),
            _fmt(result.vaccinated_by_age[0, a]),
            _fmt(result.infections_by_age[0, a]),
            _fmt(result.symptomatic_by_age[0, a]),
            _fmt(result.deaths_by_age[0, a]),
            _fmt(result.deaths_by_age[1, a]),
        )
    print_table(ages)


@impact_app.command("compare")
def compare_command(
    scenario_file: Path | None = typer.Argument(None, help="Scenario file (YAML/JSON)."),
    country: str | None = participant_option(None, "A country by ISO3 code."),
    bands: str | None = typer.Option(None, help="Age bands."),
    r0: float | None = typer.Option(None, help="Basic reproduction number."),
    strategies: str | None = typer.Option(None, help=STRATEGIES_HELP),
    strategy: list[str] | None = typer.Option(None, "--strategy", help=STRATEGY_HELP),
    supply: str = typer.Option(
        "0.05,0.1,0.2,0.4,0.6", help="Supply levels: doses as shares of population."
    ),
    speed: float | None = typer.Option(None, help="Doses a day as a share of population."),
    best_by: str = typer.Option("deaths", "--best-by", help=BEST_BY_HELP),
    eligibility: str | None = typer.Option(None, help=ELIGIBILITY_HELP),
    denominator: str | None = typer.Option(None, help=DENOMINATOR_HELP),
    out: Path | None = typer.Option(None, help="Folder for comparison.csv and charts (PNG, HTML)."),
    fmt: OutputFormat = format_option(
        "table, csv or json (every column of comparison.csv, one row per strategy and supply "
        "level; the notes on standard error)."
    ),
) -> None:
    """Compare vaccination strategies at several supply levels: deaths, infections,
    symptomatic cases and years of life lost averted (number and %), and the best strategy
    at each level by the outcome of --best-by (deaths by default)."""
    from doseflow.impact import Strategy, compare_strategies
    from doseflow.impact.compare import metric_for
    from doseflow.impact.strategy import split_strategies

    metric = metric_for(best_by)  # IMPACT_UNKNOWN_METRIC before anything runs
    outcome = metric.removesuffix("_averted")
    base = _base(scenario_file, country, bands, r0, None, eligibility, denominator)

    texts = [*(strategy or []), *split_strategies(strategies or "")]
    chosen = [Strategy.parse(s) for s in dict.fromkeys(texts or DEFAULT_COMPARED)]
    if not texts and scenario_file is not None and base.strategy not in chosen:
        # the file's own strategy is compared too, never dropped in silence
        chosen.insert(0, base.strategy)
    comparison = compare_strategies(
        base, chosen, _floats(supply, "supply"), doses_per_day_share=speed
    )
    frame = comparison.table
    best = comparison.best_by_supply(metric).set_index("supply_share")["strategy"]
    if fmt is not OutputFormat.TABLE:
        emit(
            [column(str(name)) for name in frame.columns],
            [list(r.values()) for r in frame.to_dict("records")],
            fmt,
        )
    table = Table(
        title=f"{base.name}, R0 {base.r0:g}: averted by vaccination, number "
        "(% of the outcome without vaccination)"
    )
    table.add_column("supply", justify="right")
    table.add_column("strategy", overflow="fold")
    for name in ("deaths", "infections", "symptomatic", "YLL"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("best")
    records = {(float(r["supply_share"]), str(r["strategy"])): r for r in frame.to_dict("records")}
    for level in sorted({level for level, _ in records}):
        for st in chosen:
            record = records[(level, st.name)]
            cells = (
                f"{_fmt(float(record[f'{o}_averted']))}\n"
                f"({_pct(float(record[f'{o}_averted_share']))})"
                for o in ("deaths", "infections", "symptomatic", "yll")
            )
            mark = "*" if best[level] == st.name else ""
            table.add_row(f"{level:.0%}", st.name, *cells, mark)
    if fmt is OutputFormat.TABLE:
        print_table(table)
    label = f"{OUTCOME_LABELS[outcome]} averted"
    note(
        f"best by {label} (*; choose with --best-by): "
        + "; ".join(f"{level:.0%}: {name}" for level, name in best.items()),
        fmt,
    )
    unused = frame[(frame["doses_held"] >= 1.0) | (frame["doses_spilled"] >= 1.0)]
    for row in unused.to_dict("records"):
        note(
            f"{row['strategy']} at {float(row['supply_share']):.0%}: doses held "
            f"{_fmt(row['doses_held'])}, spilled beyond its groups {_fmt(row['doses_spilled'])}",
            fmt,
        )
    if out is not None:
        from doseflow.impact.plots import plot_strategies

        out.mkdir(parents=True, exist_ok=True)
        comparison.table.to_csv(out / "comparison.csv", index=False)
        png, html = plot_strategies(comparison.table, out)
        note(f"wrote {out / 'comparison.csv'}, {png}, {html}", fmt)


@impact_app.command("sweep")
def sweep_command(
    grid_file: Path = typer.Argument(
        ..., help="Sweep file (YAML/JSON): countries, r0, supply_shares, ..."
    ),
    out: Path = typer.Option(
        Path("impact-sweep"), help="Folder for chunks, manifest and results.parquet."
    ),
    executor: str = typer.Option("in-process", help="in-process, pool or dask."),
    workers: int = typer.Option(2, help="Workers for pool/dask."),
    scheduler: str | None = typer.Option(
        None, help="Dask scheduler address (default: a local cluster)."
    ),
    plot: bool = typer.Option(
        True, help="Also write charts of deaths averted by strategy and supply."
    ),
    fmt: OutputFormat = format_option(
        "table, csv or json: the sums by strategy and supply (figures raw, each share of "
        "the sum without vaccination a column of its own); every scenario is in "
        "results.parquet under --out."
    ),
) -> None:
    """Run a grid of scenarios in chunks; a re-run skips chunks already done."""
    from doseflow.impact import make_executor, run_sweep
    from doseflow.impact.scenario_file import load_sweep

    grid = load_sweep(grid_file)
    ex = make_executor(executor, workers=workers, scheduler=scheduler)
    try:
        progress_to = console if fmt is OutputFormat.TABLE else err_console
        with loop(progress_to, "sweep: chunks", len(grid.chunks())) as advance:

            def progress(done: int, total: int) -> None:
                advance(done, total)

            outcome = run_sweep(grid, out, ex, progress=progress)
    finally:
        ex.close()
    n_chunks = len(outcome.chunks_run) + len(outcome.chunks_skipped)
    note(
        f"{grid.size:,} scenarios in {n_chunks} chunks "
        f"({len(outcome.chunks_run)} run, {len(outcome.chunks_skipped)} already done) "
        f"on {outcome.executor}: {outcome.path}",
        fmt,
    )
    shown = ("deaths", "symptomatic", "yll")
    summed = [f"{o}{suffix}" for o in shown for suffix in ("_averted", "_no_vaccine")]
    summary = outcome.results.groupby(["strategy", "supply_share"], as_index=False)[summed].sum()
    columns = [
        column("strategy"),
        column("supply", numeric=True, key="supply_share", text=lambda v: f"{float(v):.0%}"),
    ]
    for o, label in zip(shown, ("deaths", "symptomatic", "YLL"), strict=True):
        columns.append(column(f"{label} averted", numeric=True, key=f"{o}_averted"))
        columns.append(column("share", numeric=True, key=f"{o}_averted_share", in_table=False))
    rows = []
    for row in summary.to_dict("records"):
        cells: list[object] = [str(row["strategy"]), float(row["supply_share"])]
        for o in shown:
            base = float(row[f"{o}_no_vaccine"])
            averted = float(row[f"{o}_averted"])
            share = averted / base if base > 0 else 0.0
            cells += [Shown(averted, f"{_fmt(averted)}\n({_pct(share)})"), share]
        rows.append(cells)
    emit(
        columns,
        rows,
        fmt,
        title="Averted by vaccination, summed over the other axes of the grid, number "
        "(% of the sum without vaccination)",
    )
    if plot:
        from doseflow.impact.plots import plot_strategies

        plot_strategies(outcome.results, out)


@impact_app.command("global")
def global_command(
    allocation: str = typer.Argument(
        ...,
        help="Allocation scenario file (see docs/allocation.md), or the name of a scenario "
        "stored with `doseflow allocate run` (run with its recorded declines and revisions).",
    ),
    round_number: int | None = round_option(None, "Compare one round (default: all)."),
    r0: float = typer.Option(2.5, help="Basic reproduction number in every participant."),
    strategy: str = typer.Option(
        "older-first", help="Prioritisation within each country: " + STRATEGY_HELP
    ),
    levels: int = typer.Option(16, help="Points on each curve for the impact-maximising split."),
    eligibility: str = typer.Option(
        DEFAULT_ELIGIBILITY, help=ELIGIBILITY_HELP.split(". ")[0] + "."
    ),
    denominator: str = typer.Option(
        DEFAULT_DENOMINATOR, help=DENOMINATOR_HELP.split(". ")[0] + "."
    ),
    out: Path | None = typer.Option(None, help="Folder for per-participant CSV and charts."),
    fmt: OutputFormat = format_option(
        "table, csv or json: the totals per rule (figures raw, each share of the outcome "
        "without vaccination a column of its own)."
    ),
    db: str | None = db_option("Database of stored scenarios: " + DB_HELP),
) -> None:
    """Compare allocation rules for an allocation round by total deaths averted."""
    from doseflow.allocation import load_scenario as load_allocation
    from doseflow.allocation import run_rounds
    from doseflow.impact import Eligibility, ForceDenominator, Strategy
    from doseflow.impact.global_comparison import compare_allocations

    path = Path(allocation)
    if path.is_file() or path.suffix.lower() in (".yaml", ".yml", ".json"):
        run = run_rounds(load_allocation(path))  # a missing file: the reader's located error
    else:
        from doseflow.store.allocation import AllocationStore
        from doseflow.store.database import open_database

        run = AllocationStore(open_database(db)).compute(allocation)
    source = run if round_number is None else run.round(round_number)
    who = Eligibility(_choice(tuple(e.value for e in Eligibility), eligibility, "eligibility"))
    over = ForceDenominator(
        _choice(tuple(d.value for d in ForceDenominator), denominator, "denominator")
    )
    comparison = compare_allocations(
        source,
        r0=r0,
        strategy=Strategy.parse(strategy),
        levels=levels,
        eligibility=who,
        denominator=over,
    )
    render_allocation_comparison(comparison.totals(), comparison.skipped, fmt)
    if out is not None:
        from doseflow.impact.plots import plot_allocation_rules

        out.mkdir(parents=True, exist_ok=True)
        comparison.participants.to_csv(out / "allocation_rules.csv", index=False)
        plot_allocation_rules(comparison.totals(), out)


def render_allocation_comparison(
    totals: pd.DataFrame,
    skipped: tuple[tuple[str, str], ...],
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """A global comparison's totals, one row per rule (used by ``impact global`` and the
    demo)."""
    outcomes = (("deaths", "deaths"), ("symptomatic", "symptomatic"), ("yll", "YLL"))
    columns = [column("rule"), column("doses", numeric=True, text=_fmt)]
    for o, label in outcomes:
        columns.append(column(f"{label} averted", numeric=True, key=f"{o}_averted"))
        columns.append(column("share", numeric=True, key=f"{o}_averted_share", in_table=False))
    rows = []
    for row in totals.to_dict("records"):
        cells: list[object] = [str(row["rule"]), float(row["doses"])]
        for o, _ in outcomes:
            averted, share = float(row[f"{o}_averted"]), float(row[f"{o}_averted_share"])
            cells += [Shown(averted, f"{_fmt(averted)}\n({_pct(share)})"), share]
        rows.append(cells)
    emit(
        columns,
        rows,
        fmt,
        title="Allocation rules compared: same total supply; averted by vaccination, number "
        "(% of the outcome without vaccination)",
    )
    if skipped:
        note("not modelled: " + ", ".join(f"{iso3} ({why})" for iso3, why in skipped), fmt)


def register(app: typer.Typer) -> None:
    app.add_typer(impact_app, name="impact")


def demo_impact(
    run: object,
    out: Path,
    *,
    levels: int = 12,
    engine: object = None,
) -> None:
    """The demo's impact step: compare allocation rules for the example rounds, and strategies
    in PRK; tables on the console, CSV and charts (PNG, HTML) in ``out/impact``. With an
    ``engine`` the comparison is also stored as a finished impact run (the job the service
    runs for "covax-2021" with these settings), so the dashboard's Impact page shows it.
    Files are overwritten and the run is stored once, so running the demo twice is harmless."""
    from doseflow.allocation import AllocationRun
    from doseflow.impact import Strategy, compare_strategies, country_scenario
    from doseflow.impact.epidemiology import ForceDenominator
    from doseflow.impact.global_comparison import compare_allocations
    from doseflow.impact.plots import plot_allocation_rules, plot_strategies
    from doseflow.impact.run_result import IMPACT_COMPARISON_KIND, comparison_result
    from doseflow.impact.scenario import DEFAULT_HORIZON_DAYS, DEFAULT_R0
    from doseflow.impact.vaccine import Eligibility

    if not isinstance(run, AllocationRun):
        console.print("no allocation run to model: skipped")
        return
    folder = out / "impact"
    folder.mkdir(parents=True, exist_ok=True)
    # the service's defaults for an impact run (service/impact_job.py), at the demo's levels
    settings = {
        "round": None,
        "r0": DEFAULT_R0,
        "horizon_days": DEFAULT_HORIZON_DAYS,
        "levels": levels,
        "strategy": "older-first",
        "eligibility": Eligibility.SUSCEPTIBLE_EXPOSED_RECOVERED.value,
        "denominator": ForceDenominator.INITIAL.value,
    }
    comparison = compare_allocations(
        run,
        r0=DEFAULT_R0,
        horizon_days=DEFAULT_HORIZON_DAYS,
        levels=levels,
        strategy=Strategy.parse("older-first"),
        eligibility=Eligibility.SUSCEPTIBLE_EXPOSED_RECOVERED,
        denominator=ForceDenominator.INITIAL,
    )
    if engine is not None:
        from sqlalchemy import Engine

        from doseflow.store.finished_jobs import store_finished_job

        assert isinstance(engine, Engine)
        scenario = run.scenario
        params = {"scenario": scenario, **settings}
        result = comparison_result(
            comparison,
            scenario=scenario,
            round=None,
            strategy="older-first",
            eligibility=Eligibility.SUSCEPTIBLE_EXPOSED_RECOVERED.value,
            denominator=ForceDenominator.INITIAL.value,
        )
        job, created = store_finished_job(
            engine, kind=IMPACT_COMPARISON_KIND, params=params, result=result, submitted_by="demo"
        )
        console.print(
            f"impact run {job.id[:8]} {'stored' if created else 'already stored'} "
            "(dashboard: Impact; API: GET /api/impact-runs)",
            highlight=False,
        )
    totals = comparison.totals()
    render_allocation_comparison(totals, comparison.skipped)
    comparison.participants.to_csv(folder / "allocation_rules.csv", index=False)
    plot_allocation_rules(totals, folder)
    prk = country_scenario("PRK")
    strategies = compare_strategies(
        prk,
        [Strategy.parse(s) for s in ("older-first", "younger-first", "proportional")],
        [0.05, 0.2, 0.4],
    )
    best = strategies.best_by_supply()
    for row in best.to_dict("records"):
        console.print(
            f"PRK, supply {float(row['supply_share']):.0%} of population: {row['strategy']} "
            f"averts most deaths ({_fmt(row['deaths_averted'])}, R0 {prk.r0:g}).",
            highlight=False,
        )
    strategies.table.to_csv(folder / "strategies_prk.csv", index=False)
    plot_strategies(strategies.table, folder, stem="strategies_prk")
    console.print(f"impact tables and charts in {folder}", highlight=False)
