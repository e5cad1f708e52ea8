"""Who is asking and what they may do: tokens to principals, and the one authorisation check.

The :class:`RequestMiddleware` resolves the token once per request (``Authorization: Bearer``
for the API, the sign-in cookie for the dashboard) and audits every write. Endpoints declare
their action with ``Depends(authorize("<action>"))``, which looks the action up in
:data:`doseflow.service.permissions.PERMISSIONS` and hands the endpoint an :class:`Access`
that scopes a participant to its own country.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread
from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from doseflow.domain.errors import DoseflowError
from doseflow.service.introspect import ACTION_ATTRIBUTE
from doseflow.service.permissions import PERMISSIONS
from doseflow.service.permissions import Scope as DataScope
from doseflow.store.service import Principal, authenticate, begin_audit, finish_audit

COOKIE_NAME = "doseflow_token"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CONTEXT_KEY = "doseflow.request"

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An API token from `doseflow token create` (starts with `dft_`).",
)


@dataclass
class RequestContext:
    """What the middleware and the endpoint learn about one request (mutable, per request)."""

    principal: Principal | None = None
    token_given: bool = False
    action: str | None = None
    target: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def context_of(request: Request) -> RequestContext:
    found = request.scope.get(_CONTEXT_KEY)
    if isinstance(found, RequestContext):
        return found
    ctx = RequestContext()
    request.scope[_CONTEXT_KEY] = ctx
    return ctx


@dataclass(frozen=True)
class Access:
    """A granted action: who, which action, and over whose data (all, or its own country)."""

    principal: Principal
    action: str
    scope: DataScope
    context: RequestContext

    @property
    def own_iso3(self) -> str | None:
        """The only country this access may touch, or ``None`` if it may touch all."""
        return self.principal.iso3 if self.scope is DataScope.OWN else None

    def may_see(self, iso3: str | None) -> bool:
        own = self.own_iso3
        return own is None or (iso3 is not None and iso3.upper() == own)

    def check_iso3(self, iso3: str | None) -> None:
        """Refuse (``SERVICE_OUT_OF_SCOPE``) if a participant reaches for another country."""
        if not self.may_see(iso3):
            raise DoseflowError(
                "SERVICE_OUT_OF_SCOPE",
                f"a participant token for {self.own_iso3} may only reach {self.own_iso3}'s data",
                field="iso3",
                expected=str(self.own_iso3),
                value=iso3,
            )

    def scoped(self, requested: str | None) -> str | None:
        """The country filter to apply: what was asked for, forced to its own for a participant."""
        own = self.own_iso3
        if own is None:
            return requested.upper() if requested else None
        self.check_iso3(requested or own)
        return own

    def audit(self, target: str | None = None, **detail: Any) -> None:
        """Say what a write touched, for its audit entry."""
        if target is not None:
            self.context.target = target
        self.context.detail.update(detail)


def check_permission(principal: Principal | None, action: str) -> DataScope:
    """The scope ``principal`` has for ``action``, or the refusal (401 or 403)."""
    if principal is None:
        raise DoseflowError(
            "SERVICE_UNAUTHENTICATED",
            "sign in with an API token (Authorization: Bearer dft_...)",
            field="Authorization",
            expected="a valid, unrevoked token",
        )
    scope = PERMISSIONS[action].roles.get(principal.role)
    if scope is None:
        raise DoseflowError(
            "SERVICE_FORBIDDEN",
            f"role {principal.role.value} may not {PERMISSIONS[action].description}",
            field="role",
            expected="a role allowed " + action,
            value=principal.role.value,
        )
    return scope


def authorize(action: str) -> Callable[..., Access]:
    """A dependency granting ``action`` (see the permission table) or refusing the request.

    A ``{iso3}`` in the path is checked against a participant's country here, so no endpoint
    can forget it; endpoints that find the country only after a lookup call
    :meth:`Access.check_iso3` themselves.
    """
    if action not in PERMISSIONS:
        raise KeyError(f"action {action!r} is not in the permission table")

    def dependency(
        request: Request,
        _credentials: HTTPAuthorizationCredentials | None = Security(bearer_scheme),
    ) -> Access:
        ctx = context_of(request)
        ctx.action = action
        scope = check_permission(ctx.principal, action)
        assert ctx.principal is not None
        access = Access(ctx.principal, action, scope, ctx)
        iso3 = request.path_params.get("iso3")
        if isinstance(iso3, str):
            access.check_iso3(iso3)
        return access

    dependency.__name__ = f"authorize_{action.replace('.', '_').replace('-', '_')}"
    setattr(dependency, ACTION_ATTRIBUTE, action)
    return dependency


def _token_from(scope: Scope) -> str | None:
    """The bearer token for API paths, the sign-in cookie for dashboard paths."""
    path = str(scope.get("path", ""))
    headers: dict[str, str] = {
        bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1") for k, v in scope["headers"]
    }
    if path.startswith("/api"):
        value = headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    if path.startswith("/dashboard"):
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE_NAME and value:
                return value
    return None


class RequestMiddleware:
    """Resolve the token, then run the request; audit it if it writes.

    A write is recorded before it runs (outcome ``started``) and closed with its status
    afterwards, so an interrupted write still leaves a trace; refused writes (401, 403, 422)
    are recorded too: an audit log that only shows successes hides probing.
    """

    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx = RequestContext()
        scope[_CONTEXT_KEY] = ctx
        token = _token_from(scope)
        if token is not None:
            ctx.token_given = True
            ctx.principal = await to_thread.run_sync(authenticate, self.engine, token)
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET")
        audited = method in WRITE_METHODS and path.startswith(("/api", "/dashboard"))
        if not audited:
            await self.app(scope, receive, send)
            return
        entry = await to_thread.run_sync(
            lambda: begin_audit(
                self.engine,
                principal=ctx.principal,
                action=f"{method} {path}",
                method=method,
                path=path,
            )
        )
        status = 500

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            await to_thread.run_sync(
                lambda: finish_audit(
                    self.engine,
                    entry,
                    status=status,
                    principal=ctx.principal,
                    action=ctx.action,
                    target=ctx.target,
                    detail=ctx.detail,
                )
            )
