"""Driver-level SQL for the ledger's bulk paths: the writers' lock and fast multi-row writes.

Rows are plain tuples handed to the DBAPI driver (no ORM or Core objects per row): SQLite
``executemany``; PostgreSQL ``COPY ... FROM STDIN`` for inserts (psycopg 3) and
``executemany`` (pipelined by psycopg) for updates.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, text

from doseflow.store.wal_checkpoint import (
    DEFAULT_AUTOCHECKPOINT,
    WAL_LIMIT_BYTES,
    checkpointer_for,
    wal_bytes,
)

#: Key of the PostgreSQL advisory lock that serialises ledger writers.
PG_LOCK_KEY = 0x1ED6E7
#: Page cache of a SQLite ledger writer, in KiB (negative: a size, not a page count). A
#: batch dirties pages all over the account and step indexes; with the default 2 MiB they
#: are evicted and read again many times within one batch.
SQLITE_WRITE_CACHE_KIB = 262_144
#: SQLite's own default page cache setting (-2000: 2,000 KiB).
SQLITE_DEFAULT_CACHE = -2000

_T = TypeVar("_T")


def chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def begin_write(conn: Connection) -> None:
    """Start the write transaction holding the ledger's writer lock (SQLite: with the larger
    page cache and no automatic checkpoint, until :func:`end_write`)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_WRITE_CACHE_KIB}")
        conn.exec_driver_sql("PRAGMA wal_autocheckpoint = 0")
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})


def end_write(conn: Connection) -> None:
    """After the write transaction ended: give the pooled connection its usual page cache and
    checkpoint setting back (the memory of a 256 MiB cache is not kept by connections that
    next only read), and have the log copied into the database on the checkpointer's thread
    (or at once, if it has grown past its limit): see :mod:`doseflow.store.wal_checkpoint`."""
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql(f"PRAGMA cache_size = {SQLITE_DEFAULT_CACHE}")
    conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint = {DEFAULT_AUTOCHECKPOINT}")
    path = conn.engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    if wal_bytes(path) > WAL_LIMIT_BYTES:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
    else:
        checkpointer_for(path).request()


def mark(conn: Connection) -> str:
    """The driver's parameter placeholder."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _literal(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def insert_many(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Any],
    constants: Mapping[str, Any] | None = None,
    *,
    repeats: Mapping[str, str] | None = None,
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order). ``constants`` are the same for every
    row and ``repeats`` maps a column to the bound column whose value it repeats: SQLite
    writes both into the statement (numbered parameters), so neither is bound per row;
    PostgreSQL's COPY takes them appended to each row."""
    if not rows:
        return
    fixed = dict(constants or {})
    again = dict(repeats or {})
    names = [*columns, *again, *fixed]
    if conn.dialect.name == "postgresql":
        extra = tuple(fixed.values())
        positions = [columns.index(source) for source in again.values()]
        cursor: Any = conn.connection.cursor()
        try:
            with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                if positions:
                    for row in rows:
                        copy.write_row((*row, *(row[i] for i in positions), *extra))
                elif extra:
                    for row in rows:
                        copy.write_row((*row, *extra))
                else:
                    for row in rows:
                        copy.write_row(row)
        finally:
            cursor.close()
        return
    values = [f"?{i}" for i in range(1, len(columns) + 1)]
    values += [f"?{columns.index(source) + 1}" for source in again.values()]
    values += [_literal(v) for v in fixed.values()]
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(values)})"
    conn.exec_driver_sql(sql, list(rows))


def execute_many(conn: Connection, sql: str, rows: Sequence[Any]) -> None:
    """Run ``sql`` (written with ``?`` placeholders) once per row."""
    if not rows:
        return
    if conn.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    conn.exec_driver_sql(sql, list(rows))
