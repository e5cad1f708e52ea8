"""Every role against every endpoint: refused exactly where the permission table says so."""

from __future__ import annotations

import pytest

from doseflow.service.auth import WRITE_METHODS
from doseflow.service.introspect import endpoints
from doseflow.service.permissions import ACTIONS, PERMISSIONS, Scope, matrix_markdown
from tests.service.conftest import ACTORS, Service
from tests.service.endpoints import fill

PUBLIC = {("GET", "/api/health"), ("GET", "/api/permissions")}
#: Actions sent as POST because their input is a body (a network, requests, a deployment
#: document), which compute an answer and store nothing.
READ_ONLY_POSTS: set[str] = {"coldchain.plan", "deployment.plan"}


def test_every_endpoint_names_an_action_or_is_deliberately_open(service: Service) -> None:
    for ep in endpoints(service.app):
        if ep.action is None:
            assert (ep.method, ep.path) in PUBLIC | {("GET", "/api/whoami")}, ep
        else:
            assert ep.action in PERMISSIONS
            # A write needs a writing action, except computations that store nothing
            # (previews), which are POSTs only because their input is a body.
            if ep.method in WRITE_METHODS and not PERMISSIONS[ep.action].writes:
                assert ep.method == "POST", ep
                assert ep.action in READ_ONLY_POSTS, ep


def test_no_token_means_401_everywhere_but_public_endpoints(service: Service) -> None:
    for ep in endpoints(service.app):
        if (ep.method, ep.path) in PUBLIC:
            continue
        response = service.request(ep.method, fill(ep.path, None), None, json={})
        assert response.status_code == 401, f"{ep.method} {ep.path}"
        assert response.json()["code"] == "SERVICE_UNAUTHENTICATED"
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_revoked_or_made_up_token_is_refused(service: Service) -> None:
    response = service.client.get("/api/whoami", headers={"Authorization": "Bearer dft_nope"})
    assert response.status_code == 401
    assert response.json()["code"] == "SERVICE_UNAUTHENTICATED"


@pytest.mark.parametrize("actor", list(ACTORS))
def test_each_role_is_refused_exactly_what_the_table_refuses(service: Service, actor: str) -> None:
    role, iso3 = ACTORS[actor]
    checked = 0
    for ep in endpoints(service.app):
        if ep.action is None:
            continue
        response = service.request(ep.method, fill(ep.path, iso3), actor, json={})
        allowed = role in PERMISSIONS[ep.action].roles
        where = f"{actor} {ep.method} {ep.path} -> {response.status_code} {response.text[:200]}"
        if allowed:
            assert response.status_code not in (401, 403), where
            assert response.status_code < 500, where
        else:
            assert response.status_code == 403, where
            assert response.json()["code"] == "SERVICE_FORBIDDEN", where
            assert role.value in response.json()["message"]
        checked += 1
    assert checked >= 4


def test_a_participant_cannot_name_another_country(service: Service) -> None:
    """Every endpoint with a country in its path refuses a participant another country."""
    for ep in endpoints(service.app):
        if ep.action is None or "{iso3}" not in ep.path:
            continue
        if PERMISSIONS[ep.action].roles.get(ACTORS["participant-KEN"][0]) is not Scope.OWN:
            continue
        response = service.request(
            ep.method, fill(ep.path, "KEN", other=True), "participant-KEN", json={}
        )
        assert response.status_code == 403, f"{ep.method} {ep.path}"
        body = response.json()
        assert body["code"] == "SERVICE_OUT_OF_SCOPE"
        assert body["errors"][0]["value"] == "NGA"


def test_whoami_reports_role_country_and_allowed_actions(service: Service) -> None:
    body = service.get("/api/whoami", "participant-KEN").json()
    assert body["role"] == "participant"
    assert body["iso3"] == "KEN"
    assert body["allowed"]["declines.create"] == "own"
    assert "rounds.run" not in body["allowed"]
    assert service.get("/api/whoami", "administrator").json()["allowed"]["audit.read"] == "all"


def test_the_permission_table_is_served_and_documented(service: Service) -> None:
    served = service.client.get("/api/permissions").json()
    assert [a["name"] for a in served] == [a.name for a in ACTIONS]
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "service.md").read_text()
    assert matrix_markdown() in doc, "docs/service.md must show the current permission table"


def test_only_administrators_manage_tokens(service: Service) -> None:
    made = service.post("/api/tokens", "administrator", json={"role": "participant", "iso3": "GHA"})
    assert made.status_code == 201
    token = made.json()["token"]
    assert token.startswith("dft_")
    ghana = service.client.get("/api/whoami", headers={"Authorization": f"Bearer {token}"})
    assert ghana.json()["iso3"] == "GHA"
    listed = service.get("/api/tokens", "administrator").json()
    assert all("token" not in t for t in listed)
    assert (
        service.request(
            "DELETE", f"/api/tokens/{made.json()['token_id']}", "administrator"
        ).status_code
        == 204
    )
    gone = service.client.get("/api/whoami", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 401
    refused = service.post("/api/tokens", "allocation-analyst", json={"role": "administrator"})
    assert refused.status_code == 403


def test_every_endpoint_is_documented(service: Service) -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "service.md").read_text()
    for ep in endpoints(service.app):
        assert f"`{ep.method} {ep.path}`" in doc, f"{ep.method} {ep.path} missing in docs"
