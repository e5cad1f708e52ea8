"""Issue 14: where zones come from (bundled country table, network file, hierarchy file,
scenario) and where they are used besides the cross-checks (compliance, CLI, migration)."""

from __future__ import annotations

import importlib.resources
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import text

from doseflow.allocation import scenario_from_document
from doseflow.cli.app import run
from doseflow.data.files import open_bundled
from doseflow.data.population import countries
from doseflow.data.time_zones import country_time_zone, country_time_zones, load_zone, zone_for
from doseflow.domain.errors import DoseflowError
from doseflow.domain.events import AdjustmentReason
from doseflow.domain.network import Node, NodeKind
from doseflow.logistics import load_network
from doseflow.reporting import ComplianceStatus, Requirement, compliance, load_hierarchy
from doseflow.reporting.periods import PeriodType, parse_period
from doseflow.store.database import alembic_config, make_engine, migrate, open_database
from doseflow.store.ledger import LedgerStore
from doseflow.store.reporting_ledger import StoreLedger
from tests.ledger.factory import NODES, adjusted, arrived, dispatched, onward, planned

from .test_time_zones import PYONGYANG_MORNING, _receipt

# -- the bundled country table -------------------------------------------------------------


def _zone_tab() -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    tab = importlib.resources.files("tzdata").joinpath("zoneinfo/zone.tab").read_text()
    for line in tab.splitlines():
        if line.strip() and not line.startswith("#"):
            parts = line.split("\t")
            found[parts[0]].append(parts[2])
    return found


def test_country_table_agrees_with_the_tz_database() -> None:
    import csv

    tab = _zone_tab()
    with open_bundled("country_time_zones.csv") as f:
        rows = list(csv.DictReader(f))
    assert len({r["iso3"] for r in rows}) == len(rows)
    for row in rows:
        ZoneInfo(row["time_zone"])  # every zone exists
        if not row["iso2"]:
            continue  # Kosovo, Channel Islands: not in zone.tab
        zones = tab[row["iso2"]]
        assert int(row["zones_in_country"]) == len(zones), row
        assert row["time_zone"] in zones, row
        if len(zones) > 1:
            assert row["chosen_because"].startswith("capital: "), row
    # every country of the bundled population data has a default zone
    assert set(countries()) <= set(country_time_zones())
    assert country_time_zone("PRK") == "Asia/Pyongyang"
    assert country_time_zone("USA") == "America/New_York"  # Washington's, of 29 zones
    assert country_time_zone("RUS") == "Europe/Moscow"
    assert country_time_zone("BRA") == "America/Sao_Paulo"  # Brasília's
    assert country_time_zone("XKX") == "Europe/Belgrade"


def test_a_node_takes_its_own_zone_then_its_countrys_then_utc() -> None:
    assert str(zone_for("Asia/Seoul", "PRK")) == "Asia/Seoul"
    assert str(zone_for(None, "PRK")) == "Asia/Pyongyang"
    assert str(zone_for(None, None)) == "UTC"


def test_an_unknown_zone_name_is_refused() -> None:
    for bad in ("Asia/Pjongjang", "../etc/passwd", "", "Mars/Olympus"):
        with pytest.raises(DoseflowError) as info:
            load_zone(bad, field="time_zone")
        assert info.value.code == "TIME_ZONE_UNKNOWN"
        assert info.value.details[0].location.field == "time_zone"


# -- the network file ------------------------------------------------------------------------

NETWORK = """\
nodes:
  - {code: PRK-NS, name: National store, kind: national, country: PRK}
  - {code: DEU-NS, name: Berlin store, kind: national, country: DEU}
  - {code: SEA, name: Dalian office, kind: hub, country: PRK, time_zone: Asia/Shanghai}
  - {code: SUP, name: Supplier, kind: supplier}
"""


