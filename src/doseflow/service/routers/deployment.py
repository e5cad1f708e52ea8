"""In-country deployment: national stock to regions and priority groups, with the reason for
every amount, the stock held back, coverage over time, and planned shipments in the ledger.

Over :mod:`doseflow.deployment`, the same engine as ``doseflow deploy plan``. Readers see the
plans of the bundled examples (a participant: its own country's only); logistics officers
and administrators plan from a document they send, and record a plan's shipments in the
ledger as planned events (idempotent: the same plan and reference record nothing new).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field, model_validator

from doseflow.data.fields import Quantity
from doseflow.deployment import DeploymentInput, Strategy
from doseflow.domain.product import Product
from doseflow.service.auth import Access, authorize
from doseflow.service.bodies import WriteBody
from doseflow.service.context import engine_of
from doseflow.service.deployment_views import (
    DeploymentPlanOut,
    check_coverage_size,
    example,
    example_input,
    examples,
    input_from_body,
    plan_for,
    plan_out,
    record_plan,
    simulated_days,
    with_overrides,
)
from doseflow.service.errors import ERROR_RESPONSES
from doseflow.service.queries import PAGED_RESPONSES, Page, page_of
from doseflow.service.text_checks import require_unicode
from doseflow.store.allocation import AllocationStore

router = APIRouter(prefix="/api/deployment", tags=["deployment"], responses=ERROR_RESPONSES)

Read = Annotated[Access, Depends(authorize("deployment.read"))]
Plan = Annotated[Access, Depends(authorize("deployment.plan"))]
Record = Annotated[Access, Depends(authorize("deployment.record"))]

StepQuery = Annotated[
    int, Query(ge=1, le=366, description="days between coverage points (default weekly)")
]


class ExampleOut(BaseModel):
    iso3: str
    file: str
    reference: str = Field(description="the plan reference used when it is recorded")


class DeploymentIn(BaseModel):
    """What to plan: a deployment document (the deployment file format of
    docs/deployment.md, as JSON, with stock, regions and groups written out), the text of a
    deployment file, or a bundled example (default: the first, PRK)."""

    document: dict[str, Any] | None = None
    yaml: str | None = Field(default=None, max_length=2_000_000)
    example: str | None = Field(default=None, pattern="^[A-Za-z]{3}$")
    scenario: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="a stored scenario whose products the document may name by code only",
    )
    strategy: Strategy | None = Field(default=None, description="override the document's")
    horizon_days: Quantity | None = Field(default=None, ge=1, le=3650)
    coverage_step_days: Quantity = Field(default=7, ge=1, le=366)

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        return require_unicode(data)

    @model_validator(mode="after")
    def _one_source(self) -> DeploymentIn:
        given = [x for x in (self.document, self.yaml, self.example) if x is not None]
        if len(given) > 1:
            raise ValueError("give one of document, yaml or example")
        return self


class RecordIn(DeploymentIn, WriteBody):
    reference: str | None = Field(
        default=None,
        min_length=1,
        max_length=80,
        pattern=r"^[A-Za-z0-9._:@-]+$",
        description="plan reference for the ledger event ids (default: the example's file "
        "name, or deployment-<ISO3>-<start>)",
    )


def _input(request: Request, body: DeploymentIn) -> tuple[DeploymentInput, str, str]:
    """The input, where it came from, and its default plan reference."""
    if body.document is None and body.yaml is None:
        found = example(body.example or next(iter(examples()), "PRK"))
        inp = example_input(found.iso3)
        source, reference = f"bundled example {found.path.name}", found.reference
    else:
        products: dict[str, Product] | None = None
        if body.scenario is not None:
            products = dict(AllocationStore(engine_of(request)).scenario(body.scenario).products)
        inp = input_from_body(body.document, body.yaml, products)
        source, reference = "request body", f"deployment-{inp.country}-{inp.start.isoformat()}"
    return with_overrides(inp, body.strategy, body.horizon_days), source, reference


@router.get(
    "/examples",
    summary="Bundled deployment examples, by country (paged)",
    responses=PAGED_RESPONSES,
)
def get_examples(
    request: Request, response: Response, access: Read, page: Page
) -> list[ExampleOut]:
    rows = [
        ExampleOut(iso3=e.iso3, file=e.path.name, reference=e.reference)
        for e in examples().values()
        if access.may_see(e.iso3)
    ]
    return page_of(request, response, page, rows)


@router.get(
    "/examples/{iso3}",
    summary="The deployment plan of a bundled example: regions with why, shipments, coverage "
    "(at most 400 coverage dates and 7,500 coverage rows: SERVICE_COVERAGE_TOO_LARGE)",
)
def get_example_plan(
    access: Read,
    iso3: Annotated[str, Path(pattern="^[A-Za-z]{3}$")],
    strategy: Strategy | None = None,
    horizon_days: Annotated[int | None, Query(ge=1, le=3650)] = None,
    coverage_step_days: StepQuery = 7,
) -> DeploymentPlanOut:
    found = example(iso3)
    inp = with_overrides(example_input(found.iso3), strategy, horizon_days)
    # refused before planning: the answer's size is known from the input
    check_coverage_size(simulated_days(inp), len(inp.regions), len(inp.groups), coverage_step_days)
    return plan_out(plan_for(inp), f"bundled example {found.path.name}", coverage_step_days)


@router.post(
    "/plan",
    summary="Plan a deployment from a document sent (or a bundled example); stores nothing",
)
def post_plan(request: Request, access: Plan, body: DeploymentIn) -> DeploymentPlanOut:
    inp, source, _ = _input(request, body)
    access.check_iso3(inp.country)
    return plan_out(plan_for(inp), source, body.coverage_step_days)


@router.post(
    "/record",
    summary="Plan a deployment and record its shipments in the ledger as planned events "
    "(idempotent)",
)
def post_record(request: Request, access: Record, body: RecordIn) -> DeploymentPlanOut:
    inp, source, default_reference = _input(request, body)
    access.check_iso3(inp.country)
    reference = body.reference or default_reference
    plan = plan_for(inp)
    ledger = record_plan(engine_of(request), plan, reference, access.principal.user)
    access.audit(
        f"deployment {reference}",
        country=inp.country,
        appended=ledger.appended,
        already_recorded=ledger.already_recorded,
    )
    out = plan_out(plan, source, body.coverage_step_days)
    out.ledger = ledger
    return out
