"""Who may use the service: users and their roles, API tokens (stored hashed), and the audit log.

A token is shown once, when it is issued, and never stored in clear: the database keeps its
HMAC-SHA-256 digest. Tokens carry 256 random bits, so a fast keyed hash is enough (a slow
password hash protects low-entropy secrets, not these) and lets every request be checked with
one indexed lookup. Every write made through the service leaves an audit row: who (user, role,
participant, token), what (action, method, path, target, outcome) and when (UTC); the row of
a committed write is written in the write's own transaction (``doseflow.store.service_audit``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    String,
    Text,
    delete,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from doseflow.data.population import countries
from doseflow.domain.errors import DoseflowError
from doseflow.store.base import Base

TOKEN_PREFIX = "dft_"
_HASH_KEY = b"doseflow-api-token-v1"
_ISO3 = re.compile(r"^[A-Z]{3}$")
_USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,99}$")


class Role(StrEnum):
    """What a token holder is allowed to do (the permission table is in ``doseflow.service``)."""

    ADMINISTRATOR = "administrator"
    ALLOCATION_ANALYST = "allocation-analyst"
    LOGISTICS_OFFICER = "logistics-officer"
    PARTICIPANT = "participant"
    VIEWER = "viewer"


class ServiceUser(Base):
    __tablename__ = "service_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    iso3: Mapped[str | None] = mapped_column(String(3), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    __tablename__ = "service_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("service_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class DashboardSession(Base):
    """A signed-in dashboard browser: the cookie holds the id, this row its digest.

    Bound to the token it was opened with, so revoking (or the expiry of) the token ends it;
    ``expires_at`` is the absolute end, ``last_seen_at`` drives the idle limit
    (``doseflow.store.service_sessions``)."""

    __tablename__ = "service_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("service_tokens.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class AuditRow(Base):
    __tablename__ = "service_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    iso3: Mapped[str | None] = mapped_column(String(3), nullable=True)
    token_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    target: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The request's own random id: the row a committed write wrote in its transaction is
    #: found again by it (``doseflow.store.service_audit``).
    request_id: Mapped[str | None] = mapped_column(String(32), nullable=True, unique=True)
    #: How many transactions of the request committed writes (``None``: none, or older rows).
    writes: Mapped[int | None] = mapped_column(Integer, nullable=True)


@dataclass(frozen=True)
class Principal:
    """The holder of a valid token, as every request sees it."""

    user: str
    role: Role
    iso3: str | None
    token_id: int


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued token. ``token`` is the only time the secret exists in clear."""

    token: str
    token_id: int
    user: str
    role: Role
    iso3: str | None
    expires_at: datetime | None


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed to administrators: never the secret, only its first characters."""

    token_id: int
    prefix: str
    user: str
    role: Role
    iso3: str | None
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class AuditEntry:
    """One audited write."""

    id: int
    at: datetime
    actor: str | None
    role: str | None
    iso3: str | None
    token_id: int | None
    action: str
    method: str
    path: str
    target: str | None
    status: int | None
    outcome: str
    detail: Mapping[str, Any] | None
    #: Transactions of the request that committed writes, with this entry in each.
    writes: int | None = None


def hash_token(token: str) -> str:
    """The digest stored for ``token`` (HMAC-SHA-256, hex)."""
    return hmac.new(_HASH_KEY, token.encode("utf-8"), hashlib.sha256).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they were stored as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def parse_role(text: str) -> Role:
    """``text`` as a :class:`Role`, or ``SERVICE_UNKNOWN_ROLE`` naming the roles there are."""
    try:
        return Role(text)
    except ValueError:
        raise DoseflowError(
            "SERVICE_UNKNOWN_ROLE",
            f"there is no role called {text!r}",
            field="role",
            expected="one of " + ", ".join(r.value for r in Role),
            value=text,
        ) from None


def _check_binding(role: Role, iso3: str | None) -> str | None:
    """A participant is bound to exactly one known ISO3 code; no other role is bound to one."""
    if role is Role.PARTICIPANT:
        if not iso3:
            raise DoseflowError(
                "SERVICE_ISO3_REQUIRED",
                "a participant token is bound to one country: give its ISO3 code",
                field="iso3",
                expected="an ISO3 code such as KEN",
                value=iso3,
            )
        code = iso3.strip().upper()
        if not _ISO3.match(code) or code not in countries():
            raise DoseflowError(
                "DATA_UNKNOWN_ISO3",
                f"{iso3!r} is not an ISO3 code in the bundled WPP 2019 data",
                field="iso3",
                expected="a three-letter ISO3 code such as KEN",
                value=iso3,
            )
        return code
    if iso3:
        raise DoseflowError(
            "SERVICE_ISO3_NOT_ALLOWED",
            f"only participant tokens are bound to a country, not {role.value} tokens",
            field="iso3",
            expected="no ISO3 code for this role",
            value=iso3,
        )
    return None


def _default_user(role: Role, iso3: str | None) -> str:
    return f"{role.value}-{iso3}" if iso3 else role.value


def issue_token(
    engine: Engine,
    *,
    role: Role | str,
    iso3: str | None = None,
    user: str | None = None,
    label: str = "",
    expires_in_days: int | None = None,
) -> IssuedToken:
    """Create a token for ``user`` (created with ``role`` if new) and return it in clear, once.

    A user keeps one role and binding: issuing a token for an existing user with another role
    or country is refused (``SERVICE_USER_ROLE_MISMATCH``) rather than silently changing what
    that user's other tokens may do.
    """
    the_role = role if isinstance(role, Role) else parse_role(role)
    code = _check_binding(the_role, iso3)
    name = (user or _default_user(the_role, code)).strip()
    if not _USER_NAME.match(name):
        raise DoseflowError(
            "SERVICE_BAD_USER_NAME",
            "a user name is 1 to 100 letters, digits, spaces or . _ @ -",
            field="user",
            expected="a name such as 'analyst-1' or 'jane@example.org'",
            value=user,
        )
    if expires_in_days is not None and expires_in_days <= 0:
        raise DoseflowError(
            "SERVICE_BAD_EXPIRY",
            "a token's lifetime is a positive number of days",
            field="expires_in_days",
            expected="an integer > 0",
            value=expires_in_days,
        )
    now = _now()
    expires = now + timedelta(days=expires_in_days) if expires_in_days else None
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with Session(engine) as session, session.begin():
        found = session.scalars(select(ServiceUser).where(ServiceUser.name == name)).first()
        if found is None:
            found = ServiceUser(name=name, role=the_role.value, iso3=code, created_at=now)
            session.add(found)
            session.flush()
        elif found.role != the_role.value or found.iso3 != code:
            bound = f" for {found.iso3}" if found.iso3 else ""
            raise DoseflowError(
                "SERVICE_USER_ROLE_MISMATCH",
                f"user {name!r} is a {found.role}{bound}; a user keeps one role",
                field="role",
                expected=f"{found.role}{bound}, or another user name",
                value=f"{the_role.value}{' for ' + code if code else ''}",
            )
        row = ApiToken(
            user_id=found.id,
            token_hash=hash_token(secret),
            prefix=secret[: len(TOKEN_PREFIX) + 6],
            label=label,
            created_at=now,
            expires_at=expires,
        )
        session.add(row)
        session.flush()
        token_id = row.id
    return IssuedToken(secret, token_id, name, the_role, code, expires)


def authenticate(engine: Engine, token: str) -> Principal | None:
    """The principal holding ``token``, or ``None`` if it is unknown, revoked or expired.

    The lookup is by digest, so what an attacker could time is a comparison of hashes of
    their guess, which reveals nothing about a stored token.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = hash_token(token)
    query = (
        select(ApiToken.id, ApiToken.expires_at, ApiToken.revoked_at, ServiceUser)
        .join(ServiceUser, ServiceUser.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest)
    )
    with Session(engine) as session:
        found = session.execute(query).first()
        if found is None:
            return None
        token_id, expires_at, revoked_at, user = found
        if revoked_at is not None:
            return None
        expiry = _aware(expires_at)
        if expiry is not None and expiry <= _now():
            return None
        return Principal(user.name, Role(user.role), user.iso3, token_id)


