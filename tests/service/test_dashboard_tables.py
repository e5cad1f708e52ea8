"""Dashboard tables sort, filter and page on the server with their state in the address, and
download every matching row as CSV or Excel; a stock card per node x product x lot shows
each movement and a discrepancy line under a short receipt (issue 15, Dashboard)."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from openpyxl import load_workbook

from doseflow.domain.events import (
    DiscrepancyReason,
    ReceiptOutcome,
    ShipmentDispatched,
    ShipmentPlanned,
    ShipmentReceived,
)
from doseflow.domain.lot import Lot
from doseflow.domain.network import Node, NodeKind
from doseflow.reporting import Requirement, parse_period
from doseflow.reporting.periods import PeriodType
from doseflow.store.ledger import LedgerStore
from doseflow.store.reporting import save_requirements
from tests.service.conftest import Service, make_service
from tests.service.paging import LOTS, PRODUCTS, STORES, seed_many
from tests.service.test_dashboard_pages import browser_for
from tests.service.test_dashboard_paging import pager_links

LINES = STORES * PRODUCTS * LOTS  # 108 stock lines and 108 shipments


@pytest.fixture
def many(fresh_sqlite: str) -> Iterator[Service]:
    for service in make_service(fresh_sqlite):
        seed_many(service)
        yield service


def rows_of(page: str, table_id: str) -> list[list[str]]:
    """The cells' text of each body row of a table."""
    body = page.split(f'id="{table_id}"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def sort_link(page: str, table_id: str, label: str) -> tuple[str, str | None]:
    """The href of a column's header link, and the header's aria-sort."""
    head = page.split(f'id="{table_id}"', 1)[1].split("</thead>", 1)[0]
    for attrs, inner in re.findall(r"<th scope=\"col\"([^>]*)>(.*?)</th>", head, re.S):
        if re.sub(r"<[^>]+>", "", inner).replace("▲", "").replace("▼", "").strip() == label:
            href = re.search(r'href="([^"]+)"', inner)
            aria = re.search(r'aria-sort="(\w+)"', attrs)
            assert href is not None, f"{label} is not sortable"
            return html.unescape(href.group(1)), aria.group(1) if aria else None
    raise AssertionError(f"no column {label}")


def download_link(page: str, label: str, fmt: str) -> str:
    found = re.search(
        rf"Download every matching row of {label}:.*?<a href=\"([^\"]+)\" download>{fmt}</a>",
        page,
        re.S,
    )
    assert found is not None, f"no {fmt} download of {label}"
    return html.unescape(found.group(1))


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def xlsx_rows(content: bytes) -> list[dict[str, Any]]:
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    width = len(values[0])  # a row's empty cells at its end are not stored
    return [
        dict(zip(values[0], row + (None,) * (width - len(row)), strict=True)) for row in values[1:]
    ]


def test_page_size_bounds_the_rows_and_the_page_count(many: Service) -> None:
    admin = browser_for(many, "administrator")
    seen: list[str] = []
    link: str | None = "/dashboard/shipments?shipments_size=25"
    pages = 0
    while link is not None:
        page = admin.get(link).text
        rows = rows_of(page, "shipments-table")
        assert len(rows) <= 25
        seen += [r[0] for r in rows]
        link = pager_links(page, "all shipments").get("next")
        assert link is None or "shipments_size=25" in link  # the size stays in the address
        pages += 1
    assert pages == -(-LINES // 25) == 5
    assert len(seen) == len(set(seen)) == LINES


def test_sorting_a_column_orders_every_page_and_aria_sort_says_so(many: Service) -> None:
    admin = browser_for(many, "administrator")
    first = admin.get("/dashboard/stock", params={"stock_size": 50}).text
    href, aria = sort_link(first, "stock-table", "Doses")
    assert aria is None
    ascending = admin.get(href).text
    href_desc, aria = sort_link(ascending, "stock-table", "Doses")
    assert aria == "ascending"
    assert "stock_sort=doses" in href_desc
    assert "stock_dir=desc" in href_desc
    descending = admin.get(href_desc).text
    assert sort_link(descending, "stock-table", "Doses")[1] == "descending"
    doses = [int(r[5].replace(",", "")) for r in rows_of(descending, "stock-table")]
    assert len(doses) == 50
    assert doses == sorted(doses, reverse=True)
    assert doses[0] == 1000 + LOTS - 1  # the largest lot of the whole table, on page 1
    # the next page keeps the order and carries on below
    nxt = pager_links(descending, "stock on hand")["next"]
    more = [int(r[5].replace(",", "")) for r in rows_of(admin.get(nxt).text, "stock-table")]
    assert max(more) <= min(doses)
    # shipments: by id descending (cut by the database) and by destination (here)
    page = admin.get(
        "/dashboard/shipments", params={"shipments_sort": "shipment", "shipments_dir": "desc"}
    ).text
    ids = [r[0] for r in rows_of(page, "shipments-table")]
    assert ids == sorted(ids, reverse=True)
    assert ids[0] == "S-9-2-2"
    page = admin.get(
        "/dashboard/shipments", params={"shipments_sort": "planned", "shipments_dir": "desc"}
    ).text
    planned = [int(r[6].replace(",", "")) for r in rows_of(page, "shipments-table")]
    assert planned == sorted(planned, reverse=True)
    assert planned[0] == 1000 + LOTS - 1
    assert "Rows 1–100 of 108" in page.split('id="all-heading"', 1)[1]
    page = admin.get("/dashboard/shipments", params={"shipments_sort": "destination"}).text
    destinations = [r[3] for r in rows_of(page, "shipments-table")]
    assert destinations == sorted(destinations)


def test_filters_narrow_the_tables_and_survive_paging_and_sorting(many: Service) -> None:
    admin = browser_for(many, "administrator")
    page = admin.get(
        "/dashboard/stock", params={"product": "P1", "country": "ken", "stock_size": 5}
    ).text
    rows = rows_of(page, "stock-table")
    assert len(rows) == 5
    assert {r[1] for r in rows} == {"P1"}
    assert all(r[0].startswith("KEN-") for r in rows)
    assert "Rows 1–5 of 12" in page  # 4 Kenyan stores x 3 lots of P1
    nxt = pager_links(page, "stock on hand")["next"]
    assert dict(parse_qsl(urlsplit(nxt).query)) == {
        "product": "P1",
        "country": "ken",
        "stock_size": "5",
        "stock_offset": "5",
    }
    href, _ = sort_link(page, "stock-table", "Lot")
    query = dict(parse_qsl(urlsplit(href).query))
    assert query["product"] == "P1"
    assert query["stock_sort"] == "lot"
    assert "stock_offset" not in query
    # the filter form keeps the table's sort and size in hidden fields
    form = page.split('id="stock-filters"', 1)[1].split("</form>", 1)[0]
    assert '<label for="filter-product">' in form
    assert 'name="stock_size" value="5"' in form
    shipments = admin.get("/dashboard/shipments", params={"node": "NGA-01", "product": "P2"}).text
    assert [r[0] for r in rows_of(shipments, "shipments-table")] == [
        "S-1-2-0",
        "S-1-2-1",
        "S-1-2-2",
    ]
    received = admin.get(
        "/dashboard/shipments", params={"state": "received", "shipments_size": 10}
    ).text
    assert "Rows 1–10 of 108" in received
    none = admin.get("/dashboard/shipments", params={"state": "planned"}).text
    assert "No shipment matches." in none


def test_a_participant_filters_within_its_own_country_only(many: Service) -> None:
    kenya = browser_for(many, "participant-KEN")
    for params in ({"node": "NGA-01"}, {"country": "NGA"}):
        stock = kenya.get("/dashboard/stock", params=params).text
        assert rows_of(stock, "stock-table") == [["No stock matches."]]
        listed = kenya.get(download_link(stock, "stock on hand", "CSV")).text
        assert csv_rows(listed) == []
    own_node = kenya.get("/dashboard/stock", params={"node": "KEN-00"}).text
    assert f"Rows 1–{PRODUCTS * LOTS} of {PRODUCTS * LOTS}" in own_node
    page = kenya.get("/dashboard/shipments", params={"country": "NGA"}).text
    assert "No shipment matches." in page
    own = kenya.get("/dashboard/shipments", params={"shipments_sort": "planned"}).text
    assert {r[3][:3] for r in rows_of(own, "shipments-table")} == {"KEN"}
    csv_text = kenya.get(download_link(own, "all shipments", "CSV")).text
    assert {r["To"][:3] for r in csv_rows(csv_text)} == {"KEN"}
    assert len(csv_rows(csv_text)) == 4 * PRODUCTS * LOTS


def test_state_round_trips_through_the_address(many: Service) -> None:
    admin = browser_for(many, "administrator")
    params = {
        "product": "P0",
        "shipments_sort": "destination",
        "shipments_dir": "desc",
        "shipments_size": "7",
        "shipments_offset": "7",
    }
    page = admin.get("/dashboard/shipments", params=params).text
    again = admin.get(
        "/dashboard/shipments?" + "&".join(f"{k}={v}" for k, v in params.items())
    ).text
    assert rows_of(page, "shipments-table") == rows_of(again, "shipments-table")
    assert "Rows 8–14 of 36" in page
    prev = pager_links(page, "all shipments")["prev"]
    assert dict(parse_qsl(urlsplit(prev).query)) == {
        k: v for k, v in params.items() if k != "shipments_offset"
    }
    bad = admin.get("/dashboard/shipments", params={"shipments_sort": "colour"})
    assert bad.status_code == 422
    assert "SERVICE_BAD_REQUEST" in bad.text
    assert "shipments_sort" in bad.text
    assert admin.get("/dashboard/stock", params={"stock_size": 501}).status_code == 422


def test_downloads_hold_every_matching_row_in_the_same_order(many: Service) -> None:
    admin = browser_for(many, "administrator")
    page = admin.get(
        "/dashboard/stock",
        params={"product": "P2", "stock_sort": "node", "stock_dir": "desc", "stock_size": 5},
    ).text
    link = download_link(page, "stock on hand", "CSV")
    assert "stock_offset" not in link
    assert "stock_size" not in link
    answer = admin.get(link)
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = csv_rows(answer.text)
    assert len(rows) == STORES * LOTS  # all 36, not the page of 5
    assert {r["Product"] for r in rows} == {"P2"}
    nodes = [r["Node"] for r in rows]
    assert nodes == sorted(nodes, reverse=True)
    assert [r["Node"] for r in rows[:5]] == [r[0].split()[0] for r in rows_of(page, "stock-table")]
    book = admin.get(download_link(page, "stock on hand", "Excel"))
    sheet = xlsx_rows(book.content)
    assert [(r["Node"], r["Lot"], r["Doses"]) for r in sheet] == [
        (r["Node"], r["Lot"], int(r["Doses"])) for r in rows
    ]
    shipments = admin.get(
        "/dashboard/shipments", params={"state": "received", "product": "P0"}
    ).text
    listed = xlsx_rows(admin.get(download_link(shipments, "all shipments", "Excel")).content)
    assert len(listed) == STORES * LOTS
    assert {r["Product"] for r in listed} == {"P0"}
    assert {r["State"] for r in listed} == {"received"}


@pytest.fixture
def short(fresh_sqlite: str) -> Iterator[Service]:
    """72,000 doses dispatched to KEN-NS, 69,600 received: 2,400 short; then 500 more."""
    for service in make_service(fresh_sqlite):
        ledger = LedgerStore(service.engine)
        ledger.register_nodes(
            [
                Node("SUP", "supplier", NodeKind.SUPPLIER),
                Node("KEN-NS", "Kenya national store", NodeKind.NATIONAL_STORE, country="KEN"),
            ]
        )
        t0 = datetime(2021, 3, 1, tzinfo=UTC)
        lot = Lot("AZ-SII", "A1", expiry=date(2021, 9, 1))
        events: list[Any] = []
        shortage: dict[str, Any] = {
            "outcome": ReceiptOutcome.DIFFERENT_QUANTITY,
            "discrepancy": 2_400,
            "reason": DiscrepancyReason.SHORT,
        }
        for sid, doses, received in (("SH-1", 72_000, 69_600), ("SH-2", 500, 500)):
            common: dict[str, Any] = {"recorded_by": "seed", "shipment_id": sid}
            day = t0 + timedelta(days=10 if sid == "SH-2" else 0)
            events += [
                ShipmentPlanned(
                    event_id=f"p-{sid}",
                    occurred_at=day,
                    origin="SUP",
                    destination="KEN-NS",
                    product="AZ-SII",
                    quantity=doses,
                    **common,
                ),
                ShipmentDispatched(
                    event_id=f"d-{sid}",
                    occurred_at=day + timedelta(days=1),
                    origin="SUP",
                    destination="KEN-NS",
                    lot=lot,
                    quantity=doses,
                    **common,
                ),
                ShipmentReceived(
                    event_id=f"r-{sid}",
                    occurred_at=day + timedelta(days=3),
                    node="KEN-NS",
                    lot=lot,
                    quantity=received,
                    **(shortage if received < doses else {}),
                    **common,
                ),
            ]
        ledger.append_events(events)
        yield service


def test_the_stock_card_shows_each_movement_and_a_shortfall_line(short: Service) -> None:
    admin = browser_for(short, "administrator")
    stock = admin.get("/dashboard/stock").text
    card_href = re.search(r'<a class="card-link" href="([^"]+)"', stock)
    assert card_href is not None
    card = admin.get(html.unescape(card_href.group(1)))
    assert card.status_code == 200
    rows = rows_of(card.text, "card-table")
    assert [r[1] for r in rows] == ["received", "discrepancy", "received"]
    receipt, shortfall, second = rows
    assert receipt[:6] == ["2021-03-04", "received", "A1", "shipment SH-1", "SH-1", "69,600"]
    assert receipt[8] == "69,600"
    # the store's own discrepancy sentence, as the CLI and the API give it
    assert shortfall[3] == "2,400 doses short against 72,000 dispatched on shipment SH-1"
    assert shortfall[7] == "2,400"
    assert shortfall[5] == shortfall[8] == ""
    assert second[5] == "500"
    assert second[8] == "70,100"
    download = csv_rows(
        admin.get(
            "/dashboard/stock/card/download",
            params={"node": "KEN-NS", "product": "AZ-SII", "lot": "A1", "format": "csv"},
        ).text
    )
    assert [(r["Movement"], r["Short"], r["Balance"]) for r in download] == [
        ("received", "", "69600"),
        ("discrepancy", "2400", ""),
        ("received", "", "70100"),
    ]
    # paged: one line a page, the balance carried over
    paged = admin.get(
        "/dashboard/stock/card",
        params={"node": "KEN-NS", "product": "AZ-SII", "card_size": 1, "card_offset": 1},
    ).text
    assert "Rows 2–2 of 2" in paged
    assert [r[8] for r in rows_of(paged, "card-table")] == ["70,100"]
    assert 'id="card-opening">69,600<' in paged


def test_the_stock_card_is_refused_outside_the_participants_country(short: Service) -> None:
    nigeria = browser_for(short, "participant-NGA")
    page = nigeria.get("/dashboard/stock/card", params={"node": "KEN-NS", "product": "AZ-SII"})
    assert page.status_code == 403
    assert "SERVICE_OUT_OF_SCOPE" in page.text
    assert "69,600" not in page.text
    unknown = browser_for(short, "administrator").get(
        "/dashboard/stock/card", params={"node": "XX", "product": "AZ-SII"}
    )
    assert unknown.status_code == 422
    assert "LEDGER_UNKNOWN_NODE" in unknown.text


def test_reporting_tables_sort_filter_page_and_download(fresh_sqlite: str) -> None:
    for service in make_service(fresh_sqlite):
        save_requirements(
            service.engine,
            [
                Requirement(iso3, "distribution", PeriodType.MONTHLY, 15, parse_period("202101"))
                for iso3 in ("KEN", "NGA")
            ],
        )
        viewer = browser_for(service, "viewer")
        params = {"as_of": "2021-12-31", "participant": "nga", "compliance_size": 5}
        page = viewer.get("/dashboard/reporting", params=params).text
        rows = rows_of(page, "compliance-table")
        assert len(rows) == 5
        assert {r[0] for r in rows} == {"NGA"}
        assert "Rows 1–5 of 11" in page  # January to November are due by 31 December
        href, aria = sort_link(page, "compliance-table", "Period")
        assert aria is None
        periods = [r[2] for r in rows_of(viewer.get(href).text, "compliance-table")]
        assert periods == ["202101", "202102", "202103", "202104", "202105"]
        desc = viewer.get(sort_link(viewer.get(href).text, "compliance-table", "Period")[0]).text
        assert next(r[2] for r in rows_of(desc, "compliance-table")) == "202111"
        link = download_link(desc, "reports owed", "CSV")
        listed = csv_rows(viewer.get(link).text)
        assert [r["Period"] for r in listed] == [f"2021{m:02d}" for m in range(11, 0, -1)]
        assert {r["Participant"] for r in listed} == {"NGA"}
        assert {r["Status"] for r in listed} == {"missing"}
        none = viewer.get("/dashboard/reporting", params={**params, "status": "on_time"}).text
        assert "Nothing owed yet." in none


def test_the_stock_card_sorts_by_date_filters_and_downloads_the_same(short: Service) -> None:
    admin = browser_for(short, "administrator")
    base = {"node": "KEN-NS", "product": "AZ-SII"}
    page = admin.get("/dashboard/stock/card", params=base).text
    href, aria = sort_link(page, "card-table", "Date")
    assert aria == "ascending"
    newest = admin.get(href).text
    assert sort_link(newest, "card-table", "Date")[1] == "descending"
    rows = rows_of(newest, "card-table")
    assert [(r[1], r[8]) for r in rows] == [
        ("received", "70,100"),
        ("received", "69,600"),
        ("discrepancy", ""),
    ]
    # newest first, a line a page: the second page is the first receipt and its shortfall
    second = admin.get(
        "/dashboard/stock/card",
        params={**base, "card_dir": "desc", "card_size": 1, "card_offset": 1},
    ).text
    assert [r[1] for r in rows_of(second, "card-table")] == ["received", "discrepancy"]
    assert "Rows 2–2 of 2" in second
    listed = csv_rows(admin.get(download_link(newest, "this stock card", "CSV")).text)
    assert [(r["Movement"], r["Balance"]) for r in listed] == [
        ("received", "70100"),
        ("received", "69600"),
        ("discrepancy", ""),
    ]
    # dates filter in the database: from 10 March, only the second receipt
    later = admin.get("/dashboard/stock/card", params={**base, "from": "2021-03-10"}).text
    assert [r[8] for r in rows_of(later, "card-table")] == ["70,100"]
    assert "Rows 1–1 of 1" in later
    assert 'id="card-opening">69,600<' in later
    book = xlsx_rows(admin.get(download_link(later, "this stock card", "Excel")).content)
    assert [(r["Movement"], r["Balance"]) for r in book] == [("received", 70100)]
    form = later.split('id="card-filters"', 1)[1].split("</form>", 1)[0]
    assert 'name="node" value="KEN-NS"' in form
    assert (
        admin.get("/dashboard/stock/card", params={**base, "card_sort": "lot"}).status_code == 422
    )
