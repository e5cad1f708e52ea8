"""Revisions of a round's supply in the store, on SQLite and PostgreSQL (issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from doseflow.allocation import Decline, parse_scenario
from doseflow.allocation.revision import SupplyChange
from doseflow.domain.errors import DoseflowError
from doseflow.store.allocation import AllocationStore
from doseflow.store.allocation_revisions import RevisionStore
from doseflow.store.allocation_tables import RevisionRow
from tests.store import test_allocation_store as base

SCENARIO = base.SCENARIO
# the allocation store tests' fixtures: one migrated database per backend, emptied per test
migrated = base.migrated
engine = base.engine
store = base.store

T1 = "R1-AZ-1"  # the id the scenario reader gives round 1's only tranche


def test_revise_appends_revisions_and_reruns_the_rounds(store: AllocationStore) -> None:
    store.run("small")
    revisions = RevisionStore(store)
    first_lines = {line.iso3: line.doses for line in store.lines("small", 1)}
    info, diff = revisions.revise(
        "small", 1, SupplyChange(doses={T1: 1_500_000}), created_by="via the CLI"
    )
    # revision 0 is the round as it stood, 1 the revised supply
    listed = revisions.revisions("small", 1)
    assert [(r.revision, r.supply, r.created_by) for r in listed] == [
        (0, 1_000_000, ""),
        (1, 1_500_000, "via the CLI"),
    ]
    assert info == listed[1]
    assert info.current
    assert [(c.tranche, c.before, c.after) for c in info.changes] == [(T1, 1_000_000, 1_500_000)]
    assert abs(info.created_at - datetime.now(UTC)) < timedelta(minutes=5)  # server-set
    # the re-run rounds are the rounds of record, and stay so when the scenario is run again
    assert store.rounds("small")[0].supply == 1_500_000
    store.run("small")
    assert store.rounds("small")[0].supply == 1_500_000
    after = {line.iso3: line.doses for line in store.lines("small", 1)}
    assert {r.iso3: r.change for r in diff.participants} == {
        c: after.get(c, 0) - first_lines.get(c, 0)
        for c in after.keys() | first_lines.keys()
        if after.get(c, 0) != first_lines.get(c, 0)
    }
    assert diff.allocated_change == info.allocated - listed[0].allocated
    # the stored diff is the diff returned
    assert revisions.diff("small", 1, 0, 1) == diff


def test_revisions_are_never_overwritten(store: AllocationStore) -> None:
    store.run("small")
    revisions = RevisionStore(store)
    revisions.revise("small", 1, SupplyChange(doses={T1: 1_500_000}))
    with store.engine.connect() as conn:
        before = conn.execute(select(RevisionRow.__table__)).all()
    _, diff = revisions.revise("small", 1, SupplyChange(doses={T1: 800_000}))
    with store.engine.connect() as conn:
        rows = conn.execute(select(RevisionRow.__table__).order_by(RevisionRow.id)).all()
    assert rows[: len(before)] == sorted(before, key=lambda r: r.id)
    assert [r.revision for r in revisions.revisions("small", 1)] == [0, 1, 2]
    # revision 2 builds on revision 1's supply: the diff from 1 is its change
    assert diff.pools[0].supply_from == 1_500_000
    assert diff.pools[0].supply_to == 800_000
    assert revisions.diff("small", 1, 2, 1).participants[0].change == -diff.participants[0].change


def test_declines_recorded_are_kept_in_a_revision(store: AllocationStore) -> None:
    store.run("small")
    store.record_decline("small", Decline(1, "AZ", "NPL"))
    _, diff = RevisionStore(store).revise("small", 1, SupplyChange(doses={T1: 2_000_000}))
    assert next(line for line in store.lines("small", 1) if line.iso3 == "NPL").doses == 0
    assert "NPL" not in {r.iso3 for r in diff.participants if r.doses_to}


def test_a_changed_scenario_starts_afresh(store: AllocationStore) -> None:
    store.run("small")
    revisions = RevisionStore(store)
    revisions.revise("small", 1, SupplyChange(doses={T1: 1_500_000}))
    store.save_scenario(parse_scenario(SCENARIO.replace("doses: 1000000", "doses: 1100000")))
    assert store.effective_scenario("small").round(1).tranches[0].doses == 1_100_000
    assert [r.current for r in revisions.revisions("small")] == [False, False]
    revisions.revise("small", 1, SupplyChange(doses={T1: 900_000}))
    listed = revisions.revisions("small", 1)
    assert [(r.revision, r.supply, r.current) for r in listed][2:] == [
        (2, 1_100_000, True),
        (3, 900_000, True),
    ]


def test_bad_revisions_write_nothing(store: AllocationStore) -> None:
    store.run("small")
    revisions = RevisionStore(store)
    with pytest.raises(DoseflowError) as err:
        revisions.revise("small", 1, SupplyChange(doses={"NOPE": 5}))
    assert (err.value.code, err.value.detail.location.field) == (
        "ALLOC_UNKNOWN_TRANCHE",
        "supply.NOPE",
    )
    assert revisions.revisions("small") == []
    revisions.revise("small", 1, SupplyChange(doses={T1: 5_000}))
    with pytest.raises(DoseflowError) as err:
        revisions.diff("small", 1, 0, 7)
    assert (err.value.code, err.value.detail.location.field) == ("ALLOC_UNKNOWN_REVISION", "to")
    with pytest.raises(DoseflowError) as err:
        revisions.diff("nope", 1, 0, 1)
    assert err.value.code == "ALLOC_UNKNOWN_SCENARIO"


def test_a_revision_made_on_stale_supply_is_refused(
    store: AllocationStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.run("small")
    revisions = RevisionStore(store)
    stale = store.effective_scenario("small")  # read before the other revision lands
    revisions.revise("small", 1, SupplyChange(doses={T1: 1_500_000}))
    monkeypatch.setattr(store, "effective_scenario", lambda name: stale)
    with pytest.raises(DoseflowError) as err:
        revisions.revise("small", 1, SupplyChange(doses={T1: 900_000}))
    assert err.value.code == "ALLOC_REVISION_CONFLICT"
    assert [r.supply for r in revisions.revisions("small", 1)] == [1_000_000, 1_500_000]
    assert store.rounds("small")[0].supply == 1_500_000  # nothing of the refused one written
