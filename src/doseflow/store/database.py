"""Opening a doseflow database: SQLite (default, WAL) or PostgreSQL by URL, always migrated.

``open_database`` is the one way in: it makes the engine with the right settings for the
backend and brings the schema to the latest Alembic revision of every area.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from doseflow.domain.errors import DoseflowError
from doseflow.store import defaults
from doseflow.store.sqlite_settings import CONNECTION_PRAGMAS

DEFAULT_SQLITE_FILE = defaults.DEFAULT_SQLITE_FILE
ENV_VAR = defaults.ENV_VAR


def default_url() -> str:
    """``$DOSEFLOW_DB`` if set, else the embedded SQLite file in the working directory."""
    return os.environ.get(ENV_VAR) or f"sqlite:///{DEFAULT_SQLITE_FILE}"


def normalise_url(url_or_path: str) -> str:
    """Accept a URL or a plain file path (taken as SQLite); PostgreSQL goes through psycopg 3."""
    if "://" not in url_or_path:
        return f"sqlite:///{Path(url_or_path)}"
    url = make_url(url_or_path)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise DoseflowError(
            "STORE_UNSUPPORTED_BACKEND",
            f"doseflow stores data in SQLite or PostgreSQL, not {url.get_backend_name()}",
            field="database URL",
            expected="sqlite:///path.sqlite, a file path, or postgresql://user@host/db",
            value=url_or_path,
        )
    return url.render_as_string(hide_password=False)


def database_exists(url_or_path: str | None = None) -> bool:
    """Whether the database is there to read: a SQLite file that exists (or a server
    database, which is assumed to). Lets read-only helpers skip creating an empty file."""
    url = make_url(normalise_url(url_or_path or default_url()))
    if url.get_backend_name() != "sqlite":
        return True
    name = url.database or ""
    return name in ("", ":memory:") or Path(name).exists()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in CONNECTION_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def make_engine(url_or_path: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url_or_path`` (default :func:`default_url`), without migrating."""
    url = normalise_url(url_or_path or default_url())
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option(
        "script_location", str(resources.files("doseflow.store").joinpath("migrations"))
    )
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring every area's schema to its latest revision (Alembic ``upgrade heads``)."""
    command.upgrade(alembic_config(engine), "heads")


def open_database(url_or_path: str | None = None, **kwargs: Any) -> Engine:
    """An engine on a migrated database: the way every command and service opens the store."""
    engine = make_engine(url_or_path, **kwargs)
    migrate(engine)
    return engine


def require_shareable(engine: Engine) -> None:
    """Refuse (``STORE_NOT_SHAREABLE``) a database that several server processes cannot
    share safely: an in-memory SQLite database (each process would have its own) or a
    SQLite file not in WAL mode (a network file system that refuses it: there readers and
    the writer would block each other and locking may not hold). PostgreSQL always can."""
    if engine.dialect.name != "sqlite":
        return
    url = engine.url
    name = url.database or ""
    if name in ("", ":memory:") or url.query.get("mode") == "memory":
        raise DoseflowError(
            "STORE_NOT_SHAREABLE",
            "an in-memory SQLite database cannot be shared by several processes",
            field="database URL",
            expected="a SQLite file or a PostgreSQL URL",
            value=url.render_as_string(hide_password=True),
        )
    with engine.connect() as conn:
        mode = str(conn.exec_driver_sql("PRAGMA journal_mode").scalar()).lower()
    if mode != "wal":
        raise DoseflowError(
            "STORE_NOT_SHAREABLE",
            f"the SQLite file {name} is in journal mode {mode!r}, not WAL (a network file "
            "system?): several processes cannot share it safely",
            field="database URL",
            expected="a SQLite file on a local disk (WAL mode), or a PostgreSQL URL",
            value=name,
        )
