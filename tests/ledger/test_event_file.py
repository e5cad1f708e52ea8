"""Event files: every kind round-trips through CSV and JSON; bad rows are all reported."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.domain.events import AdjustmentReason, LedgerEvent
from doseflow.ledger.event_file import read_csv_text, read_events, read_json_text, write_events
from tests.ledger.factory import (
    LOT_B,
    adjusted,
    administered,
    arrived,
    counted,
    dispatched,
    held,
    issue,
    onward,
    planned,
    received,
    reversal,
    transfer,
)

ALL_KINDS: list[LedgerEvent] = [
    planned("p1", 1, 1000),
    dispatched("d1", 2, 1000),
    arrived("a1", 10, 1000),
    held("h1", 11),
    onward("o1", 20, 1000),
    received("r1", 25, 990, damaged=10),
    issue("i1", 26, 100),
    transfer("t1", 27, 10),
    administered("x1", 28, 5),
    adjusted("w1", 29, -3, AdjustmentReason.OPEN_VIAL_WASTAGE),
    counted("c1", 30, 870),
    replace(counted("c2", 30, 870, lot=LOT_B), remark="quarterly count, K9 found"),
    reversal("v1", 31, "x1"),
]


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_every_kind_round_trips(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"events{suffix}"
    write_events(path, ALL_KINDS)
    back = read_events(path)
    assert [e.kind for e in back] == [e.kind for e in ALL_KINDS]
    for original, read in zip(ALL_KINDS, back, strict=True):
        assert read.same_content(original), read.differences(original)


def test_every_bad_row_is_reported_together() -> None:
    text = (
        "id,type,occurred_at,recorded_by,node,to_node,product,lot,quantity\n"
        "x1,issue,2021-01-05,me,A,B,P,L,10\n"
        "x2,teleport,2021-01-05,me,A,B,P,L,10\n"
        "x3,issue,yesterday,me,A,B,P,L,10\n"
    )
    with pytest.raises(DoseflowError) as exc:
        read_csv_text(text, "events.csv")
    where = [(d.location.line, d.location.field) for d in exc.value.details]
    assert where == [(3, "type"), (4, "occurred_at")]
    assert "administration" in (exc.value.details[0].expected or "")


def test_unknown_column_is_refused() -> None:
    text = (
        "id,type,occurred_at,recorded_by,node,product,lot,quantity,colour\n"
        "x,administration,2021-01-05,me,A,P,L,1,red\n"
    )
    with pytest.raises(DoseflowError) as exc:
        read_csv_text(text, "e.csv")
    assert exc.value.detail.location.field == "colour"
    assert exc.value.code == "LEDGER_ROW_INVALID"


_CSV_HEAD = "id,type,occurred_at,recorded_by,node,product,lot,quantity,reason\n"


def _json_row(**changes: object) -> str:
    row: dict[str, object] = {
        "id": "f1",
        "type": "adjustment",
        "occurred_at": "2021-05-12T10:00:00Z",
        "recorded_by": "tester",
        "node": "NS",
        "product": "AZ",
        "lot": "L1",
        "quantity": 12,
        "reason": "found",
    }
    row.update(changes)
    return json.dumps([row])


def test_a_number_in_a_csv_cell_is_a_number() -> None:
    text = _CSV_HEAD + "f1,adjustment,2021-05-12T10:00:00Z,t,NS,AZ,L1, 12 ,found\n"
    (event,) = read_csv_text(text, "e.csv")
    assert getattr(event, "quantity") == 12  # noqa: B009


@pytest.mark.parametrize("quantity", ["12", True, 12.0, 10**31, 2**64])
def test_a_quantity_in_json_must_be_a_whole_json_number_in_range(quantity: object) -> None:
    with pytest.raises(DoseflowError) as caught:
        read_json_text(_json_row(quantity=quantity), "e.json")
    detail = caught.value.detail
    assert (detail.code, detail.location.field, detail.location.line) == (
        "LEDGER_ROW_INVALID",
        "quantity",
        1,
    )
    assert detail.expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("true", "a whole number"),
        ("12.5", "a whole number"),
        ("10000000000000000000000000000000", "a whole number of at most 1,000,000,000,000"),
    ],
)
def test_a_csv_quantity_must_be_a_whole_number_in_range(cell: str, expected: str) -> None:
    text = _CSV_HEAD + f"f1,adjustment,2021-05-12T10:00:00Z,t,NS,AZ,L1,{cell},found\n"
    with pytest.raises(DoseflowError) as caught:
        read_csv_text(text, "e.csv")
    assert caught.value.detail.location.line == 2
    assert (caught.value.detail.expected or "").startswith(expected)


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z"])
def test_event_dates_outside_the_era_are_refused_in_csv(moment: str) -> None:
    text = _CSV_HEAD + f"f1,adjustment,{moment},t,NS,AZ,L1,12,found\n"
    with pytest.raises(DoseflowError) as caught:
        read_csv_text(text, "e.csv")
    assert caught.value.detail.location.field == "occurred_at"
    assert caught.value.detail.expected == "a date from 2000-01-01 to 2099-12-31"


def test_who_recorded_an_event_in_a_file_is_one_line_of_at_most_100_characters() -> None:
    read_json_text(_json_row(recorded_by="u" * 100), "e.json")
    for bad in ("u" * 101, "moh\x00minister"):
        with pytest.raises(DoseflowError) as caught:
            read_json_text(_json_row(recorded_by=bad), "e.json")
        detail = caught.value.detail
        assert (detail.code, detail.location.field) == ("LEDGER_ROW_INVALID", "recorded_by")
