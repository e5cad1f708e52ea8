"""The dashboard frame: sign-in by token, session cookie, CSRF, landmarks, bundled assets."""

from __future__ import annotations

import re

from doseflow.service.auth import COOKIE_NAME
from doseflow.store.service import audit_log
from tests.service.conftest import Service, dashboard_sign_in


def sign_in(service: Service, actor: str) -> None:
    response = dashboard_sign_in(service.client, service.tokens[actor])
    assert response.status_code == 303


def test_pages_send_visitors_to_sign_in(service: Service) -> None:
    response = service.client.get("/dashboard/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/sign-in?next=/dashboard/"
    assert service.client.get("/", follow_redirects=False).headers["location"] == "/dashboard/"


def test_sign_in_sets_a_strict_http_only_cookie(service: Service) -> None:
    response = dashboard_sign_in(service.client, service.tokens["viewer"], "https://evil.example/")
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/"  # never off-site
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(f"{COOKIE_NAME}=")
    )
    assert service.tokens["viewer"] not in cookie  # a session id, never the API token
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    page = service.client.get("/dashboard/")
    assert page.status_code == 200
    assert "Signed in as <strong>viewer</strong>" in page.text
    entry = audit_log(service.engine, limit=1)[0]
    assert (entry.action, entry.actor, entry.outcome) == ("session.sign-in", "viewer", "ok")


def test_a_bad_token_is_refused_with_an_announced_message(service: Service) -> None:
    response = dashboard_sign_in(service.client, "dft_wrong")
    assert response.status_code == 401
    assert 'role="alert"' in response.text
    assert 'aria-invalid="true"' in response.text
    summary = audit_log(service.engine, limit=1)[0]  # anonymous refusals are counted
    assert (summary.action, summary.outcome) == ("refused.summary", "summary")
    assert summary.detail is not None
    assert summary.detail["path"] == {"/dashboard/sign-in": 1}
    assert summary.detail["status"] == {"401": 1}


def test_pages_have_landmarks_labels_and_a_skip_link(service: Service) -> None:
    sign_in_page = service.client.get("/dashboard/sign-in").text
    assert '<label for="token">API token</label>' in sign_in_page
    assert '<html lang="en">' in sign_in_page
    sign_in(service, "participant-KEN")
    page = service.client.get("/dashboard/").text
    assert 'href="#main"' in page
    assert '<main id="main"' in page
    assert '<nav aria-label="Main"' in page
    assert "<h1>Overview</h1>" in page
    assert "participant, KEN" in page


def test_every_asset_is_served_locally(service: Service) -> None:
    sign_in(service, "administrator")
    page = service.client.get("/dashboard/").text
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', page)
    assert external == []
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        assert service.client.get(asset).status_code == 200, asset
    # no chart library any more: the charts are SVG drawn on the server (issue 15)
    assert service.client.get("/static/vendor/plotly.min.js").status_code == 404


def test_sign_out_needs_the_form_token_and_clears_the_cookie(service: Service) -> None:
    sign_in(service, "viewer")
    forged = service.client.post("/dashboard/sign-out", data={"csrf": "forged"})
    assert forged.status_code == 422
    assert "SERVICE_BAD_FORM" in forged.text
    page = service.client.get("/dashboard/").text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert csrf is not None
    out = service.client.post(
        "/dashboard/sign-out", data={"csrf": csrf.group(1)}, follow_redirects=False
    )
    assert out.status_code == 303
    service.client.cookies.clear()
    assert service.client.get("/dashboard/", follow_redirects=False).status_code == 303


def test_api_tokens_do_not_open_the_dashboard_and_cookies_do_not_open_the_api(
    service: Service,
) -> None:
    bearer = service.client.get(
        "/dashboard/", headers=service.headers("viewer"), follow_redirects=False
    )
    assert bearer.status_code == 303
    sign_in(service, "viewer")
    assert service.client.get("/api/whoami").status_code == 401
