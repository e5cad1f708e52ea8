"""The reporting store on both backends: idempotent upsert, locks and audit, compliance,
plausibility, the ledger adapter."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from doseflow.domain.errors import DoseflowError
from doseflow.reporting import (
    ComplianceStatus,
    DataValue,
    GatePolicy,
    LedgerPosition,
    LockAction,
    Method,
    Outcome,
    Requirement,
    SubmittedValue,
    national_hierarchy,
    parse_period,
)
from doseflow.reporting.periods import PeriodType
from doseflow.store import reporting as store
from doseflow.store.database import open_database
from doseflow.store.reporting_hierarchy import load_hierarchy_file, stored_hierarchy
from doseflow.store.reporting_ledger import ledger_figures

from .conftest import AS_OF, make_hierarchy, north_korea_case, sv
from .test_files import example

H = make_hierarchy()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = open_database(db_url)
    yield eng
    eng.dispose()


WEEK = [
    sv("people_tested", "2021W38", "PRK", "667"),
    sv("positives", "2021W38", "PRK", 0),
    sv("ili_cases", "2021W38", "PRK", 94, comment="ILI/SARI patients"),
    sv("health_workers_tested", "2021W38", "PRK", 573),
    sv("doses_administered", "202109", "PRK-SPY", 12, category="dose=dose1,group=hcw"),
]


def test_resubmission_is_idempotent(engine: Engine) -> None:
    first = store.submit(engine, WEEK, hierarchy=H, as_of=AS_OF, now=datetime(2021, 9, 27, 8))
    assert first.counts["accepted"] == 5
    again = store.submit(engine, WEEK, hierarchy=H, as_of=AS_OF, now=datetime(2021, 9, 27, 9))
    assert again.counts == {"accepted": 0, "updated": 0, "ignored": 5, "conflict": 0, "deleted": 0}
    assert store.count_values(engine) == 5
    changed = [*WEEK[:3], sv("health_workers_tested", "2021W38", "PRK", 575)]
    third = store.submit(engine, changed, hierarchy=H, as_of=AS_OF)
    assert third.outcomes[-1] is Outcome.UPDATED
    stored = {v.data_element: v for v in store.load_values(engine, participants=["PRK"])}
    assert stored["health_workers_tested"].value == 575
    assert stored["ili_cases"].comment == "ILI/SARI patients"
    assert store.count_values(engine) == 5
    subs = store.stored_submissions(engine)
    assert subs[("PRK", "surveillance", "2021W38")] == datetime(2021, 9, 27, 8)


def test_dry_run_writes_nothing(engine: Engine) -> None:
    summary = store.submit(engine, WEEK, hierarchy=H, as_of=AS_OF, dry_run=True)
    assert summary.counts["accepted"] == 5
    assert store.count_values(engine) == 0
    assert store.stored_submissions(engine) == {}


def test_atomic_submission_with_a_conflict_writes_nothing(engine: Engine) -> None:
    bad = [*WEEK, sv("deaths", "2021W38", "PRK", -1)]
    summary = store.submit(engine, bad, hierarchy=H, as_of=AS_OF, atomic=True)
    assert summary.conflicts[0].error.code == "REPORT_VALUE_OUT_OF_RANGE"
    assert store.count_values(engine) == 0


def test_lock_blocks_and_reopening_is_audited(engine: Engine) -> None:
    store.submit(engine, WEEK, hierarchy=H, as_of=AS_OF)
    store.lock_period(engine, "PRK", "surveillance", "2021W38", by="who-searo", note="approved")
    blocked = store.submit(
        engine, [sv("people_tested", "2021W38", "PRK", 700)], hierarchy=H, as_of=AS_OF
    )
    assert blocked.conflicts[0].error.code == "REPORT_PERIOD_LOCKED"
    assert store.load_values(engine, data_elements=["people_tested"])[0].value == 667
    # the administration report of the same participant is not locked
    other = store.submit(engine, WEEK[-1:], hierarchy=H, as_of=AS_OF)
    assert other.outcomes == (Outcome.IGNORED,)
    store.reopen_period(
        engine, "PRK", "surveillance", "2021W38", by="moph", reason="late laboratory results"
    )
    fixed = store.submit(
        engine, [sv("people_tested", "2021W38", "PRK", 700)], hierarchy=H, as_of=AS_OF
    )
    assert fixed.outcomes == (Outcome.UPDATED,)
    history = store.lock_history(engine, "PRK")
    assert [(e.action, e.actor, e.reason) for e in history] == [
        (LockAction.LOCK, "who-searo", "approved"),
        (LockAction.REOPEN, "moph", "late laboratory results"),
    ]
    assert store.period_locks(engine) == {}


def test_lock_errors(engine: Engine) -> None:
    store.lock_period(engine, "PRK", "surveillance", "2021W38", by="who")
    with pytest.raises(DoseflowError) as exc:
        store.lock_period(engine, "PRK", "surveillance", "2021W38", by="who")
    d = exc.value.detail
    assert d.code == "REPORT_PERIOD_ALREADY_LOCKED"
    assert "is already locked (by who on" in d.message
    assert d.value == "2021W38"
    with pytest.raises(DoseflowError) as exc:
        store.reopen_period(engine, "PRK", "surveillance", "2021W38", by="moph", reason=" ")
    d = exc.value.detail
    assert d.code == "REPORT_REOPEN_NEEDS_REASON"
    assert "needs a reason" in d.message
    assert d.value == " "
    with pytest.raises(DoseflowError) as exc:
        store.reopen_period(engine, "PRK", "surveillance", "2021W37", by="moph", reason="x")
    d = exc.value.detail
    assert d.code == "REPORT_PERIOD_NOT_LOCKED"
    assert "for 2021W37 is not locked" in d.message
    assert d.value == "2021W37"
    with pytest.raises(DoseflowError) as exc:
        store.lock_period(engine, "PRK", "vaccination", "2021W38", by="who")
    assert exc.value.code == "REPORT_UNKNOWN_REPORT_TYPE"
    assert exc.value.detail.value == "vaccination"
    with pytest.raises(DoseflowError) as exc:
        store.lock_period(engine, "PRK", "surveillance", "202109", by="who")
    assert exc.value.code == "REPORT_WRONG_PERIOD_TYPE"
    assert [e.action for e in store.lock_history(engine)] == [LockAction.LOCK]


def test_compliance_and_readiness_from_the_store(engine: Engine) -> None:
    req = Requirement("PRK", "surveillance", PeriodType.WEEKLY, 3, parse_period("2021W37"))
    store.save_requirements(engine, [req])
    store.save_requirements(engine, [req])  # replacing, not duplicating
    assert store.stored_requirements(engine) == [req]
    store.submit(engine, WEEK[:2], hierarchy=H, as_of=AS_OF, now=datetime(2021, 9, 28, 12))
    rows = store.compliance_view(engine, date(2021, 10, 6))
    assert [(r.period.code, r.status) for r in rows] == [
        ("2021W37", ComplianceStatus.MISSING),
        ("2021W38", ComplianceStatus.ON_TIME),
        ("2021W39", ComplianceStatus.NOT_DUE),  # due 6 Oct: still on time that day
    ]
    gate = store.readiness(engine, ["PRK"], GatePolicy(enabled=True), date(2021, 10, 6))
    assert not gate["PRK"].passed
    assert store.readiness(engine, ["PRK"], as_of=date(2021, 10, 6))["PRK"].passed


def test_plausibility_over_stored_values(engine: Engine) -> None:
    values = [
        SubmittedValue(v.data_element, v.period, v.org_unit, v.value) for v in north_korea_case()
    ]
    summary = store.submit(engine, values, hierarchy=H, as_of=AS_OF)
    assert summary.counts["conflict"] == 0
    report = store.plausibility(engine, H, participants=["PRK"])
    positivity = [f for f in report.flags if f.method is Method.BETA_BINOMIAL_POSITIVITY]
    assert len(positivity) == 1
    assert positivity[0].figures["tests"] == 40_700
    assert all(f.participant == "PRK" for f in report.flags)
    assert report.notes == ()
    # the default hierarchy names no neighbours: no positivity flag, and a note saying why
    bare = store.plausibility(engine, national_hierarchy(), participants=["PRK"])
    assert not [f for f in bare.flags if f.method is Method.BETA_BINOMIAL_POSITIVITY]
    assert any("not checked for PRK" in n and "no neighbours" in n for n in bare.notes)


def test_a_loaded_hierarchy_is_stored_and_the_latest_is_in_force(
    engine: Engine, tmp_path: Path
) -> None:
    assert stored_hierarchy(engine) is None
    first = load_hierarchy_file(engine, example("reporting_hierarchy.yaml"), by="who-searo")
    assert first.hierarchy.neighbours_of("PRK") == ("CHN", "KOR", "RUS")
    again = stored_hierarchy(engine)
    assert again is not None
    assert (again.id, again.loaded_by, again.sha256) == (first.id, "who-searo", first.sha256)
    assert again.hierarchy.population("PRK-RYG") == 719_269
    second = tmp_path / "h.yaml"
    second.write_text("participants:\n  - {code: PRK, neighbours: [KOR]}\n  - {code: KOR}\n")
    load_hierarchy_file(engine, second)
    latest = stored_hierarchy(engine)
    assert latest is not None
    assert latest.id > first.id
    assert latest.hierarchy.neighbours_of("PRK") == ("KOR",)


def test_an_invalid_hierarchy_file_is_refused_and_nothing_stored(
    engine: Engine, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("participants:\n  - {code: PRK, neighbors: [KOR]}\n")
    with pytest.raises(DoseflowError) as exc:
        load_hierarchy_file(engine, bad)
    assert exc.value.code == "REPORT_HIERARCHY_INVALID"
    assert exc.value.detail.location.line == 2
    with pytest.raises(DoseflowError) as exc:
        load_hierarchy_file(engine, tmp_path / "missing.yaml")
    assert exc.value.code == "REPORT_HIERARCHY_INVALID"
    assert stored_hierarchy(engine) is None


class FakeLedger:
    def __init__(self) -> None:
        self.asked: list[tuple[tuple[str, ...], date, date]] = []

    def position(
        self, nodes: Sequence[str], start: date, end: date, zone: str | None = None
    ) -> LedgerPosition | None:
        self.asked.append((tuple(nodes), start, end))
        return (
            LedgerPosition(opening=100, received=900, closing=400) if "PRK-SPY" in nodes else None
        )


def test_ledger_cross_check_through_the_adapter(engine: Engine) -> None:
    ledger = FakeLedger()
    values = [
        sv("doses_administered", "202109", "PRK-SPY", 600, category="dose=dose1,group=hcw"),
        sv("doses_administered", "202109", "PRK-SPY", 500, category="dose=dose2,group=hcw"),
        sv("stock_on_hand", "202109", "PRK-SPY", 350),
        sv("doses_administered", "202109", "PRK-RYG", 10**6, category="dose=dose1,group=hcw"),
    ]
    summary = store.submit(engine, values, hierarchy=H, as_of=date(2021, 10, 5), ledger=ledger)
    assert [c.error.code for c in summary.conflicts] == [
        "REPORT_ADMINISTERED_EXCEEDS_AVAILABLE"
    ] * 2
    assert summary.warnings[0].error.code == "REPORT_STOCK_DIFFERS_FROM_LEDGER"
    assert "difference -50 doses" in summary.warnings[0].error.message
    assert summary.outcomes[2:] == (Outcome.ACCEPTED, Outcome.ACCEPTED)  # RYG: no ledger data
    assert (("PRK-SPY",), date(2021, 9, 1), date(2021, 9, 30)) in ledger.asked
    # the national unit answers for its own store and every region's
    assert ledger_figures(ledger, H, [("PRK", "202109")]) == {
        ("PRK", "202109"): LedgerPosition(100, 900, 400)
    }
    assert set(ledger.asked[-1][0]) == {"PRK-NS", "PRK-RYG", "PRK-SPY"}


def test_batch_path_chunks_and_upserts(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "BATCH_ROWS", 15)
    monkeypatch.setattr(store, "PG_ROWS_PER_STATEMENT", 7)
    values = [
        DataValue("PRK", "PRK", f"2021W{w}", e, "default", float(w))
        for w in range(1, 21)
        for e in ("people_tested", "deaths")
    ]
    with engine.begin() as conn:
        assert store.upsert_values(conn, values) == 40
    changed = [v._replace(value=v.value + 1, comment="revised") for v in values[:23]]
    with engine.begin() as conn:
        store.upsert_values(conn, changed)
    stored = {v.key: v for v in store.load_values(engine)}
    assert len(stored) == 40
    assert stored[values[0].key].value == 2.0
    assert stored[values[0].key].comment == "revised"
    assert stored[values[30].key].value == values[30].value


@pytest.mark.parametrize("comment", ["c" * 501, "NUL\x00here", "bell\x07"])
def test_a_comment_that_cannot_be_stored_is_a_coded_conflict(engine: Engine, comment: str) -> None:
    # a value's comment is free text: on PostgreSQL a NUL byte used to end the request in
    # a 500; now it is a conflict of its own and nothing is written
    values = [sv("ili_cases", "2021W38", "PRK", 94, comment=comment)]
    summary = store.submit(engine, values, hierarchy=H, as_of=AS_OF)
    assert summary.counts["conflict"] == 1
    (conflict,) = summary.conflicts
    assert (conflict.error.code, conflict.error.location.field) == ("REPORT_BAD_COMMENT", "comment")
    assert store.count_values(engine) == 0


def test_a_comment_of_500_characters_with_line_breaks_is_stored(engine: Engine) -> None:
    comment = ("line\n" * 100)[:500]
    summary = store.submit(
        engine, [sv("ili_cases", "2021W38", "PRK", 94, comment=comment)], hierarchy=H, as_of=AS_OF
    )
    assert summary.counts["accepted"] == 1
    (stored,) = store.load_values(engine, participants=["PRK"])
    assert stored.comment == comment
