"""Scenario and sweep files (YAML or JSON), validated with pydantic.

A scenario file describes one country (or your own population and contact matrix) and the
vaccination plan; a sweep file describes the axes of a grid. Every problem is reported at once
with code ``IMPACT_BAD_FILE``, the file, the line, the field path, what was expected and what
was found; nothing runs unless the whole file is valid. Examples are in ``docs/impact.md``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError

from doseflow.data.fields import BoundedDate, Code, Label, Name, Number, Quantity
from doseflow.data.user_files import (
    LineMap,
    document_error,
    expected_for,
    field_path,
    line_for,
    parse_yaml_with_lines,
)
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.impact.bands import AgeBands
from doseflow.impact.epidemiology import ForceDenominator
from doseflow.impact.initial import InitialConditions
from doseflow.impact.rollout import (
    DEFAULT_CAPACITY_SHARE,
    Delivery,
    DeliverySchedule,
    RateRollout,
    Rollout,
)
from doseflow.impact.scenario import (
    DEFAULT_HORIZON_DAYS,
    DEFAULT_INFECTIOUS_DAYS,
    DEFAULT_INITIAL_INFECTED,
    DEFAULT_LATENT_DAYS,
    DEFAULT_R0,
    DEFAULT_REFUSAL,
    Scenario,
    country_scenario,
    custom_scenario,
)
from doseflow.impact.strategy import Strategy
from doseflow.impact.sweep import DEFAULT_CHUNK_SIZE, SweepGrid, SweepPopulation
from doseflow.impact.vaccine import Efficacy, EfficacyMode, Eligibility, VaccineProfile

M = TypeVar("M", bound=BaseModel)


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Share = Annotated[Number, Field(ge=0, le=1)]


def _one_or_list(value: Any) -> str:
    return "List" if isinstance(value, list) else "One"


#: A share for every age band, or one per band (checked against the scenario's bands). The
#: form is chosen by what was written, so an error names one problem (``efficacy_death[2]``),
#: not one per form tried; the capitalised tags are left out of field paths by ``_validate``.
ShareByBand = Annotated[
    Annotated[Share, Tag("One")] | Annotated[list[Share], Tag("List")],
    Discriminator(_one_or_list),
]
#: In a sweep, one value for every scenario or a list (an axis of the grid).
EligibilityAxis = Annotated[
    Annotated[Eligibility, Tag("One")] | Annotated[list[Eligibility], Tag("List")],
    Discriminator(_one_or_list),
]
DenominatorAxis = Annotated[
    Annotated[ForceDenominator, Tag("One")] | Annotated[list[ForceDenominator], Tag("List")],
    Discriminator(_one_or_list),
]


def _efficacy(value: ShareByBand) -> Efficacy:
    return tuple(float(v) for v in value) if isinstance(value, list) else float(value)


class VaccineDoc(_Doc):
    """A vaccine profile (:class:`VaccineProfile`); every efficacy is a share, or a list of
    shares with one per age band of the scenario."""

    code: Code = "vaccine"
    efficacy_infection: ShareByBand = 0.6
    efficacy_death: ShareByBand = 0.9
    efficacy_symptomatic: ShareByBand | None = None
    efficacy_transmission: ShareByBand = 0.0
    mode: EfficacyMode = EfficacyMode.LEAKY
    doses_per_course: Quantity = Field(2, ge=1)
    protection_days: Number | None = Field(None, gt=0)
    residual_protection: Share = 0.0

    def profile(self) -> VaccineProfile:
        return VaccineProfile(
            self.code,
            _efficacy(self.efficacy_infection),
            _efficacy(self.efficacy_death),
            self.mode,
            self.doses_per_course,
            efficacy_symptomatic=None
            if self.efficacy_symptomatic is None
            else _efficacy(self.efficacy_symptomatic),
            efficacy_transmission=_efficacy(self.efficacy_transmission),
            protection_days=self.protection_days,
            residual_protection=self.residual_protection,
        )


class RateDoc(_Doc):
    doses_per_day_share: Number = Field(ge=0, le=1)
    supply_share: Number = Field(ge=0)
    product: Code | None = None
    start_day: Quantity = Field(0, ge=0)


class DeliveryDoc(_Doc):
    product: Code | None = None
    doses: Quantity = Field(ge=0)
    day: Quantity | None = None
    date: BoundedDate | None = None


class ScheduleDoc(_Doc):
    start: BoundedDate | None = None
    capacity_share: Number | None = Field(DEFAULT_CAPACITY_SHARE, ge=0, le=1)
    deliveries: list[DeliveryDoc] = Field(min_length=1)


def _rollout_form(value: Any) -> str:
    return "Schedule" if isinstance(value, dict) and "deliveries" in value else "Rate"


#: A rollout is a schedule when it lists deliveries, a rate otherwise: chosen by what was
#: written, so a bad date in a schedule is one error, not also "unknown field" for every
#: schedule field read as a rate.
RolloutDoc = Annotated[
    Annotated[RateDoc, Tag("Rate")] | Annotated[ScheduleDoc, Tag("Schedule")],
    Discriminator(_rollout_form),
]


class CustomDoc(_Doc):
    name: Name = "custom"
    population: list[Number] = Field(min_length=1)
    contacts: list[list[Number]] = Field(min_length=1)


PerBand = Number | list[Number]


class InitialDoc(_Doc):
    """Day-0 state by band: one number for every band, or one per band."""

    unit: Literal["share", "people"] = "share"
    exposed: PerBand = 0.0
    infectious: PerBand = 0.0
    recovered: PerBand = 0.0
    vaccinated: PerBand = 0.0
    susceptible: PerBand | None = None
    vaccinated_product: Code | None = None

    def conditions(self) -> InitialConditions:
        def values(v: PerBand) -> float | tuple[float, ...]:
            return tuple(v) if isinstance(v, list) else float(v)

        return InitialConditions(
            exposed=values(self.exposed),
            infectious=values(self.infectious),
            recovered=values(self.recovered),
            vaccinated=values(self.vaccinated),
            susceptible=None if self.susceptible is None else values(self.susceptible),
            as_counts=self.unit == "people",
            vaccinated_product=self.vaccinated_product,
        )


class ScenarioDoc(_Doc):
    country: Code | None = None
    custom: CustomDoc | None = None
    name: Name | None = None
    bands: Label | None = None
    contact_proxy: Code | None = None
    r0: Number = Field(DEFAULT_R0, gt=0)
    latent_days: Number = Field(DEFAULT_LATENT_DAYS, gt=0)
    infectious_days: Number = Field(DEFAULT_INFECTIOUS_DAYS, gt=0)
    initial_infected: Number = Field(DEFAULT_INITIAL_INFECTED, gt=0, lt=1)
    refusal: Number = Field(DEFAULT_REFUSAL, ge=0, le=1)
    horizon_days: Quantity = Field(DEFAULT_HORIZON_DAYS, ge=1)
    initial: InitialDoc | None = None
    susceptibility: list[Number] | None = None
    ifr: list[Number] | None = None
    life_expectancy: list[Number] | None = None
    symptomatic_fraction: list[Share] | None = None
    vaccines: list[VaccineDoc] = Field(default_factory=lambda: [VaccineDoc()], min_length=1)
    rollout: RolloutDoc | None = None
    strategy: Label = "older-first"
    eligibility: Eligibility = Eligibility.SUSCEPTIBLE_EXPOSED_RECOVERED
    denominator: ForceDenominator = ForceDenominator.INITIAL


class PopulationDoc(_Doc):
    """A population of a sweep: a country's bundled data with some inputs replaced, or a
    population and contact matrix of one's own."""

    name: Name
    country: Code | None = None
    population: list[Number] | None = Field(None, min_length=1)
    contacts: list[list[Number]] | None = Field(None, min_length=1)
    bands: Label | None = None
    contact_proxy: Code | None = None
    susceptibility: list[Number] | None = None
    ifr: list[Number] | None = None
    life_expectancy: list[Number] | None = None
    symptomatic_fraction: list[Share] | None = None

    def entry(self) -> SweepPopulation:
        def floats(v: list[Number] | None) -> tuple[float, ...] | None:
            return None if v is None else tuple(float(x) for x in v)

        return SweepPopulation(
            name=self.name,
            country=self.country,
            population=floats(self.population),
            contacts=None if self.contacts is None else tuple(tuple(r) for r in self.contacts),
            bands=AgeBands.parse(self.bands) if self.bands else None,
            contact_proxy=self.contact_proxy,
            susceptibility=floats(self.susceptibility),
            ifr=floats(self.ifr),
            life_expectancy=floats(self.life_expectancy),
            symptomatic_fraction=floats(self.symptomatic_fraction),
        )


