"""Every list is bounded and paged (issue 11, finding 8): ``limit``/``offset``, the total in
``X-Total-Count`` and the next page in an RFC 8288 ``Link`` header; pages cut by the database
give every row exactly once, on SQLite and PostgreSQL; query dates and moments are bounded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doseflow.domain.events import (
    Administration,
    ShipmentPlanned,
    event_nodes,
)
from doseflow.domain.lot import Lot
from doseflow.domain.network import Node, NodeKind
from doseflow.service.queries import DEFAULT_LIMIT, MAX_LIMIT
from doseflow.store.ledger import LedgerStore
from tests.service.conftest import Service, make_service
from tests.service.paging import LOTS, PRODUCTS, STORES, follow, next_link, seed_many


@pytest.fixture
def many(db_url: str) -> Iterator[Service]:
    for service in make_service(db_url):
        seed_many(service)
        yield service


def stock_key(line: dict[str, Any]) -> tuple[Any, ...]:
    return (line["node"], line["product"], line["lot"])


# -- the stock view: paged by the database ----------------------------------------------


def test_stock_is_paged_with_total_and_next_link(many: Service) -> None:
    first = many.get("/api/stock", "administrator", params={"limit": 10})
    assert first.status_code == 200
    assert len(first.json()) == 10
    assert first.headers["x-total-count"] == str(STORES * PRODUCTS * LOTS)
    assert next_link(first) == "/api/stock?limit=10&offset=10"
    assert 'rel="prev"' not in first.headers["link"]
    last = many.get("/api/stock", "administrator", params={"limit": 10, "offset": 100})
    assert len(last.json()) == 8
    assert next_link(last) is None
    assert '</api/stock?limit=10&offset=90>; rel="prev"' in last.headers["link"]


def test_stock_default_page_is_bounded(many: Service) -> None:
    response = many.get("/api/stock", "administrator")
    assert len(response.json()) == DEFAULT_LIMIT
    assert response.headers["x-total-count"] == "108"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(limit=st.integers(1, 40), offset=st.integers(0, 120))
def test_stock_pages_give_every_line_exactly_once(many: Service, limit: int, offset: int) -> None:
    every = LedgerStore(many.engine).stock_on_hand()
    expected = {(s.node, s.product, s.lot) for s in every}
    rows = follow(many, "/api/stock", "administrator", limit=limit)
    keys = [stock_key(r) for r in rows]
    assert len(keys) == len(set(keys)) == len(expected)
    assert set(keys) == expected
    # any one page is the same slice of that whole order
    page = many.get("/api/stock", "administrator", params={"limit": limit, "offset": offset})
    assert [stock_key(r) for r in page.json()] == keys[offset : offset + limit]


def test_stock_pages_keep_the_filters_and_the_participant_scope(many: Service) -> None:
    rows = follow(many, "/api/stock", "participant-KEN", limit=7, product="P1")
    assert len(rows) == 4 * LOTS  # four Kenyan stores, three lots of P1
    assert {r["product"] for r in rows} == {"P1"}
    assert all(r["node"].startswith("KEN-") for r in rows)


def test_events_are_paged_by_the_database_and_scoped(many: Service) -> None:
    all_rows = follow(many, "/api/ledger/events", "administrator", limit=50)
    ids = [r["id"] for r in all_rows]
    assert len(ids) == len(set(ids)) == STORES * PRODUCTS * LOTS * 3
    kenya = follow(many, "/api/ledger/events", "participant-KEN", limit=13)
    ledger = LedgerStore(many.engine)
    own = {code for code, node in ledger.nodes().items() if node.country == "KEN"}
    expected = [e.event_id for e in ledger.events() if own.intersection(event_nodes(e))]
    assert len(expected) == 4 * PRODUCTS * LOTS * 3
    assert [r["id"] for r in kenya] == expected  # the same rows, in recording order


def test_events_scope_follows_planned_routes_and_escapes_codes(db_url: str) -> None:
    """A planned route through a Kenyan store is Kenya's event too; a code with SQL wildcard
    characters (``KEN_%``) matches only itself."""
    for service in make_service(db_url):
        ledger = LedgerStore(service.engine)
        ledger.register_nodes(
            [
                Node("SUP", "supplier", NodeKind.SUPPLIER),
                Node("KEN_%", "Kenya hub store", NodeKind.NATIONAL_STORE, country="KEN"),
                Node("KENX1", "not Kenya", NodeKind.NATIONAL_STORE, country="UGA"),
                Node("UGA-NS", "Uganda store", NodeKind.NATIONAL_STORE, country="UGA"),
            ]
        )
        t0 = datetime(2021, 3, 1, tzinfo=UTC)
        common: dict[str, Any] = {"recorded_by": "seed", "product": "P0", "quantity": 10}
        ledger.append_events(
            [
                ShipmentPlanned(
                    event_id="via-kenya",
                    occurred_at=t0,
                    shipment_id="S-1",
                    origin="SUP",
                    destination="UGA-NS",
                    route=("SUP", "KEN_%", "UGA-NS"),
                    **common,
                ),
                ShipmentPlanned(
                    event_id="via-lookalike",
                    occurred_at=t0,
                    shipment_id="S-2",
                    origin="SUP",
                    destination="UGA-NS",
                    route=("SUP", "KENX1", "UGA-NS"),
                    **common,
                ),
            ]
        )
        rows = follow(service, "/api/ledger/events", "participant-KEN", limit=1)
        assert [r["id"] for r in rows] == ["via-kenya"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/nodes",
        "/api/stock/expiring?today=2021-09-01&within_days=3650",
        "/api/shipments",
        "/api/shipments/in-transit",
        "/api/shipments/held-at-hubs",
    ],
)
def test_engine_lists_are_paged_too(many: Service, path: str) -> None:
    whole = many.get(path, "administrator", params={"limit": MAX_LIMIT})
    assert whole.status_code == 200
    total = int(whole.headers["x-total-count"])
    assert len(whole.json()) == min(total, MAX_LIMIT)
    rows = follow(many, path, "administrator", limit=5)
    assert rows == whole.json()


def test_shipment_pages_are_cut_by_the_database_and_match_the_whole_view(many: Service) -> None:
    rows = follow(many, "/api/shipments", "administrator", limit=17)
    every = LedgerStore(many.engine).shipments()
    ids = [r["shipment_id"] for r in rows]
    assert len(ids) == len(set(ids)) == len(every)
    assert set(ids) == {s.shipment_id for s in every}
    by_id = {s.shipment_id: s for s in every}
    assert all(r["state"] == by_id[r["shipment_id"]].state for r in rows)


def test_stock_card_lines_are_paged_with_the_opening_of_each_page(many: Service) -> None:
    # a busier card: issues from one lot after the receipts
    LedgerStore(many.engine).append_events(
        [
            Administration(
                event_id=f"a-{i}",
                occurred_at=datetime(2021, 3, 10, tzinfo=UTC) + timedelta(hours=i),
                recorded_by="seed",
                node="KEN-00",
                lot=Lot("P0", "L0-1", expiry=date(2021, 10, 1)),
                quantity=10 + i,
            )
            for i in range(9)
        ]
    )
    params = {"node": "KEN-00", "product": "P0"}
    whole = many.get("/api/stock/card", "administrator", params=params).json()
    lines = whole["lines"]
    assert len(lines) == LOTS + 9
    for limit in (1, 2, 5):
        for offset in range(len(lines) + 1):
            page = many.get(
                "/api/stock/card",
                "administrator",
                params={**params, "limit": limit, "offset": offset},
            )
            assert page.headers["x-total-count"] == str(len(lines))
            card = page.json()
            assert card["lines"] == lines[offset : offset + limit]
            before = lines[offset - 1]["balance"] if offset else whole["opening"]
            assert card["opening"] == before


# -- limits and bounded query parameters ------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [{"limit": MAX_LIMIT + 1}, {"limit": 0}, {"offset": -1}, {"offset": 2**31}, {"limit": "x"}],
)
def test_page_parameters_out_of_bounds_are_refused(many: Service, params: dict[str, Any]) -> None:
    response = many.get("/api/stock", "administrator", params=params)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "SERVICE_BAD_REQUEST"
    assert body["errors"][0]["field"] in params


@pytest.mark.parametrize(
    "moment",
    [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00",
        "1999-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
    ],
)
def test_stock_card_start_out_of_range_is_a_coded_refusal(many: Service, moment: str) -> None:
    response = many.get(
        "/api/stock/card",
        "administrator",
        params={"node": "KEN-00", "product": "P0", "start": moment},
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "SERVICE_BAD_REQUEST"
    assert body["errors"][0]["field"] == "start"
    assert "2000-01-01" in body["message"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/stock", {"at": "0001-01-01T00:00:00+14:00"}),
        ("/api/stock/expiring", {"today": "1900-01-01"}),
        ("/api/shipments/in-transit", {"at": "9999-12-31T23:00:00-14:00"}),
        ("/api/shipments/held-at-hubs", {"at": "2100-01-01T00:00:00"}),
        ("/api/stock", {"product": "P" * 65}),
        ("/api/stock", {"lot": "L" * 101}),
        ("/api/stock/card", {"node": "N" * 65, "product": "P0"}),
        ("/api/shipments", {"state": "s" * 33}),
    ],
)
def test_query_parameters_are_bounded(many: Service, path: str, params: dict[str, str]) -> None:
    response = many.get(path, "administrator", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "SERVICE_BAD_REQUEST"


def test_moment_within_range_with_an_offset_is_accepted(many: Service) -> None:
    response = many.get(
        "/api/stock/card",
        "administrator",
        params={"node": "KEN-00", "product": "P0", "start": "2000-01-01T00:00:00+14:00"},
    )
    # 1999-12-31T10:00Z: the UTC moment is before the range
    assert response.status_code == 422
    response = many.get(
        "/api/stock/card",
        "administrator",
        params={"node": "KEN-00", "product": "P0", "start": "2021-03-01T00:00:00+14:00"},
    )
    assert response.status_code == 200
