"""One test per LEDGER_ error code: the code, the message and the value it names."""

from __future__ import annotations

from pathlib import Path

import pytest

from doseflow.cli.app import run
from doseflow.domain.errors import DoseflowError
from doseflow.domain.events import (
    Adjustment,
    AdjustmentReason,
    Administration,
    ReceiptOutcome,
    ShipmentPlanned,
    ShipmentReceived,
    Transfer,
)
from doseflow.domain.lot import Lot
from doseflow.ledger import shipments
from doseflow.ledger.book import Book
from doseflow.ledger.event_file import read_csv_text, read_events, read_json_text
from tests.ledger.factory import (
    BY,
    LOT_A,
    counted,
    day,
    dispatched,
    issue,
    planned,
    received,
    reversal,
)


def _book() -> Book:
    book = Book(sources=frozenset({"SII"}))
    book.append([dispatched("d1", 2, 100, to="PRK-NS"), received("r1", 3, 100)])
    return book


def test_bad_lot() -> None:
    with pytest.raises(DoseflowError) as exc:
        Lot("AZ-SII", "")
    assert exc.value.code == "LEDGER_BAD_LOT"
    assert "lot number" in str(exc.value)
    assert exc.value.detail.value == "AZ-SII/"


def test_bad_vvm_stage() -> None:
    with pytest.raises(DoseflowError) as exc:
        Lot("AZ-SII", "A1", vvm_stage=5)
    assert exc.value.code == "LEDGER_BAD_VVM_STAGE"
    assert "vial monitor" in str(exc.value)
    assert exc.value.detail.value == 5


def test_bad_quantity() -> None:
    with pytest.raises(DoseflowError) as exc:
        Administration(
            event_id="x", occurred_at=day(1), recorded_by=BY, node="N", lot=LOT_A, quantity=0
        )
    assert exc.value.code == "LEDGER_BAD_QUANTITY"
    assert "quantity must be a whole number" in str(exc.value)
    assert exc.value.detail.value == 0


def test_missing_field() -> None:
    with pytest.raises(DoseflowError) as exc:
        Administration(
            event_id="x", occurred_at=day(1), recorded_by="", node="N", lot=LOT_A, quantity=1
        )
    assert exc.value.code == "LEDGER_MISSING_FIELD"
    assert "needs 'recorded_by'" in str(exc.value)
    assert exc.value.detail.location.field == "recorded_by"


def test_bad_route() -> None:
    with pytest.raises(DoseflowError) as exc:
        ShipmentPlanned(
            event_id="p",
            occurred_at=day(1),
            recorded_by=BY,
            shipment_id="S",
            origin="A",
            destination="C",
            product="P",
            quantity=10,
            route=("A", "B"),
        )
    assert exc.value.code == "LEDGER_BAD_ROUTE"
    assert "route must start at the origin" in str(exc.value)
    assert exc.value.detail.value == "A > B"


def test_bad_receipt() -> None:
    with pytest.raises(DoseflowError) as exc:
        ShipmentReceived(
            event_id="r",
            occurred_at=day(1),
            recorded_by=BY,
            shipment_id="S",
            node="N",
            lot=LOT_A,
            quantity=5,
            discrepancy=3,
            outcome=ReceiptOutcome.DIFFERENT_QUANTITY,
        )
    assert exc.value.code == "LEDGER_BAD_RECEIPT"
    assert "needs a reason" in str(exc.value)
    assert "discrepancy=3" in str(exc.value.detail.value)


def test_same_node() -> None:
    with pytest.raises(DoseflowError) as exc:
        Transfer(
            event_id="t",
            occurred_at=day(1),
            recorded_by=BY,
            node="A",
            to_node="A",
            lot=LOT_A,
            quantity=1,
        )
    assert exc.value.code == "LEDGER_SAME_NODE"
    assert "must go to another node" in str(exc.value)
    assert exc.value.detail.value == "A"


def test_bad_adjustment() -> None:
    with pytest.raises(DoseflowError) as exc:
        Adjustment(
            event_id="a",
            occurred_at=day(1),
            recorded_by=BY,
            node="A",
            lot=LOT_A,
            quantity=5,
            reason=AdjustmentReason.EXPIRED,
        )
    assert exc.value.code == "LEDGER_BAD_ADJUSTMENT"
    assert "'expired' cannot change stock by 5" in str(exc.value)
    assert exc.value.detail.value == 5


def test_idempotency_conflict_within_a_batch() -> None:
    with pytest.raises(DoseflowError) as exc:
        _book().append([issue("i1", 5, 1), issue("i1", 5, 2)])
    assert exc.value.code == "LEDGER_IDEMPOTENCY_CONFLICT"
    assert "appears twice in the batch" in str(exc.value)
    assert exc.value.detail.value == "i1"


def test_unknown_event() -> None:
    with pytest.raises(DoseflowError) as exc:
        _book().append([reversal("v", 5, "nothing")])
    assert exc.value.code == "LEDGER_UNKNOWN_EVENT"
    assert "no event 'nothing' to reverse" in str(exc.value)
    assert exc.value.detail.value == "nothing"