class SweepDoc(_Doc):
    countries: list[Code] = Field(default_factory=list)
    populations: list[PopulationDoc] = Field(default_factory=list)
    initial: InitialDoc | None = None
    r0: list[Number] = Field(min_length=1)
    supply_shares: list[Number] = Field(min_length=1)
    doses_per_day_shares: list[Number] = Field(min_length=1)
    strategies: list[Label] = Field(min_length=1)
    bands: Label | None = None
    horizon_days: Quantity = Field(DEFAULT_HORIZON_DAYS, ge=1)
    refusal: Number = Field(DEFAULT_REFUSAL, ge=0, le=1)
    initial_infected: Number = Field(DEFAULT_INITIAL_INFECTED, gt=0, lt=1)
    latent_days: Number = Field(DEFAULT_LATENT_DAYS, gt=0)
    infectious_days: Number = Field(DEFAULT_INFECTIOUS_DAYS, gt=0)
    vaccine: VaccineDoc = Field(default_factory=VaccineDoc)
    vaccines: list[VaccineDoc] | None = Field(None, min_length=1)
    eligibility: EligibilityAxis = Eligibility.SUSCEPTIBLE_EXPOSED_RECOVERED
    denominator: DenominatorAxis = ForceDenominator.INITIAL
    chunk_size: Quantity = Field(DEFAULT_CHUNK_SIZE, ge=1)


