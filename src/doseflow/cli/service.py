"""``doseflow serve`` (the REST API and dashboard) and ``doseflow token`` (API tokens).

The service is started through uvicorn's factory string rather than imported, so the two
interfaces (command line and service) stay independent of each other.
"""

from __future__ import annotations

import os

import typer

from doseflow.cli.console import console
from doseflow.cli.context import CONTEXT_SETTINGS
from doseflow.cli.options import db_option, participant_option
from doseflow.cli.output import OutputFormat, Shown, col, emit, format_option
from doseflow.cli.vocabulary import VocabularyTyper

SERVICE_FACTORY = "doseflow.service.app:app_from_environment"

token_app = VocabularyTyper(
    context_settings=CONTEXT_SETTINGS,
    help="Issue, list and revoke API tokens for the service.",
    no_args_is_help=True,
)


def serve(
    db: str = db_option(),
    host: str = typer.Option(
        "127.0.0.1", help="Address to listen on (127.0.0.1: this machine only)."
    ),
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
    workers: int = typer.Option(
        1,
        min=1,
        max=64,
        help="Server processes (uvicorn workers). More than one needs PostgreSQL or a "
        "SQLite file on a local disk (WAL).",
    ),
    job_threads: int = typer.Option(
        None,
        min=0,
        max=64,
        help="Background-job threads per process (default 1, or $DOSEFLOW_JOB_THREADS; "
        "0: this server runs no jobs, other servers on the database do).",
    ),
    forwarded_allow_ips: str = typer.Option(
        None,
        help="Comma-separated addresses of reverse proxies whose X-Forwarded-For/-Proto "
        "headers are trusted (default: 127.0.0.1, or $FORWARDED_ALLOW_IPS).",
    ),
) -> None:
    """Serve the REST API (/api, docs at /api/docs) and the dashboard (/dashboard)."""
    import uvicorn

    from doseflow.store.database import (
        ENV_VAR,
        default_url,
        normalise_url,
        open_database,
        require_shareable,
    )
    from doseflow.store.job_settings import JobSettings
    from doseflow.store.service_settings import SecuritySettings

    url = normalise_url(db or default_url())
    engine = open_database(url)  # migrate and fail early, with a clear error, if unreachable
    try:
        if workers > 1:
            require_shareable(engine)
    finally:
        engine.dispose()
    os.environ[ENV_VAR] = url
    if job_threads is not None:
        os.environ["DOSEFLOW_JOB_THREADS"] = str(job_threads)
    # a bad $DOSEFLOW_JOB_* or security setting is refused here, not as a traceback per worker
    JobSettings.from_environment()
    SecuritySettings.from_environment()
    console.print(
        f"doseflow service on http://{host}:{port}/dashboard/ (API docs: /api/docs); "
        f"{workers} worker process{'es' if workers > 1 else ''}; "
        "sign in with a token from 'doseflow token create'"
    )
    uvicorn.run(
        SERVICE_FACTORY,
        factory=True,
        host=host,
        port=port,
        log_level=log_level,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
    )


@token_app.command("create")
def token_create(
    role: str = typer.Option(
        ..., help="administrator, allocation-analyst, logistics-officer, participant or viewer."
    ),
    iso3: str | None = participant_option(
        None, "The participant's ISO3 code (participant tokens only)."
    ),
    user: str = typer.Option(None, help="Who holds the token (default: the role, and ISO3)."),
    label: str = typer.Option("", help="A note to recognise the token by."),
    expires_in_days: int = typer.Option(None, help="Days until the token stops working."),
    db: str = db_option(),
) -> None:
    """Issue a token and print it. It is shown once: only its hash is stored."""
    from doseflow.store.database import default_url, open_database
    from doseflow.store.service import issue_token, parse_role

    the_role = parse_role(role)
    engine = open_database(db or default_url())
    try:
        issued = issue_token(
            engine,
            role=the_role,
            iso3=iso3,
            user=user,
            label=label,
            expires_in_days=expires_in_days,
        )
    finally:
        engine.dispose()
    bound = f" for {issued.iso3}" if issued.iso3 else ""
    console.print(
        f"token {issued.token_id} for {issued.user} ({issued.role.value}{bound}); "
        "store it now, it will not be shown again:",
        highlight=False,
    )
    # The secret alone on its own line, so scripts can take the last line.
    print(issued.token)


@token_app.command("list")
def token_list(
    db: str = db_option(),
    fmt: OutputFormat = format_option(),
) -> None:
    """List every token issued (never the secrets)."""
    from doseflow.store.database import default_url, open_database
    from doseflow.store.service import list_tokens

    engine = open_database(db or default_url())
    try:
        tokens = list_tokens(engine)
    finally:
        engine.dispose()
    rows = []
    for t in tokens:
        status = (
            "revoked"
            if t.revoked_at
            else ("expires " + t.expires_at.date().isoformat() if t.expires_at else "active")
        )
        rows.append(
            (
                t.token_id,
                Shown(t.prefix, t.prefix + "…"),
                t.user,
                t.role.value,
                t.iso3,
                t.label,
                t.created_at.date(),
                status,
            )
        )
    emit(
        [
            col("id", numeric=True, text=str),
            col("starts with"),
            col("user"),
            col("role"),
            col("participant", key="iso3"),
            col("label"),
            col("created"),
            col("status"),
        ],
        rows,
        fmt,
        title="API tokens",
    )


@token_app.command("revoke")
def token_revoke(
    token_id: int = typer.Argument(..., help="The token's id (see 'doseflow token list')."),
    db: str = db_option(),
) -> None:
    """Revoke a token: it stops working at once."""
    from doseflow.store.database import default_url, open_database
    from doseflow.store.service import revoke_token

    engine = open_database(db or default_url())
    try:
        revoke_token(engine, token_id)
    finally:
        engine.dispose()
    console.print(f"token {token_id} revoked")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(token_app, name="token")


__all__ = ["register"]