def test_not_reversible() -> None:
    book = _book()
    book.append([counted("c1", 5, 90)])
    with pytest.raises(DoseflowError) as exc:
        book.append([reversal("v", 6, "c1")])
    assert exc.value.code == "LEDGER_NOT_REVERSIBLE"
    assert "reverse its adjustment 'c1/discrepancy' instead" in str(exc.value)
    assert exc.value.detail.value == "c1"


def test_already_reversed() -> None:
    book = _book()
    with pytest.raises(DoseflowError) as exc:
        book.append([issue("i1", 5, 1), reversal("v1", 6, "i1"), reversal("v2", 7, "i1")])
    assert exc.value.code == "LEDGER_ALREADY_REVERSED"
    assert "has already been reversed" in str(exc.value)
    assert exc.value.detail.value == "i1"


def test_negative_balance_names_node_lot_date_and_shortfall() -> None:
    with pytest.raises(DoseflowError) as exc:
        _book().append([issue("i1", 5, 130)])
    assert exc.value.code == "LEDGER_NEGATIVE_BALANCE"
    detail = exc.value.detail
    assert detail.message == (
        "event i1 would take 130 doses of AZ-SII lot A1 out of PRK-NS on 2021-01-05 "
        "12:00:00 UTC, which holds only 100 at that moment (30 short)"
    )
    assert detail.expected == "at most 100 doses"
    assert detail.value == 130
    assert "fewer" not in str(exc.value)


def test_negative_balance_caused_by_a_backdated_event_names_both_events() -> None:
    book = _book()
    book.append([issue("i1", 6, 90)])
    with pytest.raises(DoseflowError) as exc:
        book.append([issue("i0", 4, 20)])  # leaves 80 on day 4, then i1 takes 90 on day 6
    detail = exc.value.detail
    assert detail.code == "LEDGER_NEGATIVE_BALANCE"
    assert detail.message == (
        "event i0 would leave too few doses of AZ-SII lot A1 at PRK-NS for event i1 on "
        "2021-01-06 12:00:00 UTC: i1 takes 90 doses out of PRK-NS, which would then hold "
        "only 80 (10 short)"
    )
    assert detail.expected == "at most 80 doses taken out at that moment"
    assert detail.value == 90


def test_row_invalid(tmp_path: Path) -> None:
    text = (
        "id,type,occurred_at,recorded_by,node,product,lot,quantity\n"
        "x1,administration,2021-01-05,me,N,P,L,many\n"
    )
    with pytest.raises(DoseflowError) as exc:
        read_csv_text(text, "events.csv")
    assert exc.value.code == "LEDGER_ROW_INVALID"
    assert exc.value.detail.location.line == 2
    assert exc.value.detail.location.field == "quantity"
    assert exc.value.detail.value == "many"
    assert "events.csv:2" in str(exc.value)


def test_missing_field_in_a_file_names_the_row() -> None:
    with pytest.raises(DoseflowError) as exc:
        read_json_text(
            '[{"id": "x", "type": "administration", "occurred_at": "2021-01-05", '
            '"recorded_by": "me", "product": "P", "lot": "L", "quantity": 1}]',
            "e.json",
        )
    assert exc.value.code == "LEDGER_MISSING_FIELD"
    assert exc.value.detail.location.line == 1
    assert exc.value.detail.location.field == "node"


def test_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "events.txt"
    path.write_text("x")
    with pytest.raises(DoseflowError) as exc:
        read_events(path)
    assert exc.value.code == "LEDGER_BAD_FILE"
    assert "unknown event file type" in str(exc.value)
    assert exc.value.detail.value == ".txt"


def test_unknown_shipment() -> None:
    with pytest.raises(DoseflowError) as exc:
        shipments.arrive([], "S9", day(3), BY)
    assert exc.value.code == "LEDGER_UNKNOWN_SHIPMENT"
    assert "no planned shipment 'S9'" in str(exc.value)
    assert exc.value.detail.value == "S9"


def test_shipment_step_out_of_order() -> None:
    with pytest.raises(DoseflowError) as exc:
        shipments.receive([planned("p1", 1, 100)], "S1", day(3), BY)
    assert exc.value.code == "LEDGER_SHIPMENT_STEP"
    assert "cannot be received now" in str(exc.value)
    assert exc.value.detail.value == "S1"


def test_bad_date_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["ledger", "stock", "--at", "30/06/2021", "--db", str(tmp_path / "x.sqlite")])
    assert code == 2
    err = capsys.readouterr().err
    assert "LEDGER_BAD_DATE" in err
    assert "30/06/2021" in err


def test_a_json_file_nested_beyond_reason_is_refused_not_crashed() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(DoseflowError) as exc:
        read_json_text(deep, "e.json")
    assert exc.value.code == "LEDGER_BAD_FILE"
    assert "nested too deep" in exc.value.detail.message
