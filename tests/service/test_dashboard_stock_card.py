"""The dashboard's stock card shows a receipt rejected whole (0 doses accepted, e.g. after a
cold-chain break) as a discrepancy line, as it shows a partial shortfall (issue 15)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.service.conftest import Service, make_service
from tests.service.seed import receipt_row, seed_ledger
from tests.service.test_dashboard_pages import browser_for
from tests.service.test_dashboard_tables import csv_rows, rows_of


@pytest.fixture
def rejected(fresh_sqlite: str) -> Iterator[Service]:
    """The seeded ledger, with Nigeria's 12,000 doses of S-NGA-1 rejected on arrival."""
    for service in make_service(fresh_sqlite):
        seed_ledger(service.engine)
        row = receipt_row(
            quantity=0, discrepancy=12_000, outcome="rejected", reason="temperature-excursion"
        )
        posted = service.post("/api/ledger/events", "logistics-officer", json={"events": [row]})
        assert posted.status_code == 200, posted.text
        yield service


def test_the_card_shows_a_receipt_rejected_whole_as_a_discrepancy(rejected: Service) -> None:
    client = browser_for(rejected, "participant-NGA")
    params = {"node": "NGA-NS", "product": "AZ-SII"}
    page = client.get("/dashboard/stock/card", params=params)
    assert page.status_code == 200
    rows = rows_of(page.text, "card-table")
    assert [r[1] for r in rows] == ["received", "discrepancy"]
    receipt, gap = rows
    assert receipt[:5] == ["2021-05-12", "received", "N1", "shipment S-NGA-1", "S-NGA-1"]
    assert (receipt[5], receipt[6], receipt[8]) == ("", "", "0")
    assert gap[3] == (
        "12,000 doses rejected (temperature excursion) against 12,000 dispatched "
        "on shipment S-NGA-1"
    )
    assert (gap[7], gap[8]) == ("12,000", "")
    assert re.search(r'<tr class="discrepancy">', page.text)
    download = csv_rows(
        client.get("/dashboard/stock/card/download", params={**params, "format": "csv"}).text
    )
    assert [(r["Movement"], r["Short"]) for r in download] == [
        ("received", ""),
        ("discrepancy", "12000"),
    ]
