"""Rendering dashboard pages: the Jinja2 environment, the page frame, and page-level access.

Pages are rendered on the server so they read well with a screen reader and without script;
charts are SVG drawn here on the server (``svg_charts``), no chart script, each with a data
table that carries the same numbers for anyone who cannot see the chart.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from doseflow import __version__
from doseflow.domain.errors import DoseflowError
from doseflow.service.auth import (
    Access,
    check_permission,
    check_write_rate,
    context_of,
)
from doseflow.service.permissions import PERMISSIONS

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("doseflow.service.dashboard", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)


def _number(value: Any) -> str:
    """Whole doses with thin grouping (1,234,567); other numbers as given."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3g}"
    return str(value)


def _percent(value: Any) -> str:
    return "" if value is None else f"{float(value) * 100:.1f}%"


def _json_script(value: Any) -> Markup:
    """JSON safe to put inside ``<script type="application/json">`` (the data entry form's
    value rules, read by static/entry.js: no inline script under the CSP)."""
    text = json.dumps(value, default=str).replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(text.replace("&", "\\u0026"))


_env.filters["number"] = _number
_env.filters["percent"] = _percent
_env.filters["json_script"] = _json_script


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str
    action: str


#: The dashboard's sections, shown to a role only if it may read what the page shows.
NAV: list[NavItem] = [NavItem("/dashboard/", "Overview", "participants.read")]


def add_nav(item: NavItem) -> None:
    if all(existing.path != item.path for existing in NAV):
        NAV.append(item)


class SignInRequired(Exception):
    """Raised by a page when no one is signed in; answered with a redirect to sign-in."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def page_access(request: Request, action: str) -> Access:
    """Like the API's ``authorize``, but sends a visitor with no session to the sign-in page."""
    ctx = context_of(request)
    if ctx.principal is None:
        raise SignInRequired(request.url.path)
    ctx.action = action
    check_write_rate(request, ctx)
    scope = check_permission(ctx.principal, action)
    return Access(ctx.principal, action, scope, ctx)


def request_may(request: Request, action: str) -> bool:
    """Whether the signed-in user's role may do ``action`` (to offer a link or a form)."""
    principal = context_of(request).principal
    return principal is not None and principal.role in PERMISSIONS[action].roles


#: Before sign-in, forms are bound to this cookie (a random value set by the sign-in page).
PRE_SESSION_COOKIE = "doseflow_pre_session"
_CSRF_KEY = b"doseflow-form-token-v2"


def form_token_for(secret: str, purpose: str) -> str:
    """The form token bound to ``secret`` (a session id, or a pre-session cookie)."""
    return hmac.new(_CSRF_KEY, f"{purpose}:{secret}".encode(), hashlib.sha256).hexdigest()[:40]


def csrf_token(request: Request) -> str:
    """The value every dashboard form must send back: bound to the live session, so a page
    of another site (which cannot read the HttpOnly cookie) cannot forge it, and a form
    from an ended session no longer works. Empty when no one is signed in."""
    session_id = context_of(request).session_id
    return form_token_for(session_id, "session") if session_id else ""


def pre_session_token(request: Request) -> str:
    """The sign-in form's token, bound to the pre-session cookie ('' if there is none)."""
    secret = request.cookies.get(PRE_SESSION_COOKIE)
    return form_token_for(secret, "sign-in") if secret else ""


async def read_form(request: Request, *, sign_in: bool = False) -> dict[str, str]:
    """A URL-encoded form body as a flat dict, with the form token checked (the sign-in
    form's against the pre-session cookie, every other form's against the session)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    fields = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
    expected = pre_session_token(request) if sign_in else csrf_token(request)
    if not expected or not hmac.compare_digest(fields.get("csrf", ""), expected):
        raise DoseflowError(
            "SERVICE_BAD_FORM",
            "the form is out of date or was not sent by this dashboard; reload the page",
            field="csrf",
        )
    return fields


def render(
    request: Request,
    template: str,
    *,
    title: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page in the common frame: banner, navigation for the signed-in role, main content."""
    principal = context_of(request).principal
    nav = [
        item
        for item in NAV
        if principal is not None and PERMISSIONS[item.action].roles.get(principal.role)
    ]
    html = _env.get_template(template).render(
        request=request,
        title=title,
        principal=principal,
        nav=nav,
        current=request.url.path,
        csrf=csrf_token(request) if principal else "",
        version=__version__,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def sign_in_redirect_target(next_path: str) -> str:
    return "/dashboard/sign-in?next=" + quote(next_path, safe="/")


def form_int(text: str | None, field: str) -> int:
    """A whole number from a form field (1 to 1,000,000), or ``SERVICE_BAD_FORM``."""
    try:
        number = int(text or "")
        if not 1 <= number <= 1_000_000:
            raise ValueError(number)
        return number
    except ValueError:
        raise DoseflowError(
            "SERVICE_BAD_FORM",
            f"{field} must be a whole number",
            field=field,
            expected="a whole number from 1 to 1,000,000",
            value=text,
        ) from None