def revoke_token(engine: Engine, token_id: int) -> None:
    """Revoke a token at once, ending the dashboard sessions opened with it; revoking twice
    is harmless."""
    with Session(engine) as session, session.begin():
        row = session.get(ApiToken, token_id)
        if row is None:
            raise DoseflowError(
                "SERVICE_TOKEN_NOT_FOUND",
                f"there is no token with id {token_id}",
                field="token_id",
                expected="the id of an issued token (see 'doseflow token list')",
                value=token_id,
            )
        if row.revoked_at is None:
            row.revoked_at = _now()
        session.execute(delete(DashboardSession).where(DashboardSession.token_id == token_id))


def list_tokens(engine: Engine, *, limit: int | None = None, offset: int = 0) -> list[TokenInfo]:
    """Tokens issued, newest first, without secrets (all, or ``limit`` after ``offset``)."""
    query = (
        select(ApiToken, ServiceUser)
        .join(ServiceUser, ServiceUser.id == ApiToken.user_id)
        .order_by(ApiToken.id.desc())
        .offset(offset)
        .limit(limit)
    )
    with Session(engine) as session:
        return [
            TokenInfo(
                token_id=tok.id,
                prefix=tok.prefix,
                user=user.name,
                role=Role(user.role),
                iso3=user.iso3,
                label=tok.label,
                created_at=_aware(tok.created_at) or tok.created_at,
                expires_at=_aware(tok.expires_at),
                revoked_at=_aware(tok.revoked_at),
            )
            for tok, user in session.execute(query).all()
        ]