def _bad_file(
    source: str,
    message: str,
    line: int | None = None,
    field: str | None = None,
    expected: str | None = None,
    value: Any = None,
) -> DoseflowError:
    return DoseflowError(
        "IMPACT_BAD_FILE",
        message,
        source=source,
        line=line,
        field=field,
        expected=expected,
        value=value,
    )


def _load(text: str, source: str) -> tuple[Any, LineMap]:
    try:
        data, lines = parse_yaml_with_lines(text)
    except yaml.YAMLError as exc:
        raise document_error(
            exc, "IMPACT_BAD_FILE", source, "a YAML or JSON mapping", kind="YAML or JSON"
        ) from None
    if not isinstance(data, dict):
        raise _bad_file(
            source,
            "the file must hold a mapping of keys to values",
            1,
            expected="a mapping (key: value)",
            value=type(data).__name__,
        )
    return data, lines


def _validate(model: type[M], text: str, source: str) -> M:
    data, lines = _load(text, source)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = []
        for err in exc.errors():
            path = [p for p in err["loc"] if not (isinstance(p, str) and p[:1].isupper())]
            field = field_path(path)
            details.append(
                ErrorDetail(
                    "IMPACT_BAD_FILE",
                    err["msg"],
                    ErrorLocation(source=source, line=line_for(lines, path), field=field or None),
                    expected=expected_for(err, model),
                    value=err.get("input") if not isinstance(err.get("input"), dict) else None,
                )
            )
        raise DoseflowError.from_details(details) from None


def _rollout(
    doc: RateDoc | ScheduleDoc | None, default_product: str, source: str
) -> Rollout | None:
    if doc is None:
        return None
    if isinstance(doc, RateDoc):
        return RateRollout(
            doc.doses_per_day_share, doc.supply_share, doc.product or default_product, doc.start_day
        )
    deliveries = []
    for i, d in enumerate(doc.deliveries):
        if d.day is None and (d.date is None or doc.start is None):
            raise _bad_file(
                source,
                "a delivery needs a day, or a date and the schedule's start",
                field=f"rollout.deliveries[{i}]",
                expected="day: N, or date: YYYY-MM-DD with rollout.start",
                value=None,
            )
        day = d.day if d.day is not None else (d.date - doc.start).days  # type: ignore[operator]
        deliveries.append(Delivery(day, d.product or default_product, d.doses))
    return DeliverySchedule(tuple(deliveries), doc.capacity_share)