def test_network_file_time_zone_overrides_the_country_default(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(NETWORK, encoding="utf-8")
    net = load_network(path)
    assert net.nodes["SEA"].time_zone == "Asia/Shanghai"
    assert net.nodes["PRK-NS"].time_zone is None
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store = LedgerStore(engine)
    store.register_nodes(net.nodes.values())
    zones = {code: str(z) for code, z in store.node_zones().items()}
    assert zones == {
        "PRK-NS": "Asia/Pyongyang",
        "DEU-NS": "Europe/Berlin",
        "SEA": "Asia/Shanghai",
        "SUP": "UTC",
    }
    assert store.nodes()["PRK-NS"].time_zone == "Asia/Pyongyang"
    engine.dispose()


def test_network_file_unknown_zone_is_located(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(NETWORK.replace("Asia/Shanghai", "Asia/Dalian"), encoding="utf-8")
    with pytest.raises(DoseflowError) as info:
        load_network(path)
    detail = info.value.details[0]
    assert detail.code == "TIME_ZONE_UNKNOWN"
    assert (detail.location.source, detail.location.line) == (str(path), 4)
    assert detail.location.field == "time_zone"
    assert detail.value == "Asia/Dalian"


def test_registering_a_node_with_an_unknown_zone_writes_nothing(sqlite_url: str) -> None:
    store = LedgerStore(open_database(sqlite_url))
    with pytest.raises(DoseflowError, match="TIME_ZONE_UNKNOWN"):
        store.register_nodes(
            [NODES[0], Node("X", "x", NodeKind.NATIONAL_STORE, time_zone="Nowhere/Town")]
        )
    assert store.nodes() == {}


# -- the hierarchy file ----------------------------------------------------------------------

HIERARCHY = """\
participants:
  - code: PRK
    time_zone: {zone}
    ledger_nodes: [PRK-NS]
    regions:
      - {{code: PRK-R1, name: Region 1, ledger_nodes: [PRK-R1]}}
"""


def test_hierarchy_file_zone_is_inherited_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "h.yaml"
    path.write_text(HIERARCHY.format(zone="UTC"), encoding="utf-8")
    h = load_hierarchy(path)
    assert h.time_zone("PRK") == "UTC"
    assert h.time_zone("PRK-R1") == "UTC"  # from the unit above
    path.write_text(HIERARCHY.format(zone="Pyongyang"), encoding="utf-8")
    with pytest.raises(DoseflowError) as info:
        load_hierarchy(path)
    detail = info.value.details[0]
    assert detail.code == "TIME_ZONE_UNKNOWN"
    assert detail.location.line == 3
    assert detail.location.field == "participants[0].time_zone"


def test_an_org_units_zone_overrides_its_nodes_zones(db_url: str, tmp_path: Path) -> None:
    engine = open_database(db_url)
    ledger = LedgerStore(engine)
    ledger.register_nodes(NODES)
    ledger.append_events(
        [
            dispatched("d1", 100, 1000),
            arrived("a1", 110, 1000),
            onward("o1", 170, 1000),
            _receipt(PYONGYANG_MORNING),
        ]
    )
    path = tmp_path / "h.yaml"
    path.write_text(HIERARCHY.format(zone="UTC"), encoding="utf-8")
    from doseflow.store.reporting_ledger import ledger_figures

    figures = ledger_figures(StoreLedger(engine), load_hierarchy(path), [("PRK", "202106")])
    june = figures[("PRK", "202106")]
    assert (june.received, june.closing, june.time_zone) == (1000, 1000, "UTC")
    engine.dispose()


# -- compliance --------------------------------------------------------------------------


def test_due_dates_are_days_in_the_participants_zone() -> None:
    req = Requirement("PRK", "stock", PeriodType.MONTHLY, 10, parse_period("202106"))
    # 16:00 UTC on the due date is 01:00 the next day in Pyongyang
    submitted = {("PRK", "stock", "202106"): datetime(2021, 7, 10, 16, tzinfo=UTC)}
    (row,) = compliance([req], submitted, as_of=date(2021, 7, 20))
    assert (row.status, row.days_late, row.time_zone) == (
        ComplianceStatus.LATE,
        1,
        "Asia/Pyongyang",
    )
    assert row.due_by == datetime(2021, 7, 10, 15, tzinfo=UTC)
    (row,) = compliance([req], submitted, as_of=date(2021, 7, 20), zones={"PRK": "UTC"})
    assert (row.status, row.time_zone) == (ComplianceStatus.ON_TIME, "UTC")


def test_scenario_participant_time_zone_is_checked() -> None:
    doc = {
        "name": "t",
        "products": [{"code": "AZ", "pack_doses": 100}],
        "participants": [{"iso3": "PRK", "financing": "amc", "time_zone": "Asia/Seoul"}],
        "rounds": [{"date": "2021-02-03", "tranches": [{"product": "AZ", "doses": 1000}]}],
    }
    scenario = scenario_from_document(doc, source="doc")
    assert scenario.participants[0].time_zone == "Asia/Seoul"
    doc["participants"][0]["time_zone"] = "Korea/Pyongyang"  # type: ignore[index]
    with pytest.raises(DoseflowError) as info:
        scenario_from_document(doc, source="doc")
    assert info.value.code == "TIME_ZONE_UNKNOWN"
    assert info.value.details[0].location.field == "participants[0].time_zone"


# -- the CLI ---------------------------------------------------------------------------------


def test_ledger_stock_at_a_date_is_the_end_of_the_local_day(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = LedgerStore(open_database(sqlite_url))
    ledger.register_nodes(NODES)
    ledger.append_events(
        [
            dispatched("d1", 100, 1000),
            arrived("a1", 110, 1000),
            onward("o1", 170, 1000),
            _receipt(PYONGYANG_MORNING, 700),
        ]
    )
    base = ["ledger", "stock", "--node", "PRK-NS", "--db", sqlite_url]
    assert run([*base, "--at", "2021-06-30"]) == 0
    out = capsys.readouterr().out
    assert "Total: 0 doses" in out
    assert "Day ends at local midnight: Asia/Pyongyang (PRK-NS)" in out  # docs/ledger.md
    assert run([*base, "--at", "2021-07-01"]) == 0
    assert "Total: 700 doses" in capsys.readouterr().out
    assert run([*base, "--at", "2021-06-30", "--zone", "UTC"]) == 0
    assert "Total: 700 doses" in capsys.readouterr().out
    assert run([*base, "--at", "2021-06-30T21:59:59+00:00"]) == 0
    assert "Total: 0 doses" in capsys.readouterr().out
    assert run([*base, "--at", "2021-06-30", "--zone", "Asia/Pyongang"]) == 2
    assert "TIME_ZONE_UNKNOWN" in capsys.readouterr().err


def test_stock_at_a_date_uses_each_nodes_own_day(sqlite_url: str) -> None:
    """One instant, two nodes half a world apart: the same date ends at different moments."""
    ledger = LedgerStore(open_database(sqlite_url))
    ledger.register_nodes(
        [
            *NODES,
            Node("SCL", "Santiago store", NodeKind.NATIONAL_STORE, country="CHL"),
        ]
    )
    at = datetime(2021, 6, 30, 22, tzinfo=UTC)  # 1 July 07:00 Pyongyang, 30 June 18:00 Santiago
    ledger.append_events(
        [
            replace(adjusted(f"f{n}", 1, 5, AdjustmentReason.FOUND, node=n), occurred_at=at)
            for n in ("PRK-NS", "SCL")
        ]
    )
    on_30_june = ledger.stock_summary(at=date(2021, 6, 30))
    assert on_30_june == {("SCL", "AZ-SII"): 5}
    assert ledger.stock_summary(at=date(2021, 7, 1)) == {
        ("PRK-NS", "AZ-SII"): 5,
        ("SCL", "AZ-SII"): 5,
    }
    # read in UTC instead, 22:00 UTC is on 30 June at both
    assert len(ledger.stock_summary(at=date(2021, 6, 30), zone=ZoneInfo("UTC"))) == 2
    assert {(s.node, s.doses) for s in ledger.stock_on_hand(at=date(2021, 6, 30))} == {("SCL", 5)}
    card = ledger.stock_card("PRK-NS", "AZ-SII", start=date(2021, 6, 1), end=date(2021, 6, 30))
    assert (card.opening, card.lines, card.closing) == (0, (), 0)


# -- the migration ---------------------------------------------------------------------------


def test_migration_gives_existing_nodes_their_countrys_zone(db_url: str) -> None:
    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "ledger_0003")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ledger_nodes (code, name, kind, country) VALUES "
                "('SUP', 'Supplier', 'supplier', NULL), ('NS', 'National', 'national', 'PRK'), "
                "('BER', 'Berlin', 'national', 'DEU'), ('ZZ', 'Odd', 'national', 'ZZZ')"
            )
        )
    migrate(engine)
    with engine.connect() as conn:
        zones = dict(conn.execute(text("SELECT code, time_zone FROM ledger_nodes")).all())
    assert zones == {"SUP": "UTC", "NS": "Asia/Pyongyang", "BER": "Europe/Berlin", "ZZ": "UTC"}
    command.downgrade(alembic_config(engine), "ledger_0003")
    migrate(engine)
    assert LedgerStore(engine).nodes()["NS"].time_zone == "Asia/Pyongyang"
    engine.dispose()


