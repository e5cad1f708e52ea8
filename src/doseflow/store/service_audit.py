"""The audit row of a write commits in the same transaction as the write it records.

A request that may write (POST, PUT, PATCH, DELETE) runs inside :func:`auditing` with a
:class:`PendingAudit`. Every transaction that commits on an engine prepared by
:func:`install_audit_hook` while a request is pending, and that changed something, first
writes the request's audit row on its own connection, just before its ``COMMIT``:

- the first such transaction inserts the row (outcome ``ok``, ``writes`` 1); a later one
  of the same request adds one to ``writes`` (``INSERT ... ON CONFLICT (request_id) DO
  UPDATE``, on SQLite and PostgreSQL alike);
- if the ``COMMIT`` fails, the row goes with the write: no row claims a write that did
  not happen; a write that commits cannot commit without its row;
- a large ledger append that a SQLite writer process commits (``doseflow.store.ledger_sql``)
  sends the same statement to that process before its ``COMMIT``.

Whether a transaction changed anything is asked of the database, not guessed from the
statements (bulk inserts bypass SQLAlchemy): SQLite's ``total_changes`` against its value
when the transaction began, PostgreSQL's ``txid_current_if_assigned()`` (a transaction is
given an id only when it writes). Read-only transactions leave no row.

When the request has been answered, :func:`close_request` fills in the status, target and
detail of that row (a separate, later transaction: it only adds what the response was), or,
if nothing was committed, records the refusal or failure as a row of its own (which then
never says ``ok``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, event, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from doseflow.store.service import AuditRow, Principal


@dataclass(frozen=True)
class AuditFacts:
    """Who did what, as the request knows it when a transaction commits."""

    principal: Principal | None
    action: str
    target: str | None = None


@dataclass
class PendingAudit:
    """One request that may write: its id, method, path, and how to learn who and what."""

    request_id: str
    method: str
    path: str
    facts: Callable[[], AuditFacts]
    #: Commits that carried the row (a failed ``COMMIT`` included; see :func:`close_request`).
    hooked: int = 0
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


_PENDING: ContextVar[PendingAudit | None] = ContextVar("doseflow_pending_audit", default=None)
_CHANGES_AT_BEGIN = "doseflow_audit_changes_at_begin"
_INSTALLED = "doseflow_audit_hook"

_COLUMNS = (
    "request_id, at, actor, role, iso3, token_id, action, method, path, target, "
    "status, outcome, writes"
)
UPSERT_SQL = (
    f"INSERT INTO service_audit ({_COLUMNS}) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 'ok', 1) "
    "ON CONFLICT (request_id) DO UPDATE SET writes = service_audit.writes + 1"
)


@contextmanager
def auditing(pending: PendingAudit) -> Iterator[PendingAudit]:
    """Attribute the writes committed in this context (and threads started from it with
    its context, as FastAPI runs endpoints) to ``pending``."""
    token = _PENDING.set(pending)
    try:
        yield pending
    finally:
        _PENDING.reset(token)


def pending_statement(dialect: str) -> tuple[str, tuple[Any, ...]] | None:
    """The statement that writes the pending request's row (``?`` parameters) on
    ``dialect``, or ``None`` outside a request; counts the commit. For a transaction known
    to have written."""
    pending = _PENDING.get()
    if pending is None:
        return None
    facts = pending.facts()
    who = facts.principal
    pending.hooked += 1
    # SQLite keeps times as text in SQLAlchemy's format (UTC, no offset)
    at: Any = f"{pending.at:%Y-%m-%d %H:%M:%S.%f}" if dialect == "sqlite" else pending.at
    return UPSERT_SQL, (
        pending.request_id,
        at,
        who.user if who else None,
        who.role.value if who else None,
        who.iso3 if who else None,
        who.token_id if who else None,
        facts.action[:64],
        pending.method[:8],
        pending.path[:500],
        facts.target[:200] if facts.target else None,
    )


def _changed_something(conn: Connection) -> bool:
    dbapi = conn.connection.dbapi_connection
    if conn.dialect.name == "sqlite":
        before = conn.info.get(_CHANGES_AT_BEGIN)
        return before is None or int(getattr(dbapi, "total_changes", 0)) > int(before)
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        cursor.execute("SELECT txid_current_if_assigned()")
        row = cursor.fetchone()
    finally:
        cursor.close()
    return row is not None and row[0] is not None


def _on_begin(conn: Connection) -> None:
    if _PENDING.get() is not None and conn.dialect.name == "sqlite":
        dbapi = conn.connection.dbapi_connection
        conn.info[_CHANGES_AT_BEGIN] = int(getattr(dbapi, "total_changes", 0))


def _on_commit(conn: Connection) -> None:
    if _PENDING.get() is None:
        return
    try:
        if not _changed_something(conn):
            return
        statement = pending_statement(conn.dialect.name)
        if statement is None:
            return
        sql, params = statement
        if conn.dialect.paramstyle != "qmark":
            sql = sql.replace("?", "%s")
        conn.exec_driver_sql(sql, params)
    finally:
        conn.info.pop(_CHANGES_AT_BEGIN, None)


def install_audit_hook(engine: Engine) -> None:
    """Have every commit on ``engine`` carry the pending request's audit row (once)."""
    if getattr(engine, _INSTALLED, False):
        return
    event.listen(engine, "begin", _on_begin)
    event.listen(engine, "commit", _on_commit)
    setattr(engine, _INSTALLED, True)


