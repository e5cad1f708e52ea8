"""Dashboard sessions: the cookie holds a short-lived session id, never the API token;
signing out or revoking the token ends the session; forms are bound to the session (or,
for sign-in, to the pre-session cookie) and refused from another origin."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from doseflow.service.auth import COOKIE_NAME, foreign_origin
from doseflow.service.dashboard.render import PRE_SESSION_COOKIE
from doseflow.store.service import authenticate, issue_token
from doseflow.store.service_sessions import (
    end_session,
    live_sessions,
    open_session,
    session_principal,
)
from doseflow.store.service_settings import SecuritySettings
from tests.service.conftest import Service, dashboard_sign_in, make_service

IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=8)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found is not None
    return found.group(1)


def _session_cookie(response_cookies: list[str]) -> str:
    found = next(c for c in response_cookies if c.startswith(f"{COOKIE_NAME}="))
    return found.split(";")[0].split("=", 1)[1]


def test_the_cookie_holds_a_session_id_not_the_token(service_any_db: Service) -> None:
    service = service_any_db
    signed = dashboard_sign_in(service.client, service.tokens["viewer"])
    assert signed.status_code == 303
    cookies = signed.headers.get_list("set-cookie")
    value = _session_cookie(cookies)
    assert value.startswith("dfs_")
    assert service.tokens["viewer"] not in " ".join(cookies)
    assert authenticate(service.engine, value) is None  # the cookie is no API token
    header = next(c for c in cookies if c.startswith(f"{COOKIE_NAME}="))
    assert "HttpOnly" in header
    assert "SameSite=strict" in header
    assert "Path=/dashboard" in header
    assert f"Max-Age={int(LIFETIME.total_seconds())}" in header
    assert "Secure" not in header  # plain http in tests


def test_signing_out_ends_the_session_and_the_old_cookie_no_longer_works(
    service_any_db: Service,
) -> None:
    service = service_any_db
    dashboard_sign_in(service.client, service.tokens["viewer"])
    old = service.client.cookies.get(COOKIE_NAME)
    assert old is not None
    page = service.client.get("/dashboard/")
    assert "Signed in as <strong>viewer</strong>" in page.text
    out = service.client.post(
        "/dashboard/sign-out", data={"csrf": _csrf(page.text)}, follow_redirects=False
    )
    assert out.status_code == 303
    # a copy of the cookie (kept by an attacker, or a browser that ignored the deletion)
    replay = TestClient(service.app, cookies={COOKIE_NAME: old})
    again = replay.get("/dashboard/", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"].startswith("/dashboard/sign-in")
    assert session_principal(service.engine, old, idle=IDLE) is None


def test_revoking_the_token_ends_its_sessions(service_any_db: Service) -> None:
    service = service_any_db
    issued = issue_token(service.engine, role="viewer", user="board-member")
    browser = TestClient(service.app)
    assert dashboard_sign_in(browser, issued.token).status_code == 303
    assert browser.get("/dashboard/", follow_redirects=False).status_code == 200
    assert live_sessions(service.engine, issued.token_id) == 1
    revoked = service.request("DELETE", f"/api/tokens/{issued.token_id}", "administrator")
    assert revoked.is_success, revoked.text
    assert browser.get("/dashboard/", follow_redirects=False).status_code == 303
    assert live_sessions(service.engine, issued.token_id) == 0


def test_sessions_end_when_idle_and_at_their_absolute_end(service_any_db: Service) -> None:
    engine = service_any_db.engine
    issued = issue_token(engine, role="viewer", user="clock")
    principal = authenticate(engine, issued.token)
    assert principal is not None
    start = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    sid = open_session(engine, principal, idle=IDLE, lifetime=LIFETIME, keep=10, now=start)
    assert session_principal(engine, sid, idle=IDLE, now=start) == principal
    # kept alive by use every 20 minutes ...
    moment = start
    while moment + timedelta(minutes=20) < start + LIFETIME:
        moment += timedelta(minutes=20)
        assert session_principal(engine, sid, idle=IDLE, now=moment) == principal
    # ... but not past its absolute end
    assert session_principal(engine, sid, idle=IDLE, now=start + LIFETIME) is None
    other = open_session(engine, principal, idle=IDLE, lifetime=LIFETIME, keep=10, now=start)
    idle_until = start + IDLE + timedelta(seconds=1)
    assert session_principal(engine, other, idle=IDLE, now=idle_until) is None
    assert end_session(engine, other) is True
    assert end_session(engine, other) is False


def test_a_token_keeps_a_bounded_number_of_sessions(service_any_db: Service) -> None:
    engine = service_any_db.engine
    issued = issue_token(engine, role="viewer", user="many-tabs")
    principal = authenticate(engine, issued.token)
    assert principal is not None
    ids = [open_session(engine, principal, idle=IDLE, lifetime=LIFETIME, keep=3) for _ in range(5)]
    assert live_sessions(engine, issued.token_id) == 3
    assert [session_principal(engine, s, idle=IDLE) is not None for s in ids] == [
        False,
        False,
        True,
        True,
        True,
    ]


def test_sign_in_needs_the_form_token_of_its_own_pre_session(service: Service) -> None:
    token = service.tokens["viewer"]
    bare = service.client.post("/dashboard/sign-in", data={"token": token}, follow_redirects=False)
    assert bare.status_code == 422
    assert "SERVICE_BAD_FORM" in bare.text
    # a form token from another browser's sign-in page does not fit this browser's cookie
    other = TestClient(service.app)
    stolen = _csrf(other.get("/dashboard/sign-in").text)
    service.client.get("/dashboard/sign-in")
    assert service.client.cookies.get(PRE_SESSION_COOKIE)
    mixed = service.client.post(
        "/dashboard/sign-in", data={"token": token, "csrf": stolen}, follow_redirects=False
    )
    assert mixed.status_code == 422
    assert service.client.cookies.get(COOKIE_NAME) is None
    assert dashboard_sign_in(service.client, token).status_code == 303


def test_form_tokens_are_bound_to_the_session(service: Service) -> None:
    first = TestClient(service.app)
    dashboard_sign_in(first, service.tokens["logistics-officer"])
    first_csrf = _csrf(first.get("/dashboard/").text)
    second = TestClient(service.app)
    dashboard_sign_in(second, service.tokens["logistics-officer"])
    second_csrf = _csrf(second.get("/dashboard/").text)
    assert first_csrf != second_csrf  # same token, two sessions, two form tokens
    refused = second.post("/dashboard/sign-out", data={"csrf": first_csrf})
    assert refused.status_code == 422
    assert "SERVICE_BAD_FORM" in refused.text


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
    ],
)
def test_dashboard_forms_from_another_origin_are_refused(
    service: Service, headers: dict[str, str]
) -> None:
    page = service.client.get("/dashboard/sign-in").text
    form = {"csrf": _csrf(page), "token": service.tokens["viewer"]}
    refused = service.client.post(
        "/dashboard/sign-in", data=form, headers=headers, follow_redirects=False
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "SERVICE_CROSS_ORIGIN"
    assert service.client.cookies.get(COOKIE_NAME) is None
    dashboard_sign_in(service.client, service.tokens["viewer"])
    signed_in = service.client.get("/dashboard/").text
    out = service.client.post(
        "/dashboard/sign-out",
        data={"csrf": _csrf(signed_in)},
        headers=headers,
        follow_redirects=False,
    )
    assert out.status_code == 403
    assert service.client.get("/dashboard/", follow_redirects=False).status_code == 200


def test_forms_from_this_origin_are_accepted(service: Service) -> None:
    page = service.client.get("/dashboard/sign-in").text
    form = {"csrf": _csrf(page), "token": service.tokens["viewer"]}
    same = {"Origin": "http://testserver", "Referer": "http://testserver/dashboard/sign-in"}
    signed = service.client.post(
        "/dashboard/sign-in", data=form, headers=same, follow_redirects=False
    )
    assert signed.status_code == 303


@pytest.mark.parametrize(
    ("origin", "host", "scheme", "foreign"),
    [
        ("https://doseflow.example.org", "doseflow.example.org", "https", False),
        ("https://doseflow.example.org", "doseflow.example.org:443", "https", False),
        ("HTTPS://DoseFlow.example.org:443", "doseflow.example.org", "https", False),
        ("http://doseflow.example.org", "doseflow.example.org", "https", True),
        ("https://doseflow.example.org:8443", "doseflow.example.org", "https", True),
        ("https://doseflow.example.org.evil.example", "doseflow.example.org", "https", True),
    ],
)
def test_origins_are_compared_by_scheme_host_and_port(
    origin: str, host: str, scheme: str, foreign: bool
) -> None:
    scope = {"scheme": scheme}
    headers = {"origin": origin, "host": host}
    assert (foreign_origin(scope, headers) is not None) is foreign


def test_over_https_the_cookies_are_secure(fresh_sqlite: str) -> None:
    for service in make_service(fresh_sqlite, SecuritySettings.relaxed()):
        secure = TestClient(service.app, base_url="https://testserver")
        page = secure.get("/dashboard/sign-in")
        assert "Secure" in page.headers["set-cookie"]
        form = {"csrf": _csrf(page.text), "token": service.tokens["viewer"]}
        signed = secure.post("/dashboard/sign-in", data=form, follow_redirects=False)
        session_cookie = next(
            c for c in signed.headers.get_list("set-cookie") if c.startswith(f"{COOKIE_NAME}=")
        )
        assert "Secure" in session_cookie
        assert "strict-transport-security" in signed.headers


def test_the_api_keeps_bearer_tokens_and_ignores_session_cookies(service: Service) -> None:
    dashboard_sign_in(service.client, service.tokens["administrator"])
    assert service.client.get("/api/whoami").status_code == 401
    whoami = service.get("/api/whoami", "administrator")
    assert whoami.status_code == 200


def test_a_cookie_holding_an_api_token_opens_nothing_and_is_cleared(service: Service) -> None:
    """Earlier versions kept the raw token in ``doseflow_token``: it no longer signs anyone
    in, and signing in clears it from the browser."""
    old = TestClient(service.app, cookies={"doseflow_token": service.tokens["administrator"]})
    assert old.get("/dashboard/", follow_redirects=False).status_code == 303
    as_session = TestClient(service.app, cookies={COOKIE_NAME: service.tokens["administrator"]})
    assert as_session.get("/dashboard/", follow_redirects=False).status_code == 303
    signed = dashboard_sign_in(old, service.tokens["viewer"])
    cleared = [c for c in signed.headers.get_list("set-cookie") if c.startswith("doseflow_token=")]
    assert cleared
    assert "Max-Age=0" in cleared[0]
