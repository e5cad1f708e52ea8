"""Cold chain and routing over HTTP: the same verdicts, sentences, routes and gaps as the
logistics engine, a participant narrowed to its own stores, and the engine's error codes."""

from __future__ import annotations

from pathlib import Path

import yaml

from doseflow.logistics import (
    example_network_path,
    feasibility_matrix,
    load_network_file,
    parse_request_specs,
    plan_capacity_gaps,
    plan_shipments,
)
from doseflow.store.service import Role, issue_token
from tests.service.conftest import Service

AZ_TO_PRK = "AZ-SII=PRK-NS:1992000"
PFIZER_TO_PRK = "PFIZER-BNT=PRK-NS:117000"


def _engine_plan(*specs: str):  # type: ignore[no-untyped-def]
    net = load_network_file(example_network_path())
    plan = plan_shipments(
        net.network,
        parse_request_specs(list(specs), net),
        profiles=net.profile_table(),
        planned_use_days=net.planned_use_days,
    )
    return net, plan


def _prk_participant(service: Service) -> dict[str, str]:
    token = issue_token(service.engine, role=Role.PARTICIPANT, iso3="PRK", user="DPRK EPI")
    return {"Authorization": f"Bearer {token.token}"}


def test_the_matrix_gives_every_verdict_of_the_engine_with_its_reason(service: Service) -> None:
    body = service.get("/api/coldchain/feasibility", "viewer").json()
    net = load_network_file(example_network_path())
    expected = feasibility_matrix(net)
    assert len(body) == len(expected)
    for row, (profile, verdict) in zip(body, expected, strict=True):
        assert (row["product"], row["destination"]) == (profile.product, verdict.destination)
        assert row["feasible"] is verdict.feasible
        assert row["text"] == verdict.describe(net.network, profile)
    pfizer = next(r for r in body if r["product"] == "PFIZER-BNT" and r["destination"] == "PRK-NS")
    assert not pfizer["feasible"]
    assert pfizer["reason_kind"] == "thaw-budget"
    assert pfizer["text"].startswith("Pfizer cannot reach Pyongyang: no ultra-cold storage beyond")
    assert pfizer["route"] is None
    az = next(r for r in body if r["product"] == "AZ" and r["destination"] == "PRK-NS")
    assert az["feasible"]
    assert az["route"]["nodes"][-1] == "PRK-NS"
    assert az["route"]["path"].endswith("Pyongyang")
    assert az["kept_in"] == "2-8 °C"


def test_filters_and_objective_reach_the_engine(service: Service) -> None:
    response = service.get(
        "/api/coldchain/feasibility",
        "logistics-officer",
        params={"product": "AZ", "destination": ["PRK-NS", "BGD-NS"], "objective": "cheapest"},
    )
    assert response.status_code == 200
    body = response.json()
    assert [(r["product"], r["destination"]) for r in body] == [
        ("AZ", "PRK-NS"),
        ("AZ", "BGD-NS"),
    ]
    net = load_network_file(example_network_path())
    cheapest = feasibility_matrix(net, ["AZ"], ["PRK-NS"], objective="cheapest")[0][1]
    assert cheapest.route is not None
    assert body[0]["route"]["cost_per_dose"] == round(cheapest.route.cost_per_dose, 6)


def test_an_unknown_product_is_the_engines_error(service: Service) -> None:
    response = service.get("/api/coldchain/feasibility", "viewer", params={"product": "NOVAX9"})
    assert response.status_code == 422
    assert response.json()["code"] == "LOGISTICS_UNKNOWN_PRODUCT"
    assert response.json()["errors"][0]["value"] == "NOVAX9"


