"""Issue 14 over the API: a bare date in a ledger query is a day at each node, read exactly
as the CLI reads it; a date-time stays an exact instant; the response names the zone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import cast

import pytest
from fastapi import Request

from doseflow.cli.app import run
from doseflow.service.days import DAY_ZONE_HEADER
from doseflow.service.routers.reports import hierarchy_of
from doseflow.store.ledger import LedgerStore
from doseflow.store.reporting_ledger import StoreLedger, ledger_figures
from tests.ledger.factory import NODES, arrived, dispatched, onward
from tests.reporting.test_time_zones import PYONGYANG_MORNING, _receipt
from tests.service.conftest import Service, make_service

#: 17:00 UTC on 30 June: 01:00 on 1 July in Dalian (UTC+8) and 02:00 in Pyongyang (UTC+9).
ONWARD_AT = datetime(2021, 6, 30, 17, tzinfo=UTC)


@pytest.fixture
def pyongyang(db_url: str) -> Iterator[tuple[Service, str]]:
    """SII -> Dalian hub -> PRK-NS; leaves Dalian at ONWARD_AT, 700 doses received in
    Pyongyang at 22:00 UTC on 30 June (07:00 on 1 July there)."""
    for service in make_service(db_url):
        ledger = LedgerStore(service.engine)
        ledger.register_nodes(NODES)
        ledger.append_events(
            [
                dispatched("d1", 100, 1000),
                arrived("a1", 110, 1000),
                replace(onward("o1", 170, 1000), occurred_at=ONWARD_AT),
                _receipt(PYONGYANG_MORNING, 700),
            ]
        )
        yield service, db_url


def _api_total(service: Service, **params: str) -> tuple[int, str | None]:
    response = service.get("/api/stock", "viewer", params={"node": "PRK-NS", **params})
    assert response.status_code == 200, response.text
    return sum(s["doses"] for s in response.json()), response.headers.get(DAY_ZONE_HEADER)


def _cli_total(url: str, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert run(["ledger", "stock", "--node", "PRK-NS", "--db", url, *args]) == 0
    out = capsys.readouterr().out
    return next(line for line in out.splitlines() if line.startswith("Total:"))


def test_cli_and_api_agree_on_stock_at_a_date_in_pyongyang(
    pyongyang: tuple[Service, str], capsys: pytest.CaptureFixture[str]
) -> None:
    service, url = pyongyang
    cases = [
        (("--at", "2021-06-30"), {"at": "2021-06-30"}, 0, "Asia/Pyongyang (PRK-NS)"),
        (("--at", "2021-07-01"), {"at": "2021-07-01"}, 700, "Asia/Pyongyang (PRK-NS)"),
        (("--at", "2021-06-30", "--zone", "UTC"), {"at": "2021-06-30", "zone": "UTC"}, 700, "UTC"),
        # a date-time is an exact instant: no zone involved, none stated
        (("--at", "2021-06-30T21:59:59+00:00"), {"at": "2021-06-30T21:59:59Z"}, 0, None),
        (("--at", "2021-06-30T22:00:00+00:00"), {"at": "2021-06-30T22:00:00Z"}, 700, None),
    ]
    for cli_args, params, doses, zone in cases:
        assert _api_total(service, **params) == (doses, zone), params
        assert _cli_total(url, capsys, *cli_args).startswith(f"Total: {doses:,} doses"), cli_args
    # midnight UTC written out stays midnight UTC, never "the day 1 July at the node"
    assert _api_total(service, at="2021-07-01T00:00:00Z") == (700, None)
    assert _api_total(service, at="2021-06-30T23:59:59+09:00") == (0, None)


def test_a_date_in_the_stock_card_is_a_day_at_the_node(pyongyang: tuple[Service, str]) -> None:
    service, _ = pyongyang

    def card(**params: str) -> tuple[int, int, str | None]:
        r = service.get(
            "/api/stock/card", "viewer", params={"node": "PRK-NS", "product": "AZ-SII", **params}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        return body["opening"], len(body["lines"]), r.headers.get(DAY_ZONE_HEADER)

    assert card(start="2021-06-01", end="2021-06-30") == (0, 0, "Asia/Pyongyang (PRK-NS)")
    assert card(start="2021-07-01", end="2021-07-01") == (0, 1, "Asia/Pyongyang (PRK-NS)")
    assert card(start="2021-06-01", end="2021-06-30", zone="UTC") == (0, 1, "UTC")
    assert card(start="2021-06-30T22:00:00Z") == (700, 0, None)  # the receipt opens the card
    assert card(start="2021-06-30T21:00:00Z") == (0, 1, None)


def test_transit_and_hubs_at_a_date_are_days_at_the_destination_and_the_hub(
    pyongyang: tuple[Service, str],
) -> None:
    service, _ = pyongyang

    def doses(path: str, **params: str) -> tuple[int, str | None]:
        r = service.get(path, "viewer", params=params)
        assert r.status_code == 200, r.text
        return sum(x["doses"] for x in r.json()), r.headers.get(DAY_ZONE_HEADER)

    hubs = "/api/shipments/held-at-hubs"
    # 30 June ends at 16:00 UTC in Dalian: the doses left it at 17:00 UTC, on 1 July there
    assert doses(hubs, at="2021-06-30") == (1000, "Asia/Shanghai (DLC)")
    assert doses(hubs, at="2021-06-30", zone="UTC") == (0, "UTC")
    assert doses(hubs, at="2021-06-30T16:59:59Z") == (1000, None)
    transit = "/api/shipments/in-transit"
    # 30 June ends at 15:00 UTC in Pyongyang: not yet dispatched onward
    assert doses(transit, at="2021-06-30") == (0, None)
    assert doses(transit, at="2021-06-30T18:00:00Z") == (1000, None)
    in_utc = service.get(transit, "viewer", params={"at": "2021-06-30", "zone": "UTC"})
    assert in_utc.headers[DAY_ZONE_HEADER] == "UTC"
    assert [t["destination"] for t in in_utc.json()] == ["PRK-NS"] * len(in_utc.json())


def test_a_bad_zone_or_date_is_refused_naming_the_parameter(
    pyongyang: tuple[Service, str],
) -> None:
    service, _ = pyongyang
    wrong = service.get(
        "/api/stock", "viewer", params={"at": "2021-06-30", "zone": "Asia/Pyongang"}
    )
    assert wrong.status_code == 422
    assert wrong.json()["code"] == "TIME_ZONE_UNKNOWN"
    assert wrong.json()["errors"][0]["field"] == "zone"
    for bad in ("2021-06-31", "30/06/2021", "0001-01-01T00:00:00+14:00"):
        r = service.get("/api/stock", "viewer", params={"at": bad})
        assert r.status_code in (400, 422), bad
        assert "at" in r.text, bad


def test_the_services_network_hierarchy_cuts_a_countrys_month_at_its_stores_midnight(
    pyongyang: tuple[Service, str],
) -> None:
    """No hierarchy stored: the service's org units come from the ledger's nodes, each
    national unit in its national store's zone (the receipt is a July one in Pyongyang)."""
    service, _ = pyongyang
    hierarchy = hierarchy_of(cast(Request, SimpleNamespace(app=service.app)))
    assert (hierarchy.time_zone("PRK"), hierarchy.time_zone("PRK-R1")) == ("Asia/Pyongyang",) * 2
    figures = ledger_figures(
        StoreLedger(service.engine), hierarchy, [("PRK", "202106"), ("PRK", "202107")]
    )
    june, july = figures[("PRK", "202106")], figures[("PRK", "202107")]
    assert (june.received, june.closing, july.received) == (0, 0, 700)
    assert june.time_zone == july.time_zone == "Asia/Pyongyang"
