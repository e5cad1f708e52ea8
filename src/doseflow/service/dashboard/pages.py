"""The dashboard frame: bundled assets, sign-in and sign-out, the overview, error pages.

Area pages (allocation, declines, shipments, stock, cold chain, deployment, reporting,
impact) live in their own modules next to this one and are attached by :func:`install`.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import plotly
from anyio import to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from doseflow.domain.errors import ErrorDetail
from doseflow.service.auth import COOKIE_NAME, context_of
from doseflow.service.context import engine_of
from doseflow.service.dashboard.render import (
    SignInRequired,
    page_access,
    read_form,
    render,
    sign_in_redirect_target,
)
from doseflow.service.permissions import ACTIONS
from doseflow.store.service import authenticate

STATIC_DIR = Path(__file__).parent / "static"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

#: Area page modules under ``doseflow.service.dashboard``, each with ``router`` and ``NAV``.
PAGE_MODULES: tuple[str, ...] = (
    "allocation_pages",
    "ledger_pages",
    "coldchain_pages",
    "deployment_pages",
    "reporting_pages",
    "impact_pages",
)

router = APIRouter(prefix="/dashboard", include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only ever send a signed-in user on to a dashboard page of this site."""
    if not target:
        return "/dashboard/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not parsed.path.startswith("/dashboard"):
        return "/dashboard/"
    return parsed.path


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> Response:
    return render(request, "sign_in.html", title="Sign in", next=_safe_next(next), error=None)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    body = (await request.body()).decode("utf-8", errors="replace")
    fields = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
    token = fields.get("token", "").strip()
    next_path = _safe_next(fields.get("next"))
    principal = await to_thread.run_sync(authenticate, engine_of(request), token) if token else None
    ctx = context_of(request)
    ctx.action = "session.sign-in"
    if principal is None:
        return render(
            request,
            "sign_in.html",
            title="Sign in",
            next=next_path,
            error="That token is not valid: it may be mistyped, revoked or expired.",
            status_code=401,
        )
    ctx.principal = principal
    ctx.target = principal.user
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/dashboard",
        max_age=12 * 3600,
    )
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    if context_of(request).principal is not None:
        await read_form(request)
    context_of(request).action = "session.sign-out"
    response = RedirectResponse("/dashboard/sign-in", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/dashboard")
    return response


@router.get("/")
def overview(request: Request) -> Response:
    access = page_access(request, "participants.read")
    allowed = [a for a in ACTIONS if access.principal.role in a.roles]
    return render(request, "overview.html", title="Overview", allowed=allowed)


def render_error(request: Request, details: Sequence[ErrorDetail], status: int) -> Response:
    """A refusal on a dashboard page, as a page (with the same code as the API would give)."""
    return render(request, "error.html", title="Not possible", details=details, status_code=status)


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

    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        """plotly.js as installed with the plotly package: no CDN, works offline."""
        return FileResponse(
            PLOTLY_JS,
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
