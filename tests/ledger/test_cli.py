"""The ledger and ship commands, end to end through ``doseflow.cli.app.run``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from doseflow.cli.app import run
from doseflow.domain.events import (
    DiscrepancyReason,
    ReceiptOutcome,
    ShipmentDispatched,
    ShipmentReceived,
)
from doseflow.ledger.event_file import write_events
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from tests.ledger.factory import NODES, dispatched, issue, received


def _ok(argv: list[str]) -> None:
    assert run(argv) == 0, argv


def test_import_export_stock_card_check(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    LedgerStore(open_database(db_url)).register_nodes(NODES)
    path = tmp_path / "events.csv"
    write_events(
        path, [dispatched("d1", 2, 500, to="PRK-NS"), received("r1", 3, 500), issue("i1", 4, 120)]
    )
    _ok(["ledger", "import", str(path), "--db", db_url])
    _ok(["ledger", "import", str(path), "--db", db_url])
    out = capsys.readouterr().out
    assert "3 events recorded" in out
    assert "3 already recorded (skipped)" in out
    _ok(["ledger", "stock", "--node", "PRK-NS", "--db", db_url])
    assert "380" in capsys.readouterr().out
    _ok(["ledger", "stock", "--node", "PRK-NS", "--at", "2021-01-03", "--db", db_url])
    assert "500" in capsys.readouterr().out
    _ok(["ledger", "card", "PRK-NS", "AZ-SII", "--db", db_url])
    card = capsys.readouterr().out
    assert "PRK-R1" in card
    assert "(doses)" in card
    _ok(["ledger", "check", "--db", db_url])
    assert "consistent" in capsys.readouterr().out
    exported = tmp_path / "out.json"
    _ok(["ledger", "export", str(exported), "--db", db_url])
    data = json.loads(exported.read_text())
    assert data["unit"] == "dose"
    assert [e["id"] for e in data["events"]] == ["d1", "r1", "i1"]


def test_refused_import_writes_nothing(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    LedgerStore(open_database(db_url)).register_nodes(NODES)
    path = tmp_path / "events.json"
    write_events(
        path, [dispatched("d1", 2, 50, to="PRK-NS"), received("r1", 3, 50), issue("i1", 4, 80)]
    )
    assert run(["ledger", "import", str(path), "--db", db_url]) == 2
    assert "LEDGER_NEGATIVE_BALANCE" in capsys.readouterr().err
    assert LedgerStore(open_database(db_url)).event_count() == 0


def test_ship_a_round_through_dalian(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "ship.sqlite")
    from doseflow.allocation import load_scenario
    from doseflow.cli.demo import example_path
    from doseflow.store.allocation import AllocationStore

    alloc = AllocationStore(open_database(db))
    alloc.save_scenario(load_scenario(example_path("covax_2021.yaml")))
    alloc.run("covax-2021")
    # PRK, an AMC participant, draws on the SII pool in round 1 (the SII and SK Bio pools
    # are shared jointly, the SII pool going to AMC participants first)
    _ok(["ship", "plan", "covax-2021", "1", "--country", "PRK", "--db", db])
    assert "1 shipments planned" in capsys.readouterr().out
    sid = "covax-2021/r1/AZ-SII/PRK"
    plans = LedgerStore(open_database(db)).shipments()
    assert [s.shipment_id for s in plans] == [sid]
    assert all(s.planned_doses % 2400 == 0 for s in plans)  # whole packs
    assert plans[0].route == ("SII-PUNE", "DALIAN", "PRK-NS")
    # round 1 is decided on 2021-02-03; its AstraZeneca tranches are available on 2021-02-22
    assert all(s.expected_arrival and s.expected_arrival > date(2021, 2, 22) for s in plans)
    _ok(
        [
            "ship",
            "dispatch",
            sid,
            "--lot",
            "K1",
            "--expiry",
            "2021-09-30",
            "--at",
            "2021-02-22",
            "--db",
            db,
        ]
    )
    _ok(["ship", "arrive", sid, "--at", "2021-02-25", "--db", db])
    _ok(["ship", "hold", sid, "--reason", "import permit", "--at", "2021-02-26", "--db", db])
    capsys.readouterr()
    _ok(["ledger", "hubs", "--db", db])
    assert "import permit" in capsys.readouterr().out
    _ok(["ship", "onward", sid, "--at", "2021-03-05", "--db", db])
    _ok(
        [
            "ship",
            "receive",
            sid,
            "--missing",
            "240",
            "--reason",
            "damaged",
            "--at",
            "2021-03-10",
            "--db",
            db,
        ]
    )
    store = LedgerStore(open_database(db))
    planned = store.shipments([sid])[0].planned_doses
    assert store.stock_total("PRK-NS", "AZ-SII") == planned - 240
    assert store.self_check().ok
    assert run(["ship", "arrive", sid, "--db", db]) == 2
    assert "LEDGER_SHIPMENT_STEP" in capsys.readouterr().err


def test_unicef_import_reports_unmapped_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "u.sqlite")
    _ok(["ledger", "unicef", "--db", db])
    out = capsys.readouterr().out
    assert "Humanitarian" in out
    assert "not a country" in out.replace("\n", " ") or "reserve" in out
    assert "Unknown" in out
    _ok(["ledger", "unicef", "--db", db])
    assert "0 events recorded" in capsys.readouterr().out


def test_an_import_with_a_huge_lot_is_refused_and_writes_nothing(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = LedgerStore(open_database(db_url))
    ledger.register_nodes(NODES)
    path = tmp_path / "events.csv"
    write_events(path, [dispatched("d1", 2, 500, to="PRK-NS")])
    header, row = path.read_text(encoding="utf-8").splitlines()
    # a 100,000-character lot: refused by its length, and not echoed whole
    path.write_text(f"{header}\n{row.replace(',A1,', ',' + 'L' * 100_000 + ',')}\n")
    assert run(["ledger", "import", str(path), "--db", db_url]) == 2
    err = capsys.readouterr().err
    assert "LEDGER_ROW_INVALID" in err
    assert "at most 100 characters" in err
    assert len(err) < 5_000
    # 5 MB (the issue's was 50 MB): beyond what the CSV reader takes in one cell
    path.write_text(f"{header}\n{row.replace(',A1,', ',' + 'L' * 5_000_000 + ',')}\n")
    assert run(["ledger", "import", str(path), "--db", db_url]) == 2
    err = capsys.readouterr().err
    assert "LEDGER_BAD_FILE" in err
    assert ":2" in err
    assert list(ledger.events()) == []


def _flat(text: str) -> str:
    """Rich wraps long lines at the console width: compare with single spaces."""
    return " ".join(text.split())


def test_unicef_import_reports_the_unknown_vaccine_choice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from doseflow.data.deliveries import delivery_rows

    kenya = sum(
        r.total_doses
        for r in delivery_rows()
        if r.country_name == "Kenya" and r.vaccine_name == "Unknown"
    )
    assert kenya > 0
    db = str(tmp_path / "u.sqlite")
    _ok(["ledger", "unicef", "--db", db])
    out = _flat(capsys.readouterr().out)
    assert (
        "Vaccine 'Unknown': 1,012 rows (6,182,973,714 doses) excluded (--unknown-vaccine "
        "exclude): the vaccine is not named in the UNICEF data" in out
    )
    store = LedgerStore(open_database(db))
    assert store.stock_total("KEN-NS-UNICEF", "COVID19-UNSPECIFIED") == 0
    _ok(["ledger", "unicef", "--unknown-vaccine", "unspecified", "--db", db])
    out = _flat(capsys.readouterr().out)
    assert (
        "Vaccine 'Unknown': 1,012 rows (6,182,973,714 doses) imported under "
        "COVID19-UNSPECIFIED (--unknown-vaccine unspecified)" in out
    )
    assert store.stock_total("KEN-NS-UNICEF", "COVID19-UNSPECIFIED") == kenya
    # the rows named for a vaccine were recorded by the first run: only the new ones now
    from doseflow.data.population import countries
    from doseflow.ledger.unicef import UNSPECIFIED, UnknownVaccine, plan_import

    plan = plan_import(delivery_rows(), countries(), unknown_vaccine=UnknownVaccine.UNSPECIFIED)
    new = sum(
        1
        for e in plan.events
        if isinstance(e, ShipmentReceived | ShipmentDispatched) and e.lot.product == UNSPECIFIED
    )
    assert new > 0
    assert f"{new:,} events recorded" in out
    assert store.self_check().ok
    assert run(["ledger", "unicef", "--unknown-vaccine", "maybe", "--db", db]) == 2


def test_stock_says_which_source_it_covers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from doseflow.data.deliveries import DeliveryRow
    from doseflow.data.population import countries
    from doseflow.ledger.unicef import plan_import

    db = str(tmp_path / "s.sqlite")
    store = LedgerStore(open_database(db))
    store.register_nodes(NODES)
    store.append_events([dispatched("d1", 2, 500, to="PRK-NS"), received("r1", 3, 500)])
    row = DeliveryRow(2, "Kenya", "AstraZeneca - Vaxzevria", date(2021, 3, 1), (("COVAX", 70),), 70)
    plan = plan_import([row], countries())
    store.register_nodes(plan.nodes)
    store.append_events(list(plan.events))
    _ok(["ledger", "stock", "--db", db])
    out = _flat(capsys.readouterr().out)
    assert "Source: both sources, kept at separate nodes" in out
    assert "Total: 570 doses (network stores 500; UNICEF deliveries data 70)" in out
    _ok(["ledger", "stock", "--source", "unicef", "--db", db])
    out = _flat(capsys.readouterr().out)
    assert "Source: the UNICEF deliveries data only" in out
    assert "KEN-NS-UNICEF" in out
    assert "PRK-NS" not in out
    assert "Total: 70 doses" in out
    _ok(["ledger", "stock", "--source", "network", "--db", db])
    out = _flat(capsys.readouterr().out)
    assert "Source: the network's stores only" in out
    assert "KEN-NS-UNICEF" not in out
    assert "PRK-NS" in out
    assert "Total: 500 doses" in out
    # a node asked for by name keeps to the source asked for
    _ok(["ledger", "stock", "--source", "network", "--node", "KEN-NS-UNICEF", "--db", db])
    assert "Total: 0 doses" in _flat(capsys.readouterr().out)


def test_the_demo_keeps_modelled_and_unicef_stock_apart(tmp_path: Path) -> None:
    """The demo's ledger step records round 1's modelled shipments and the UNICEF deliveries;
    Mongolia's store holds the modelled doses only, its UNICEF store the reported ones only."""
    from io import StringIO

    from rich.console import Console

    from doseflow.allocation import load_scenario
    from doseflow.cli.demo import example_path
    from doseflow.cli.ledger import demo_ledger
    from doseflow.data.deliveries import delivery_rows
    from doseflow.store.allocation import AllocationStore

    engine = open_database(str(tmp_path / "demo.sqlite"))
    alloc = AllocationStore(engine)
    alloc.save_scenario(load_scenario(example_path("covax_2021.yaml")))
    alloc.run("covax-2021")
    sink = StringIO()
    demo_ledger(engine, Console(file=sink, width=300), "covax-2021")
    store = LedgerStore(engine)
    modelled = [
        e for e in store.events() if e.recorded_by == "demo" and isinstance(e, ShipmentReceived)
    ]
    mng = sum(e.quantity for e in modelled if e.node == "MNG-NS")
    assert mng > 0
    # one receipt through the hub is short of a damaged pack: the demo shows a shortfall
    short = [e for e in modelled if e.discrepancy]
    assert len(short) == 1
    assert short[0].reason is DiscrepancyReason.DAMAGED
    lines = store.stock_on_hand(node=["MNG-NS"])
    assert sum(s.doses for s in lines) == mng
    assert not [s for s in lines if s.lot.startswith("UNICEF-")]
    reported = store.stock_on_hand(node=["MNG-NS-UNICEF"])
    mongolia = sum(
        r.total_doses
        for r in delivery_rows()
        if r.country_name == "Mongolia" and r.vaccine_name != "Unknown"
    )
    assert mongolia > 0
    assert sum(s.doses for s in reported) == mongolia
    assert all(s.lot.startswith("UNICEF-") for s in reported)
    out = " ".join(sink.getvalue().split())
    assert "MNG-NS-UNICEF" in out
    assert "--source" in out


