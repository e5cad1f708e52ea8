from __future__ import annotations

from datetime import date, datetime

from doseflow.reporting import (
    ComplianceStatus,
    GatePolicy,
    Requirement,
    compliance,
    parse_period,
    readiness_gate,
)
from doseflow.reporting.periods import PeriodType

REQ = Requirement("PRK", "surveillance", PeriodType.WEEKLY, 3, parse_period("2021W35"))


def test_on_time_late_missing_not_due() -> None:
    submissions = {
        ("PRK", "surveillance", "2021W35"): datetime(2021, 9, 7, 9),  # due 2021-09-08
        ("PRK", "surveillance", "2021W36"): datetime(2021, 9, 20, 9),  # due 2021-09-15
    }
    rows = compliance([REQ], submissions, as_of=date(2021, 9, 28))
    status = {r.period.code: r.status for r in rows}
    assert status == {
        "2021W35": ComplianceStatus.ON_TIME,
        "2021W36": ComplianceStatus.LATE,
        "2021W37": ComplianceStatus.MISSING,  # ended 19 Sep, due 22 Sep
        "2021W38": ComplianceStatus.NOT_DUE,  # ended 26 Sep, due 29 Sep
    }
    late = next(r for r in rows if r.period.code == "2021W36")
    assert late.due == date(2021, 9, 15)
    assert late.days_late == 5
    assert "2021W39" not in status  # the current week has not ended


def test_a_last_period_ends_the_requirement() -> None:
    req = Requirement(
        "PRK",
        "administration",
        PeriodType.MONTHLY,
        15,
        parse_period("202106"),
        parse_period("202107"),
    )
    rows = compliance([req], {}, as_of=date(2021, 12, 1))
    assert [r.period.code for r in rows] == ["202106", "202107"]
    assert {r.status for r in rows} == {ComplianceStatus.MISSING}


def test_gate_is_off_by_default() -> None:
    rows = compliance([REQ], {}, as_of=date(2021, 10, 30))
    result = readiness_gate(rows, ["PRK", "NPL"])
    assert all(r.passed for r in result.values())
    assert result["PRK"].reasons == ("reporting compliance gate is off",)


def test_gate_fails_on_missing_and_late_reports() -> None:
    submissions = {("PRK", "surveillance", f"2021W{w}"): datetime(2021, 10, 29) for w in (35, 36)}
    rows = compliance([REQ], submissions, as_of=date(2021, 10, 30))
    strict = readiness_gate(rows, ["PRK", "NPL"], GatePolicy(enabled=True, max_late=0))
    assert not strict["PRK"].passed
    reasons = " ".join(strict["PRK"].reasons)
    # as of Saturday 30 Oct, the last owed week is 2021W42 (ended 24 Oct, due 27 Oct)
    assert "surveillance: 4 of the last 4 reports missing (2021W39, 2021W40, 2021W41, 2021W42)" in (
        reasons
    )
    whole = readiness_gate(rows, ["PRK"], GatePolicy(enabled=True, lookback_periods=8, max_late=0))
    assert "surveillance: 2 of the last 8 reports late (2021W35, 2021W36)" in " ".join(
        whole["PRK"].reasons
    )
    assert strict["NPL"].passed  # owes nothing
    lenient = readiness_gate(
        rows, ["PRK"], GatePolicy(enabled=True, lookback_periods=2, max_missing=2)
    )
    assert lenient["PRK"].passed
    assert lenient["PRK"].reasons == ("reports up to date",)


def test_reports_submitted_after_as_of_do_not_count_yet() -> None:
    submissions = {
        ("PRK", "surveillance", "2021W35"): datetime(2021, 9, 7, 9),  # due 2021-09-08
        ("PRK", "surveillance", "2021W36"): datetime(2021, 10, 20, 9),  # sent much later
    }
    then = {r.period.code: r for r in compliance([REQ], submissions, as_of=date(2021, 9, 20))}
    assert then["2021W35"].status is ComplianceStatus.ON_TIME
    assert then["2021W36"].status is ComplianceStatus.MISSING  # as things stood on 20 Sep
    assert then["2021W36"].submitted_at is None
    now = {r.period.code: r for r in compliance([REQ], submissions, as_of=date(2021, 10, 30))}
    assert now["2021W36"].status is ComplianceStatus.LATE
