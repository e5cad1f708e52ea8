"""Scenarios (participants, products, supply), allocation rounds (preview, run, publish),
lines with their explanations, coverage, and declines with where the doses went, over
``doseflow.store.allocation.AllocationStore``.

A participant sees only rounds that have been published, and in them only its own lines,
coverage and declines; it may decline its own allocation, whose doses are redistributed at
once by the allocation engine (the answer lists who received them).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from doseflow.allocation import Decline, Redirect, scenario_from_document
from doseflow.data.fields import Code, FreeText, Label, Quantity
from doseflow.domain.errors import DoseflowError
from doseflow.domain.limits import MAX_ROUND_NUMBER
from doseflow.service.allocation_views import decline_view
from doseflow.service.auth import Access, authorize
from doseflow.service.bodies import WriteBody
from doseflow.service.context import engine_of
from doseflow.service.errors import ERROR_RESPONSES
from doseflow.service.queries import PAGED_RESPONSES, Iso3Query, Page, page_of, paged
from doseflow.store.allocation import (
    AllocationStore,
    CoverageInfo,
    LineInfo,
    PoolInfo,
    RoundInfo,
    RoundStatus,
    ScenarioInfo,
)

router = APIRouter(prefix="/api/scenarios", tags=["allocation"], responses=ERROR_RESPONSES)

Name = Annotated[str, Path(min_length=1, max_length=100, description="the scenario's name")]
RoundQuery = Annotated[int | None, Query(ge=1, le=1000, description="one round (default all)")]


class ScenarioOut(BaseModel):
    name: str
    description: str
    source: str | None
    rounds: int
    declines: int
    updated_at: datetime


def _scenario_out(info: ScenarioInfo) -> ScenarioOut:
    moment = info.updated_at
    if moment.tzinfo is None:  # SQLite hands back naive datetimes; the store writes UTC
        moment = moment.replace(tzinfo=UTC)
    return ScenarioOut(
        name=info.name,
        description=info.description,
        source=info.source,
        rounds=info.rounds,
        declines=info.declines,
        updated_at=moment,
    )


class ParticipantOut(BaseModel):
    iso3: str
    name: str
    population: int
    financing: str
    ceiling: float
    deployment_plan: bool
    import_permit: bool
    other_sources_doses: int


class ProductOut(BaseModel):
    code: str
    name: str
    manufacturer: str
    kind: str
    doses_per_course: int
    doses_per_vial: int
    pack_doses: int
    storage_band: str
    shelf_life_days: int


class TrancheOut(BaseModel):
    round: int
    round_name: str
    id: str
    product: str
    doses: int
    available: date
    origin: str
    donor: str | None
    expiry: date | None


class LineOut(BaseModel):
    round: int
    pool: str
    product: str
    iso3: str
    doses: int
    packs: int
    explanation_text: str = Field(description="why this quantity, in words")
    explanation: dict[str, Any]


class DeclineIn(WriteBody):
    round: Quantity = Field(ge=1, le=MAX_ROUND_NUMBER)
    product: Code
    iso3: str = Field(pattern="^[A-Za-z]{3}$")
    doses: Quantity | None = Field(default=None, ge=1, description="default: the whole allocation")
    reason: FreeText = ""
    redirect: Redirect = Redirect.SAME_RULES
    recipients: list[Code] = Field(default_factory=list, max_length=300)
    pool: Label | None = None


class Recipient(BaseModel):
    iso3: str
    pool: str
    doses: int


class DeclineOut(BaseModel):
    round: int
    product: str
    iso3: str
    doses: int | None
    declined: int = Field(description="doses actually given up")
    reason: str
    redirect: str
    recipients: list[Recipient] = Field(description="where the declined doses went")
    source: str = Field(
        description="where the decline comes from: the scenario file's entry "
        "(e.g. 'covax_2021.yaml, declines[0]') or when, how and by whom it was recorded"
    )


def store_of(request: Request) -> AllocationStore:
    return AllocationStore(engine_of(request))


def _visible_rounds(store: AllocationStore, name: str, access: Access) -> set[int] | None:
    """Rounds a caller may see: all for staff, published ones only for a participant."""
    if access.own_iso3 is None:
        return None
    return {r.number for r in store.rounds(name) if r.status == RoundStatus.PUBLISHED.value}


def _line(line: LineInfo) -> LineOut:
    return LineOut(
        round=line.round,
        pool=line.pool,
        product=line.product,
        iso3=line.iso3,
        doses=line.doses,
        packs=line.packs,
        explanation_text=line.explanation.render(),
        explanation=line.explanation.to_dict(),
    )


def _decline_out(store: AllocationStore, name: str, decline: Decline) -> DeclineOut:
    view = decline_view(store, name, decline)
    return DeclineOut(
        round=decline.round,
        product=decline.product,
        iso3=decline.iso3,
        doses=decline.doses,
        declined=view.declined,
        reason=decline.reason,
        redirect=decline.redirect.value,
        recipients=[Recipient(iso3=r.iso3, pool=r.pool, doses=r.doses) for r in view.recipients],
        source=decline.source,
    )


@router.get("", summary="Stored scenarios (paged)", responses=PAGED_RESPONSES)
def get_scenarios(
    request: Request,
    response: Response,
    _access: Annotated[Access, Depends(authorize("rounds.read"))],
    page: Page,
) -> list[ScenarioOut]:
    rows = [_scenario_out(s) for s in store_of(request).scenarios()]
    return page_of(request, response, page, rows)


@router.post("", status_code=201, summary="Store a scenario (participants, products, supply)")
def post_scenario(
    request: Request,
    access: Annotated[Access, Depends(authorize("scenarios.write"))],
    document: Annotated[
        dict[str, Any], Body(description="a scenario document, as in a scenario YAML file")
    ],
) -> ScenarioOut:
    scenario = scenario_from_document(document, source="request body")
    store = store_of(request)
    changed = store.save_scenario(scenario)
    access.audit(f"scenario {scenario.name}", changed=changed)
    return _scenario_out(next(s for s in store.scenarios() if s.name == scenario.name))


@router.get(
    "/{name}/participants", summary="A scenario's participants (paged)", responses=PAGED_RESPONSES
)
def get_participants(
    request: Request,
    response: Response,
    name: Name,
    _access: Annotated[Access, Depends(authorize("participants.read"))],
    page: Page,
) -> list[ParticipantOut]:
    rows = [
        ParticipantOut(
            iso3=p.iso3,
            name=p.name,
            population=p.population,
            financing=p.financing.value,
            ceiling=p.ceiling,
            deployment_plan=p.deployment_plan,
            import_permit=p.import_permit,
            other_sources_doses=p.other_sources_doses,
        )
        for p in store_of(request).scenario(name).participants
    ]
    return page_of(request, response, page, rows)


@router.get("/{name}/products", summary="A scenario's products (paged)", responses=PAGED_RESPONSES)
def get_products(
    request: Request,
    response: Response,
    name: Name,
    _access: Annotated[Access, Depends(authorize("products.read"))],
    page: Page,
) -> list[ProductOut]:
    rows = [
        ProductOut(
            code=p.code,
            name=p.name,
            manufacturer=p.manufacturer,
            kind=p.kind.value,
            doses_per_course=p.doses_per_course,
            doses_per_vial=p.doses_per_vial,
            pack_doses=p.pack_doses,
            storage_band=p.storage_band.value,
            shelf_life_days=p.shelf_life_days,
        )
        for p in store_of(request).scenario(name).products.values()
    ]
    return page_of(request, response, page, rows)


@router.get(
    "/{name}/supply",
    summary="Pooled supply: every tranche of every round (paged)",
    responses=PAGED_RESPONSES,
)
def get_supply(
    request: Request,
    response: Response,
    name: Name,
    _access: Annotated[Access, Depends(authorize("supply.read"))],
    page: Page,
) -> list[TrancheOut]:
    rows = [
        TrancheOut(
            round=r.number,
            round_name=r.name,
            id=t.id,
            product=t.product,
            doses=t.doses,
            available=t.available,
            origin=t.origin.value,
            donor=t.donor,
            expiry=t.expiry,
        )
        for r in store_of(request).scenario(name).rounds
        for t in r.tranches
    ]
    return page_of(request, response, page, rows)


@router.post("/{name}/preview", summary="Compute every round for review (status 'preview')")
def post_preview(
    request: Request,
    name: Name,
    access: Annotated[Access, Depends(authorize("rounds.preview"))],
) -> list[RoundInfo]:
    store = store_of(request)
    store.run(name, status=RoundStatus.PREVIEW)
    access.audit(f"scenario {name}")
    return store.rounds(name)


@router.post("/{name}/run", summary="Run every round and store them as the rounds of record")
def post_run(
    request: Request,
    name: Name,
    access: Annotated[Access, Depends(authorize("rounds.run"))],
) -> list[RoundInfo]:
    store = store_of(request)
    store.run(name)
    access.audit(f"scenario {name}")
    return store.rounds(name)


@router.post("/{name}/rounds/{number}/publish", summary="Publish a round to participants")
def post_publish(
    request: Request,
    name: Name,
    number: Annotated[int, Path(ge=1, le=1000)],
    access: Annotated[Access, Depends(authorize("rounds.publish"))],
) -> RoundInfo:
    access.audit(f"scenario {name} round {number}")
    return store_of(request).publish(name, number)


@router.get(
    "/{name}/rounds", summary="Rounds, their status and totals (paged)", responses=PAGED_RESPONSES
)
def get_rounds(
    request: Request,
    response: Response,
    name: Name,
    access: Annotated[Access, Depends(authorize("rounds.read"))],
    page: Page,
) -> list[RoundInfo]:
    store = store_of(request)
    visible = _visible_rounds(store, name, access)
    rows = [r for r in store.rounds(name) if visible is None or r.number in visible]
    return page_of(request, response, page, rows)


@router.get(
    "/{name}/pools",
    summary="How each pool was shared: mode, level, totals (paged)",
    responses=PAGED_RESPONSES,
)
def get_pools(
    request: Request,
    response: Response,
    name: Name,
    access: Annotated[Access, Depends(authorize("rounds.read"))],
    page: Page,
    round: RoundQuery = None,
) -> list[PoolInfo]:
    store = store_of(request)
    visible = _visible_rounds(store, name, access)
    rows = [p for p in store.pools(name, round) if visible is None or p.round in visible]
    return page_of(request, response, page, rows)


@router.get(
    "/{name}/lines",
    summary="Allocation lines, each with its explanation (paged by the database)",
    responses=PAGED_RESPONSES,
)
def get_lines(
    request: Request,
    response: Response,
    name: Name,
    access: Annotated[Access, Depends(authorize("rounds.read"))],
    page: Page,
    round: RoundQuery = None,
    iso3: Iso3Query = None,
) -> list[LineOut]:
    store = store_of(request)
    country = access.scoped(iso3)
    visible = _visible_rounds(store, name, access)
    lines, total = store.lines_page(
        name, round, country, rounds=visible, limit=page.limit, offset=page.offset
    )
    return paged(request, response, page, [_line(line) for line in lines], total)


@router.get(
    "/{name}/coverage",
    summary="Coverage by participant after a round (paged)",
    responses=PAGED_RESPONSES,
)
def get_coverage(
    request: Request,
    response: Response,
    name: Name,
    access: Annotated[Access, Depends(authorize("rounds.read"))],
    page: Page,
    round: RoundQuery = None,
) -> list[CoverageInfo]:
    store = store_of(request)
    visible = _visible_rounds(store, name, access)
    if visible is not None:
        if round is None:
            round = max(visible, default=None)
        if round is None or round not in visible:
            return page_of(request, response, page, [])
    rows = store.coverage(name, round)
    own = access.own_iso3
    return page_of(request, response, page, [c for c in rows if own is None or c.iso3 == own])


@router.get(
    "/{name}/explain/{iso3}",
    summary="Why a participant received what it did (paged)",
    responses=PAGED_RESPONSES,
)
def get_explanation(
    request: Request,
    response: Response,
    name: Name,
    iso3: Annotated[str, Path(pattern="^[A-Za-z]{3}$")],
    access: Annotated[Access, Depends(authorize("rounds.read"))],
    page: Page,
    round: RoundQuery = None,
) -> list[dict[str, Any]]:
    store = store_of(request)
    visible = _visible_rounds(store, name, access)
    rows = [
        {**e.to_dict(), "text": e.render()}
        for e in store.explain(name, iso3.upper(), round)
        if visible is None or e.round in visible
    ]
    return page_of(request, response, page, rows)


@router.get(
    "/{name}/declines",
    summary="Declines (the scenario file's and recorded ones), and where the doses went (paged)",
    responses=PAGED_RESPONSES,
)
def get_declines(
    request: Request,
    response: Response,
    name: Name,
    access: Annotated[Access, Depends(authorize("declines.read"))],
    page: Page,
    iso3: Iso3Query = None,
) -> list[DeclineOut]:
    store = store_of(request)
    country = access.scoped(iso3)
    visible = _visible_rounds(store, name, access)
    shown = [
        d
        for d in store.declines(name)
        if (country is None or d.iso3 == country) and (visible is None or d.round in visible)
    ]
    # where the doses went is computed per decline: only for the page's
    rows = [_decline_out(store, name, d) for d in page.of(shown)]
    return paged(request, response, page, rows, len(shown))


@router.post(
    "/{name}/declines",
    status_code=201,
    summary="Decline an allocation; its doses are redistributed at once",
)
def post_decline(
    request: Request,
    name: Name,
    body: DeclineIn,
    access: Annotated[Access, Depends(authorize("declines.create"))],
) -> DeclineOut:
    access.check_iso3(body.iso3)
    store = store_of(request)
    visible = _visible_rounds(store, name, access)
    if visible is not None and body.round not in visible:
        raise DoseflowError(
            "SERVICE_ROUND_NOT_PUBLISHED",
            f"round {body.round} of {name} has not been published to participants yet",
            field="round",
            expected="a published round",
            value=body.round,
        )
    decline = Decline(
        round=body.round,
        product=body.product,
        iso3=body.iso3.upper(),
        doses=body.doses,
        reason=body.reason,
        redirect=body.redirect,
        recipients=frozenset(r.upper() for r in body.recipients),
        pool=body.pool,
    )
    store.record_decline(name, decline, recorded_by=f"via the API by {access.principal.user}")
    recorded = next(
        d
        for d in store.recorded_declines(name)
        if (d.round, d.product, d.iso3, d.pool)
        == (body.round, decline.product, decline.iso3, decline.pool)
    )
    out = _decline_out(store, name, recorded)
    access.audit(
        f"scenario {name} round {decline.round} {decline.product} {decline.iso3}",
        declined=out.declined,
        recipients=len(out.recipients),
    )
    return out
