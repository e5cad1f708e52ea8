"""The API reference: Swagger UI at ``/api/docs`` and ReDoc at ``/api/redoc``, both served
from this service.

FastAPI's default page loads Swagger UI from a CDN, unpinned, on the dashboard's origin:
whoever controls that script controls a signed-in user's session, and the page is blank
offline. Here the page is a fixed HTML file naming two assets served under
``/static/vendor/swagger-ui/`` from the pinned ``swagger-ui-py`` package (Swagger UI
5.24.2, Apache-2.0, its licence served next to it), started by ``/static/api-docs.js``;
it has no inline script, so the Content-Security-Policy can allow only same-origin scripts.

ReDoc (the same description as one readable page) is ReDoc 2.5.2's standalone bundle from
the npm package ``redoc``, vendored under ``static/vendor/redoc/`` with its MIT licence and
third-party notices (``static/vendor/redoc/README.md`` says how to refresh it). It starts by
itself on the ``<redoc spec-url>`` element, so that page has no inline script either.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response

from doseflow.domain.errors import DoseflowError


def _package_static() -> Path:
    """The ``static`` folder of the installed ``swagger_ui`` package, found without running
    any of its code (only its files are used)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or spec.origin is None:
        raise RuntimeError("swagger-ui-py is not installed (a core dependency of doseflow)")
    return Path(spec.origin).parent / "static"


SWAGGER_UI_DIR = _package_static()

#: The only files served from the package, with their media types.
ASSETS: dict[str, str] = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "LICENSE": "text/plain; charset=utf-8",
    "favicon-32x32.png": "image/png",
}

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>doseflow API reference</title>
  <link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
  <link rel="icon" type="image/png" href="/static/vendor/swagger-ui/favicon-32x32.png">
</head>
<body>
  <main id="swagger-ui" data-openapi-url="/api/openapi.json"></main>
  <script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>
"""


REDOC_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>doseflow API reference (ReDoc)</title>
  <link rel="icon" href="data:,">
</head>
<body>
  <redoc spec-url="/api/openapi.json" disable-search hide-download-button></redoc>
  <script src="/static/vendor/redoc/redoc.standalone.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Serve the reference page and its assets (call with ``docs_url=None`` on the app)."""

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(PAGE)

    @app.get("/api/redoc", include_in_schema=False)
    def api_redoc() -> HTMLResponse:
        return HTMLResponse(REDOC_PAGE)

    @app.get("/static/vendor/swagger-ui/{name}", include_in_schema=False)
    def swagger_asset(name: str) -> Response:
        media_type = ASSETS.get(name)
        if media_type is None:
            raise DoseflowError(
                "SERVICE_NOT_FOUND",
                f"there is no API docs asset called {name!r}",
                field="name",
                expected=", ".join(ASSETS),
                value=name,
            )
        return FileResponse(
            SWAGGER_UI_DIR / name,
            media_type=media_type,
            headers={"Cache-Control": "public, max-age=86400"},
        )
