"""In-country deployment for the API and the dashboard: where the plan's input comes from,
the plan as JSON-ready models, and recording its shipments in the ledger.

Every figure and sentence comes from :mod:`doseflow.deployment` (``parse_deployment_yaml``,
``plan_deployment``, ``plan.explain``, ``plan.held``, ``project_coverage``,
``planned_events``); this module picks the input (a bundled example, or a document sent
with the request), shapes the results, and stores planned events through
:class:`doseflow.store.ledger.LedgerStore`. Shared by ``routers/deployment.py`` and the
dashboard's *Deployment* page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Engine

from doseflow.deployment import (
    DeploymentInput,
    DeploymentPlan,
    Strategy,
    load_deployment,
    parse_deployment_document,
    parse_deployment_yaml,
    plan_deployment,
    project_coverage,
)
from doseflow.domain.errors import DoseflowError
from doseflow.domain.product import Product
from doseflow.store.deployment import record_deployment_plan

BODY_DOCUMENT = "request body (document)"


@dataclass(frozen=True)
class Example:
    iso3: str
    path: Path

    @property
    def reference(self) -> str:
        """The plan reference ``doseflow deploy plan FILE --record`` would use (file name and
        start date), so recording it from either interface records it once."""
        return f"{self.path.stem}-{example_input(self.iso3).start.isoformat()}"


@cache
def examples() -> dict[str, Example]:
    """Bundled deployment files (``doseflow/data/examples/deployment_<iso3>.yaml``)."""
    folder = resources.files("doseflow.data").joinpath("examples")
    found: dict[str, Example] = {}
    for item in folder.iterdir():
        name = item.name
        if name.startswith("deployment_") and name.endswith(".yaml"):
            iso3 = name.removeprefix("deployment_").removesuffix(".yaml").upper()
            found[iso3] = Example(iso3, Path(str(item)))
    return dict(sorted(found.items()))


def example(iso3: str) -> Example:
    found = examples().get(iso3.upper())
    if found is None:
        raise DoseflowError(
            "SERVICE_EXAMPLE_NOT_FOUND",
            f"no bundled deployment example for {iso3.upper()}",
            field="iso3",
            expected="one of " + ", ".join(examples()) if examples() else "none bundled",
            value=iso3,
        )
    return found


@cache
def example_input(iso3: str) -> DeploymentInput:
    """The bundled example's input, read once per process."""
    return load_deployment(example(iso3).path)


def input_from_body(
    document: Mapping[str, Any] | None,
    yaml_text: str | None,
    products: Mapping[str, Product] | None = None,
) -> DeploymentInput:
    """A deployment input from a document (JSON) or the text of a deployment file (YAML),
    read and checked by the deployment engine. Neither may name a file: the engine is given
    no directory to read from, so it refuses a file name (``DEPLOY_FILE_REFERENCE``) without
    looking at the server's files."""
    if yaml_text is not None:
        return parse_deployment_yaml(yaml_text, BODY_DOCUMENT, products)
    return parse_deployment_document(document or {}, BODY_DOCUMENT, products)


def with_overrides(
    inp: DeploymentInput, strategy: Strategy | None, horizon_days: int | None
) -> DeploymentInput:
    if strategy is not None:
        inp = replace(inp, strategy=strategy)
    if horizon_days is not None:
        inp = replace(inp, horizon_days=horizon_days)
    return inp


# --- answers --------------------------------------------------------------------------------


class RegionLineOut(BaseModel):
    region: str
    region_name: str
    destination: str
    product: str
    packs: int
    doses: int
    people_started: int
    full_courses: int = Field(description="people whose every dose is in the plan")
    spare_doses: int = Field(description="doses beyond whole courses (pack rounding)")
    decided_by: str = Field(description="what set the amount: need, supply, cold-chain, ...")
    explanation: str = Field(description="why this amount, in words (plan.explain)")


class GroupOut(BaseModel):
    name: str
    kind: str
    priority: int
    target_population: int
    to_vaccinate: int
    planned_people: int
    share_of_target: float
    how_sized: str


class ShipmentLineOut(BaseModel):
    region: str
    destination: str
    product: str
    lot: str
    expiry: date | None
    packs: int
    doses: int
    dispatch: date
    arrival: date


class HeldOut(BaseModel):
    product: str
    lot: str
    doses: int
    reason: str


