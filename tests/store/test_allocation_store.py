"""The allocation store on SQLite and PostgreSQL: run, re-run, decline, publish, explain."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from doseflow.allocation import Decline, Redirect, parse_scenario
from doseflow.domain.errors import DoseflowError
from doseflow.store.allocation import AllocationStore, RoundStatus
from doseflow.store.allocation_tables import DeclineRow, LineRow
from doseflow.store.database import open_database

SCENARIO = """\
name: small
products:
  - {code: AZ, pack_doses: 100}
  - {code: SV, pack_doses: 100}
participants:
  - {iso3: PRK, financing: amc, cold_chain: ["2-8"]}
  - {iso3: NPL, financing: amc, threat: {deaths_per_million: 50}}
  - {iso3: MNG, financing: amc, threat: {deaths_per_million: 200}}
rounds:
  - date: 2021-02-03
    tranches: [{product: AZ, doses: 1000000}]
  - date: 2021-09-01
    tranches: [{product: SV, doses: 600000, origin: donation, donor: China}]
"""


@pytest.fixture
def store(db_url: str) -> AllocationStore:
    s = AllocationStore(open_database(db_url))
    s.save_scenario(parse_scenario(SCENARIO))
    return s


def test_run_stores_rounds_lines_and_coverage(store: AllocationStore) -> None:
    run = store.run("small")
    rounds = store.rounds("small")
    assert [r.number for r in rounds] == [1, 2]
    assert rounds[0].allocated == run.round(1).allocated
    assert all(r.status == "run" and r.revision == 1 for r in rounds)
    lines = store.lines("small", 1)
    assert sum(line.doses for line in lines) == rounds[0].allocated
    assert all(line.doses % 100 == 0 for line in lines)
    cov = {c.iso3: c for c in store.coverage("small")}
    assert cov["PRK"].doses == sum(line.doses for line in store.lines("small", iso3="PRK"))
    assert store.pools("small", 2)[0].donor == "China"


def test_rerun_is_idempotent(store: AllocationStore) -> None:
    store.run("small")
    store.run("small")
    assert [r.revision for r in store.rounds("small")] == [1, 1]
    with store.engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(LineRow))
    assert count == len(store.lines("small"))
    assert store.save_scenario(parse_scenario(SCENARIO)) is False


def test_preview_then_run_then_publish(store: AllocationStore) -> None:
    store.run("small", status=RoundStatus.PREVIEW)
    assert {r.status for r in store.rounds("small")} == {"preview"}
    store.run("small")
    assert {r.status for r in store.rounds("small")} == {"run"}
    assert store.publish("small", 1).status == "published"
    store.run("small", status=RoundStatus.PREVIEW)
    assert [r.status for r in store.rounds("small")] == ["published", "run"]


def test_decline_redistributes_and_is_recorded_once(store: AllocationStore) -> None:
    store.run("small")
    before = {line.iso3: line.doses for line in store.lines("small", 2)}
    held_before = store.rounds("small")[1].held
    d = Decline(
        2, "SV", "PRK", reason="for severely affected countries", redirect=Redirect.MOST_AFFECTED
    )
    store.record_decline("small", d)
    store.record_decline("small", d)  # the same decline again changes nothing
    after = {line.iso3: line.doses for line in store.lines("small", 2)}
    assert after["PRK"] == 0
    assert sum(after.values()) + store.rounds("small")[1].held == sum(before.values()) + held_before
    pop = {c.iso3: c.population for c in store.coverage("small")}
    gain = {c: (after[c] - before[c]) / pop[c] for c in ("MNG", "NPL")}
    assert gain["MNG"] > gain["NPL"]  # the most affected gain most per person
    with store.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(DeclineRow)) == 1
    prk = store.explain("small", "PRK", 2)[0]
    assert prk.declined[0].doses == before["PRK"]
    assert [r.revision for r in store.rounds("small")] == [1, 2]


def test_bad_decline_writes_nothing(store: AllocationStore) -> None:
    store.run("small")
    with pytest.raises(DoseflowError) as exc:
        store.record_decline("small", Decline(2, "SV", "PRK", doses=10**9))
    assert exc.value.code == "ALLOC_DECLINE_EXCEEDS_ALLOCATION"
    assert exc.value.detail.value == 10**9
    assert store.recorded_declines("small") == []
    assert [r.revision for r in store.rounds("small")] == [1, 1]


def test_unknown_scenario(store: AllocationStore) -> None:
    with pytest.raises(DoseflowError) as exc:
        store.rounds("nope")
    assert exc.value.code == "ALLOC_UNKNOWN_SCENARIO"
    assert exc.value.detail.value == "nope"


def test_explain_before_any_run(store: AllocationStore) -> None:
    with pytest.raises(DoseflowError) as exc:
        store.explain("small", "PRK")
    assert exc.value.code == "ALLOC_NO_RESULTS"
    assert exc.value.detail.value == "small"


def test_explain_unknown_participant_and_round(store: AllocationStore) -> None:
    store.run("small")
    with pytest.raises(DoseflowError) as exc:
        store.explain("small", "KEN")
    assert exc.value.code == "ALLOC_UNKNOWN_PARTICIPANT"
    assert exc.value.detail.value == "KEN"
    with pytest.raises(DoseflowError) as exc:
        store.lines("small", 7)
    assert exc.value.code == "ALLOC_UNKNOWN_ROUND"
    assert exc.value.detail.value == 7
