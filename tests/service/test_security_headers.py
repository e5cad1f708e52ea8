"""Every response carries the security headers; the API docs load nothing from another host."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import Service
from tests.service.live import live_server

PATHS = [
    "/api/health",
    "/api/docs",
    "/api/redoc",
    "/dashboard/sign-in",
    "/static/dashboard.css",
    "/nowhere",
]


@pytest.mark.parametrize("path", PATHS)
def test_every_response_carries_the_security_headers(service: Service, path: str) -> None:
    response = service.client.get(path)
    headers = response.headers
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "'unsafe-eval'" not in csp
    assert "object-src 'none'" in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in headers  # plain http: no HSTS


def test_scripts_may_come_only_from_this_origin(service: Service) -> None:
    csp = service.client.get("/dashboard/sign-in").headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["form-action"] == "'self'"
    assert directives["base-uri"] == "'none'"


def test_hsts_is_sent_only_over_https(service: Service) -> None:
    secure = TestClient(service.app, base_url="https://testserver")
    hsts = secure.get("/api/health").headers["strict-transport-security"]
    assert hsts.startswith("max-age=")
    assert int(hsts.split("=")[1].split(";")[0]) >= 180 * 86400


def test_refusals_and_redirects_carry_the_headers_too(service: Service) -> None:
    refused = service.client.post("/api/tokens", json={})
    assert refused.status_code == 401
    assert refused.headers["x-frame-options"] == "DENY"
    redirect = service.client.get("/dashboard/", follow_redirects=False)
    assert redirect.status_code == 303
    assert "frame-ancestors 'none'" in redirect.headers["content-security-policy"]


def test_dashboard_pages_are_not_cached(service: Service) -> None:
    assert service.client.get("/dashboard/sign-in").headers["cache-control"] == "no-store"


def test_api_docs_reference_no_external_host_and_their_assets_are_served(
    service: Service,
) -> None:
    page = service.client.get("/api/docs")
    assert page.status_code == 200
    assert "<script>" not in page.text  # no inline script: the policy would block it
    external = re.findall(r'(?:src|href)="((?:https?:)?//[^"]+)"', page.text)
    assert external == []
    assert "cdn" not in page.text.lower()
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', page.text)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert any(a.endswith("swagger-ui.css") for a in assets)
    for asset in assets:
        served = service.client.get(asset)
        assert served.status_code == 200, asset
        assert served.content, asset
    bundle = next(a for a in assets if a.endswith("swagger-ui-bundle.js"))
    assert len(service.client.get(bundle).content) > 500_000
    licence = service.client.get("/static/vendor/swagger-ui/LICENSE")
    assert "Apache License" in licence.text
    assert service.client.get("/static/vendor/swagger-ui/../../app.py").status_code == 404
    assert service.client.get("/static/vendor/swagger-ui/index.css").status_code == 404


def test_redoc_references_no_external_host_and_its_bundle_is_served(service: Service) -> None:
    page = service.client.get("/api/redoc")
    assert page.status_code == 200
    assert "<script>" not in page.text
    assert re.findall(r'(?:src|href|spec-url)="((?:https?:)?//[^"]+)"', page.text) == []
    bundle = service.client.get("/static/vendor/redoc/redoc.standalone.js")
    assert bundle.status_code == 200
    assert len(bundle.content) > 500_000
    # the vendored bundle asks no CDN for anything (see static/vendor/redoc/README.md)
    assert re.findall(r"https://cdn[.\w/-]*", bundle.text) == []
    licence = service.client.get("/static/vendor/redoc/LICENSE")
    assert "MIT License" in licence.text
    assert "Rebilly" in licence.text


def test_hsts_follows_the_scheme_a_trusted_proxy_reports(service: Service) -> None:
    """Behind a TLS proxy on this host, uvicorn (as ``doseflow serve`` runs it) takes the
    scheme from ``X-Forwarded-Proto``: HSTS and Secure cookies follow it."""
    with live_server(service.app) as url:
        plain = httpx.get(f"{url}/dashboard/sign-in")
        proxied = httpx.get(f"{url}/dashboard/sign-in", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in plain.headers
    assert "Secure" not in plain.headers["set-cookie"]
    assert proxied.headers["strict-transport-security"].startswith("max-age=")
    assert "Secure" in proxied.headers["set-cookie"]
