"""The ledger store on both backends: the guarantees of issue 3, one by one."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select

from doseflow.domain.errors import DoseflowError
from doseflow.domain.events import (
    AdjustmentReason,
    DiscrepancyReason,
    EventKind,
    ReceiptOutcome,
    ShipmentReceived,
)
from doseflow.domain.lot import Lot
from doseflow.ledger.accounts import AccountState
from doseflow.store import ledger_tables as t
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from tests.ledger.factory import (
    LOT_A,
    LOT_B,
    NODES,
    adjusted,
    administered,
    arrived,
    counted,
    day,
    dispatched,
    held,
    issue,
    onward,
    planned,
    received,
    reversal,
    transfer,
)


@pytest.fixture
def ledger(db_url: str) -> LedgerStore:
    store = LedgerStore(open_database(db_url))
    store.register_nodes(NODES)
    return store


def _through_dalian(store: LedgerStore) -> None:
    store.append_events(
        [
            planned("p1", 1, 1000),
            dispatched("d1", 2, 1000),
            arrived("a1", 10, 1000),
            held("h1", 11),
            onward("o1", 20, 1000),
            received("r1", 25, 990, damaged=10),
        ]
    )


def test_shipment_through_hub_ends_in_stock_with_damage_written_off(ledger: LedgerStore) -> None:
    _through_dalian(ledger)
    assert ledger.stock_total("PRK-NS", "AZ-SII") == 990
    assert ledger.stock_total("DLC", "AZ-SII", at=date(2021, 1, 15)) == 1000
    assert ledger.stock_total("DLC", "AZ-SII") == 0
    assert [x.doses for x in ledger.in_transit(at=date(2021, 1, 5))] == [1000]
    assert ledger.in_transit() == []
    report = ledger.self_check()
    assert report.ok, report.repairs
    assert report.entered == 1000
    assert report.totals[AccountState.WRITTEN_OFF] == 10
    status = ledger.shipments(["S1"])[0]
    assert (status.state, status.received_doses, status.written_off_doses) == ("received", 990, 10)


def test_held_at_hub_lists_the_shipment(ledger: LedgerStore) -> None:
    ledger.append_events(
        [planned("p1", 1, 500), dispatched("d1", 2, 500), arrived("a1", 10, 500), held("h1", 11)]
    )
    holdings = ledger.held_at_hubs()
    assert [(h.hub, h.doses) for h in holdings] == [("DLC", 500)]
    assert [s.shipment_id for s in holdings[0].held] == ["S1"]
    transit = ledger.in_transit(at=date(2021, 1, 5))
    assert transit[0].origin == "SII"
    assert transit[0].expected_arrival == date(2021, 3, 1)


def test_backdated_issue_that_would_go_negative_in_the_past_is_refused(ledger: LedgerStore) -> None:
    _through_dalian(ledger)
    # stock arrived on day 25; an issue dated day 22 finds nothing there yet
    with pytest.raises(DoseflowError) as exc:
        ledger.append_events([issue("i0", 22, 10)])
    assert exc.value.code == "LEDGER_NEGATIVE_BALANCE"
    assert "PRK-NS" in str(exc.value)
    assert "2021-01-22" in str(exc.value)
    assert "event i0 would take 10 doses" in str(exc.value)
    assert exc.value.detail.value == 10
    assert ledger.event_count() == 6


def test_backdated_event_that_breaks_a_later_balance_is_refused(ledger: LedgerStore) -> None:
    _through_dalian(ledger)
    ledger.append_events([issue("i1", 30, 900)])
    # 990 - 900 = 90 left after day 30; a back-dated issue of 100 on day 26 is fine on day 26
    # (990 -> 890) but leaves day 30 at -10
    with pytest.raises(DoseflowError) as exc:
        ledger.append_events([issue("i0", 26, 100)])
    assert exc.value.detail.message == (
        "event i0 would leave too few doses of AZ-SII lot A1 at PRK-NS for event i1 on "
        "2021-01-30 12:00:00 UTC: i1 takes 900 doses out of PRK-NS, which would then hold "
        "only 890 (10 short)"
    )
    assert exc.value.detail.expected == "at most 890 doses taken out at that moment"
    assert exc.value.detail.value == 900
    ledger.append_events([issue("i0", 26, 90)])  # allowed: every balance stays >= 0
    assert ledger.stock_total("PRK-NS", "AZ-SII") == 0
    assert ledger.stock_total("PRK-NS", "AZ-SII", at=date(2021, 1, 27)) == 900
    assert ledger.self_check().ok


def test_idempotent_resend_and_conflict(ledger: LedgerStore) -> None:
    _through_dalian(ledger)
    again = ledger.append_events([received("r1", 25, 990, damaged=10), issue("i1", 30, 5)])
    assert again.skipped == ("r1",)
    assert again.appended == ("i1",)
    with pytest.raises(DoseflowError) as exc:
        ledger.append_events([issue("i1", 30, 6)])
    assert exc.value.code == "LEDGER_IDEMPOTENCY_CONFLICT"
    assert "quantity" in str(exc.value)
    assert exc.value.detail.value == "i1"
    assert ledger.stock_total("PRK-NS", "AZ-SII") == 985


def test_batch_is_all_or_nothing(ledger: LedgerStore) -> None:
    _through_dalian(ledger)
    before = ledger.event_count()
    with pytest.raises(DoseflowError):
        ledger.append_events([issue("i1", 30, 500), issue("i2", 31, 500)])
    assert ledger.event_count() == before
    assert ledger.stock_total("PRK-NS", "AZ-SII") == 990
    assert ledger.stock_total("PRK-R1", "AZ-SII") == 0


def test_reversal_undoes_at_the_original_moment(ledger: LedgerStore) -> None:
    _through_dalian(ledger)
    ledger.append_events([issue("i1", 30, 100), administered("x1", 31, 40)])
    with pytest.raises(DoseflowError) as exc:
        ledger.append_events([reversal("rv1", 40, "i1")])  # 40 of them were given already
    assert exc.value.code == "LEDGER_NEGATIVE_BALANCE"
    ledger.append_events([reversal("rv0", 40, "x1"), reversal("rv1", 41, "i1")])
    assert ledger.stock_total("PRK-NS", "AZ-SII") == 990
    assert ledger.stock_total("PRK-NS", "AZ-SII", at=date(2021, 1, 31)) == 990
    with pytest.raises(DoseflowError) as exc:
        ledger.append_events([reversal("rv2", 42, "i1")])
    assert exc.value.code == "LEDGER_ALREADY_REVERSED"
    with pytest.raises(DoseflowError) as exc:
        ledger.append_events([reversal("rv3", 42, "nope")])
    assert exc.value.code == "LEDGER_UNKNOWN_EVENT"
    with pytest.raises(DoseflowError) as exc:
        ledger.append_events([reversal("rv4", 42, "rv1")])
    assert exc.value.code == "LEDGER_NOT_REVERSIBLE"
    assert ledger.self_check().ok


def test_physical_count_produces_the_discrepancy_adjustment(ledger: LedgerStore) -> None:
    _through_dalian(ledger)
    result = ledger.append_events([counted("c1", 30, 980), counted("c2", 31, 980)])
    assert result.derived == ("c1/discrepancy",)
    card = ledger.stock_card("PRK-NS", "AZ-SII")
    assert [(line.event_id, line.doses_out, line.balance) for line in card.lines][-1] == (
        "c1/discrepancy",
        10,
        980,
    )
    assert card.lines[-1].counterpart == AdjustmentReason.COUNT_CORRECTION.value
    report = ledger.self_check()
    assert report.ok
    assert report.totals[AccountState.WRITTEN_OFF] == 20


def test_count_above_the_ledger_brings_doses_in(ledger: LedgerStore) -> None:
    _through_dalian(ledger)
    ledger.append_events([counted("c1", 30, 1000)])
    assert ledger.stock_total("PRK-NS", "AZ-SII") == 1000
    assert ledger.self_check().entered == 1010


def test_stock_card_running_balances_across_lots(ledger: LedgerStore) -> None:
    _through_dalian(ledger)
    ledger.append_events(
        [
            dispatched("d2", 26, 300, shipment="S2", lot=LOT_B, to="PRK-NS"),
            received("r2", 28, 300, shipment="S2", lot=LOT_B),
            issue("i1", 30, 200, lot=LOT_B),
            adjusted("w1", 31, -5, AdjustmentReason.BROKEN),
        ]
    )
    card = ledger.stock_card("PRK-NS", "AZ-SII", start=date(2021, 1, 26))
    assert card.opening == 990
    assert [(x.event_id, x.lot_balance, x.balance) for x in card.lines] == [
        ("r2", 300, 1290),
        ("i1", 100, 1090),
        ("w1", 985, 1085),
    ]
    assert card.closing == 1085
    assert card.unit.value == "dose"
    assert card.lines[1].counterpart == "PRK-R1"
    suggestion = ledger.fefo("PRK-NS", "AZ-SII", 150, today=date(2021, 2, 1))
    assert [(p.lot, p.doses) for p in suggestion.picks] == [("B2", 100), ("A1", 50)]
    expiring = ledger.expiring(180, today=date(2021, 6, 1), node="PRK-NS")
    assert [(x.lot, x.days_left) for x in expiring] == [("B2", 60), ("A1", 121)]


def test_unknown_node_and_lot_conflict(ledger: LedgerStore) -> None:
    with pytest.raises(DoseflowError) as exc:
        ledger.append_events([issue("i1", 3, 1, to="NOWHERE")])
    assert exc.value.code == "LEDGER_UNKNOWN_NODE"
    assert exc.value.detail.value == "NOWHERE"
    _through_dalian(ledger)
    other = Lot("AZ-SII", "A1", date(2022, 1, 1))
    with pytest.raises(DoseflowError) as exc:
        ledger.append_events([issue("i1", 30, 1, lot=other)])
    assert exc.value.code == "LEDGER_LOT_CONFLICT"
    assert exc.value.detail.value == "2022-01-01"


def test_self_check_reports_a_tampered_projection_and_repairs_it(ledger: LedgerStore) -> None:
    _through_dalian(ledger)
    ledger.append_events([issue("i1", 30, 100), transfer("t1", 31, 50)])
    with ledger.engine.begin() as conn:
        conn.execute(
            t.accounts.update()
            .where(t.accounts.c.node == "PRK-R2", t.accounts.c.state == "stock")
            .values(balance=t.accounts.c.balance + 7)
        )
    report = ledger.self_check()
    assert not report.ok
    assert [(d.account.node, d.replayed, d.stored) for d in report.differences] == [
        ("PRK-R2", 50, 57)
    ]
    assert any("rebuild the projections" in r for r in report.repairs)
    fixed = ledger.rebuild_projections()
    assert fixed.ok
    assert ledger.stock_total("PRK-R2", "AZ-SII") == 50
    ledger.append_events([administered("x1", 32, 50, node="PRK-R2")])
    assert ledger.stock_total("PRK-R2", "AZ-SII") == 0


def test_ledger_tables_are_append_only_in_normal_use(ledger: LedgerStore) -> None:
    _through_dalian(ledger)
    with ledger.engine.connect() as conn:
        kinds = [k for (k,) in conn.execute(select(t.events.c.kind).order_by(t.events.c.seq))]
        audit = conn.execute(select(func.min(t.events.c.recorded_at), func.count())).one()
    assert kinds[0] == EventKind.SHIPMENT_PLANNED.value
    assert len(kinds) == 6
    assert audit[0] > day(1).timestamp()
    assert audit[1] == 6
    exported = list(ledger.events())
    assert [e.event_id for e in exported] == ["p1", "d1", "a1", "h1", "o1", "r1"]
    assert exported[-1].recorded_by == "tester"
    assert exported[-1].recorded_at is not None


def test_stock_card_shows_a_receipts_shortfall_against_the_dispatch(ledger: LedgerStore) -> None:
    """A receipt 2,400 doses short of its dispatch shows as such on the card, with the
    shipment it came on, not only as +69,600 (issue 15)."""
    ledger.append_events(
        [
            dispatched("d1", 2, 72_000, to="PRK-NS"),
            ShipmentReceived(
                event_id="r1",
                occurred_at=day(5),
                recorded_by="me",
                shipment_id="S1",
                node="PRK-NS",
                lot=LOT_A,
                quantity=69_600,
                discrepancy=2_400,
                outcome=ReceiptOutcome.DIFFERENT_QUANTITY,
                reason=DiscrepancyReason.SHORT,
            ),
            dispatched("d2", 6, 100, shipment="S2", to="PRK-NS"),
            received("r2", 7, 100, shipment="S2"),
        ]
    )
    card = ledger.stock_card("PRK-NS", "AZ-SII")
    r1, r2 = card.lines
    assert (r1.event_id, r1.doses_in, r1.balance) == ("r1", 69_600, 69_600)
    assert r1.discrepancy is not None
    assert (r1.discrepancy.doses, r1.discrepancy.dispatched) == (2_400, 72_000)
    assert (r1.discrepancy.reason, r1.discrepancy.document) == ("short", "shipment S1")
    assert r1.discrepancy.text == "2,400 doses short against 72,000 dispatched on shipment S1"
    assert r2.discrepancy is None


def _rejected(eid: str, d: int, doses: int, shipment: str = "S1") -> ShipmentReceived:
    """A receipt that accepted nothing: every dispatched dose lost to a cold-chain break."""
    return ShipmentReceived(
        event_id=eid,
        occurred_at=day(d),
        recorded_by="me",
        shipment_id=shipment,
        node="PRK-NS",
        lot=LOT_A,
        quantity=0,
        discrepancy=doses,
        outcome=ReceiptOutcome.REJECTED,
        reason=DiscrepancyReason.TEMPERATURE_EXCURSION,
    )


def test_stock_card_shows_a_rejected_receipt_as_its_own_discrepancy(ledger: LedgerStore) -> None:
    """A receipt rejected whole moves no stock, yet the card shows it, in its place between
    the movements, with the doses rejected against the dispatch (issue 15); a rejection
    later reversed is gone from the card."""
    ledger.append_events(
        [
            dispatched("d0", 1, 100, shipment="S0", to="PRK-NS"),
            received("r0", 2, 100, shipment="S0"),
            dispatched("d1", 3, 72_000, to="PRK-NS"),
            _rejected("r1", 5, 72_000),
            administered("x1", 6, 40, node="PRK-NS"),
            dispatched("d2", 7, 10, shipment="S2", to="PRK-NS"),
            _rejected("r2", 8, 10, shipment="S2"),
            reversal("v2", 9, "r2"),
        ]
    )
    card = ledger.stock_card("PRK-NS", "AZ-SII")
    assert [x.event_id for x in card.lines] == ["r0", "r1", "x1"]
    rejected = card.lines[1]
    assert (rejected.doses_in, rejected.doses_out) == (0, 0)
    assert (rejected.lot, rejected.lot_balance, rejected.balance) == ("A1", 100, 100)
    assert rejected.counterpart == "shipment S1"
    assert rejected.discrepancy is not None
    assert (rejected.discrepancy.doses, rejected.discrepancy.dispatched) == (72_000, 72_000)
    assert rejected.discrepancy.text == (
        "72,000 doses rejected (temperature excursion) against 72,000 dispatched on shipment S1"
    )
    # paged, the rejected line keeps its place and the balance carries over
    page, total = ledger.stock_card_page("PRK-NS", "AZ-SII", limit=1, offset=1)
    assert total == 3
    assert [x.event_id for x in page.lines] == ["r1"]
    assert (page.opening, page.lines[0].lot_balance) == (100, 100)
    # a window starting after the rejection leaves it out; one around it keeps it
    later = ledger.stock_card("PRK-NS", "AZ-SII", start=date(2021, 1, 6))
    assert [x.event_id for x in later.lines] == ["x1"]
    assert [
        x.event_id
        for x in ledger.stock_card(
            "PRK-NS", "AZ-SII", start=date(2021, 1, 4), end=date(2021, 1, 5)
        ).lines
    ] == ["r1"]


def test_stock_card_of_a_lot_only_ever_rejected_shows_the_rejection(ledger: LedgerStore) -> None:
    """A node that never held the lot (every dose of it rejected) still has a card line."""
    ledger.append_events([dispatched("d1", 3, 500, to="PRK-NS"), _rejected("r1", 5, 500)])
    card = ledger.stock_card("PRK-NS", "AZ-SII", lot="A1")
    assert [(x.event_id, x.lot, x.balance) for x in card.lines] == [("r1", "A1", 0)]
    assert card.lines[0].discrepancy is not None
    assert card.lines[0].discrepancy.text.startswith("500 doses rejected")


def test_a_physical_count_keeps_its_remark(ledger: LedgerStore) -> None:
    """The counter's remark is stored with the count and read back (the dashboard's count
    form records one for every count of a sheet); the correction is found by its id."""
    ledger.append_events([dispatched("d1", 2, 100, to="PRK-NS"), received("r1", 3, 100)])
    count = replace(counted("c1", 4, 90), remark="quarterly count: 10 broken vials")
    result = ledger.append_events([count])
    assert result.derived == ("c1/discrepancy",)
    found = ledger.recorded(["c1", "c1/discrepancy", "nope"])
    assert set(found) == {"c1", "c1/discrepancy"}
    assert found["c1"].same_content(count)
    assert getattr(found["c1"], "remark", None) == "quarterly count: 10 broken vials"
    assert getattr(found["c1/discrepancy"], "quantity", None) == -10
    # the same count sent again, remark and all, is a no-op; another remark is a conflict
    assert ledger.append_events([count]).skipped == ("c1",)
    with pytest.raises(DoseflowError) as refused:
        ledger.append_events([replace(count, remark="another story")])
    assert refused.value.code == "LEDGER_IDEMPOTENCY_CONFLICT"