class ProductTotalOut(BaseModel):
    product: str
    name: str
    available_doses: int
    planned_doses: int
    regions_served: int


class CoverageSeries(BaseModel):
    name: str
    first_dose: list[float] = Field(description="share of the target population, per date")
    full_course: list[float]


class CoverageRow(BaseModel):
    date: date
    region: str
    group: str
    first_dose_share: float
    full_course_share: float


class CoverageOut(BaseModel):
    step_days: int
    dates: list[date]
    by_group: list[CoverageSeries]
    by_region: list[CoverageSeries]
    rows: list[CoverageRow] = Field(description="per date, region and group")
    later_doses_unplanned: int = Field(
        description="later doses falling due that the plan does not hold (from next supply)"
    )


class LedgerOut(BaseModel):
    reference: str
    appended: int
    already_recorded: int
    nodes_added: list[str]


class DeploymentPlanOut(BaseModel):
    source: str
    country: str
    start: date
    horizon_days: int
    strategy: str
    origin: str
    available_doses: int
    planned_doses: int
    products: list[ProductTotalOut]
    regions: list[RegionLineOut]
    groups: list[GroupOut]
    shipments: list[ShipmentLineOut] = Field(description="whole packs per region and lot")
    held: list[HeldOut] = Field(description="stock left at the national store, and why")
    coverage: CoverageOut
    ledger: LedgerOut | None = None


def _series(values: Any, names: tuple[str, ...], step: int) -> list[CoverageSeries]:
    first, full = values
    return [
        CoverageSeries(
            name=name,
            first_dose=[round(float(x), 4) for x in first[i, ::step]],
            full_course=[round(float(x), 4) for x in full[i, ::step]],
        )
        for i, name in enumerate(names)
    ]


#: The most coverage dates one answer holds (a year of daily points, or seven years weekly).
MAX_COVERAGE_POINTS = 400
#: The most (date, region, group) coverage rows one answer holds: about 110 bytes each in
#: JSON, so the whole plan answer stays under a megabyte.
MAX_COVERAGE_ROWS = 7_500


