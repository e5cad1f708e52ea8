"""Revisions of a round's supply over the API, and the same numbers as the CLI (issue 12)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from doseflow.cli.app import run as cli
from doseflow.store.service import audit_log
from tests.service.conftest import Service, make_service
from tests.service.scenario import NAME, scenario_document
from tests.service.test_dashboard_pages import browser_for

BASE = f"/api/scenarios/{NAME}"
REVISIONS = f"{BASE}/rounds/1/revisions"


@pytest.fixture
def loaded(fresh_sqlite: str) -> Iterator[Service]:
    for service in make_service(fresh_sqlite):
        created = service.post("/api/scenarios", "allocation-analyst", json=scenario_document())
        assert created.status_code == 201
        assert service.post(f"{BASE}/run", "allocation-analyst").status_code == 200
        yield service


def test_post_list_and_diff(loaded: Service) -> None:
    body = {
        "supply": {"AZ-SII-H1": 150_000_000},
        "add": [{"id": "DON-X", "product": "PFIZER", "doses": 5_000_000, "origin": "donation"}],
    }
    made = loaded.post(REVISIONS, "allocation-analyst", json=body)
    assert made.status_code == 201, made.text
    rev = made.json()
    assert rev["revision"] == 1
    assert rev["created_by"] == "via the API by allocation-analyst"
    (before,) = [
        t["doses"]
        for r in scenario_document()["rounds"]
        for t in r.get("tranches", [])
        if t.get("id") == "AZ-SII-H1"
    ]
    assert {(c["tranche"], c["before"], c["after"]) for c in rev["changes"]} == {
        ("AZ-SII-H1", before, 150_000_000),
        ("DON-X", None, 5_000_000),
    }
    listed = loaded.get(REVISIONS, "viewer").json()
    assert [r["revision"] for r in listed] == [0, 1]
    diff = loaded.get(f"{REVISIONS}/diff", "viewer", params={"from": 0, "to": 1, "limit": 1000})
    assert diff.status_code == 200, diff.text
    rows = diff.json()
    assert sum(r["change"] for r in rows) == listed[1]["allocated"] - listed[0]["allocated"]
    assert all(r["why"] for r in rows)
    assert all(r["change"] == r["doses_to"] - r["doses_from"] for r in rows)
    assert int(diff.headers["X-Total-Count"]) == len(rows)
    # the round of record is the revised one
    rounds = loaded.get(f"{BASE}/rounds", "viewer").json()
    assert rounds[0]["supply"] == listed[1]["supply"]
    entry = audit_log(loaded.engine, limit=1)[0]
    assert (entry.action, entry.actor) == ("rounds.run", "allocation-analyst")


def test_cli_and_api_give_the_same_numbers(
    loaded: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {"supply": {"AZ-SII-H1": 260_000_000}}
    assert loaded.post(REVISIONS, "allocation-analyst", json=body).status_code == 201
    api = loaded.get(f"{REVISIONS}/diff", "viewer", params={"from": 0, "to": 1, "limit": 1000})
    url = str(loaded.engine.url)
    assert (
        cli(
            [
                "allocate",
                "diff",
                NAME,
                "--round",
                "1",
                "--from",
                "0",
                "--to",
                "1",
                "--format",
                "json",
                "--db",
                url,
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["participants"] == api.json()
    # the dashboard shows the same rows (latest two revisions by default)
    page = browser_for(loaded, "viewer").get("/dashboard/revisions").text
    body = page[page.index("Who gained and who lost") :]
    cells = re.findall(
        r'<th scope="row">([A-Z]{3})</th><td>([^<]+)</td>\s*'
        r'<td class="num">([\d,]+)</td><td class="num">([\d,]+)</td>',
        body,
    )
    shown = [
        (iso3, product, int(a.replace(",", "")), int(b.replace(",", "")))
        for iso3, product, a, b in cells
    ]
    rows = api.json()
    assert shown  # the revision changed something for someone
    assert shown == [(r["iso3"], r["product"], r["doses_from"], r["doses_to"]) for r in rows[:100]]
    assert f"Rows 1–{min(100, len(rows))} of {len(rows)}" in page


def test_permissions_and_participants(loaded: Service) -> None:
    body = {"supply": {"AZ-SII-H1": 150_000_000}}
    assert loaded.post(REVISIONS, "viewer", json=body).status_code == 403
    assert loaded.post(REVISIONS, "participant-KEN", json=body).status_code == 403
    assert loaded.post(REVISIONS, "allocation-analyst", json=body).status_code == 201
    early = loaded.get(REVISIONS, "participant-KEN")
    assert early.json()["code"] == "SERVICE_ROUND_NOT_PUBLISHED"
    loaded.post(f"{BASE}/rounds/1/publish", "allocation-analyst")
    mine = loaded.get(f"{REVISIONS}/diff", "participant-KEN", params={"from": 0, "to": 1})
    assert mine.json()
    assert {r["iso3"] for r in mine.json()} == {"KEN"}


def test_bad_revisions_are_refused_with_their_field(loaded: Service) -> None:
    bad = loaded.post(REVISIONS, "allocation-analyst", json={"supply": {"NOPE": 1}})
    assert bad.status_code == 422, bad.text
    assert bad.json()["code"] == "ALLOC_UNKNOWN_TRANCHE"
    assert bad.json()["errors"][0]["field"] == "supply.NOPE"
    sneaky = loaded.post(
        REVISIONS, "allocation-analyst", json={"supply": {}, "created_by": "someone else"}
    )
    assert sneaky.json()["code"] == "SERVICE_BAD_REQUEST", sneaky.text
    assert "created_by" in sneaky.text
    missing = loaded.get(f"{REVISIONS}/diff", "viewer", params={"from": 0, "to": 4})
    assert missing.json()["code"] == "ALLOC_UNKNOWN_REVISION"
    assert loaded.get(REVISIONS, "viewer").json() == []
