"""Scenarios, rounds (preview, run, publish), lines with explanations, coverage, declines."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from doseflow.store.service import audit_log
from tests.service.conftest import Service, make_service
from tests.service.scenario import NAME, scenario_document

BASE = f"/api/scenarios/{NAME}"


@pytest.fixture
def loaded(fresh_sqlite: str) -> Iterator[Service]:
    for service in make_service(fresh_sqlite):
        created = service.post("/api/scenarios", "allocation-analyst", json=scenario_document())
        assert created.status_code == 201
        yield service


def test_scenario_reference_data(loaded: Service) -> None:
    participants = loaded.get(f"{BASE}/participants", "participant-KEN").json()
    assert "KEN" in {p["iso3"] for p in participants}
    products = {p["code"]: p for p in loaded.get(f"{BASE}/products", "viewer").json()}
    assert products["AZ-SII"]["pack_doses"] == 2400
    supply = loaded.get(f"{BASE}/supply", "viewer").json()
    assert sum(t["doses"] for t in supply if t["round"] == 1) > 0


def test_preview_then_run_then_publish(loaded: Service) -> None:
    preview = loaded.post(f"{BASE}/preview", "allocation-analyst").json()
    assert {r["status"] for r in preview} == {"preview"}
    rounds = loaded.post(f"{BASE}/run", "allocation-analyst").json()
    assert {r["status"] for r in rounds} == {"run"}
    assert all(r["allocated"] + r["buffer"] + r["held"] <= r["supply"] for r in rounds)
    published = loaded.post(f"{BASE}/rounds/1/publish", "administrator").json()
    assert published["status"] == "published"
    actions = [e.action for e in audit_log(loaded.engine, limit=4)]
    assert actions == ["rounds.publish", "rounds.run", "rounds.preview", "scenarios.write"]


def test_lines_carry_their_explanation(loaded: Service) -> None:
    loaded.post(f"{BASE}/run", "allocation-analyst")
    lines = loaded.get(f"{BASE}/lines", "viewer", params={"round": 1, "iso3": "KEN"}).json()
    assert lines
    for line in lines:
        assert line["explanation"]["doses"] == line["doses"]
        assert "Kenya received" in line["explanation_text"]
    coverage = loaded.get(f"{BASE}/coverage", "viewer", params={"round": 1}).json()
    assert len(coverage) > 10


def test_a_participant_sees_only_its_own_published_lines(loaded: Service) -> None:
    loaded.post(f"{BASE}/run", "allocation-analyst")
    assert loaded.get(f"{BASE}/lines", "participant-KEN").json() == []  # nothing published
    assert loaded.get(f"{BASE}/rounds", "participant-KEN").json() == []
    loaded.post(f"{BASE}/rounds/1/publish", "allocation-analyst")
    lines = loaded.get(f"{BASE}/lines", "participant-KEN").json()
    assert lines
    assert {line["iso3"] for line in lines} == {"KEN"}
    assert {line["round"] for line in lines} == {1}
    coverage = loaded.get(f"{BASE}/coverage", "participant-KEN").json()
    assert [c["iso3"] for c in coverage] == ["KEN"]
    other = loaded.get(f"{BASE}/lines", "participant-KEN", params={"iso3": "NGA"})
    assert other.status_code == 403
    assert other.json()["code"] == "SERVICE_OUT_OF_SCOPE"
    explain = loaded.get(f"{BASE}/explain/NGA", "participant-KEN")
    assert explain.json()["code"] == "SERVICE_OUT_OF_SCOPE"


def test_a_participant_declines_and_the_doses_are_redistributed(loaded: Service) -> None:
    loaded.post(f"{BASE}/run", "allocation-analyst")
    loaded.post(f"{BASE}/rounds/1/publish", "allocation-analyst")
    line = next(
        x for x in loaded.get(f"{BASE}/lines", "participant-KEN").json() if x["product"] == "AZ-SII"
    )
    before = {
        x["iso3"]: x["doses"]
        for x in loaded.get(f"{BASE}/lines", "viewer", params={"round": 1}).json()
        if x["pool"] == line["pool"]
    }
    body = {"round": 1, "product": "AZ-SII", "iso3": "KEN", "reason": "cold chain full"}
    declined = loaded.post(f"{BASE}/declines", "participant-KEN", json=body)
    assert declined.status_code == 201
    result = declined.json()
    assert result["declined"] == line["doses"]
    given = {r["iso3"]: r["doses"] for r in result["recipients"]}
    assert "KEN" not in given
    after = {
        x["iso3"]: x["doses"]
        for x in loaded.get(f"{BASE}/lines", "viewer", params={"round": 1}).json()
        if x["pool"] == line["pool"]
    }
    assert after.get("KEN", 0) == 0
    for iso3, doses in given.items():
        assert after[iso3] - before.get(iso3, 0) == doses
    assert sum(given.values()) <= line["doses"]
    mine = loaded.get(f"{BASE}/declines", "participant-KEN").json()
    assert [d["iso3"] for d in mine] == ["KEN"]
    assert loaded.get(f"{BASE}/declines", "participant-NGA").json() == []
    assert mine[0]["source"].endswith("UTC via the API by participant-KEN")
    entry = audit_log(loaded.engine, limit=1)[0]
    assert (entry.action, entry.actor, entry.iso3) == ("declines.create", "participant-KEN", "KEN")


def test_declines_written_in_the_scenario_file_are_listed_with_their_source(
    loaded: Service,
) -> None:
    loaded.post(f"{BASE}/run", "allocation-analyst")
    (prk,) = loaded.get(f"{BASE}/declines", "viewer").json()
    assert (prk["round"], prk["product"], prk["iso3"]) == (3, "SINOVAC", "PRK")
    assert prk["source"] == "request body, declines[0]"
    assert prk["declined"] > 0
    assert sum(r["doses"] for r in prk["recipients"]) > 0
    why = loaded.get(f"{BASE}/explain/PRK", "viewer", params={"round": 3}).json()
    sinovac = next(e for e in why if e["product"] == "SINOVAC")
    assert sinovac["binding"] == "declined"
    assert "raised to the common coverage level" not in sinovac["text"]
    assert sinovac["declined"][0]["source"] == "request body, declines[0]"


def test_explain_covers_every_pool_of_the_round(loaded: Service) -> None:
    loaded.post(f"{BASE}/run", "allocation-analyst")
    pools = {p["pool"] for p in loaded.get(f"{BASE}/pools", "viewer", params={"round": 1}).json()}
    why = loaded.get(f"{BASE}/explain/KEN", "viewer", params={"round": 1}).json()
    assert {e["pool"] for e in why} == pools
    pfizer = [e for e in why if e["product"] == "PFIZER"]
    assert pfizer
    assert all("NO_COLD_CHAIN" in e["exclusions"] for e in pfizer)


def test_pools_list_their_members_and_non_members_are_told_why(loaded: Service) -> None:
    loaded.post(f"{BASE}/run", "allocation-analyst")
    pools = {
        p["pool"]: p for p in loaded.get(f"{BASE}/pools", "viewer", params={"round": 1}).json()
    }
    assert pools["AZ-SII"]["members"] == {"financing": ["amc"], "iso3": []}
    assert pools["AZ-SKB"]["members"] == {"financing": ["self-financing"], "iso3": []}
    assert pools["PFIZER"]["members"] is None
    why = {
        e["pool"]: e
        for e in loaded.get(f"{BASE}/explain/KOR", "viewer", params={"round": 1}).json()
    }
    assert why["AZ-SII"]["exclusions"] == ["NOT_A_MEMBER"]
    assert "not a member of the pool: the pool is for AMC participants" in why["AZ-SII"]["text"]


def test_a_participant_cannot_decline_for_another_or_an_unpublished_round(
    loaded: Service,
) -> None:
    loaded.post(f"{BASE}/run", "allocation-analyst")
    body = {"round": 1, "product": "AZ-SII", "iso3": "KEN"}
    early = loaded.post(f"{BASE}/declines", "participant-KEN", json=body)
    assert early.status_code == 422
    assert early.json()["code"] == "SERVICE_ROUND_NOT_PUBLISHED"
    assert early.json()["errors"][0]["value"] == "1"
    loaded.post(f"{BASE}/rounds/1/publish", "allocation-analyst")
    other = loaded.post(f"{BASE}/declines", "participant-NGA", json=body)
    assert other.status_code == 403
    assert other.json()["code"] == "SERVICE_OUT_OF_SCOPE"
    listed = loaded.get(f"{BASE}/declines", "viewer").json()
    assert [d["source"] for d in listed] == ["request body, declines[0]"]  # only the file's
    assert loaded.post(f"{BASE}/declines", "viewer", json=body).status_code == 403


def test_engine_errors_keep_their_codes(loaded: Service) -> None:
    missing = loaded.get("/api/scenarios/nope/rounds", "viewer")
    assert missing.status_code == 422
    assert missing.json()["code"] == "ALLOC_UNKNOWN_SCENARIO"
    assert missing.json()["errors"][0]["value"] == "nope"
    bad = loaded.post("/api/scenarios", "allocation-analyst", json={"name": "x"})
    assert bad.status_code == 422
    assert bad.json()["code"].startswith("ALLOC_")