def test_a_participant_sees_only_its_own_stores(service: Service) -> None:
    assert service.get("/api/coldchain/feasibility", "participant-KEN").json() == []
    prk = _prk_participant(service)
    mine = service.client.get("/api/coldchain/feasibility", headers=prk).json()
    assert mine
    assert {r["country"] for r in mine} == {"PRK"}
    other = service.client.get(
        "/api/coldchain/feasibility", headers=prk, params={"destination": "BGD-NS"}
    )
    assert other.status_code == 403
    assert other.json()["code"] == "SERVICE_OUT_OF_SCOPE"
    assert other.json()["errors"][0]["value"] == "BGD"
    refused = service.get("/api/coldchain/routes", "participant-KEN", params={"ship": AZ_TO_PRK})
    assert refused.status_code == 403
    assert refused.json()["code"] == "SERVICE_OUT_OF_SCOPE"
    gaps = service.client.get(
        "/api/coldchain/capacity-gaps", headers=prk, params={"ship": AZ_TO_PRK}
    ).json()
    assert gaps
    assert {g["country"] for g in gaps} == {"PRK"}  # the Dalian hub is not its own


def test_routes_split_within_capacity_and_say_what_cannot_be_delivered(
    service: Service,
) -> None:
    response = service.get(
        "/api/coldchain/routes", "viewer", params={"ship": [AZ_TO_PRK, PFIZER_TO_PRK]}
    )
    assert response.status_code == 200
    body = response.json()
    _, plan = _engine_plan(AZ_TO_PRK, PFIZER_TO_PRK)
    assert [s["doses"] for s in body["shipments"]] == [s.doses for s in plan.shipments]
    assert [s["packs"] for s in body["shipments"]] == [s.packs for s in plan.shipments]
    assert body["requests"][0]["delivered"] == plan.delivered(0)
    assert body["requests"][1]["missing"] == 117_000
    (lost,) = body["undelivered"]
    assert lost["reason"] == plan.undelivered[0].reason.render()
    assert lost["reason"].startswith("Pfizer cannot reach Pyongyang")
    assert body["planned_doses"] == sum(s.doses for s in plan.shipments)


def test_routes_need_shipments(service: Service) -> None:
    response = service.get("/api/coldchain/routes", "viewer")
    assert response.status_code == 422
    assert response.json()["code"] == "LOGISTICS_BAD_REQUEST"
    assert response.json()["errors"][0]["field"] == "ship"
    unreadable = service.get("/api/coldchain/routes", "viewer", params={"ship": "AZ to PRK"})
    assert unreadable.json()["code"] == "LOGISTICS_BAD_REQUEST"
    assert unreadable.json()["errors"][0]["source"] == "query parameter ship"
    assert unreadable.json()["errors"][0]["value"] == "AZ to PRK"


def test_capacity_gaps_are_the_engines(service: Service) -> None:
    body = service.get(
        "/api/coldchain/capacity-gaps",
        "allocation-analyst",
        params={"ship": AZ_TO_PRK, "include_idle": "true"},
    ).json()
    net, plan = _engine_plan(AZ_TO_PRK)
    gaps = plan_capacity_gaps(plan, profiles=net.profile_table(), include_idle=True)
    assert [(g["node"], g["band"]) for g in body] == [(g.node, g.band.value) for g in gaps]
    assert [g["needed_litres"] for g in body] == [round(g.needed_litres, 3) for g in gaps]


SMALL_NETWORK = {
    "nodes": [
        {"code": "SUP", "name": "Sup", "kind": "supplier", "products": ["AZ"],
         "capacity_litres": {"2-8": 1000}},
        {"code": "NS", "name": "Store", "kind": "national", "country": "KEN",
         "capacity_litres": {"2-8": 10}},
    ],
    "lanes": [
        {"from": "SUP", "to": "NS", "mode": "road", "lead_time_days": 2,
         "temperature": "2-8", "capacity_doses_per_trip": 2400, "trips_per_week": 1},
    ],
}  # fmt: skip


