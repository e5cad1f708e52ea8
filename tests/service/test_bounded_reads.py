"""Every list endpoint is paged the same way, lists the database holds are cut by it on both
backends, and heavy answers (a deployment plan's coverage) are bounded (issue 11, finding 8)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from doseflow.service.deployment_views import MAX_COVERAGE_POINTS, MAX_COVERAGE_ROWS
from doseflow.service.queries import MAX_LIMIT
from doseflow.service.routers.coldchain import MAX_SHIP_PARAMS
from doseflow.store.service import audit_log
from tests.service.conftest import Service, make_service
from tests.service.paging import follow
from tests.service.scenario import NAME, scenario_document

BASE = f"/api/scenarios/{NAME}"
#: The answer of the largest allowed deployment plan request stays under this.
MAX_PLAN_BYTES = 1_000_000


def get_lists(service: Service) -> list[str]:
    """Every GET path of the API whose 200 answer is a JSON list."""
    spec = service.client.get("/api/openapi.json").json()
    found = []
    for path, item in spec["paths"].items():
        get = item.get("get")
        if get is None:
            continue
        schema = get["responses"]["200"]["content"]["application/json"]["schema"]
        if schema.get("type") == "array":
            found.append(path)
    return found


def test_every_list_the_api_returns_takes_limit_and_offset(service: Service) -> None:
    spec = service.client.get("/api/openapi.json").json()
    lists = get_lists(service)
    assert len(lists) >= 25  # 27 when written: a lost list schema would hide endpoints
    for path in lists:
        params = {p["name"]: p for p in spec["paths"][path]["get"].get("parameters", [])}
        assert {"limit", "offset"} <= set(params), path
        assert params["limit"]["schema"]["maximum"] == MAX_LIMIT, path
        headers = spec["paths"][path]["get"]["responses"]["200"]["headers"]
        assert {"X-Total-Count", "Link"} <= set(headers), path


@pytest.fixture
def analysed(db_url: str) -> Iterator[Service]:
    for service in make_service(db_url):
        assert service.post("/api/scenarios", "allocation-analyst", json=scenario_document())
        assert service.post(f"{BASE}/run", "allocation-analyst").status_code == 200
        assert service.post(f"{BASE}/rounds/1/publish", "administrator").status_code == 200
        yield service


def test_allocation_lines_are_paged_by_the_database(analysed: Service) -> None:
    whole = analysed.get(f"{BASE}/lines", "viewer", params={"limit": MAX_LIMIT})
    total = int(whole.headers["x-total-count"])
    assert total == len(whole.json()) > 10
    rows = follow(analysed, f"{BASE}/lines", "viewer", limit=7)
    assert rows == whole.json()
    # a participant pages through its own lines of published rounds only
    own = follow(analysed, f"{BASE}/lines", "participant-KEN", limit=2)
    assert own
    assert {r["iso3"] for r in own} == {"KEN"}
    assert {r["round"] for r in own} == {1}


@pytest.mark.parametrize(
    "path",
    [
        "/api/scenarios",
        f"{BASE}/participants",
        f"{BASE}/products",
        f"{BASE}/supply",
        f"{BASE}/rounds",
        f"{BASE}/pools",
        f"{BASE}/coverage",
        f"{BASE}/explain/KEN",
        f"{BASE}/declines",
        "/api/permissions",
        "/api/deployment/examples",
        "/api/coldchain/feasibility",
    ],
)
def test_engine_computed_lists_are_paged(analysed: Service, path: str) -> None:
    whole = analysed.get(path, "viewer", params={"limit": MAX_LIMIT})
    assert whole.status_code == 200, whole.text
    assert int(whole.headers["x-total-count"]) == len(whole.json())
    assert follow(analysed, path, "viewer", limit=3) == whole.json()


def test_audit_and_tokens_are_paged_by_the_database(service_any_db: Service) -> None:
    for i in range(12):  # each issue is audited too
        issued = service_any_db.post(
            "/api/tokens", "administrator", json={"role": "viewer", "user": f"reader-{i}"}
        )
        assert issued.status_code == 201
    tokens = follow(service_any_db, "/api/tokens", "administrator", limit=5)
    ids = [t["token_id"] for t in tokens]
    assert len(ids) == len(set(ids)) == 6 + 12
    assert ids == sorted(ids, reverse=True)
    entries = follow(service_any_db, "/api/audit", "administrator", limit=2)
    assert len(entries) >= 12
    assert [e["id"] for e in entries] == [
        e.id for e in audit_log(service_any_db.engine, limit=1000)
    ]
    newest = entries[0]["id"]
    older = service_any_db.get(
        "/api/audit", "administrator", params={"before_id": newest, "limit": 1}
    )
    assert older.headers["x-total-count"] == str(len(entries) - 1)
    assert 'rel="next"' in older.headers["link"]
    assert "before_id=" in older.headers["link"]


def test_report_values_are_paged_by_the_database(service_any_db: Service) -> None:
    values = [
        {"data_element": "doses_received", "period": f"2021{m:02d}", "org_unit": "KEN", "value": m}
        for m in range(1, 7)
    ]
    sent = service_any_db.post(
        "/api/reports", "participant-KEN", json={"values": values, "as_of": "2021-07-10"}
    )
    assert sent.json()["written"] == 6
    rows = follow(service_any_db, "/api/reports/values", "participant-KEN", limit=4)
    assert [r["period"] for r in rows] == [f"2021{m:02d}" for m in range(1, 7)]


# -- heavy answers ------------------------------------------------------------------------


def test_a_years_long_daily_coverage_is_refused_with_a_code(service: Service) -> None:
    response = service.get(
        "/api/deployment/examples/PRK",
        "viewer",
        params={"horizon_days": 3650, "coverage_step_days": 1},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "SERVICE_COVERAGE_TOO_LARGE"
    assert "horizon_days" in body["message"]
    assert "coverage_step_days" in body["message"]
    assert str(MAX_COVERAGE_POINTS) in body["message"]
    assert body["errors"][0]["field"] == "coverage_step_days"
    # the step it names is accepted
    step = int(re.search(r"at least (\d+)", body["errors"][0]["expected"]).group(1))
    fits = service.get(
        "/api/deployment/examples/PRK",
        "viewer",
        params={"horizon_days": 3650, "coverage_step_days": step},
    )
    assert fits.status_code == 200
    assert len(fits.content) < MAX_PLAN_BYTES


def largest_allowed(service: Service) -> tuple[int, int]:
    """The (horizon_days, coverage_step_days) with the most coverage rows allowed."""
    best: tuple[int, int, int] = (0, 0, 0)
    for step in (1, 2, 3, 7, 14, 30):
        for horizon in (30, 60, 90, 100, 120, 200, 365, 400, 730, 1000, 1826, 3650):
            answer = service.get(
                "/api/deployment/examples/PRK",
                "viewer",
                params={"horizon_days": horizon, "coverage_step_days": step},
            )
            if answer.status_code == 200:
                rows = len(answer.json()["coverage"]["rows"])
                if rows > best[0]:
                    best = (rows, horizon, step)
            else:
                assert answer.json()["code"] == "SERVICE_COVERAGE_TOO_LARGE"
    assert best[0] > MAX_COVERAGE_ROWS * 0.8
    return best[1], best[2]


def test_the_largest_allowed_plan_answer_stays_under_a_megabyte(service: Service) -> None:
    horizon, step = largest_allowed(service)
    answer = service.get(
        "/api/deployment/examples/PRK",
        "viewer",
        params={"horizon_days": horizon, "coverage_step_days": step},
    )
    assert answer.status_code == 200
    assert len(answer.json()["coverage"]["rows"]) <= MAX_COVERAGE_ROWS
    assert len(answer.content) < MAX_PLAN_BYTES, (horizon, step, len(answer.content))


def test_the_plan_of_a_document_is_bounded_the_same_way(service: Service) -> None:
    response = service.post(
        "/api/deployment/plan",
        "logistics-officer",
        json={"example": "PRK", "horizon_days": 3650, "coverage_step_days": 1},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "SERVICE_COVERAGE_TOO_LARGE"


def test_routes_on_the_bundled_network_are_bounded(service: Service) -> None:
    rows = service.get("/api/coldchain/feasibility", "viewer", params={"limit": MAX_LIMIT}).json()
    specs = [f"{r['product']}={r['destination']}:1000" for r in rows]
    specs = (specs * (MAX_SHIP_PARAMS // len(specs) + 1))[: MAX_SHIP_PARAMS + 1]
    refused = service.get("/api/coldchain/routes", "viewer", params={"ship": specs})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "ship"
    largest = service.get("/api/coldchain/routes", "viewer", params={"ship": specs[:-1]})
    assert largest.status_code == 200
    assert len(largest.content) < MAX_PLAN_BYTES
