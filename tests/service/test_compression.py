"""Responses over about 1 KB are gzip-compressed for clients that accept it (pages, API
lists, bundled scripts), with the security headers still on them; others get them plain."""

from __future__ import annotations

import gzip
import json

import pytest

from doseflow.service.security_headers import CONTENT_SECURITY_POLICY
from tests.service.conftest import Service, dashboard_sign_in
from tests.service.seed import seed_ledger

GZIP = {"Accept-Encoding": "gzip"}
PLAIN = {"Accept-Encoding": "identity"}


def _raw(service: Service, path: str, headers: dict[str, str]) -> tuple[dict[str, str], bytes]:
    """Status-checked headers and the body as sent on the wire (not decoded by httpx)."""
    with service.client.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200, path
        return dict(response.headers), b"".join(response.iter_raw())


@pytest.fixture
def signed_in(service: Service) -> Service:
    seed_ledger(service.engine)
    assert dashboard_sign_in(service.client, service.tokens["administrator"]).status_code == 303
    return service


@pytest.mark.parametrize(
    "path", ["/dashboard/shipments", "/dashboard/", "/static/dashboard.js", "/api/openapi.json"]
)
def test_pages_and_assets_are_compressed_when_the_client_accepts_gzip(
    signed_in: Service, path: str
) -> None:
    packed_headers, packed = _raw(signed_in, path, GZIP)
    plain_headers, plain = _raw(signed_in, path, PLAIN)
    assert packed_headers["content-encoding"] == "gzip"
    assert "accept-encoding" in packed_headers["vary"].lower()
    assert "content-encoding" not in plain_headers
    assert gzip.decompress(packed) == plain
    assert len(packed) < len(plain)
    # the security headers are on the compressed response as on the plain one
    assert packed_headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert packed_headers["x-content-type-options"] == "nosniff"


def test_a_large_api_list_is_compressed_and_a_small_answer_is_not(signed_in: Service) -> None:
    headers = {**GZIP, **signed_in.headers("administrator")}
    packed_headers, packed = _raw(signed_in, "/api/ledger/events?limit=1000", headers)
    assert len(packed) > 0
    assert packed_headers["content-encoding"] == "gzip"
    assert len(json.loads(gzip.decompress(packed))) > 1
    small_headers, small = _raw(signed_in, "/api/health", GZIP)
    assert "content-encoding" not in small_headers
    assert len(small) < 1024
