"""The count sheet's pieces (issue 15): the moment a count of a day stands for, the ledger
rows of what was typed, and what the ledger recorded for each count."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from doseflow.domain.events import Adjustment, AdjustmentReason
from doseflow.ledger.count_sheet import CountEntry, count_moment, count_results, count_rows
from tests.ledger.factory import counted, day

NAIROBI = ZoneInfo("Africa/Nairobi")  # UTC+3


def test_a_past_day_is_counted_at_its_end_at_the_node_and_today_now() -> None:
    now = datetime(2021, 5, 20, 6, 30, tzinfo=UTC)  # 09:30 in Nairobi
    assert count_moment(date(2021, 5, 10), NAIROBI, now) == datetime(
        2021, 5, 10, 20, 59, 59, tzinfo=UTC
    )
    assert count_moment(date(2021, 5, 20), NAIROBI, now) == now
    # a day to come stays in the future, for the ledger to refuse
    assert count_moment(date(2021, 5, 21), NAIROBI, now) > now


def test_the_rows_are_what_was_typed_and_blank_lines_are_left_out() -> None:
    entries = [
        CountEntry("c0", True, "AZ-SII", "K1", "2021-07-31", " 23500 "),
        CountEntry("c1", True, "AZ-SII", "K2", "", ""),  # listed, not counted
        CountEntry("c2", True, "AZ-SII", "K3", "", "12.5"),
        CountEntry("f0", False, "", "", "", ""),  # an empty found line
        CountEntry("f1", False, "AZ-SII", "K9", "2021-12-31", "-4"),
    ]
    moment = datetime(2021, 5, 10, 20, 59, 59, tzinfo=UTC)
    rows = count_rows(entries, node="KEN-NS", moment=moment, sheet="count-x", remark=" found ")
    assert [line for line, _ in rows] == [1, 2, 3]
    assert [r["id"] for _, r in rows] == ["count-x-1", "count-x-2", "count-x-3"]
    assert [r["quantity"] for _, r in rows] == [23_500, "12.5", -4]
    assert [r["lot"] for _, r in rows] == ["K1", "K3", "K9"]
    assert [r["expiry"] for _, r in rows] == ["2021-07-31", None, "2021-12-31"]
    assert {r["type"] for _, r in rows} == {"physical-count"}
    assert {r["occurred_at"] for _, r in rows} == {moment.isoformat()}
    assert {r["reason"] for _, r in rows} == {"found"}
    no_remark = count_rows(entries[:1], node="KEN-NS", moment=moment, sheet="s", remark="  ")
    assert "reason" not in no_remark[0][1]


def test_each_count_comes_with_the_correction_recorded_for_it() -> None:
    short = replace(counted("c1", 4, 90), remark="broken vials")
    agreed = counted("c2", 4, 50)
    correction = Adjustment(
        event_id="c1/discrepancy",
        occurred_at=day(4),
        recorded_by="me",
        node="PRK-NS",
        lot=short.lot,
        quantity=-10,
        reason=AdjustmentReason.COUNT_CORRECTION,
        caused_by="c1",
    )
    recorded = {"c1": short, "c2": agreed, "c1/discrepancy": correction}
    first, second = count_results(["c1", "c2", "missing"], recorded)
    assert (first.counted, first.ledger, first.adjustment) == (90, 100, -10)
    assert (first.adjustment_id, first.remark) == ("c1/discrepancy", "broken vials")
    assert (second.counted, second.ledger, second.adjustment, second.adjustment_id) == (
        50,
        50,
        0,
        None,
    )
