"""Scenario sweeps over grids (R0 x supply x rollout speed x strategy x country).

The grid is split into chunks (scenarios of one country together, so its population and
contacts are prepared once per chunk). Each chunk runs as one vectorised batch, with the
no-vaccination epidemic for each (country, R0) it holds, on any :class:`Executor`. The caller
writes each finished chunk to ``<out>/chunks/chunk-NNNNN.parquet`` and records it in
``<out>/manifest.json``; a re-run of the same grid into the same folder skips chunks already
done, so an interrupted sweep resumes. When all chunks are done they are gathered into
``<out>/results.parquet`` (one row per scenario).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path

import pandas as pd

from doseflow.domain.errors import DoseflowError
from doseflow.impact.bands import AgeBands
from doseflow.impact.epidemiology import ForceDenominator
from doseflow.impact.executors import Executor, InProcessExecutor
from doseflow.impact.initial import InitialConditions
from doseflow.impact.model import simulate
from doseflow.impact.results import averted
from doseflow.impact.rollout import RateRollout
from doseflow.impact.scenario import (
    DEFAULT_BANDS,
    DEFAULT_HORIZON_DAYS,
    DEFAULT_INFECTIOUS_DAYS,
    DEFAULT_INITIAL_INFECTED,
    DEFAULT_LATENT_DAYS,
    DEFAULT_REFUSAL,
    Scenario,
    country_scenario,
    custom_scenario,
)
from doseflow.impact.strategy import Strategy
from doseflow.impact.vaccine import DEFAULT_VACCINE, Eligibility, VaccineProfile

MANIFEST = "manifest.json"
RESULTS = "results.parquet"
CHUNK_DIR = "chunks"
DEFAULT_CHUNK_SIZE = 250

#: A grid point: (country, R0, supply share, doses/day share, strategy, vaccine code,
#: eligibility, denominator).
Point = tuple[str, float, float, float, str, str, str, str]

#: Columns of a sweep's results table.
RESULT_COLUMNS = (
    "country",
    "r0",
    "supply_share",
    "doses_per_day_share",
    "strategy",
    "vaccine",
    "eligibility",
    "denominator",
    "population",
    "infections",
    "symptomatic",
    "deaths",
    "yll",
    "courses",
    "doses_to_groups",
    "doses_spilled",
    "doses_held",
    "deaths_no_vaccine",
    "infections_no_vaccine",
    "symptomatic_no_vaccine",
    "yll_no_vaccine",
    "deaths_averted",
    "deaths_averted_share",
    "infections_averted",
    "infections_averted_share",
    "symptomatic_averted",
    "symptomatic_averted_share",
    "yll_averted",
    "yll_averted_share",
    "chunk",
)


@dataclass(frozen=True)
class SweepPopulation:
    """A population of a sweep given by the analyst, named ``name`` in results: bundled data
    of ``country`` with some inputs replaced, or a whole population and contact matrix of its
    own (``population`` and ``contacts``, on ``bands`` or the grid's bands)."""

    name: str
    country: str | None = None
    population: tuple[float, ...] | None = None
    contacts: tuple[tuple[float, ...], ...] | None = None
    bands: AgeBands | None = None
    contact_proxy: str | None = None
    susceptibility: tuple[float, ...] | None = None
    ifr: tuple[float, ...] | None = None
    life_expectancy: tuple[float, ...] | None = None
    symptomatic_fraction: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        for name in (
            "population",
            "susceptibility",
            "ifr",
            "life_expectancy",
            "symptomatic_fraction",
        ):
            values = getattr(self, name)
            if values is not None:  # tuples: the grid stays hashable (cached by value)
                object.__setattr__(self, name, tuple(float(v) for v in values))
        if self.contacts is not None:
            rows = tuple(tuple(float(v) for v in row) for row in self.contacts)
            object.__setattr__(self, "contacts", rows)
        given = (self.population is not None, self.contacts is not None)
        bundled = self.country is not None and given == (False, False)
        if not (bundled or (self.country is None and all(given))):
            raise DoseflowError(
                "IMPACT_BAD_PARAMETER",
                f"sweep population '{self.name}' needs either a country (bundled data) or "
                "both a population and a contact matrix, not both",
                field=f"populations.{self.name}",
                expected="country, or population and contacts",
                value=self.name,
            )

    def scenario(self, bands: AgeBands, **params: object) -> Scenario:
        """The base scenario of this population (``params``: the grid's shared parameters)."""
        if self.symptomatic_fraction is not None:
            params = {**params, "symptomatic_fraction": self.symptomatic_fraction}
        if self.country is not None:
            return country_scenario(
                self.country,
                bands=self.bands or bands,
                contact_proxy=self.contact_proxy,
                susceptibility=self.susceptibility,
                ifr=self.ifr,
                life_expectancy=self.life_expectancy,
                name=self.name,
                labels={"population": self.name},
                **params,
            )
        assert self.population is not None
        assert self.contacts is not None
        return custom_scenario(
            self.name,
            self.bands or bands,
            self.population,
            self.contacts,
            susceptibility=self.susceptibility,
            ifr=self.ifr,
            life_expectancy=self.life_expectancy,
            labels={"population": self.name, "contacts": "given"},
            **params,
        )


@dataclass(frozen=True)
class SweepGrid:
    """The axes of a sweep and the parameters shared by every scenario. The first axis is
    ``countries`` (bundled data) and ``populations`` (the analyst's own), each by name.

    ``vaccine``, ``eligibility`` and ``denominator`` are one value for every scenario, or
    axes: ``vaccines`` (profiles with distinct codes; when given, ``vaccine`` must be left at
    its default) and a tuple of eligibilities or of denominators."""

    countries: tuple[str, ...]
    r0: tuple[float, ...]
    supply_shares: tuple[float, ...]
    doses_per_day_shares: tuple[float, ...]
    strategies: tuple[str, ...]
    bands: AgeBands = DEFAULT_BANDS
    horizon_days: int = DEFAULT_HORIZON_DAYS
    refusal: float = DEFAULT_REFUSAL
    initial_infected: float = DEFAULT_INITIAL_INFECTED
    latent_days: float = DEFAULT_LATENT_DAYS
    infectious_days: float = DEFAULT_INFECTIOUS_DAYS
    vaccine: VaccineProfile = DEFAULT_VACCINE
    chunk_size: int = DEFAULT_CHUNK_SIZE
    populations: tuple[SweepPopulation, ...] = ()
    initial: InitialConditions | None = None
    eligibility: Eligibility | tuple[Eligibility, ...] = Eligibility.SUSCEPTIBLE_EXPOSED_RECOVERED
    denominator: ForceDenominator | tuple[ForceDenominator, ...] = ForceDenominator.INITIAL
    vaccines: tuple[VaccineProfile, ...] = ()

    @property
    def vaccine_axis(self) -> tuple[VaccineProfile, ...]:
        return self.vaccines or (self.vaccine,)

    @property
    def eligibility_axis(self) -> tuple[Eligibility, ...]:
        e = self.eligibility
        return tuple(Eligibility(v) for v in e) if isinstance(e, tuple) else (Eligibility(e),)

    @property
    def denominator_axis(self) -> tuple[ForceDenominator, ...]:
        d = self.denominator
        if isinstance(d, tuple):
            return tuple(ForceDenominator(v) for v in d)
        return (ForceDenominator(d),)

    def __post_init__(self) -> None:
        names = [c.upper() for c in self.countries] + [p.name for p in self.populations]
        clash = sorted({n for n in names if names.count(n) > 1})
        if clash:
            raise DoseflowError(
                "IMPACT_BAD_PARAMETER",
                f"the sweep names '{clash[0]}' more than once (countries and populations)",
                field="populations",
                expected="distinct country codes and population names",
                value=clash[0],
            )
        axes = {
            "countries": names,
            "r0": self.r0,
            "supply_shares": self.supply_shares,
            "doses_per_day_shares": self.doses_per_day_shares,
            "strategies": self.strategies,
            "eligibility": self.eligibility_axis,
            "denominator": self.denominator_axis,
        }
        for name, values in axes.items():
            if not values:
                raise DoseflowError(
                    "IMPACT_EMPTY_GRID",
                    f"the sweep grid has no values for '{name}'",
                    field=name,
                    expected="at least one value on every axis",
                    value=0,
                )
        for text in self.strategies:
            Strategy.parse(text)
        codes = [v.code for v in self.vaccine_axis]
        if len(set(codes)) != len(codes) or (self.vaccines and self.vaccine != DEFAULT_VACCINE):
            raise DoseflowError(
                "IMPACT_BAD_PARAMETER",
                "the vaccines of a sweep need distinct codes (results name them), given as one "
                "'vaccine' or a list of 'vaccines', not both",
                field="vaccines",
                expected="distinct codes; vaccine or vaccines",
                value=", ".join(codes),
            )
        if self.chunk_size < 1:
            raise DoseflowError(
                "IMPACT_BAD_PARAMETER",
                "chunk_size must be at least 1",
                field="chunk_size",
                expected="an integer >= 1",
                value=self.chunk_size,
            )

    @property
    def size(self) -> int:
        return (
            (len(self.countries) + len(self.populations))
            * len(self.r0)
            * len(self.supply_shares)
            * len(self.doses_per_day_shares)
            * len(self.strategies)
            * len(self.vaccine_axis)
            * len(self.eligibility_axis)
            * len(self.denominator_axis)
        )

    def key(self) -> str:
        """A fingerprint of everything that changes results (not the chunk size's effect on
        files: chunks are part of the key, so a changed chunk size is a different sweep)."""
        text = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def points(self) -> list[Point]:
        """Every :data:`Point` of the grid, in a fixed order."""
        return list(
            itertools.product(
                [c.upper() for c in self.countries] + [p.name for p in self.populations],
                self.r0,
                self.supply_shares,
                self.doses_per_day_shares,
                self.strategies,
                [v.code for v in self.vaccine_axis],
                [e.value for e in self.eligibility_axis],
                [d.value for d in self.denominator_axis],
            )
        )

    def check_populations(self) -> None:
        """Build every population's base scenario once: a bad input (a matrix of the wrong
        shape, an unknown country) is reported before any chunk runs; a problem of an entry
        of ``populations`` is located there (``populations[1].contacts``)."""
        where = {p.name: i for i, p in enumerate(self.populations)}
        for name in dict.fromkeys(p[0] for p in self.points()):
            try:
                _country_base(name, self.bands, self.key(), self)
            except DoseflowError as err:
                if name not in where:
                    raise
                prefix = f"populations[{where[name]}]"
                raise DoseflowError.from_details(
                    replace(
                        d,
                        location=replace(
                            d.location,
                            field=f"{prefix}.{d.location.field}" if d.location.field else prefix,
                        ),
                    )
                    for d in err.details
                ) from None

    def chunks(self) -> list[Chunk]:
        """The grid cut into chunks that never mix countries."""
        out: list[Chunk] = []
        for _, group in itertools.groupby(self.points(), key=lambda p: p[0]):
            items = list(group)
            for start in range(0, len(items), self.chunk_size):
                out.append(Chunk(len(out), self, tuple(items[start : start + self.chunk_size])))
        return out


@dataclass(frozen=True)
class Chunk:
    """One unit of work: some grid points, all of one country."""

    index: int
    grid: SweepGrid
    points: tuple[Point, ...]

    @property
    def filename(self) -> str:
        return f"chunk-{self.index:05d}.parquet"


@cache
def _country_base(iso3: str, bands: AgeBands, grid_key: str, grid: SweepGrid) -> Scenario:
    params: dict[str, object] = {
        "horizon_days": grid.horizon_days,
        "refusal": grid.refusal,
        "initial_infected": grid.initial_infected,
        "initial": grid.initial,
        "latent_days": grid.latent_days,
        "infectious_days": grid.infectious_days,
        "vaccines": grid.vaccine_axis,
        "eligibility": grid.eligibility_axis[0],
        "denominator": grid.denominator_axis[0],
    }
    for own in grid.populations:
        if own.name == iso3:
            return own.scenario(bands, **params)
    return country_scenario(iso3, bands=bands, **params)  # type: ignore[arg-type]


def run_chunk(chunk: Chunk) -> pd.DataFrame:
    """Run one chunk (and its no-vaccination baselines) as one batch; one row per point."""
    grid = chunk.grid
    iso3 = chunk.points[0][0]
    base = _country_base(iso3, grid.bands, grid.key(), grid)
    # one run without vaccination per R0 and denominator (eligibility and vaccine do not
    # change an epidemic in which nobody is vaccinated after day 0)
    keys = sorted({(p[1], p[7]) for p in chunk.points})
    scenarios = [
        replace(base, r0=r0, rollout=None, denominator=ForceDenominator(d)) for r0, d in keys
    ]
    for _, r0, supply, speed, strategy, vaccine, eligibility, denominator in chunk.points:
        scenarios.append(
            replace(
                base,
                r0=r0,
                strategy=Strategy.parse(strategy),
                rollout=RateRollout(speed, supply, vaccine),
                eligibility=Eligibility(eligibility),
                denominator=ForceDenominator(denominator),
            )
        )
    result = simulate(scenarios, by_age=False)
    deaths, infections, yll = result.deaths, result.infections, result.yll  # computed once
    symptomatic = result.symptomatic
    courses = result.vaccinated
    account = result.doses
    baseline = {key: j for j, key in enumerate(keys)}
    own = [baseline[(p[1], p[7])] for p in chunk.points]
    avert = averted(result, result, [*range(len(keys)), *own])
    rows = []
    for j, point in enumerate(chunk.points, start=len(keys)):
        country, r0, supply, speed, strategy, vaccine, eligibility, denominator = point
        b = own[j - len(keys)]
        rows.append(
            {
                "country": country,
                "r0": r0,
                "supply_share": supply,
                "doses_per_day_share": speed,
                "strategy": strategy,
                "vaccine": vaccine,
                "eligibility": eligibility,
                "denominator": denominator,
                "population": base.total_population,
                "infections": infections[j],
                "symptomatic": symptomatic[j],
                "deaths": deaths[j],
                "yll": yll[j],
                "courses": courses[j],
                "doses_to_groups": account.to_groups[j],
                "doses_spilled": account.spilled[j],
                "doses_held": account.held[j],
                "deaths_no_vaccine": deaths[b],
                "infections_no_vaccine": infections[b],
                "symptomatic_no_vaccine": symptomatic[b],
                "yll_no_vaccine": yll[b],
                "deaths_averted": deaths[b] - deaths[j],
                "deaths_averted_share": avert.deaths_share[j],
                "infections_averted": infections[b] - infections[j],
                "infections_averted_share": avert.infections_share[j],
                "symptomatic_averted": symptomatic[b] - symptomatic[j],
                "symptomatic_averted_share": avert.symptomatic_share[j],
                "yll_averted": yll[b] - yll[j],
                "yll_averted_share": avert.yll_share[j],
                "chunk": chunk.index,
            }
        )
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


@dataclass(frozen=True)
class SweepOutcome:
    """What a sweep did: the results, where they are, and which chunks ran or were skipped."""

    results: pd.DataFrame
    path: Path
    chunks_run: tuple[int, ...]
    chunks_skipped: tuple[int, ...]
    executor: str = field(default="in-process")


def _read_manifest(out: Path, grid: SweepGrid, n_chunks: int) -> dict[str, object]:
    path = out / MANIFEST
    if not path.exists():
        return {"grid_key": grid.key(), "chunks": n_chunks, "done": []}
    manifest: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("grid_key") != grid.key():
        raise DoseflowError(
            "IMPACT_SWEEP_MISMATCH",
            f"{out} holds results of a different sweep grid",
            source=str(path),
            field="grid_key",
            expected=f"grid {grid.key()} (or an empty folder for a new sweep)",
            value=manifest.get("grid_key"),
        )
    return manifest


def _write_manifest(out: Path, manifest: dict[str, object]) -> None:
    tmp = out / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    os.replace(tmp, out / MANIFEST)


def run_sweep(
    grid: SweepGrid,
    out: Path | str,
    executor: Executor | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> SweepOutcome:
    """Run ``grid`` into folder ``out``, skipping chunks a previous run finished.

    ``progress(done, total)`` is called after each chunk (and once at the start)."""
    out = Path(out)
    (out / CHUNK_DIR).mkdir(parents=True, exist_ok=True)
    chunks = grid.chunks()
    manifest = _read_manifest(out, grid, len(chunks))
    done_list = manifest["done"]
    assert isinstance(done_list, list)
    done = {int(i) for i in done_list if (out / CHUNK_DIR / chunks[int(i)].filename).exists()}
    todo = [c for c in chunks if c.index not in done]
    executor = executor or InProcessExecutor()
    if progress:
        progress(len(done), len(chunks))
    ran: list[int] = []
    for position, frame in executor.run(run_chunk, todo):
        chunk = todo[position]
        tmp = out / CHUNK_DIR / (chunk.filename + ".tmp")
        frame.to_parquet(tmp, engine="pyarrow", index=False)
        os.replace(tmp, out / CHUNK_DIR / chunk.filename)
        done.add(chunk.index)
        ran.append(chunk.index)
        manifest["done"] = sorted(done)
        _write_manifest(out, manifest)
        if progress:
            progress(len(done), len(chunks))
    results = gather(out, chunks)
    results.to_parquet(out / RESULTS, engine="pyarrow", index=False)
    return SweepOutcome(
        results,
        out / RESULTS,
        tuple(sorted(ran)),
        tuple(sorted(set(range(len(chunks))) - set(ran))),
        executor.name,
    )


def gather(out: Path, chunks: Sequence[Chunk]) -> pd.DataFrame:
    """All chunk files of a finished sweep, in grid order."""
    frames = [pd.read_parquet(out / CHUNK_DIR / c.filename, engine="pyarrow") for c in chunks]
    return (
        pd.concat(frames, ignore_index=True)
        .sort_values("chunk", kind="stable")
        .reset_index(drop=True)
    )