_FIELD_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _located(
    err: DoseflowError, source: str, lines: LineMap, prefix: tuple[str, ...] = ()
) -> DoseflowError:
    """``err`` (raised while building from a valid document) with the file and the line of
    the field it names (``initial.exposed[2]``), or of its closest enclosing entry."""
    details = []
    for d in err.details:
        line = d.location.line
        if line is None and d.location.field:
            path: list[str | int] = [
                m.group(1) if m.group(1) is not None else int(m.group(2))
                for m in _FIELD_PART.finditer(d.location.field)
            ]
            line = line_for(lines, path)
            if line is None and prefix:
                line = line_for(lines, [*prefix, *path])
        details.append(
            ErrorDetail(
                d.code,
                d.message,
                ErrorLocation(
                    source=d.location.source or source,
                    line=line,
                    column=d.location.column,
                    field=d.location.field,
                ),
                expected=d.expected,
                value=d.value,
            )
        )
    return DoseflowError.from_details(details)


_VACCINE_FIELD = re.compile(r"^(?:populations\[\d+\]\.)?vaccines\[([^\]]+)\]")


def _vaccine_fields(err: DoseflowError, where: dict[str, str]) -> DoseflowError:
    """``err`` with a vaccine named by code (``vaccines[AZ].efficacy_death``, as the model
    names it) renamed to its place in the file (``vaccines[1].efficacy_death``)."""

    def rename(field: str | None) -> str | None:
        if field is None:
            return None
        m = _VACCINE_FIELD.match(field)
        if m is None or m.group(1) not in where:
            return field
        return where[m.group(1)] + field[m.end() :]

    return DoseflowError.from_details(
        ErrorDetail(
            d.code,
            d.message,
            ErrorLocation(
                source=d.location.source,
                line=d.location.line,
                column=d.location.column,
                field=rename(d.location.field),
            ),
            expected=d.expected,
            value=d.value,
        )
        for d in err.details
    )


def _profile(doc: VaccineDoc, place: str, source: str, lines: LineMap) -> VaccineProfile:
    """The profile of one vaccine entry; a problem is located at ``place`` (``vaccines[1]``)."""
    try:
        return doc.profile()
    except DoseflowError as err:
        prefixed = DoseflowError.from_details(
            ErrorDetail(
                d.code,
                d.message,
                ErrorLocation(field=f"{place}.{d.location.field}" if d.location.field else place),
                expected=d.expected,
                value=d.value,
            )
            for d in err.details
        )
        raise _located(prefixed, source, lines) from None


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """A :class:`Scenario` from the text of a scenario file."""
    doc = _validate(ScenarioDoc, text, source)
    _, lines = _load(text, source)
    if (doc.country is None) == (doc.custom is None):
        raise _bad_file(
            source,
            "give either 'country' (bundled data) or 'custom' (your own population and contacts)",
            1,
            field="country",
            expected="exactly one of country, custom",
        )
    _initial_once(doc, source, lines)
    if doc.custom is not None and doc.contact_proxy is not None:
        raise _bad_file(
            source,
            "'contact_proxy' names a country whose contact matrix to use; a custom scenario "
            "gives its own contacts",
            line_for(lines, ["contact_proxy"]),
            field="contact_proxy",
            expected="contact_proxy only with country",
            value=doc.contact_proxy,
        )
    vaccines = tuple(
        _profile(v, f"vaccines[{i}]", source, lines) for i, v in enumerate(doc.vaccines)
    )
    where = {v.code: f"vaccines[{i}]" for i, v in enumerate(doc.vaccines)}
    params: dict[str, Any] = {
        "r0": doc.r0,
        "latent_days": doc.latent_days,
        "infectious_days": doc.infectious_days,
        "initial_infected": doc.initial_infected,
        "initial": None if doc.initial is None else doc.initial.conditions(),
        "refusal": doc.refusal,
        "horizon_days": doc.horizon_days,
        "vaccines": vaccines,
        "rollout": _rollout(doc.rollout, vaccines[0].code, source),
        "eligibility": doc.eligibility,
        "denominator": doc.denominator,
    }
    if doc.symptomatic_fraction is not None:
        params["symptomatic_fraction"] = tuple(doc.symptomatic_fraction)
    try:
        params["strategy"] = Strategy.parse(doc.strategy)
        if doc.country is not None:
            bands = AgeBands.parse(doc.bands) if doc.bands else AgeBands.uniform(5, 75)
            return country_scenario(
                doc.country,
                bands=bands,
                contact_proxy=doc.contact_proxy,
                susceptibility=doc.susceptibility,
                ifr=doc.ifr,
                life_expectancy=doc.life_expectancy,
                name=doc.name,
                **params,
            )
        assert doc.custom is not None
        bands = (
            AgeBands.parse(doc.bands)
            if doc.bands
            else AgeBands.uniform(5, 5 * (len(doc.custom.population) - 1))
        )
        return custom_scenario(
            doc.name or doc.custom.name,
            bands,
            doc.custom.population,
            doc.custom.contacts,
            susceptibility=doc.susceptibility,
            ifr=doc.ifr,
            life_expectancy=doc.life_expectancy,
            **params,
        )
    except DoseflowError as err:
        raise _located(_vaccine_fields(err, where), source, lines, ("custom",)) from None


