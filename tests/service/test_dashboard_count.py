"""The physical-count form (issue 15, stock pages): a logistics officer counts a node's lots
as of a day; the ledger records the counts through the same path as the API, all or nothing,
and the stock card then shows the correction."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from doseflow.domain.events import Administration
from doseflow.store.ledger import LedgerStore
from tests.service.conftest import Service, make_service
from tests.service.seed import K1, seed_ledger
from tests.service.test_dashboard_pages import browser_for, csrf_of
from tests.service.test_dashboard_tables import rows_of

COUNT = "/dashboard/stock/count"
#: A day still to come wherever a node is.
SOON = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()


@pytest.fixture
def seeded(fresh_sqlite: str) -> Iterator[Service]:
    """Kenya's store holds 24,000 doses of K1 from 6 May 2021 and gives 20,000 of them on
    20 May; Nigeria's 12,000 are in transit; Dubai holds 4,800 of K2."""
    for service in make_service(fresh_sqlite):
        ledger = seed_ledger(service.engine)
        ledger.append_events(
            [
                Administration(
                    event_id="x-ken-1",
                    occurred_at=datetime(2021, 5, 20, 9, tzinfo=UTC),
                    recorded_by="seed",
                    node="KEN-NS",
                    lot=K1,
                    quantity=20_000,
                )
            ]
        )
        yield service


def sheet_of(page: str) -> dict[str, str]:
    """The hidden and typed fields of the count sheet form, as a browser would send them."""
    form = page.split('id="count-sheet"', 1)[1].split("</form>", 1)[0]
    fields = {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form)
    }
    return fields


def open_sheet(client: TestClient, node: str, day: str) -> tuple[str, dict[str, str]]:
    page = client.get(COUNT, params={"node": node, "date": day})
    assert page.status_code == 200, page.text
    return page.text, sheet_of(page.text)


def post(client: TestClient, fields: dict[str, Any]) -> Any:
    return client.post(COUNT, data=fields)


def test_the_sheet_lists_each_lot_with_the_ledger_balance_of_the_count_day(
    seeded: Service,
) -> None:
    officer = browser_for(seeded, "logistics-officer")
    chooser = officer.get(COUNT)
    assert chooser.status_code == 200
    options = re.findall(r'<option value="([^"]+)"', chooser.text)
    assert options == ["DXB", "KEN-NS", "NGA-NS"]  # the supplier's stock is not counted
    page, fields = open_sheet(officer, "KEN-NS", "2021-05-10")
    rows = rows_of(page, "count-table")
    assert [r[:5] for r in rows] == [["AZ-SII", "K1", "2021-07-31", "1", "24,000"]]
    assert (fields["c0-product"], fields["c0-lot"]) == ("AZ-SII", "K1")
    assert (fields["count_date"], fields["node"]) == ("2021-05-10", "KEN-NS")
    assert re.fullmatch(r"count-[0-9a-f]{32}", fields["sheet"])
    assert '<label class="visually-hidden" for="c0-counted">' in page
    # after the 20,000 given on 20 May, 4,000; before the receipt, nothing
    later, _ = open_sheet(officer, "KEN-NS", "2021-05-25")
    assert [r[4] for r in rows_of(later, "count-table")] == ["4,000"]
    before, _ = open_sheet(officer, "KEN-NS", "2021-05-05")
    assert "The ledger holds no stock at KEN-NS on this day." in before
    # from the stock page and a stock card
    stock = officer.get("/dashboard/stock").text
    assert f'href="{COUNT}"' in stock
    card = officer.get("/dashboard/stock/card", params={"node": "KEN-NS", "product": "AZ-SII"})
    assert f'href="{COUNT}?node=KEN-NS"' in card.text


