"""Rate limits: failed sign-ins per client address and per token prefix, writes per token,
refused anonymous writes per address; answered 429 SERVICE_RATE_LIMITED with Retry-After.
The limits are set per app (the other service tests relax them explicitly)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from doseflow.domain.errors import DoseflowError
from doseflow.service.rate_limits import Limiter
from doseflow.store.service_settings import RateLimit, SecuritySettings
from tests.service.conftest import Service, dashboard_sign_in, make_service

STRICT = SecuritySettings(
    sign_in_failures_per_address=RateLimit(4, 300),
    sign_in_failures_per_prefix=RateLimit(2, 300),
    writes_per_principal=RateLimit(5, 60),
    anonymous_writes_per_address=RateLimit(3, 60),
)


@pytest.fixture
def strict(fresh_sqlite: str) -> Iterator[Service]:
    yield from make_service(fresh_sqlite, STRICT)


def _refused(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    assert "SERVICE_RATE_LIMITED" in response.text


def test_failed_sign_ins_are_limited_per_token_prefix(strict: Service) -> None:
    for _ in range(2):
        assert dashboard_sign_in(strict.client, "dft_AAAAAAguess").status_code == 401
    _refused(dashboard_sign_in(strict.client, "dft_AAAAAAnother-guess"))
    # another prefix is still tried
    assert dashboard_sign_in(strict.client, "dft_BBBBBBguess").status_code == 401


def test_failed_sign_ins_are_limited_per_address_even_for_a_good_token(strict: Service) -> None:
    for prefix in ("C", "D", "E", "F"):
        assert dashboard_sign_in(strict.client, f"dft_{prefix * 6}x").status_code == 401
    blocked = dashboard_sign_in(strict.client, strict.tokens["viewer"])
    _refused(blocked)
    assert blocked.headers["content-type"].startswith("text/html")
    assert strict.client.cookies.get("doseflow_session") is None


def test_successful_sign_ins_are_not_counted(strict: Service) -> None:
    for _ in range(8):
        client = TestClient(strict.app)
        assert dashboard_sign_in(client, strict.tokens["viewer"]).status_code == 303


def test_writes_are_limited_per_token(strict: Service) -> None:
    for i in range(5):
        made = strict.post("/api/tokens", "administrator", json={"role": "viewer", "user": f"u{i}"})
        assert made.status_code == 201
    limited = strict.post("/api/tokens", "administrator", json={"role": "viewer", "user": "u9"})
    _refused(limited)
    assert limited.json()["code"] == "SERVICE_RATE_LIMITED"
    assert limited.json()["errors"][0]["field"] == "Retry-After"
    # another token is not slowed down by the first one's writes; reads are not limited
    other = strict.post("/api/scenarios", "allocation-analyst", json={})
    assert other.status_code != 429
    assert strict.get("/api/tokens", "administrator").status_code == 200


def test_dashboard_writes_are_limited_too_and_answered_as_a_page(strict: Service) -> None:
    dashboard_sign_in(strict.client, strict.tokens["administrator"])
    page = strict.client.get("/dashboard/allocation").text
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found is not None
    form = {"csrf": found.group(1), "scenario": "none", "round": "1"}
    answers = [strict.client.post("/dashboard/allocation/publish", data=form) for _ in range(6)]
    assert all(a.status_code != 429 for a in answers[:5])
    _refused(answers[5])
    assert answers[5].headers["content-type"].startswith("text/html")


def test_anonymous_writes_are_limited_per_address(strict: Service) -> None:
    for _ in range(3):
        assert strict.post("/api/tokens", None, json={}).status_code == 401
    _refused(strict.post("/api/tokens", None, json={}))
    assert strict.post("/api/tokens", "administrator", json={"role": "viewer"}).status_code == 201


def test_a_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = Limiter(RateLimit(2, 10), clock=lambda: now[0])
    assert limiter.take("k") == 0
    assert limiter.take("k") == 0
    assert limiter.take("k") == pytest.approx(5.0)  # one more in 10 s / 2
    now[0] = 5.0
    assert limiter.take("k") == 0
    assert limiter.wait("k") == pytest.approx(5.0)
    assert limiter.take("other") == 0


def test_a_flood_of_keys_does_not_grow_memory_without_bound() -> None:
    now = [0.0]
    limiter = Limiter(RateLimit(2, 10), clock=lambda: now[0], max_keys=100)
    for i in range(10_000):
        now[0] = i * 0.001
        limiter.take(f"10.0.{i // 250}.{i % 250}")
    assert len(limiter._buckets) <= 100


def test_the_limits_are_configurable_from_the_environment() -> None:
    settings = SecuritySettings.from_environment(
        {
            "DOSEFLOW_WRITES_PER_MINUTE": "120",
            "DOSEFLOW_SIGN_IN_FAILURES_PER_5_MINUTES": "3",
            "DOSEFLOW_SESSION_IDLE_MINUTES": "15",
            "DOSEFLOW_SESSION_HOURS": "4",
        }
    )
    assert settings.writes_per_principal == RateLimit(120, 60)
    assert settings.sign_in_failures_per_address == RateLimit(3, 300)
    assert settings.session_idle.total_seconds() == 15 * 60
    assert settings.session_lifetime.total_seconds() == 4 * 3600
    assert SecuritySettings.from_environment({}) == SecuritySettings()
    with pytest.raises(DoseflowError) as bad:
        SecuritySettings.from_environment({"DOSEFLOW_WRITES_PER_MINUTE": "-1"})
    assert bad.value.code == "SERVICE_BAD_SETTING"
    assert bad.value.detail.location.field == "DOSEFLOW_WRITES_PER_MINUTE"
