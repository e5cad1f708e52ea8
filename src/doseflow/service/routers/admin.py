"""Administration: issue, list and revoke API tokens; read the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as FastPath
from pydantic import BaseModel, Field

from doseflow.data.fields import Code, Label, Quantity, UserName
from doseflow.domain.limits import MAX_CODE_LENGTH, MAX_NAME_LENGTH
from doseflow.service.auth import Access, authorize
from doseflow.service.bodies import WriteBody
from doseflow.service.context import engine_of
from doseflow.service.errors import ERROR_RESPONSES
from doseflow.service.queries import PAGED_RESPONSES, Page, paged
from doseflow.store.service import (
    audit_log,
    count_audit,
    count_tokens,
    issue_token,
    list_tokens,
    revoke_token,
)

router = APIRouter(prefix="/api", tags=["administration"], responses=ERROR_RESPONSES)

#: Database ids are 32-bit on every backend; larger numbers cannot name anything.
MAX_ID = 2**31 - 1

Manage = Annotated[Access, Depends(authorize("tokens.manage"))]
ReadAudit = Annotated[Access, Depends(authorize("audit.read"))]


class TokenRequest(WriteBody):
    role: Code = Field(
        description="administrator, allocation-analyst, logistics-officer, participant or viewer"
    )
    iso3: str | None = Field(
        default=None, description="the participant's country (participants only)"
    )
    user: UserName | None = Field(default=None, description="who holds it (default: role[-ISO3])")
    label: Label = ""
    expires_in_days: Quantity | None = Field(default=None, ge=1, le=3650)


class IssuedTokenOut(BaseModel):
    token: str = Field(description="the secret: shown once, store it now")
    token_id: int
    user: str
    role: str
    iso3: str | None
    expires_at: datetime | None


class TokenOut(BaseModel):
    token_id: int
    prefix: str
    user: str
    role: str
    iso3: str | None
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str | None
    role: str | None
    iso3: str | None
    token_id: int | None
    action: str
    method: str
    path: str
    target: str | None
    status: int | None
    outcome: str
    detail: dict[str, Any] | None
    #: transactions of the request that committed writes (this entry committed with each)
    writes: int | None = None


@router.post("/tokens", status_code=201, summary="Issue an API token (shown once)")
def create_token(body: TokenRequest, request: Request, access: Manage) -> IssuedTokenOut:
    issued = issue_token(
        engine_of(request),
        role=body.role,
        iso3=body.iso3,
        user=body.user,
        label=body.label,
        expires_in_days=body.expires_in_days,
    )
    access.audit(
        f"token {issued.token_id}", user=issued.user, role=issued.role.value, iso3=issued.iso3
    )
    return IssuedTokenOut(
        token=issued.token,
        token_id=issued.token_id,
        user=issued.user,
        role=issued.role.value,
        iso3=issued.iso3,
        expires_at=issued.expires_at,
    )


@router.get(
    "/tokens",
    summary="Tokens issued, newest first (never the secrets; paged)",
    responses=PAGED_RESPONSES,
)
def get_tokens(request: Request, response: Response, _access: Manage, page: Page) -> list[TokenOut]:
    engine = engine_of(request)
    tokens = [
        TokenOut(
            token_id=t.token_id,
            prefix=t.prefix,
            user=t.user,
            role=t.role.value,
            iso3=t.iso3,
            label=t.label,
            created_at=t.created_at,
            expires_at=t.expires_at,
            revoked_at=t.revoked_at,
        )
        for t in list_tokens(engine, limit=page.limit, offset=page.offset)
    ]
    return paged(request, response, page, tokens, count_tokens(engine))


@router.delete("/tokens/{token_id}", status_code=204, summary="Revoke a token at once")
def delete_token(
    token_id: Annotated[int, FastPath(ge=1, le=MAX_ID)], request: Request, access: Manage
) -> None:
    access.audit(f"token {token_id}")
    revoke_token(engine_of(request), token_id)


@router.get(
    "/audit",
    summary="The audit log of every write, newest first (paged; before_id keeps pages put "
    "while new entries arrive)",
    responses=PAGED_RESPONSES,
)
def get_audit(
    request: Request,
    response: Response,
    _access: ReadAudit,
    page: Page,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    actor: Annotated[str | None, Query(max_length=MAX_NAME_LENGTH)] = None,
    action: Annotated[str | None, Query(max_length=MAX_CODE_LENGTH)] = None,
) -> list[AuditOut]:
    engine = engine_of(request)
    entries = [
        AuditOut(
            id=e.id,
            at=e.at,
            actor=e.actor,
            role=e.role,
            iso3=e.iso3,
            token_id=e.token_id,
            action=e.action,
            method=e.method,
            path=e.path,
            target=e.target,
            status=e.status,
            outcome=e.outcome,
            detail=dict(e.detail) if e.detail is not None else None,
            writes=e.writes,
        )
        for e in audit_log(
            engine,
            limit=page.limit,
            offset=page.offset,
            before_id=before_id,
            actor=actor,
            action=action,
        )
    ]
    total = count_audit(engine, before_id=before_id, actor=actor, action=action)
    return paged(request, response, page, entries, total)
