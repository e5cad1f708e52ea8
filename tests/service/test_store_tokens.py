"""Tokens: stored only as hashes, bound to a role (and a country for participants), revocable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from doseflow.domain.errors import DoseflowError
from doseflow.store.database import open_database
from doseflow.store.service import (
    ApiToken,
    Role,
    authenticate,
    hash_token,
    issue_token,
    list_tokens,
    parse_role,
    revoke_token,
    users,
)


def test_a_token_is_stored_only_as_its_hash(db_url: str) -> None:
    engine = open_database(db_url)
    issued = issue_token(engine, role="viewer", label="board")
    with engine.connect() as conn:
        dumped = " ".join(
            str(value)
            for table in ("service_tokens", "service_users")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
            for value in row
        )
    assert issued.token not in dumped
    assert hash_token(issued.token) in dumped
    principal = authenticate(engine, issued.token)
    assert principal is not None
    assert (principal.role, principal.iso3, principal.user) == (Role.VIEWER, None, "viewer")
    engine.dispose()


def test_participant_tokens_are_bound_to_their_country(fresh_sqlite: str) -> None:
    engine = open_database(fresh_sqlite)
    issued = issue_token(engine, role=Role.PARTICIPANT, iso3="ken")
    principal = authenticate(engine, issued.token)
    assert principal is not None
    assert principal.iso3 == "KEN"
    assert principal.user == "participant-KEN"


def test_revoked_and_expired_tokens_stop_working(fresh_sqlite: str) -> None:
    engine = open_database(fresh_sqlite)
    revoked = issue_token(engine, role="viewer")
    expiring = issue_token(engine, role="viewer", expires_in_days=1)
    revoke_token(engine, revoked.token_id)
    revoke_token(engine, revoked.token_id)  # twice is harmless
    assert authenticate(engine, revoked.token) is None
    assert authenticate(engine, expiring.token) is not None
    with Session(engine) as session, session.begin():
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == expiring.token_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert authenticate(engine, expiring.token) is None
    listed = {t.token_id: t for t in list_tokens(engine)}
    assert listed[revoked.token_id].revoked_at is not None
    assert listed[expiring.token_id].prefix == expiring.token[:10]


@cache
def _engine_with_one_token() -> Engine:
    engine = open_database("sqlite://")
    issue_token(engine, role="administrator")
    return engine


@settings(max_examples=50, deadline=None)
@given(guess=st.text(max_size=60))
def test_a_guess_never_authenticates(guess: str) -> None:
    engine = _engine_with_one_token()
    assert authenticate(engine, guess) is None
    assert authenticate(engine, "dft_" + guess) is None


def test_users_keep_one_role(fresh_sqlite: str) -> None:
    engine = open_database(fresh_sqlite)
    issue_token(engine, role="viewer", user="board-1")
    issue_token(engine, role="viewer", user="board-1")  # a second token for the same user
    assert ("board-1", Role.VIEWER, None) in users(engine)
    with Session(engine) as session:
        assert len(session.scalars(select(ApiToken)).all()) == 2


# One test per error code: the code, the message, and the value it names.


def test_unknown_role() -> None:
    with pytest.raises(DoseflowError) as caught:
        parse_role("superuser")
    assert caught.value.code == "SERVICE_UNKNOWN_ROLE"
    assert "no role called 'superuser'" in str(caught.value)
    assert caught.value.detail.value == "superuser"
    assert "allocation-analyst" in (caught.value.detail.expected or "")


def test_participant_needs_an_iso3(fresh_sqlite: str) -> None:
    engine = open_database(fresh_sqlite)
    with pytest.raises(DoseflowError) as caught:
        issue_token(engine, role="participant")
    assert caught.value.code == "SERVICE_ISO3_REQUIRED"
    assert "bound to one country" in caught.value.detail.message
    assert caught.value.detail.location.field == "iso3"


def test_participant_iso3_must_be_known(fresh_sqlite: str) -> None:
    engine = open_database(fresh_sqlite)
    with pytest.raises(DoseflowError) as caught:
        issue_token(engine, role="participant", iso3="XYZ")
    assert caught.value.code == "DATA_UNKNOWN_ISO3"
    assert caught.value.detail.value == "XYZ"


def test_only_participants_are_bound(fresh_sqlite: str) -> None:
    engine = open_database(fresh_sqlite)
    with pytest.raises(DoseflowError) as caught:
        issue_token(engine, role="viewer", iso3="KEN")
    assert caught.value.code == "SERVICE_ISO3_NOT_ALLOWED"
    assert "only participant tokens" in caught.value.detail.message
    assert caught.value.detail.value == "KEN"


def test_user_role_mismatch(fresh_sqlite: str) -> None:
    engine = open_database(fresh_sqlite)
    issue_token(engine, role="viewer", user="amina")
    with pytest.raises(DoseflowError) as caught:
        issue_token(engine, role="administrator", user="amina")
    assert caught.value.code == "SERVICE_USER_ROLE_MISMATCH"
    assert "user 'amina' is a viewer" in caught.value.detail.message
    assert caught.value.detail.value == "administrator"


def test_bad_user_name(fresh_sqlite: str) -> None:
    engine = open_database(fresh_sqlite)
    with pytest.raises(DoseflowError) as caught:
        issue_token(engine, role="viewer", user="<script>")
    assert caught.value.code == "SERVICE_BAD_USER_NAME"
    assert "letters, digits" in caught.value.detail.message
    assert caught.value.detail.value == "<script>"


def test_bad_expiry(fresh_sqlite: str) -> None:
    engine = open_database(fresh_sqlite)
    with pytest.raises(DoseflowError) as caught:
        issue_token(engine, role="viewer", expires_in_days=0)
    assert caught.value.code == "SERVICE_BAD_EXPIRY"
    assert "positive number of days" in caught.value.detail.message
    assert caught.value.detail.value == 0


def test_revoking_an_unknown_token(fresh_sqlite: str) -> None:
    engine = open_database(fresh_sqlite)
    with pytest.raises(DoseflowError) as caught:
        revoke_token(engine, 999)
    assert caught.value.code == "SERVICE_TOKEN_NOT_FOUND"
    assert "no token with id 999" in caught.value.detail.message
    assert caught.value.detail.value == 999