def outcome_of(status: int) -> str:
    """A request that committed nothing: ``denied`` (401, 403), ``rejected`` (other 4xx),
    ``failed`` (5xx) or ``unchanged`` (answered without writing)."""
    if status in (401, 403):
        return "denied"
    if 400 <= status < 500:
        return "rejected"
    if status >= 500:
        return "failed"
    return "unchanged"


def close_request(
    engine: Engine,
    pending: PendingAudit,
    *,
    status: int,
    facts: AuditFacts,
    detail: Mapping[str, Any] | None,
    record_if_unwritten: bool = True,
) -> bool:
    """After the answer: complete the request's row with ``status``, target and detail, or
    record a row for a request that committed nothing (unless ``record_if_unwritten`` is
    false: the caller summarises those). Returns whether a write was committed."""
    who = facts.principal
    values: dict[str, Any] = {"status": status, "action": facts.action[:64]}
    if who is not None:
        values.update(actor=who.user, role=who.role.value, iso3=who.iso3, token_id=who.token_id)
    if facts.target:
        values["target"] = facts.target[:200]
    if detail:
        values["detail"] = json.dumps(dict(detail), default=str, sort_keys=True)
    with Session(engine) as session, session.begin():
        written = False
        if pending.hooked:
            result = session.execute(
                update(AuditRow).where(AuditRow.request_id == pending.request_id).values(**values)
            )
            written = bool(getattr(result, "rowcount", 0))
        if written or not record_if_unwritten:
            return written
        session.add(
            AuditRow(
                request_id=pending.request_id,
                at=pending.at,
                actor=values.get("actor"),
                role=values.get("role"),
                iso3=values.get("iso3"),
                token_id=values.get("token_id"),
                action=values["action"],
                method=pending.method[:8],
                path=pending.path[:500],
                target=values.get("target"),
                status=status,
                outcome=outcome_of(status),
                detail=values.get("detail"),
            )
        )
    return False


def record_summary(
    engine: Engine, request_id: str, *, at: datetime, detail: Mapping[str, Any]
) -> None:
    """Write (or bring up to date) one summary row for many refused requests that wrote
    nothing: ``detail`` counts them by status, path, client address and user."""
    text = json.dumps(dict(detail), default=str, sort_keys=True)
    with Session(engine) as session, session.begin():
        result = session.execute(
            update(AuditRow).where(AuditRow.request_id == request_id).values(detail=text)
        )
        if getattr(result, "rowcount", 0):
            return
        session.add(
            AuditRow(
                request_id=request_id,
                at=at,
                action="refused.summary",
                method="*",
                path="(many)",
                outcome="summary",
                detail=text,
            )
        )
