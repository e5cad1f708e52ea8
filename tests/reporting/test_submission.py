"""One test per submission code (code, message, the value it names), outcomes, atomicity."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseflow.reporting import (
    DEFAULT_SCHEMA,
    LedgerPosition,
    Origin,
    Outcome,
    PeriodLock,
    SubmissionContext,
    SummaryStatus,
    validate_submission,
)
from doseflow.reporting.values import DataValue

from .conftest import AS_OF, sv


def only_conflict(ctx: SubmissionContext, value: object) -> tuple[str, str, object, str | None]:
    summary = validate_submission([value], ctx)  # type: ignore[list-item]
    assert summary.outcomes == (Outcome.CONFLICT,)
    assert summary.writes == ()
    (conflict,) = summary.conflicts
    e = conflict.error
    return e.code, e.message, e.value, e.location.field


def test_unknown_data_element(ctx: SubmissionContext) -> None:
    code, message, value, fld = only_conflict(ctx, sv("covid_tests", "2021W38", "PRK", 5))
    assert code == "REPORT_UNKNOWN_DATA_ELEMENT"
    assert "'covid_tests' is not a data element" in message
    assert (value, fld) == ("covid_tests", "data_element")


def test_bad_period(ctx: SubmissionContext) -> None:
    code, message, value, fld = only_conflict(ctx, sv("people_tested", "2021-W60", "PRK", 5))
    assert code == "REPORT_BAD_PERIOD"
    assert "is not a reporting period" in message
    assert (value, fld) == ("2021-W60", "period")


def test_wrong_period_type(ctx: SubmissionContext) -> None:
    code, message, value, _ = only_conflict(ctx, sv("people_tested", "202109", "PRK", 5))
    assert code == "REPORT_WRONG_PERIOD_TYPE"
    assert "not kept per monthly period" in message
    assert value == "202109"


def test_unknown_participant(ctx: SubmissionContext) -> None:
    code, message, value, fld = only_conflict(
        ctx, sv("people_tested", "2021W38", "PRK", 5, participant="XYZ")
    )
    assert code == "REPORT_UNKNOWN_PARTICIPANT"
    assert "'XYZ' is not a participant" in message
    assert (value, fld) == ("XYZ", "participant")


def test_org_unit_not_in_hierarchy(ctx: SubmissionContext) -> None:
    code, message, value, fld = only_conflict(ctx, sv("people_tested", "2021W38", "PRK-XX", 5))
    assert code == "REPORT_ORG_UNIT_NOT_IN_HIERARCHY"
    assert "'PRK-XX' is not in the hierarchy" in message
    assert (value, fld) == ("PRK-XX", "org_unit")
    # a region of another participant is refused too
    code, message, value, _ = only_conflict(
        ctx, sv("people_tested", "2021W38", "PRK-SPY", 5, participant="KOR")
    )
    assert code == "REPORT_ORG_UNIT_NOT_IN_HIERARCHY"
    assert "hierarchy of KOR" in message
    assert value == "PRK-SPY"


def test_bad_category_combo(ctx: SubmissionContext) -> None:
    code, message, value, fld = only_conflict(
        ctx, sv("doses_administered", "202109", "PRK", 5, category="dose=dose3,group=hcw")
    )
    assert code == "REPORT_BAD_CATEGORY_COMBO"
    assert "'dose=dose3,group=hcw' is not a category combination" in message
    assert (value, fld) == ("dose=dose3,group=hcw", "category")
    code, _, value, _ = only_conflict(ctx, sv("doses_administered", "202109", "PRK", 5))
    assert (code, value) == ("REPORT_BAD_CATEGORY_COMBO", "default")


def test_period_not_open(ctx: SubmissionContext) -> None:
    code, message, value, _ = only_conflict(ctx, sv("people_tested", "2021W40", "PRK", 5))
    assert code == "REPORT_PERIOD_NOT_OPEN"
    assert "starts on 2021-10-04, after 2021-09-27" in message
    assert value == "2021W40"


def test_period_locked(ctx: SubmissionContext) -> None:
    lock = PeriodLock("PRK", "surveillance", "2021W37", datetime(2021, 9, 24), "who-searo")
    locked = replace(ctx, locks={lock.key: lock})
    code, message, value, _ = only_conflict(locked, sv("people_tested", "2021W37", "PRK", 5))
    assert code == "REPORT_PERIOD_LOCKED"
    assert "locked by who-searo on 2021-09-24" in message
    assert value == "2021W37"


@pytest.mark.parametrize("raw", ["many", "", None, "3.5", 2.5, True, float("nan")])
def test_bad_value(ctx: SubmissionContext, raw: object) -> None:
    code, message, value, fld = only_conflict(ctx, sv("people_tested", "2021W38", "PRK", raw))
    assert code == "REPORT_BAD_VALUE"
    assert "is not a whole number" in message
    assert fld == "value"
    assert value == raw or (raw != raw and value != value)  # NaN names itself


def test_value_out_of_range(ctx: SubmissionContext) -> None:
    code, message, value, _ = only_conflict(ctx, sv("deaths", "2021W38", "PRK", "-3"))
    assert code == "REPORT_VALUE_OUT_OF_RANGE"
    assert "value -3 of 'deaths' is out of range: it must be at least 0" in message
    assert value == "-3"


def test_duplicate_in_submission(ctx: SubmissionContext) -> None:
    values = [sv("deaths", "2021W38", "PRK", 3), sv("deaths", "2021W38", "PRK", 4)]
    summary = validate_submission(values, ctx)
    assert summary.outcomes == (Outcome.CONFLICT, Outcome.CONFLICT)
    codes = {c.error.code for c in summary.conflicts}
    assert codes == {"REPORT_DUPLICATE_IN_SUBMISSION"}
    assert "3 at item 1, 4 at item 2" in summary.conflicts[0].error.message
    assert [c.error.value for c in summary.conflicts] == [3, 4]
    # the same figure twice is harmless
    same = validate_submission([values[0], values[0]], ctx)
    assert same.outcomes == (Outcome.ACCEPTED, Outcome.IGNORED)
    assert len(same.writes) == 1


def _administered(org_unit: str, n: int, category: str = "dose=dose1,group=hcw") -> object:
    return sv("doses_administered", "202109", org_unit, n, category=category)


def test_administered_exceeds_available(ctx: SubmissionContext) -> None:
    ledger = {("PRK-SPY", "202109"): LedgerPosition(opening=1_000, received=4_000, closing=2_000)}
    stored = {
        ("PRK", "PRK-SPY", "202109", "doses_administered", "dose=dose2,group=hcw", "default"): (
            3_000.0,
            None,
        )
    }
    checked = replace(ctx, ledger=ledger, stored=stored)
    ok = validate_submission([_administered("PRK-SPY", 2_000)], checked)  # type: ignore[list-item]
    assert ok.outcomes == (Outcome.ACCEPTED,)
    code, message, value, _ = only_conflict(checked, _administered("PRK-SPY", 2_001))
    assert code == "REPORT_ADMINISTERED_EXCEEDS_AVAILABLE"
    assert "5,001 doses administered in PRK-SPY in 202109 exceed the 5,000 doses" in message
    assert "1 too many" in message
    assert value == 2_001


def test_administered_a_submission_deletes_is_not_counted(ctx: SubmissionContext) -> None:
    """A stored value the same submission deletes no longer counts towards the doses
    administered the ledger is checked against."""
    ledger = {("PRK-SPY", "202109"): LedgerPosition(opening=1_000, received=4_000, closing=2_000)}
    key = ("PRK", "PRK-SPY", "202109", "doses_administered", "dose=dose2,group=hcw", "default")
    checked = replace(ctx, ledger=ledger, stored={key: (3_000.0, None)})
    gone = replace(
        _administered("PRK-SPY", 0, category="dose=dose2,group=hcw"),  # type: ignore[type-var]
        deleted=True,
    )
    summary = validate_submission(
        [gone, _administered("PRK-SPY", 4_000)],  # type: ignore[list-item]
        checked,
    )
    assert summary.outcomes == (Outcome.DELETED, Outcome.ACCEPTED)
    assert summary.conflicts == ()
    too_many = validate_submission(
        [gone, _administered("PRK-SPY", 5_001)],  # type: ignore[list-item]
        checked,
    )
    assert too_many.outcomes == (Outcome.DELETED, Outcome.CONFLICT)
    assert "5,001 doses administered" in too_many.conflicts[0].error.message


def test_stock_differs_from_ledger(ctx: SubmissionContext) -> None:
    ledger = {("PRK-SPY", "202109"): LedgerPosition(opening=0, received=5_000, closing=1_200)}
    summary = validate_submission(
        [sv("stock_on_hand", "202109", "PRK-SPY", 1_500)], replace(ctx, ledger=ledger)
    )
    assert summary.outcomes == (Outcome.ACCEPTED,)  # accepted, but flagged
    assert summary.status is SummaryStatus.WARNING
    (w,) = summary.warnings
    assert w.error.code == "REPORT_STOCK_DIFFERS_FROM_LEDGER"
    assert "the ledger holds 1,200 (difference +300 doses)" in w.error.message
    assert w.error.value == 1_500


def test_outcomes_accepted_updated_ignored(ctx: SubmissionContext) -> None:
    key = ("PRK", "PRK", "2021W38", "people_tested", "default", "default")
    stored = {
        key: (667.0, None),
        ("PRK", "PRK", "2021W38", "positives", "default", "default"): (0.0, None),
    }
    values = [
        sv("people_tested", "2021W38", "PRK", "667"),
        sv("positives", "2021W38", "PRK", 1),
        sv("deaths", "2021W38", "PRK", 0),
    ]
    summary = validate_submission(values, replace(ctx, stored=stored))
    assert summary.outcomes == (Outcome.IGNORED, Outcome.UPDATED, Outcome.ACCEPTED)
    assert {v.data_element for v in summary.writes} == {"positives", "deaths"}
    assert summary.counts == {
        "accepted": 1,
        "updated": 1,
        "ignored": 1,
        "conflict": 0,
        "deleted": 0,
    }
    assert summary.status is SummaryStatus.OK


def test_atomic_and_dry_run(ctx: SubmissionContext) -> None:
    values = [sv("deaths", "2021W38", "PRK", 2), sv("deaths", "2021W38", "NOWHERE", 2)]
    partial = validate_submission(values, ctx)
    assert len(partial.writes) == 1
    assert partial.status is SummaryStatus.WARNING
    atomic = validate_submission(values, ctx, atomic=True)
    assert atomic.writes == ()
    assert atomic.status is SummaryStatus.ERROR
    dry = validate_submission(values, ctx, dry_run=True)
    assert dry.dry_run
    assert not dry.written
    assert len(dry.writes) == 1


def test_conflicts_point_at_row_and_column(ctx: SubmissionContext) -> None:
    origin = Origin("admin.csv", 14, {"value": 10, "data_element": 6})
    summary = validate_submission([sv("deaths", "2021W38", "PRK", "x", origin=origin)], ctx)
    loc = summary.conflicts[0].error.location
    assert (loc.source, loc.line, loc.column, loc.field) == ("admin.csv", 14, 10, "value")
    assert summary.conflicts[0].error.render().startswith("[REPORT_BAD_VALUE] admin.csv:14:10")


def test_participant_is_taken_from_the_org_unit(ctx: SubmissionContext) -> None:
    summary = validate_submission([sv("deaths", "2021W38", "PRK-RYG", 1)], ctx)
    assert summary.writes[0].participant == "PRK"
    assert summary.reports == frozenset({("PRK", "surveillance", "2021W38")})
    assert AS_OF.isoformat() == "2021-09-27"


values_strategy = st.lists(
    st.tuples(
        st.sampled_from(["people_tested", "positives", "deaths", "ili_cases"]),
        st.sampled_from(["2021W36", "2021W37", "2021W38"]),
        st.sampled_from(["PRK", "PRK-SPY", "KOR"]),
        st.integers(min_value=0, max_value=10_000),
    ),
    max_size=30,
)


@settings(max_examples=40, deadline=None)
@given(values_strategy)
def test_resubmitting_what_was_written_is_all_ignored(
    rows: list[tuple[str, str, str, int]],
) -> None:
    from .conftest import make_hierarchy

    ctx = SubmissionContext(DEFAULT_SCHEMA, make_hierarchy(), AS_OF)
    values = [sv(e, p, o, n) for e, p, o, n in rows]
    first = validate_submission(values, ctx)
    stored: dict[tuple[str, str, str, str, str, str], tuple[float, str | None]] = {
        dv.key: (dv.value, dv.comment) for dv in first.writes
    }
    again = validate_submission(values, replace(ctx, stored=stored))
    assert again.writes == ()
    for before, after in zip(first.outcomes, again.outcomes, strict=True):
        assert after is (Outcome.CONFLICT if before is Outcome.CONFLICT else Outcome.IGNORED)
    assert all(isinstance(dv, DataValue) for dv in first.writes)
