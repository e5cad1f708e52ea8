"""Who is asking and what they may do: tokens to principals, and the one authorisation check.

The :class:`RequestMiddleware` resolves the caller once per request (``Authorization: Bearer``
for the API, the session cookie for the dashboard: a short-lived session id, never the API
token), refuses dashboard writes sent from another origin, and audits every write in the
transaction that commits it (``doseflow.store.service_audit``). Endpoints declare
their action with ``Depends(authorize("<action>"))``, which looks the action up in
:data:`doseflow.service.permissions.PERMISSIONS` and hands the endpoint an :class:`Access`
that scopes a participant to its own country.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from anyio import to_thread
from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from doseflow.domain.errors import DoseflowError, ErrorDetail
from doseflow.service.audit_summary import RefusalSummary
from doseflow.service.errors import error_response
from doseflow.service.introspect import ACTION_ATTRIBUTE
from doseflow.service.permissions import PERMISSIONS
from doseflow.service.permissions import Scope as DataScope
from doseflow.service.rate_limits import RateLimits
from doseflow.store.service import Principal, authenticate
from doseflow.store.service_audit import AuditFacts, PendingAudit, auditing, close_request
from doseflow.store.service_sessions import session_principal
from doseflow.store.service_settings import SecuritySettings

#: The dashboard's session cookie: a session id (``dfs_...``), never an API token.
COOKIE_NAME = "doseflow_session"
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
    #: The live dashboard session the cookie named (CSRF tokens are bound to it).
    session_id: str | None = None
    #: The client's address (as uvicorn reports it after trusted proxy headers).
    address: str = "unknown"
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
        check_write_rate(request, ctx)
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


def check_write_rate(request: Request, ctx: RequestContext) -> None:
    """Count a write against its token's (or, without one, its address's) rate limit."""
    if request.method in WRITE_METHODS:
        limits = request.app.state.rate_limits
        assert isinstance(limits, RateLimits)
        limits.check_write(ctx.principal.token_id if ctx.principal else None, ctx.address)


def _headers(scope: Scope) -> dict[str, str]:
    return {
        bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1") for k, v in scope["headers"]
    }


def cookie_value(headers: dict[str, str], name: str) -> str | None:
    """The value of cookie ``name`` in a request's ``Cookie`` header, if it is there."""
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None


def _basic(credentials: str) -> tuple[str | None, str | None]:
    """HTTP Basic ``user:password`` as DHIS2 clients send it: the password is the API token,
    the user the token's user name. ``(None, None)`` if it does not decode."""
    try:
        text = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    user, sep, password = text.partition(":")
    return (password, user) if sep and password else (None, None)


def _credentials(
    scope: Scope, headers: dict[str, str]
) -> tuple[str | None, str | None, str | None]:
    """The API token for API paths (``Bearer``; for DHIS2 clients also ``Basic`` with the
    token as password, and ``ApiToken``), or the session id for dashboard paths; and the
    user name a Basic header gave, which must be the token's."""
    path = str(scope.get("path", ""))
    if path.startswith("/api"):
        value = headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        kind = scheme.lower()
        if kind == "basic" and token.strip():
            password, user = _basic(token)
            return password, None, user
        if kind in ("bearer", "apitoken") and token.strip():
            return token.strip(), None, None
        return None, None, None
    if path.startswith("/dashboard"):
        return None, cookie_value(headers, COOKIE_NAME), None
    return None, None, None


def foreign_origin(scope: Scope, headers: dict[str, str]) -> str | None:
    """The other origin a request says it was sent from (``Origin``, else ``Referer``), or
    ``None`` if it names this one or none at all (clients that are not browsers)."""
    origin = headers.get("origin")
    if origin is None:
        referer = headers.get("referer")
        if not referer:
            return None
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "null"
    own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
    return None if _normal_origin(origin) == _normal_origin(own) else origin


def _normal_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, without the scheme's default port."""
    text = origin.strip().lower()
    for scheme, port in (("https://", ":443"), ("http://", ":80")):
        if text.startswith(scheme) and text.endswith(port):
            return text[: -len(port)]
    return text


def _cross_origin_refusal(origin: str) -> list[ErrorDetail]:
    return list(
        DoseflowError(
            "SERVICE_CROSS_ORIGIN",
            "this dashboard only accepts forms sent from its own pages",
            field="Origin",
            expected="this site's own origin",
            value=origin[:200],
        ).details
    )


class RequestMiddleware:
    """Resolve the caller, then run the request; audit it if it may write.

    The audit row of a write commits in the write's own transaction (see
    :mod:`doseflow.store.service_audit`); a write request that commits nothing is recorded
    after its answer (refused: ``denied`` or ``rejected``; ``failed``; ``unchanged``), except
    that refusals with no accountable user (no valid token) and rate-limited requests are
    only counted, in one summary row per window (:mod:`doseflow.service.audit_summary`).
    """

    def __init__(
        self,
        app: ASGIApp,
        engine: Engine,
        security: SecuritySettings,
        summary: RefusalSummary,
    ) -> None:
        self.app = app
        self.engine = engine
        self.security = security
        self.summary = summary

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx = RequestContext()
        scope[_CONTEXT_KEY] = ctx
        client = scope.get("client")
        ctx.address = str(client[0]) if client else "unknown"
        headers = _headers(scope)
        token, session_id, basic_user = _credentials(scope, headers)
        if token is not None:
            ctx.token_given = True
            ctx.principal = await to_thread.run_sync(authenticate, self.engine, token)
            principal = ctx.principal
            if basic_user is not None and principal is not None and principal.user != basic_user:
                ctx.principal = None  # a token given with someone else's name
        elif session_id is not None:
            idle = self.security.session_idle
            ctx.principal = await to_thread.run_sync(
                lambda: session_principal(self.engine, session_id, idle=idle)
            )
            ctx.session_id = session_id if ctx.principal is not None else None
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET")
        audited = method in WRITE_METHODS and path.startswith(("/api", "/dashboard"))
        if not audited:
            await self.app(scope, receive, send)
            return

        def facts() -> AuditFacts:
            return AuditFacts(ctx.principal, ctx.action or f"{method} {path}", ctx.target)

        pending = PendingAudit(uuid.uuid4().hex, method, path, facts)
        status = 500

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            with auditing(pending):
                foreign = foreign_origin(scope, headers) if path.startswith("/dashboard") else None
                if foreign is not None:
                    refusal = error_response(_cross_origin_refusal(foreign), 403)
                    await refusal(scope, receive, send_and_watch)
                else:
                    await self.app(scope, receive, send_and_watch)
        finally:
            await to_thread.run_sync(lambda: self._close(ctx, pending, status))

    def _close(self, ctx: RequestContext, pending: PendingAudit, status: int) -> None:
        accountable = ctx.principal is not None and status != 429
        written = close_request(
            self.engine,
            pending,
            status=status,
            facts=pending.facts(),
            detail=ctx.detail,
            record_if_unwritten=accountable,
        )
        if not written and not accountable:
            self.summary.add(
                status=status,
                path=pending.path,
                address=ctx.address,
                user=ctx.principal.user if ctx.principal else None,
            )