def test_saving_records_the_counts_and_the_card_shows_the_correction(seeded: Service) -> None:
    officer = browser_for(seeded, "logistics-officer")
    ledger = LedgerStore(seeded.engine)
    events_before = ledger.event_count()
    _, fields = open_sheet(officer, "KEN-NS", "2021-05-10")
    fields.update(
        {
            "c0-counted": "23500",
            "f0-product": "AZ-SII",
            "f0-lot": "K9",
            "f0-expiry": "2021-12-31",
            "f0-counted": "120",
            "remark": "quarterly count; K9 found behind the freezer",
            "recorded_by": "someone-else",  # not the form's to say: the session's user is
        }
    )
    saved = post(officer, fields)
    assert saved.status_code == 200, saved.text
    rows = rows_of(saved.text, "count-result-table")
    assert [r[:5] for r in rows] == [
        ["AZ-SII", "K1", "24,000", "23,500", "-500"],
        ["AZ-SII", "K9", "0", "120", "+120"],
    ]
    assert "quarterly count; K9 found behind the freezer" in saved.text
    # two counts and two corrections, through the ledger's own path
    assert ledger.event_count() == events_before + 4
    may_10 = datetime(2021, 5, 11, tzinfo=UTC) - timedelta(hours=3)  # end of day in Nairobi
    assert ledger.stock_total("KEN-NS", "AZ-SII", at=may_10) == 23_500 + 120
    assert ledger.stock_total("KEN-NS", "AZ-SII") == 3_500 + 120
    counts = [e for e in ledger.events() if e.kind.value == "physical-count"]
    assert [getattr(e, "remark", None) for e in counts] == [fields["remark"]] * 2
    assert {e.recorded_by for e in counts} == {"logistics-officer"}
    # the stock card shows the correction in its place, as an adjustment out of stock
    card = officer.get("/dashboard/stock/card", params={"node": "KEN-NS", "product": "AZ-SII"})
    lines = rows_of(card.text, "card-table")
    kinds = [(r[1], r[2], r[3], r[5], r[6], r[8]) for r in lines]
    assert kinds == [
        ("received", "K1", "shipment S-KEN-1", "24,000", "", "24,000"),
        ("adjustment", "K1", "count-correction", "", "500", "23,500"),
        ("adjustment", "K9", "count-correction", "120", "", "23,620"),
        ("administration", "K1", "", "", "20,000", "3,620"),
    ]
    # the same sheet sent again records nothing more
    again = post(officer, fields)
    assert again.status_code == 200
    assert "already recorded" in again.text
    assert ledger.event_count() == events_before + 4


def test_a_count_that_agrees_records_no_correction(seeded: Service) -> None:
    officer = browser_for(seeded, "logistics-officer")
    _, fields = open_sheet(officer, "KEN-NS", "2021-05-10")
    fields["c0-counted"] = "24000"
    saved = post(officer, fields)
    assert saved.status_code == 200, saved.text
    assert [r[:5] for r in rows_of(saved.text, "count-result-table")] == [
        ["AZ-SII", "K1", "24,000", "24,000", "agrees"]
    ]
    assert LedgerStore(seeded.engine).stock_total("KEN-NS", "AZ-SII") == 4_000