def test_planners_send_their_own_network_and_requests(service: Service) -> None:
    body = {
        "network": SMALL_NETWORK,
        "requests": [{"product": "AZ", "destination": "NS", "doses": 9600, "reference": "K-1"}],
        "horizon_days": 14,
    }
    routes = service.post("/api/coldchain/routes", "logistics-officer", json=body)
    assert routes.status_code == 200, routes.text
    plan = routes.json()
    assert plan["network"] == "request body"
    assert plan["requests"][0]["reference"] == "K-1"
    assert all(s["doses"] == 2400 for s in plan["shipments"])  # one trip a week, 2,400 a trip
    assert plan["undelivered"][0]["reason_kind"] == "lane-capacity"
    gaps = service.post("/api/coldchain/capacity-gaps", "administrator", json=body).json()
    assert gaps[0]["node"] == "NS"
    assert gaps[0]["available_litres"] == 10
    feasible = service.post(
        "/api/coldchain/feasibility", "logistics-officer", json={"network": SMALL_NETWORK}
    ).json()
    assert [(r["product"], r["destination"], r["feasible"]) for r in feasible] == [
        ("AZ", "NS", True)
    ]
    refused = service.post("/api/coldchain/routes", "viewer", json=body)
    assert refused.status_code == 403


def test_a_network_file_sent_as_yaml_is_checked_with_its_lines(service: Service) -> None:
    text = yaml.safe_dump(SMALL_NETWORK, sort_keys=False).replace(
        "lead_time_days: 2", "lead_time_days: two"
    )
    response = service.post(
        "/api/coldchain/feasibility", "administrator", json={"network_yaml": text}
    )
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["code"] == "LOGISTICS_BAD_FIELD"
    assert error["field"] == "lead_time_days"
    assert error["value"] == "two"
    line = text.splitlines()[error["line"] - 1]
    assert "two" in line or "from: SUP" in line


def test_bad_request_rows_are_named_by_their_number(service: Service) -> None:
    response = service.post(
        "/api/coldchain/routes",
        "logistics-officer",
        json={
            "requests": [
                {"product": "AZ", "destination": "PRK-NS", "doses": 2400},
                {"product": "NOVAX9", "destination": "PRK-NS", "doses": 2400},
            ]
        },
    )
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert (error["code"], error["line"], error["field"]) == (
        "LOGISTICS_UNKNOWN_PRODUCT",
        2,
        "product",
    )
    assert error["source"] == "request body (requests)"
    assert error["value"] == "NOVAX9"
    assert "/tmp" not in response.text
    assert "requests.csv" not in response.text


def test_one_network_at_a_time_and_valid_unicode_only(service: Service) -> None:
    both = service.post(
        "/api/coldchain/feasibility",
        "administrator",
        json={"network": SMALL_NETWORK, "network_yaml": "nodes: []"},
    )
    assert both.status_code == 422
    assert both.json()["code"] == "SERVICE_BAD_REQUEST"
    assert "either network or network_yaml" in both.json()["message"]
    broken = service.client.post(
        "/api/coldchain/feasibility",
        headers={**service.headers("administrator"), "Content-Type": "application/json"},
        content=b'{"network": {"nodes": [], "\\ud800": 1}}',
    )
    assert broken.status_code == 422
    assert broken.json()["code"] == "SERVICE_BAD_REQUEST"
    assert "valid Unicode" in broken.json()["message"]


def test_the_bundled_network_is_listed(service: Service) -> None:
    body = service.get("/api/coldchain/network", "participant-NGA").json()
    codes = {n["code"] for n in body["nodes"]}
    assert {"DALIAN", "PRK-NS", "PFIZER-PUURS"} <= codes
    dalian = next(n for n in body["nodes"] if n["code"] == "DALIAN")
    assert dalian["capacity_litres"]["ultra-cold"] > 0
    assert any(x["origin"] == "DALIAN" and x["destination"] == "PRK-NS" for x in body["lanes"])
    assert Path(example_network_path()).name == "network.yaml"