def _doc_blocks(heading: str) -> list[str]:
    """The ```text blocks of a section of docs/ledger.md, each flattened to one line."""
    doc = (Path(__file__).parents[2] / "docs" / "ledger.md").read_text(encoding="utf-8")
    section = doc.split(heading, 1)[1].split("\n## ", 1)[0]
    return [_flat(b.split("```", 1)[0]) for b in section.split("```text")[1:]]


def test_the_documented_unicef_figures_are_what_the_commands_print(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from doseflow.data.deliveries import delivery_rows
    from doseflow.data.population import countries
    from doseflow.ledger.unicef import plan_import

    default, unspecified = _doc_blocks("## UNICEF deliveries")
    db = str(tmp_path / "doc.sqlite")
    _ok(["ledger", "unicef", "--db", db])
    out = _flat(capsys.readouterr().out)
    for line in default.split(". "):
        assert line.rstrip(".") in out, line
    _ok(["ledger", "unicef", "--unknown-vaccine", "unspecified", "--db", db])
    out = _flat(capsys.readouterr().out)
    for line in unspecified.split(". "):
        assert line.rstrip(".") in out, line
    doc = _flat((Path(__file__).parents[2] / "docs" / "ledger.md").read_text(encoding="utf-8"))
    plan = plan_import(delivery_rows(), countries())
    for u in plan.unmapped:
        if u.kind == "country":
            rows = f"{len(u.lines)} row{'s' if len(u.lines) > 1 else ''}"
            assert f"`{u.name}` ({rows}, {u.doses:,} doses)" in doc, u.name
    vaxzevria = sum(
        r.total_doses for r in delivery_rows() if r.vaccine_name == "AstraZeneca - Vaxzevria"
    )
    assert f"real Vaxzevria deliveries ({vaxzevria:,} doses)" in doc


def test_a_ledger_imported_with_the_earlier_mapping_is_refused_not_doubled(
    db_url: str,
) -> None:
    """The earlier import received at <ISO3>-NS under the same event ids: importing again
    is refused whole (the ids' content differs), never recorded a second time."""
    from dataclasses import replace

    from doseflow.data.deliveries import DeliveryRow
    from doseflow.data.population import countries
    from doseflow.domain.errors import DoseflowError
    from doseflow.domain.network import Node, NodeKind
    from doseflow.ledger.unicef import plan_import

    rows = [DeliveryRow(2, "Kenya", "Moderna - Spikevax", date(2021, 7, 1), (("COVAX", 9),), 9)]
    plan = plan_import(rows, countries())
    earlier = [
        replace(e, node="KEN-NS")
        if isinstance(e, ShipmentReceived)
        else replace(e, destination="KEN-NS")
        for e in plan.events
        if isinstance(e, ShipmentReceived | ShipmentDispatched)
    ]
    store = LedgerStore(open_database(db_url))
    store.register_nodes([*plan.nodes, Node("KEN-NS", "Kenya", NodeKind.NATIONAL_STORE, "KEN")])
    store.append_events(earlier)
    with pytest.raises(DoseflowError) as exc:
        store.append_events(list(plan.events))
    assert exc.value.code == "LEDGER_IDEMPOTENCY_CONFLICT"
    assert store.event_count() == 2
    assert store.stock_total("KEN-NS-UNICEF", "MODERNA") == 0


def test_card_shows_a_receipts_shortfall(
    db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``ledger card`` prints a line for the 2,400 doses a receipt is short of its dispatch,
    naming the shipment, under the +69,600 received (issue 15)."""
    from doseflow.cli.console import console

    monkeypatch.setattr(console, "width", 220)
    LedgerStore(open_database(db_url)).register_nodes(NODES)
    path = tmp_path / "events.csv"
    short = ShipmentReceived(
        event_id="r1",
        occurred_at=received("r1", 5, 1).occurred_at,
        recorded_by="me",
        shipment_id="S1",
        node="PRK-NS",
        lot=received("r1", 5, 1).lot,
        quantity=69_600,
        discrepancy=2_400,
        outcome=ReceiptOutcome.DIFFERENT_QUANTITY,
        reason=DiscrepancyReason.SHORT,
    )
    write_events(path, [dispatched("d1", 2, 72_000, to="PRK-NS"), short])
    _ok(["ledger", "import", str(path), "--db", db_url])
    capsys.readouterr()
    _ok(["ledger", "card", "PRK-NS", "AZ-SII", "--db", db_url])
    lines = capsys.readouterr().out.splitlines()
    received_at = next(i for i, line in enumerate(lines) if "69,600" in line)
    shortfall = lines[received_at + 1]
    assert "discrepancy" in shortfall
    assert "2,400 doses short against 72,000 dispatched on shipment S1" in shortfall


def test_card_shows_a_receipt_rejected_whole(
    db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``ledger card`` shows a receipt that accepted none of its 72,000 doses (a cold-chain
    break), with the rejection on its own line, though no stock moved (issue 15)."""
    from doseflow.cli.console import console

    monkeypatch.setattr(console, "width", 220)
    LedgerStore(open_database(db_url)).register_nodes(NODES)
    path = tmp_path / "events.csv"
    rejected = ShipmentReceived(
        event_id="r1",
        occurred_at=received("r1", 5, 1).occurred_at,
        recorded_by="me",
        shipment_id="S1",
        node="PRK-NS",
        lot=received("r1", 5, 1).lot,
        quantity=0,
        discrepancy=72_000,
        outcome=ReceiptOutcome.REJECTED,
        reason=DiscrepancyReason.TEMPERATURE_EXCURSION,
    )
    write_events(path, [dispatched("d1", 2, 72_000, to="PRK-NS"), rejected])
    _ok(["ledger", "import", str(path), "--db", db_url])
    capsys.readouterr()
    _ok(["ledger", "card", "PRK-NS", "AZ-SII", "--db", db_url])
    lines = capsys.readouterr().out.splitlines()
    receipt = next(i for i, line in enumerate(lines) if " received " in line)
    assert "shipment S1" in lines[receipt]
    gap = lines[receipt + 1]
    assert "discrepancy" in gap
    assert (
        "72,000 doses rejected (temperature excursion) against 72,000 dispatched on shipment S1"
        in gap
    )
