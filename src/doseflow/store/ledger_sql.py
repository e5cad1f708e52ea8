"""Driver-level SQL for the ledger's bulk paths: the writers' lock and fast multi-row writes.

Rows are plain tuples handed to the DBAPI driver (no ORM or Core objects per row): SQLite
``executemany``; PostgreSQL ``COPY ... FROM STDIN`` for inserts (psycopg 3) and
``executemany`` (pipelined by psycopg) for updates.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, text

from doseflow.store.service_audit import pending_statement
from doseflow.store.sqlite_settings import RESTORE_PRAGMAS, WRITER_PRAGMAS
from doseflow.store.sqlite_writer import WriterGone, WriterProcess, writer_for
from doseflow.store.wal_checkpoint import (
    WAL_LIMIT_BYTES,
    checkpointer_for,
    wal_bytes,
)

#: Key of the PostgreSQL advisory lock that serialises ledger writers.
PG_LOCK_KEY = 0x1ED6E7

_T = TypeVar("_T")


def chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def begin_write(conn: Connection) -> None:
    """Start the write transaction holding the ledger's writer lock (SQLite: with the larger
    page cache and no automatic checkpoint, until :func:`end_write`)."""
    if conn.dialect.name == "sqlite":
        for pragma in WRITER_PRAGMAS:
            conn.exec_driver_sql(pragma)
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
    for pragma in RESTORE_PRAGMAS:
        conn.exec_driver_sql(pragma)
    path = sqlite_file(conn.engine)
    if path is not None:
        after_write(conn, path)


def after_write(conn: Connection, path: str) -> None:
    """Once a ledger write has ended: have the SQLite log copied into the database file,
    on the checkpointer's thread, or at once (on ``conn``) if the log is past its limit."""
    if wal_bytes(path) > WAL_LIMIT_BYTES:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
    else:
        checkpointer_for(path).request()


def sqlite_file(engine: Engine) -> str | None:
    """The database file of a SQLite engine (None for PostgreSQL or an in-memory one)."""
    if engine.dialect.name != "sqlite":
        return None
    path = engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return path


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
    conn.exec_driver_sql(sqlite_insert(table, columns, fixed, again), list(rows))


def sqlite_insert(
    table: str,
    columns: Sequence[str],
    constants: Mapping[str, Any] | None = None,
    repeats: Mapping[str, str] | None = None,
) -> str:
    """SQLite's ``INSERT`` binding ``columns`` (numbered), with ``repeats`` reusing a bound
    column's parameter and ``constants`` written in (see :func:`insert_many`)."""
    fixed = dict(constants or {})
    again = dict(repeats or {})
    names = [*columns, *again, *fixed]
    values = [f"?{i}" for i in range(1, len(columns) + 1)]
    values += [f"?{list(columns).index(source) + 1}" for source in again.values()]
    values += [_literal(v) for v in fixed.values()]
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(values)})"


def execute_many(conn: Connection, sql: str, rows: Sequence[Any]) -> None:
    """Run ``sql`` (written with ``?`` placeholders) once per row."""
    if not rows:
        return
    if conn.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    conn.exec_driver_sql(sql, list(rows))


class Sink(Protocol):
    """Where a ledger write transaction's statements go: its own connection, or a SQLite
    writer process (``doseflow.store.sqlite_writer``). Statements use ``?`` placeholders."""

    def insert_many(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Any],
        constants: Mapping[str, Any] | None = None,
        *,
        repeats: Mapping[str, str] | None = None,
    ) -> None: ...

    def execute_many(self, sql: str, rows: Sequence[Any]) -> None: ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...


class ConnectionSink:
    """Statements run at once on the transaction's connection (either backend)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def insert_many(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Any],
        constants: Mapping[str, Any] | None = None,
        *,
        repeats: Mapping[str, str] | None = None,
    ) -> None:
        insert_many(self.conn, table, columns, rows, constants, repeats=repeats)

    def execute_many(self, sql: str, rows: Sequence[Any]) -> None:
        execute_many(self.conn, sql, rows)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        if self.conn.dialect.paramstyle != "qmark":
            sql = sql.replace("?", "%s")
        self.conn.exec_driver_sql(sql, tuple(params))


class ProcessSink:
    """Statements sent to a SQLite writer process, which runs them while this process goes
    on (failures come back when the transaction is committed)."""

    def __init__(self, writer: WriterProcess) -> None:
        self.writer = writer

    def insert_many(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Any],
        constants: Mapping[str, Any] | None = None,
        *,
        repeats: Mapping[str, str] | None = None,
    ) -> None:
        if rows:
            self.writer.execute_many(sqlite_insert(table, columns, constants, repeats), rows)

    def execute_many(self, sql: str, rows: Sequence[Any]) -> None:
        if rows:
            self.writer.execute_many(sql, rows)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.writer.execute(sql, params)


class WriteTransaction(Protocol):
    """A ledger write transaction, holding the writers' lock: statements go to ``sink``."""

    @property
    def sink(self) -> Sink: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class _OnConnection:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sink: Sink = ConnectionSink(conn)

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()


class _InWriterProcess:
    def __init__(self, writer: WriterProcess) -> None:
        self.writer = writer
        self.sink: Sink = ProcessSink(writer)

    def commit(self) -> None:
        # the request's audit row commits with the append (doseflow.store.service_audit)
        statement = pending_statement("sqlite")
        if statement is not None:
            self.writer.execute(*statement)
        self.writer.call("commit")

    def rollback(self) -> None:
        with suppress(WriterGone):  # a writer that is gone has rolled back already
            self.writer.call("rollback")


@contextmanager
def write_transaction(
    conn: Connection, *, writer_path: str | None = None
) -> Iterator[WriteTransaction]:
    """A ledger write transaction on ``conn`` (:func:`begin_write` ... :func:`end_write`),
    or, with ``writer_path``, in that SQLite database's writer process, ``conn`` then only
    reading what the writer's transaction starts from (it takes the lock first). The caller
    commits or rolls back."""
    if writer_path is None:
        begin_write(conn)
        try:
            yield _OnConnection(conn)
        finally:
            end_write(conn)
        return
    writer = writer_for(writer_path)
    with writer.lock:
        writer.call("begin")
        try:
            yield _InWriterProcess(writer)
        finally:
            conn.rollback()  # this connection only read
        after_write(conn, writer_path)
