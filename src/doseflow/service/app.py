"""The application factory: one FastAPI app serving the REST API and the web dashboard.

``create_app(database_url)`` opens (and migrates) the store, installs the error handlers, the
request middleware (token resolution and audit of every write) and every router. The API
lives under ``/api`` (OpenAPI description at ``/api/openapi.json``, interactive docs at
``/api/docs``), the dashboard under ``/dashboard``, bundled assets under ``/static``.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from sqlalchemy import Engine
from starlette.middleware.gzip import GZipMiddleware

from doseflow import __version__
from doseflow.service import api_docs
from doseflow.service.audit_summary import RefusalSummary
from doseflow.service.auth import RequestMiddleware
from doseflow.service.dashboard import pages
from doseflow.service.errors import install_error_handlers
from doseflow.service.job_kinds import builtin_kinds
from doseflow.service.jobs import JobKind, JobRunner, JobSettings
from doseflow.service.limits import RequestSizeLimit
from doseflow.service.rate_limits import RateLimits
from doseflow.service.security_headers import SecurityHeadersMiddleware
from doseflow.store.database import default_url, open_database
from doseflow.store.service_audit import install_audit_hook
from doseflow.store.service_settings import SecuritySettings

#: Routers under ``doseflow.service.routers``, in the order they appear in the API docs.
ROUTER_MODULES: tuple[str, ...] = (
    "meta",
    "overview",
    "allocation",
    "allocation_revisions",
    "ledger",
    "coldchain",
    "deployment",
    "reports",
    "dhis2",
    "impact",
    "admin",
)

#: Responses smaller than this are sent as they are: gzip would save little or nothing.
GZIP_MINIMUM_BYTES = 1024

DESCRIPTION = """\
The doseflow REST API: participants, products and supply, allocation rounds, declines,
shipments and ledger events, stock, cold-chain feasibility, routes and capacity gaps,
in-country deployment plans, reports, compliance and plausibility flags, and impact runs.
Every request but `/api/health` and `/api/permissions` needs an API token
(`Authorization: Bearer dft_...`, issued with `doseflow token create`). Refusals carry the
same stable error codes as the command line (see docs/errors.md) in the body
`{"code", "message", "errors": [...], "more_errors"}` (at most 1,000 errors listed).
"""


def create_app(
    database_url: str | None = None,
    *,
    engine: Engine | None = None,
    security: SecuritySettings | None = None,
    job_settings: JobSettings | None = None,
    job_kinds: Mapping[str, JobKind] | None = None,
) -> FastAPI:
    """The service on ``database_url`` (SQLite path or URL, PostgreSQL URL; default
    :func:`doseflow.store.database.default_url`), migrated to the latest schema, with the
    session lifetimes and rate limits of ``security`` (default: the documented ones). Its job
    runner takes part in the database's shared queue with ``job_settings`` and runs
    ``job_kinds`` (default: :func:`doseflow.service.job_kinds.builtin_kinds`)."""
    settings = security if security is not None else SecuritySettings()
    the_engine = engine if engine is not None else open_database(database_url or default_url())
    install_audit_hook(the_engine)
    summary = RefusalSummary(the_engine, settings.audit_summary_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.jobs.start()
        yield
        app.state.jobs.shutdown()
        summary.flush()

    app = FastAPI(
        title="doseflow",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.engine = the_engine
    app.state.jobs = JobRunner(
        the_engine, builtin_kinds() if job_kinds is None else job_kinds, job_settings
    )
    install_error_handlers(app, html=pages.render_error)
    app.state.security = settings
    app.state.rate_limits = RateLimits(settings)
    app.add_middleware(RequestMiddleware, engine=the_engine, security=settings, summary=summary)
    app.add_middleware(RequestSizeLimit)  # refuses a large body before anything reads it
    # bodies over 1 KB compressed when the client accepts gzip (pages, API lists, bundled
    # scripts); inside the security headers, which are set on the compressed response too
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES, compresslevel=6)
    app.add_middleware(SecurityHeadersMiddleware, hsts_seconds=settings.hsts_seconds)
    for name in ROUTER_MODULES:
        module = importlib.import_module(f"doseflow.service.routers.{name}")
        app.include_router(module.router)

    api_docs.install(app)
    pages.install(app)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/dashboard/", status_code=307)

    return app


def app_from_environment() -> FastAPI:
    """The factory ``doseflow serve`` hands to uvicorn (in each worker process): the database
    named by ``$DOSEFLOW_DB``, security settings from ``$DOSEFLOW_SESSION_*`` and friends, job
    settings from ``$DOSEFLOW_JOB_*``."""
    return create_app(
        default_url(),
        security=SecuritySettings.from_environment(),
        job_settings=JobSettings.from_environment(),
    )
