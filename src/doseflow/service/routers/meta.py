"""Health, who am I, and the permission table: what a client checks before anything else."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from doseflow import __version__
from doseflow.service.auth import bearer_scheme, check_permission, context_of
from doseflow.service.errors import ERROR_RESPONSES
from doseflow.service.permissions import ACTIONS
from doseflow.service.queries import PAGED_RESPONSES, Page, page_of
from doseflow.store.service import Role

router = APIRouter(prefix="/api", tags=["service"], responses={401: ERROR_RESPONSES[401]})


class Health(BaseModel):
    status: str
    version: str


class WhoAmI(BaseModel):
    user: str
    role: Role
    iso3: str | None
    allowed: dict[str, str]


class ActionOut(BaseModel):
    name: str
    description: str
    writes: bool
    roles: dict[str, str]


@router.get("/health", summary="Is the service up (no token needed)")
def health() -> Health:
    return Health(status="ok", version=__version__)


@router.get(
    "/whoami",
    summary="The token's holder, role, country and what it may do",
    dependencies=[Depends(bearer_scheme)],
)
def whoami(request: Request) -> WhoAmI:
    principal = context_of(request).principal
    allowed: dict[str, str] = {}
    for action in ACTIONS:
        scope = action.roles.get(principal.role) if principal else None
        if scope is not None:
            allowed[action.name] = scope.value
    check_permission(principal, "participants.read")  # any signed-in role; 401 otherwise
    assert principal is not None
    return WhoAmI(user=principal.user, role=principal.role, iso3=principal.iso3, allowed=allowed)


@router.get(
    "/permissions",
    summary="The whole permission table (role x action; paged)",
    responses=PAGED_RESPONSES,
)
def permissions(request: Request, response: Response, page: Page) -> list[ActionOut]:
    rows = [
        ActionOut(
            name=a.name,
            description=a.description,
            writes=a.writes,
            roles={r.value: s.value for r, s in a.roles.items()},
        )
        for a in ACTIONS
    ]
    return page_of(request, response, page, rows)
