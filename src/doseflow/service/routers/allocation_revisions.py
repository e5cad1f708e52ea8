"""Revisions of a round's supply and who gained or lost between two of them, over
``doseflow.store.allocation_revisions.RevisionStore``.

A revision is a write like running a round (``rounds.run``): it re-runs the round and the
rounds after it and stores them. A participant sees the revisions of published rounds
only, and in a difference only its own rows (pools are totals, shown to everyone).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from doseflow.allocation.revision_input import MAX_CHANGES, parse_supply_change
from doseflow.allocation.scenario_file import TrancheDoc
from doseflow.data.fields import Identifier, Quantity
from doseflow.domain.errors import DoseflowError
from doseflow.domain.limits import MAX_ROUND_NUMBER
from doseflow.service.auth import Access, authorize
from doseflow.service.bodies import WriteBody
from doseflow.service.errors import ERROR_RESPONSES
from doseflow.service.queries import PAGED_RESPONSES, Page, page_headers, page_of
from doseflow.service.routers.allocation import Name, store_of
from doseflow.store.allocation import RoundStatus
from doseflow.store.allocation_revisions import RevisionInfo, RevisionStore

router = APIRouter(prefix="/api/scenarios", tags=["allocation"], responses=ERROR_RESPONSES)

Number = Annotated[int, Path(ge=1, le=MAX_ROUND_NUMBER, description="the round's number")]
RevisionQuery = Annotated[int, Query(ge=0, le=1_000_000, description="a revision number")]


class TrancheChangeOut(BaseModel):
    tranche: str
    product: str
    before: int | None = Field(description="doses before (null: the tranche was added)")
    after: int | None = Field(description="doses after (null: the tranche was removed)")


class RevisionOut(BaseModel):
    round: int
    revision: int
    created_at: datetime
    created_by: str
    supply: int
    allocated: int
    changes: list[TrancheChangeOut] = Field(description="what the revision changed (none: rev 0)")
    change_text: str
    current: bool = Field(description="made against the scenario as stored now")


class RevisionIn(WriteBody):
    supply: dict[Identifier, Quantity] = Field(
        default_factory=dict,
        max_length=MAX_CHANGES,
        description="revised doses of the round's tranches, by tranche id",
    )
    add: list[TrancheDoc] = Field(
        default_factory=list,
        max_length=MAX_CHANGES,
        description="tranches added (as in a scenario file; id required)",
    )
    remove: list[Identifier] = Field(
        default_factory=list, max_length=MAX_CHANGES, description="ids of tranches removed"
    )


class ReasonOut(BaseModel):
    code: str
    pool: str
    text: str


class ParticipantChangeOut(BaseModel):
    iso3: str
    name: str
    product: str
    doses_from: int
    doses_to: int
    change: int
    coverage_from: float
    coverage_to: float
    reasons: list[ReasonOut]
    why: str


class PoolChangeOut(BaseModel):
    pool: str
    product: str
    supply_from: int | None
    supply_to: int | None
    allocated_from: int | None
    allocated_to: int | None
    level_from: float | None
    level_to: float | None


class DiffOut(BaseModel):
    round: int
    from_revision: int = Field(alias="from")
    to_revision: int = Field(alias="to")
    allocated_from: int
    allocated_to: int
    allocated_change: int
    pools: list[PoolChangeOut]
    participants: list[ParticipantChangeOut] = Field(
        description="this page of the participants whose doses or coverage changed"
    )

    model_config = ConfigDict(populate_by_name=True)  # FastAPI answers by alias


def _out(info: RevisionInfo) -> RevisionOut:
    return RevisionOut(
        round=info.round,
        revision=info.revision,
        created_at=info.created_at,
        created_by=info.created_by,
        supply=info.supply,
        allocated=info.allocated,
        changes=[TrancheChangeOut(**c.to_dict()) for c in info.changes],
        change_text=info.change_text(),
        current=info.current,
    )


def _check_visible(request: Request, name: str, number: int, access: Access) -> None:
    """A participant sees only published rounds (as for lines and coverage)."""
    if access.own_iso3 is None:
        return
    published = {
        r.number for r in store_of(request).rounds(name) if r.status == RoundStatus.PUBLISHED.value
    }
    if number not in published:
        raise DoseflowError(
            "SERVICE_ROUND_NOT_PUBLISHED",
            f"round {number} of {name} has not been published to participants yet",
            field="round",
            expected="a published round",
            value=number,
        )


@router.get(
    "/{name}/rounds/{number}/revisions",
    summary="Revisions of a round's supply, oldest first (paged)",
    responses=PAGED_RESPONSES,
)
def get_revisions(
    request: Request,
    response: Response,
    name: Name,
    number: Number,
    access: Annotated[Access, Depends(authorize("rounds.read"))],
    page: Page,
) -> list[RevisionOut]:
    _check_visible(request, name, number, access)
    rows = [_out(r) for r in RevisionStore(store_of(request)).revisions(name, number)]
    return page_of(request, response, page, rows)


@router.get(
    "/{name}/rounds/{number}/revisions/diff",
    summary="Who gained and who lost between two revisions of a round, and why (paged)",
    responses=PAGED_RESPONSES,
)
def get_revision_diff(
    request: Request,
    response: Response,
    name: Name,
    number: Number,
    access: Annotated[Access, Depends(authorize("rounds.read"))],
    page: Page,
    from_revision: Annotated[RevisionQuery, Query(alias="from")],
    to_revision: Annotated[RevisionQuery, Query(alias="to")],
) -> DiffOut:
    _check_visible(request, name, number, access)
    found = RevisionStore(store_of(request)).diff(name, number, from_revision, to_revision)
    data: dict[str, Any] = found.to_dict()
    own = access.own_iso3
    rows = [r for r in data["participants"] if own is None or r["iso3"] == own]
    shown = page.of(rows)
    response.headers.update(page_headers(request, page, len(shown), len(rows)))
    return DiffOut.model_validate(
        {**data, "participants": shown, "from": from_revision, "to": to_revision}
    )


@router.post(
    "/{name}/rounds/{number}/revisions",
    status_code=201,
    summary="Re-run a round with revised supply as a new revision (rounds after it too)",
)
def post_revision(
    request: Request,
    name: Name,
    number: Number,
    body: RevisionIn,
    access: Annotated[Access, Depends(authorize("rounds.run"))],
) -> RevisionOut:
    revisions = RevisionStore(store_of(request))
    base = revisions.store.effective_scenario(name)
    change = parse_supply_change(body.model_dump(), base, number, source="request body")
    info, diff = revisions.revise(
        name, number, change, created_by=f"via the API by {access.principal.user}"
    )
    access.audit(
        f"scenario {name} round {number} revision {info.revision}",
        changed=len(info.changes),
        participants=len(diff.participants),
    )
    return _out(info)