def _refused(client: TestClient, fields: dict[str, str], field: str, code: str) -> str:
    answer = post(client, fields)
    assert answer.status_code == 422, answer.text
    assert "Nothing was recorded" in answer.text
    errors = answer.text.split(f'id="{field}-error"', 1)
    assert len(errors) == 2, f"no error next to {field}"
    assert code in errors[1].split("</ul>", 1)[0]
    assert re.search(rf'id="{re.escape(field)}"[^>]*aria-invalid="true"', answer.text) or (
        re.search(rf'aria-invalid="true"[^>]*id="{re.escape(field)}"', answer.text)
    )
    return answer.text


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"c0-counted": "-5"}, "c0-counted", "LEDGER_BAD_QUANTITY"),
        ({"c0-counted": "12.5"}, "c0-counted", "LEDGER_ROW_INVALID"),
        ({"c0-counted": "many"}, "c0-counted", "LEDGER_ROW_INVALID"),
        (
            {"c0-counted": "1", "count_date": SOON},
            "count_date",
            "LEDGER_OCCURRED_OUT_OF_RANGE",
        ),
        ({"c0-counted": "1", "count_date": "10 May"}, "count_date", "SERVICE_BAD_FORM"),
        # counted 10,000 on 10 May: too few for the 20,000 given on 20 May
        ({"c0-counted": "10000"}, "c0-counted", "LEDGER_NEGATIVE_BALANCE"),
        ({"c0-counted": "1", "node": "NOWHERE"}, "node", "LEDGER_UNKNOWN_NODE"),
        ({"c0-counted": "1", "node": "SII"}, "node", "LEDGER_UNKNOWN_NODE"),
        # a found lot with a count but no lot number; one with another expiry than K1's
        ({"f0-product": "AZ-SII", "f0-counted": "5"}, "f0-lot", "LEDGER_MISSING_FIELD"),
        (
            {"f0-product": "AZ-SII", "f0-lot": "K1", "f0-expiry": "2022-01-01", "f0-counted": "5"},
            "f0-expiry",
            "LEDGER_LOT_CONFLICT",
        ),
        ({}, "c0-counted", "SERVICE_BAD_FORM"),
    ],
)
def test_refusals_sit_next_to_their_field_and_nothing_is_written(
    seeded: Service, changes: dict[str, str], field: str, code: str
) -> None:
    officer = browser_for(seeded, "logistics-officer")
    ledger = LedgerStore(seeded.engine)
    before = ledger.event_count()
    _, fields = open_sheet(officer, "KEN-NS", "2021-05-10")
    fields["c1-counted"] = ""  # an empty line is left out, not refused
    page = _refused(officer, {**fields, **changes}, field, code)
    assert ledger.event_count() == before
    assert ledger.stock_total("KEN-NS", "AZ-SII") == 4_000
    # what was typed is still there to correct
    for name, value in changes.items():
        if name.endswith("-counted") and value and field != "node":
            assert f'value="{value}"' in page


def test_the_form_needs_its_token(seeded: Service) -> None:
    officer = browser_for(seeded, "logistics-officer")
    before = LedgerStore(seeded.engine).event_count()
    _, fields = open_sheet(officer, "KEN-NS", "2021-05-10")
    fields["c0-counted"] = "1"
    for token in (None, "0" * 40):
        sent = {k: v for k, v in fields.items() if k != "csrf"}
        if token is not None:
            sent["csrf"] = token
        answer = post(officer, sent)
        assert answer.status_code in (400, 403, 422), answer.status_code
        assert "SERVICE_BAD_FORM" in answer.text
    assert LedgerStore(seeded.engine).event_count() == before


@pytest.mark.parametrize("actor", ["participant-KEN", "viewer", "allocation-analyst"])
def test_only_those_who_may_write_ledger_events_may_count(seeded: Service, actor: str) -> None:
    officer = browser_for(seeded, "logistics-officer")
    _, fields = open_sheet(officer, "KEN-NS", "2021-05-10")
    fields["c0-counted"] = "1"
    client = browser_for(seeded, actor)
    before = LedgerStore(seeded.engine).event_count()
    assert client.get(COUNT, params={"node": "KEN-NS"}).status_code == 403
    answer = post(client, {**fields, "csrf": csrf_of(client.get("/dashboard/stock").text)})
    assert answer.status_code == 403
    assert "SERVICE_FORBIDDEN" in answer.text
    assert LedgerStore(seeded.engine).event_count() == before
    # and the pages do not offer it
    assert f'href="{COUNT}' not in client.get("/dashboard/stock").text


def test_the_administrator_counts_too(seeded: Service) -> None:
    admin = browser_for(seeded, "administrator")
    _, fields = open_sheet(admin, "DXB", "2021-05-10")
    assert fields["c0-lot"] == "K2"
    fields["c0-counted"] = "4800"
    assert post(admin, fields).status_code == 200