def _initial_once(doc: ScenarioDoc | SweepDoc, source: str, lines: LineMap) -> None:
    """Refuse a file that gives both ways of seeding: one would be silently ignored."""
    if doc.initial is not None and "initial_infected" in doc.model_fields_set:
        raise _bad_file(
            source,
            "give 'initial' (by band and compartment) or 'initial_infected' (a share infectious), "
            "not both",
            line_for(lines, ["initial_infected"]),
            field="initial_infected",
            expected="one of initial, initial_infected",
        )


def parse_sweep(text: str, source: str = "<sweep>") -> SweepGrid:
    """A :class:`SweepGrid` from the text of a sweep file."""
    doc = _validate(SweepDoc, text, source)
    _, lines = _load(text, source)
    _initial_once(doc, source, lines)
    if doc.vaccines is not None and "vaccine" in doc.model_fields_set:
        raise _bad_file(
            source,
            "give one 'vaccine' for every scenario or a list of 'vaccines' (an axis), not both",
            line_for(lines, ["vaccines"]),
            field="vaccines",
            expected="one of vaccine, vaccines",
        )
    vaccine = _profile(doc.vaccine, "vaccine", source, lines)
    axis = tuple(
        _profile(v, f"vaccines[{i}]", source, lines) for i, v in enumerate(doc.vaccines or [])
    )
    where = {vaccine.code: "vaccine"} if not axis else {}
    where.update({v.code: f"vaccines[{i}]" for i, v in enumerate(axis)})
    try:
        grid = SweepGrid(
            countries=tuple(doc.countries),
            populations=tuple(p.entry() for p in doc.populations),
            initial=None if doc.initial is None else doc.initial.conditions(),
            r0=tuple(doc.r0),
            supply_shares=tuple(doc.supply_shares),
            doses_per_day_shares=tuple(doc.doses_per_day_shares),
            strategies=tuple(doc.strategies),
            bands=AgeBands.parse(doc.bands) if doc.bands else AgeBands.uniform(5, 75),
            horizon_days=doc.horizon_days,
            refusal=doc.refusal,
            initial_infected=doc.initial_infected,
            latent_days=doc.latent_days,
            infectious_days=doc.infectious_days,
            vaccine=vaccine,
            vaccines=axis,
            eligibility=tuple(doc.eligibility)
            if isinstance(doc.eligibility, list)
            else doc.eligibility,
            denominator=tuple(doc.denominator)
            if isinstance(doc.denominator, list)
            else doc.denominator,
            chunk_size=doc.chunk_size,
        )
        grid.check_populations()  # every population builds: errors now, not in a worker
        return grid
    except DoseflowError as err:
        raise _located(_vaccine_fields(err, where), source, lines) from None


def _read(path: Path | str) -> tuple[str, str]:
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8"), str(p)
    except OSError as exc:
        raise _bad_file(
            str(p),
            f"cannot read the file: {exc.strerror}",
            expected="a readable YAML or JSON file",
            value=str(p),
        ) from None


def load_scenario(path: Path | str) -> Scenario:
    return parse_scenario(*_read(path))


def load_sweep(path: Path | str) -> SweepGrid:
    return parse_sweep(*_read(path))


__all__ = ["load_scenario", "load_sweep", "parse_scenario", "parse_sweep"]