def count_tokens(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(ApiToken)) or 0)


def _audit_query(before_id: int | None, actor: str | None, action: str | None) -> Any:
    query = select(AuditRow)
    if before_id is not None:
        query = query.where(AuditRow.id < before_id)
    if actor:
        query = query.where(AuditRow.actor == actor)
    if action:
        query = query.where(AuditRow.action == action)
    return query


def audit_log(
    engine: Engine,
    *,
    limit: int = 100,
    offset: int = 0,
    before_id: int | None = None,
    actor: str | None = None,
    action: str | None = None,
) -> list[AuditEntry]:
    """Audit entries, newest first; page with ``offset`` or ``before_id`` (the last id of the
    previous page, which stays put while new entries arrive)."""
    query = (
        _audit_query(before_id, actor, action)
        .order_by(AuditRow.id.desc())
        .offset(offset)
        .limit(max(1, min(limit, 1000)))
    )
    with Session(engine) as session:
        return [_entry(row) for row in session.scalars(query).all()]


def count_audit(
    engine: Engine,
    *,
    before_id: int | None = None,
    actor: str | None = None,
    action: str | None = None,
) -> int:
    """How many entries :func:`audit_log` pages through with these filters."""
    query = _audit_query(before_id, actor, action).subquery()
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(query)) or 0)


def _entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=_aware(row.at) or row.at,
        actor=row.actor,
        role=row.role,
        iso3=row.iso3,
        token_id=row.token_id,
        action=row.action,
        method=row.method,
        path=row.path,
        target=row.target,
        status=row.status,
        outcome=row.outcome,
        detail=json.loads(row.detail) if row.detail else None,
        writes=row.writes,
    )


def users(engine: Engine) -> Sequence[tuple[str, Role, str | None]]:
    """Every user: name, role and bound ISO3 code."""
    with Session(engine) as session:
        rows = session.execute(
            select(ServiceUser.name, ServiceUser.role, ServiceUser.iso3).order_by(ServiceUser.name)
        ).all()
    return [(name, Role(role), iso3) for name, role, iso3 in rows]