def check_coverage_size(days: int, regions: int, groups: int, step: int) -> None:
    """Refuse (``SERVICE_COVERAGE_TOO_LARGE``) a coverage table over the bounds, naming the
    two parameters that set its length and the smallest step that would fit."""
    points = -(-days // step)
    rows = points * max(regions, 1) * max(groups, 1)
    if points <= MAX_COVERAGE_POINTS and rows <= MAX_COVERAGE_ROWS:
        return
    per_point = max(regions, 1) * max(groups, 1)
    fits = max(1, min(MAX_COVERAGE_POINTS, MAX_COVERAGE_ROWS // per_point))
    least_step = -(-days // fits)
    raise DoseflowError(
        "SERVICE_COVERAGE_TOO_LARGE",
        f"the coverage would have {points:,} dates (horizon_days and the course after it, "
        f"{days:,} days, every coverage_step_days={step}) x {per_point:,} region-groups = "
        f"{rows:,} rows; at most {MAX_COVERAGE_POINTS} dates and {MAX_COVERAGE_ROWS:,} rows: "
        f"set coverage_step_days to {least_step} or more, or shorten horizon_days",
        field="coverage_step_days",
        expected=f"at least {least_step} (at most {MAX_COVERAGE_POINTS} dates and "
        f"{MAX_COVERAGE_ROWS:,} rows)",
        value=step,
    )


def coverage_out(plan: DeploymentPlan, step: int) -> CoverageOut:
    inp = plan.input
    check_coverage_size(plan.sim_days, len(inp.regions), len(inp.groups), step)
    projection = project_coverage(plan)
    owed = projection.second_doses_unplanned
    return CoverageOut(
        step_days=step,
        dates=projection.dates(step),
        by_group=_series(
            (projection.by_group(), projection.by_group(complete=True)),
            projection.group_names,
            step,
        ),
        by_region=_series(
            (projection.by_region(), projection.by_region(complete=True)),
            projection.region_codes,
            step,
        ),
        rows=[
            CoverageRow(
                date=day,
                region=region,
                group=group,
                first_dose_share=round(first, 4),
                full_course_share=round(full, 4),
            )
            for day, region, group, first, full in projection.rows(step=step)
        ],
        later_doses_unplanned=int(owed[-1]) if len(owed) else 0,
    )


def plan_out(plan: DeploymentPlan, source: str, step: int = 7) -> DeploymentPlanOut:
    inp = plan.input
    regions = {r.code: r for r in inp.regions}
    people = plan.people_by_cell.sum(axis=0)
    demand = plan.demand.sum(axis=0)
    return DeploymentPlanOut(
        source=source,
        country=inp.country,
        start=inp.start,
        horizon_days=inp.horizon_days,
        strategy=inp.strategy.value,
        origin=inp.origin,
        available_doses=plan.available_doses(),
        planned_doses=plan.planned_doses(),
        products=[
            ProductTotalOut(
                product=pp.product.code,
                name=pp.product.name,
                available_doses=pp.available_doses,
                planned_doses=int(pp.doses.sum()),
                regions_served=int((pp.packs > 0).sum()),
            )
            for pp in plan.products
        ],
        regions=[
            RegionLineOut(
                region=line.region,
                region_name=regions[line.region].name,
                destination=regions[line.region].destination,
                product=line.product,
                packs=line.packs,
                doses=line.doses,
                people_started=line.people_started,
                full_courses=line.courses_reserved,
                spare_doses=line.buffer_doses,
                decided_by=line.limit.value,
                explanation=plan.explain(line.region, line.product),
            )
            for line in plan.region_lines()
        ],
        groups=[
            GroupOut(
                name=g.name,
                kind=g.kind.value,
                priority=g.priority,
                target_population=g.target_population,
                to_vaccinate=int(demand[i]),
                planned_people=int(people[i]),
                share_of_target=round(int(people[i]) / max(g.target_population, 1), 4),
                how_sized=g.note,
            )
            for i, g in enumerate(inp.groups)
        ],
        shipments=[
            ShipmentLineOut(
                region=s.region,
                destination=s.destination,
                product=s.product,
                lot=s.lot,
                expiry=s.expiry,
                packs=s.packs,
                doses=s.doses,
                dispatch=s.dispatch,
                arrival=s.arrival,
            )
            for s in plan.shipments()
        ],
        held=[
            HeldOut(product=h.product, lot=h.lot, doses=h.doses, reason=h.reason)
            for h in plan.held()
        ],
        coverage=coverage_out(plan, step),
    )


#: The most (region, group, day) cells one request may ask the planner and the coverage
#: projection to simulate: about 400 MB of arrays at the limit. A national plan of 1,000
#: regions, 10 groups and 400 days is 4 million.
MAX_SIMULATED_CELLS = 25_000_000


def simulated_days(inp: DeploymentInput) -> int:
    """Days the planner simulates: the horizon, the longest lead time and course, and one."""
    longest = max(((p.doses_per_person - 1) * p.interval_days for p in inp.products), default=0)
    lead = max((r.lead_days for r in inp.regions), default=0)
    return inp.horizon_days + lead + longest + 1


def plan_for(inp: DeploymentInput) -> DeploymentPlan:
    """The engine's plan, refused (``SERVICE_PLAN_TOO_LARGE``) when simulating it day by day
    would take more memory than one request may use on a shared server."""
    days = simulated_days(inp)
    cells = max(len(inp.regions), 1) * max(len(inp.groups), 1) * days
    if cells > MAX_SIMULATED_CELLS:
        raise DoseflowError(
            "SERVICE_PLAN_TOO_LARGE",
            f"the plan would simulate {len(inp.regions):,} regions x {len(inp.groups):,} "
            f"groups x {days:,} days; split it, or shorten the horizon or the dose interval",
            field="regions",
            expected=f"at most {MAX_SIMULATED_CELLS:,} region-group-days",
            value=cells,
        )
    return plan_deployment(inp)


def record_plan(engine: Engine, plan: DeploymentPlan, reference: str, user: str) -> LedgerOut:
    """Store the plan's shipments as planned events recorded by ``user`` (the token's) at
    the server's clock, as ``doseflow deploy plan --record`` does; recording the same plan
    again, by anyone or from the command line, appends nothing (who recorded an event is
    not its content)."""
    done = record_deployment_plan(engine, plan, reference=reference, recorded_by=user)
    return LedgerOut(
        reference=done.reference,
        appended=done.appended,
        already_recorded=done.already_recorded,
        nodes_added=list(done.nodes_added),
    )