def test_ship_commands_put_a_dated_event_on_that_day_at_the_node(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--at DATE`` is noon of that day where the event happens: at UTC+14 noon UTC would
    already be the next day."""
    ledger = LedgerStore(open_database(sqlite_url))
    kiritimati = [
        replace(n, time_zone="Pacific/Kiritimati") if n.code == "PRK-NS" else n for n in NODES
    ]
    ledger.register_nodes(kiritimati)
    ledger.append_events([planned("p1", 1, 1000)])
    db = ["--db", sqlite_url]
    steps = [
        ["dispatch", "S1", "--lot", "A1", "--expiry", "2021-09-30", "--at", "2021-06-01"],
        ["arrive", "S1", "--at", "2021-06-10"],
        ["onward", "S1", "--at", "2021-06-20"],
        ["receive", "S1", "--at", "2021-06-30"],
    ]
    for step in steps:
        assert run(["ship", *step, *db]) == 0, step
    (receipt,) = [e for e in ledger.shipment_events("S1") if e.kind.value == "received"]
    assert receipt.occurred_at == datetime(2021, 6, 29, 22, tzinfo=UTC)  # 12:00 at UTC+14
    assert ledger.stock_total("PRK-NS", "AZ-SII", at=date(2021, 6, 30)) == 1000
    assert ledger.stock_total("PRK-NS", "AZ-SII", at=date(2021, 6, 29)) == 0
    capsys.readouterr()
