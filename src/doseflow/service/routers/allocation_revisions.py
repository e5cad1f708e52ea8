"""Revisions of a round's supply and who gained or lost between two of them, over
``doseflow.store.allocation_revisions.RevisionStore``.

A revision is a write like running a round (``rounds.run``): it re-runs the round and the
rounds after it and stores them. A participant sees the revisions of published rounds
only, and in a difference only its own rows (pools are totals, shown to everyone).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from doseflow.allocation.revision_diff import diff_rows
from doseflow.allocation.revision_input import MAX_CHANGES, parse_supply_change
from doseflow.allocation.scenario_file import TrancheDoc
from doseflow.data.fields import Identifier, Quantity
from doseflow.domain.errors import DoseflowError
from doseflow.domain.limits import MAX_ROUND_NUMBER
from doseflow.service.auth import Access, authorize
from doseflow.service.bodies import WriteBody
from doseflow.service.errors import ERROR_RESPONSES
from doseflow.service.queries import PAGED_RESPONSES, Page, page_of
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
) -> list[ParticipantChangeOut]:
    """One row per participant x product whose doses (or coverage) changed, sorted by
    product and ISO3 code: the ``participants`` of ``doseflow allocate diff --format json``.
    The totals per revision are in the list of revisions."""
    _check_visible(request, name, number, access)
    found = RevisionStore(store_of(request)).diff(name, number, from_revision, to_revision)
    own = None if access.own_iso3 is None else (access.own_iso3,)
    rows = [ParticipantChangeOut.model_validate(r) for r in diff_rows(found, own)]
    return page_of(request, response, page, rows)


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
