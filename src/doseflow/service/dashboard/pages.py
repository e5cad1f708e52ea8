"""The dashboard frame: bundled assets, sign-in and sign-out, the overview, error pages.

Area pages (allocation, declines, shipments, stock, cold chain, deployment, reporting,
impact) live in their own modules next to this one and are attached by :func:`install`.
"""

from __future__ import annotations

import importlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import urlparse

from anyio import to_thread
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from doseflow.domain.errors import ErrorDetail
from doseflow.domain.limits import MAX_REPORTED_ERRORS
from doseflow.service.auth import COOKIE_NAME, context_of
from doseflow.service.context import engine_of
from doseflow.service.dashboard.render import (
    PRE_SESSION_COOKIE,
    SignInRequired,
    form_token_for,
    page_access,
    read_form,
    render,
    sign_in_redirect_target,
)
from doseflow.service.overview_views import (
    DEFAULT_WITHIN_DAYS,
    OVERVIEW_ACTION,
    map_view,
    overview_out,
)
from doseflow.service.permissions import ACTIONS
from doseflow.service.queries import DateQuery
from doseflow.service.rate_limits import RateLimits
from doseflow.service.routers.reports import hierarchy_of
from doseflow.store.overview import STEPS
from doseflow.store.service import TOKEN_PREFIX, authenticate
from doseflow.store.service_sessions import end_session, open_session
from doseflow.store.service_settings import SecuritySettings

STATIC_DIR = Path(__file__).parent / "static"

#: Area page modules under ``doseflow.service.dashboard``, each with ``router`` and ``NAV``.
PAGE_MODULES: tuple[str, ...] = (
    "allocation_pages",
    "revision_pages",
    "ledger_pages",
    "count_pages",
    "coldchain_pages",
    "deployment_pages",
    "reporting_pages",
    "entry_pages",
    "impact_pages",
)

router = APIRouter(prefix="/dashboard", include_in_schema=False)

#: The cookie earlier versions kept the raw API token in: cleared at sign-in and sign-out so
#: no browser keeps a long-lived token after upgrading.
LEGACY_TOKEN_COOKIE = "doseflow_token"


def _safe_next(target: str | None) -> str:
    """Only ever send a signed-in user on to a dashboard page of this site."""
    if not target:
        return "/dashboard/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not parsed.path.startswith("/dashboard"):
        return "/dashboard/"
    return parsed.path


def _sign_in_form(
    request: Request, *, next_path: str, error: str | None, status_code: int = 200
) -> Response:
    """The sign-in page, its form bound to the pre-session cookie (set here if missing)."""
    secret = request.cookies.get(PRE_SESSION_COOKIE) or None
    fresh = secret is None
    if secret is None:
        secret = secrets.token_urlsafe(32)
    response = render(
        request,
        "sign_in.html",
        title="Sign in",
        next=next_path,
        error=error,
        sign_in_csrf=form_token_for(secret, "sign-in"),
        status_code=status_code,
    )
    if fresh:
        response.set_cookie(
            PRE_SESSION_COOKIE,
            secret,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/dashboard/sign-in",
        )
    return response


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> Response:
    return _sign_in_form(request, next_path=_safe_next(next), error=None)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """Open a dashboard session for a valid API token: the cookie gets a new session id
    (never the token). Needs the sign-in page's form token; failures are rate limited per
    client address and per token prefix."""
    ctx = context_of(request)
    ctx.action = "session.sign-in"
    fields = await read_form(request, sign_in=True)
    token = fields.get("token", "").strip()
    next_path = _safe_next(fields.get("next"))
    limits: RateLimits = request.app.state.rate_limits
    settings: SecuritySettings = request.app.state.security
    prefix = token[: len(TOKEN_PREFIX) + 6]
    limits.check_sign_in(ctx.address, prefix)
    engine = engine_of(request)
    principal = await to_thread.run_sync(authenticate, engine, token) if token else None
    if principal is None:
        limits.sign_in_failed(ctx.address, prefix)
        return _sign_in_form(
            request,
            next_path=next_path,
            error="That token is not valid: it may be mistyped, revoked or expired.",
            status_code=401,
        )
    ctx.principal = principal
    ctx.target = principal.user
    session_id = await to_thread.run_sync(
        lambda: open_session(
            engine,
            principal,
            idle=settings.session_idle,
            lifetime=settings.session_lifetime,
            keep=settings.sessions_per_token,
        )
    )
    ctx.session_id = session_id
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        session_id,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/dashboard",
        max_age=int(settings.session_lifetime.total_seconds()),
    )
    response.delete_cookie(PRE_SESSION_COOKIE, path="/dashboard/sign-in")
    response.delete_cookie(LEGACY_TOKEN_COOKIE, path="/dashboard")
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    """End the session on the server (its cookie no longer works anywhere) and clear it."""
    ctx = context_of(request)
    ctx.action = "session.sign-out"
    if ctx.principal is not None and ctx.session_id is not None:
        await read_form(request)
        session_id = ctx.session_id
        await to_thread.run_sync(end_session, engine_of(request), session_id)
    response = RedirectResponse("/dashboard/sign-in", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/dashboard")
    response.delete_cookie(LEGACY_TOKEN_COOKIE, path="/dashboard")
    return response


@router.get("/")
def overview(
    request: Request,
    as_of: DateQuery = None,
    within_days: Annotated[int, Query(ge=0, le=3650)] = DEFAULT_WITHIN_DAYS,
    iso3: Annotated[str | None, Query(max_length=3, pattern=r"^[A-Za-z]{0,3}$")] = None,
) -> Response:
    """Headline figures, alerts, the coverage map and the pipeline per participant (the
    same figures as ``GET /api/overview``), then what the user's role may do."""
    access = page_access(request, OVERVIEW_ACTION)
    allowed = [a for a in ACTIONS if access.principal.role in a.roles]
    _, data = overview_out(
        engine_of(request),
        access,
        iso3=iso3 or None,
        as_of=as_of or datetime.now(UTC).date(),
        within_days=within_days,
        hierarchy=hierarchy_of(request),
    )
    return render(
        request,
        "overview.html",
        title="Overview",
        allowed=allowed,
        data=data,
        steps=STEPS,
        map=map_view(data.participants),
    )


def render_error(request: Request, details: Sequence[ErrorDetail], status: int) -> Response:
    """A refusal on a dashboard page, as a page (with the same code as the API would give)."""
    shown = details[:MAX_REPORTED_ERRORS]
    return render(
        request,
        "error.html",
        title="Not possible",
        details=shown,
        more_errors=len(details) - len(shown),
        status_code=status,
    )


def install(app: FastAPI) -> None:
    """Attach the dashboard, its area pages and its assets to ``app``."""

    async def on_sign_in_required(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        return RedirectResponse(sign_in_redirect_target(exc.next_path), status_code=303)

    app.add_exception_handler(SignInRequired, on_sign_in_required)
    for name in PAGE_MODULES:
        module = importlib.import_module(f"doseflow.service.dashboard.{name}")
        app.include_router(module.router)
    app.include_router(router)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
