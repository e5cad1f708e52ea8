"""Security headers on every response, set in one place so no page or refusal goes without.

The Content-Security-Policy allows scripts only from this origin: the dashboard has no
inline script (its charts are SVG drawn on the server, with no script at all) and the API
docs are started by a bundled file. Styles may be inline because Swagger UI and ReDoc set
``style`` attributes as they draw (the dashboard's own pages and charts use none); injected
HTML cannot run script under this policy, and Jinja2 escapes everything it renders.
``frame-ancestors 'none'`` and ``X-Frame-Options: DENY`` stop other sites from framing the
dashboard (clickjacking); HSTS is sent only on requests that came over https (as uvicorn
reports the scheme after a trusted proxy's ``X-Forwarded-Proto``), since a browser ignores
it over plain http and a local test server must stay reachable over http.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

STATIC_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeadersMiddleware:
    """Add the headers to every HTTP response (outermost, so refusals get them too)."""

    def __init__(self, app: ASGIApp, hsts_seconds: int) -> None:
        self.app = app
        self.hsts = f"max-age={hsts_seconds}; includeSubDomains".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        dashboard = str(scope.get("path", "")).startswith("/dashboard")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {bytes(name).lower() for name, _ in headers}
                extra = [h for h in STATIC_HEADERS if h[0] not in present]
                if https:
                    extra.append((b"strict-transport-security", self.hsts))
                if dashboard and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)
