"""Dashboard sessions: what the sign-in cookie holds instead of the API token.

Signing in with an API token opens a session: a fresh random id (256 bits) goes to the
browser, and only its HMAC digest is stored, bound to the token. A session ends when it is
signed out (its row is deleted), when it has been idle for ``idle``, ``lifetime`` after it
was opened, or when its token is revoked or expires (checked on every request through the
join, and the rows are deleted by :func:`doseflow.store.service.revoke_token`). A stolen
cookie is therefore worth at most one short session, never the long-lived token, and it
stops working the moment its owner signs out.

The id is not signed as well: it is looked up, and a random id of this size cannot be
guessed; a signature would add a secret every server process must share and nothing more.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, or_, select, update
from sqlalchemy.orm import Session

from doseflow.store.service import (
    ApiToken,
    DashboardSession,
    Principal,
    Role,
    ServiceUser,
    _now,
)

SESSION_PREFIX = "dfs_"
_HASH_KEY = b"doseflow-dashboard-session-v1"
#: ``last_seen_at`` is written at most this often (not on every page view).
TOUCH_EVERY = timedelta(seconds=60)


def hash_session(session_id: str) -> str:
    return hmac.new(_HASH_KEY, session_id.encode("utf-8"), hashlib.sha256).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def open_session(
    engine: Engine,
    principal: Principal,
    *,
    idle: timedelta,
    lifetime: timedelta,
    keep: int,
    now: datetime | None = None,
) -> str:
    """A new session for ``principal``'s token; returns its id, the only time it exists in
    clear. Ended sessions are cleared on the way, and the token keeps at most ``keep`` live
    sessions (the oldest beyond that end)."""
    moment = now or _now()
    session_id = SESSION_PREFIX + secrets.token_urlsafe(32)
    with Session(engine) as session, session.begin():
        session.execute(
            delete(DashboardSession).where(
                or_(
                    DashboardSession.expires_at <= moment,
                    DashboardSession.last_seen_at <= moment - idle,
                )
            )
        )
        live = session.scalars(
            select(DashboardSession.id)
            .where(DashboardSession.token_id == principal.token_id)
            .order_by(DashboardSession.id.desc())
        ).all()
        if len(live) >= keep:
            stale = live[max(keep - 1, 0) :]
            session.execute(delete(DashboardSession).where(DashboardSession.id.in_(stale)))
        session.add(
            DashboardSession(
                session_hash=hash_session(session_id),
                token_id=principal.token_id,
                created_at=moment,
                last_seen_at=moment,
                expires_at=moment + lifetime,
            )
        )
    return session_id


def session_principal(
    engine: Engine, session_id: str, *, idle: timedelta, now: datetime | None = None
) -> Principal | None:
    """Who holds the live session ``session_id``, or ``None`` if it is unknown, ended,
    idle too long, or its token is revoked or expired."""
    if not session_id.startswith(SESSION_PREFIX) or len(session_id) > 100:
        return None
    moment = now or _now()
    query = (
        select(DashboardSession, ApiToken, ServiceUser)
        .join(ApiToken, ApiToken.id == DashboardSession.token_id)
        .join(ServiceUser, ServiceUser.id == ApiToken.user_id)
        .where(DashboardSession.session_hash == hash_session(session_id))
    )
    with Session(engine) as session:
        found = session.execute(query).first()
        if found is None:
            return None
        row, token, user = found
        last_seen = _aware(row.last_seen_at)
        if (
            _aware(row.expires_at) <= moment
            or last_seen <= moment - idle
            or token.revoked_at is not None
            or (token.expires_at is not None and _aware(token.expires_at) <= moment)
        ):
            return None
        principal = Principal(user.name, Role(user.role), user.iso3, token.id)
        session_row_id = row.id
    if moment - last_seen >= TOUCH_EVERY:
        with Session(engine) as session, session.begin():
            session.execute(
                update(DashboardSession)
                .where(DashboardSession.id == session_row_id)
                .values(last_seen_at=moment)
            )
    return principal


def end_session(engine: Engine, session_id: str) -> bool:
    """Sign a session out (delete it); ``False`` if it was not there (ended already)."""
    with Session(engine) as session, session.begin():
        result = session.execute(
            delete(DashboardSession).where(
                DashboardSession.session_hash == hash_session(session_id)
            )
        )
    return bool(getattr(result, "rowcount", 0))


def live_sessions(engine: Engine, token_id: int) -> int:
    """How many session rows the token has (ended ones not yet cleared included)."""
    with Session(engine) as session:
        return len(
            session.scalars(
                select(DashboardSession.id).where(DashboardSession.token_id == token_id)
            ).all()
        )
