"""Where a simulation run starts, read from the live ledger (issue 16)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from doseflow.domain.events import (
    ArrivedAtHub,
    DispatchedOnward,
    EventKind,
    LedgerEvent,
    Reversal,
    ShipmentDispatched,
    ShipmentHeld,
    ShipmentPlanned,
    ShipmentReceived,
)
from doseflow.domain.lot import Lot
from doseflow.domain.network import Node, NodeKind
from doseflow.simulation.engine import run
from doseflow.simulation.opening import OPENING_SOURCE, opening_events
from doseflow.simulation.scenario import Demand, Scenario, SimLane
from doseflow.simulation.start import LotStock, PipelineShipment, StartState
from doseflow.simulation.streams import Distribution, LeadTime
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from doseflow.store.simulation_start import read_start_state
from tests.service.seed import K1, K2, N1, seed_ledger
from tests.service.seed import NODES as SEED_NODES

OPENING_NODE = Node(OPENING_SOURCE, "opening balance of a run", NodeKind.SUPPLIER)


def ledger_total(ledger: LedgerStore, as_of: date) -> int:
    """What the ledger itself shows at the start of ``as_of``: stock on hand (hubs
    included) plus doses in transit, at the end of the day before."""
    day = as_of - timedelta(days=1)
    return sum(s.doses for s in ledger.stock_on_hand(at=day)) + sum(
        line.doses for line in ledger.in_transit(at=day)
    )


def test_seeded_ledger_start(db_url: str) -> None:
    engine = open_database(db_url)
    ledger = seed_ledger(engine)
    state = read_start_state(engine, date(2021, 5, 10))
    assert state.as_of == date(2021, 5, 10)
    assert state.stock == (LotStock("KEN-NS", "AZ-SII", "K1", K1.expiry, 1, 24_000),)
    assert set(state.pipeline) == {
        PipelineShipment(
            "S-KEN-2",
            "AZ-SII",
            "K2",
            K2.expiry,
            4_800,
            ("SII", "DXB", "KEN-NS"),
            next_node=None,
            expected_arrival=None,
            held_at="DXB",
            held=True,
        ),
        PipelineShipment(
            "S-NGA-1",
            "AZ-SII",
            "N1",
            N1.expiry,
            12_000,
            ("SII", "NGA-NS"),
            next_node="NGA-NS",
            expected_arrival=date(2021, 5, 12),
        ),
    }
    assert state.total_doses() == 24_000 + 4_800 + 12_000
    assert state.total_doses() == ledger_total(ledger, state.as_of)


def test_an_event_on_the_start_day_belongs_to_the_run(sqlite_url: str) -> None:
    """The start is the start of ``as_of``: Nigeria's dispatch of 9 May is not there on
    9 May (it happens on day 0), and is on 10 May."""
    engine = open_database(sqlite_url)
    ledger = seed_ledger(engine)
    on_day = read_start_state(engine, date(2021, 5, 9))
    after = read_start_state(engine, date(2021, 5, 10))
    assert "S-NGA-1" not in {p.shipment_id for p in on_day.pipeline}
    assert "S-NGA-1" in {p.shipment_id for p in after.pipeline}
    assert on_day.total_doses() == 28_800 == ledger_total(ledger, date(2021, 5, 9))


def test_back_dated_start_ignores_later_events(sqlite_url: str) -> None:
    engine = open_database(sqlite_url)
    ledger = seed_ledger(engine)
    # 8 May: S-KEN-2 left on 7 May for Dubai; its arrival and hold of 8 May are day 0
    state = read_start_state(engine, date(2021, 5, 8))
    assert state.stock == (LotStock("KEN-NS", "AZ-SII", "K1", K1.expiry, 1, 24_000),)
    assert state.pipeline == (
        PipelineShipment(
            "S-KEN-2",
            "AZ-SII",
            "K2",
            K2.expiry,
            4_800,
            ("SII", "DXB", "KEN-NS"),
            next_node="DXB",
            expected_arrival=None,
        ),
    )
    # 5 May: nothing received yet, S-KEN-1 on its way to Kenya
    early = read_start_state(engine, date(2021, 5, 5))
    assert early.stock == ()
    assert [(p.shipment_id, p.next_node, p.expected_arrival) for p in early.pipeline] == [
        ("S-KEN-1", "KEN-NS", date(2021, 5, 6))
    ]
    assert early.total_doses() == 24_000 == ledger_total(ledger, date(2021, 5, 5))


def test_a_reversed_arrival_is_undone_from_the_start(sqlite_url: str) -> None:
    """A reversal undoes its event where it took effect (even recorded later): the start
    then has S-KEN-2 still travelling to Dubai, as the ledger's own balances do."""
    engine = open_database(sqlite_url)
    ledger = seed_ledger(engine)
    ledger.append_events(
        [
            Reversal(
                event_id=f"undo-{ref}",
                occurred_at=datetime(2021, 5, 20, tzinfo=UTC),
                recorded_by="seed",
                reverses=ref,
                reason="recorded in error",
            )
            for ref in ("h-ken-2", "a-ken-2")
        ]
    )
    state = read_start_state(engine, date(2021, 5, 10))
    ken2 = [p for p in state.pipeline if p.shipment_id == "S-KEN-2"]
    assert [(p.next_node, p.held_at, p.doses) for p in ken2] == [("DXB", None, 4_800)]
    assert state.total_doses() == 40_800 == ledger_total(ledger, date(2021, 5, 10))


def test_filters_by_node_and_product(sqlite_url: str) -> None:
    engine = open_database(sqlite_url)
    seed_ledger(engine)
    kenya = read_start_state(engine, date(2021, 5, 10), nodes=["KEN-NS"])
    assert [s.node for s in kenya.stock] == ["KEN-NS"]
    assert [p.shipment_id for p in kenya.pipeline] == ["S-KEN-2"]  # bound for Kenya
    assert read_start_state(engine, date(2021, 5, 10), product="PF").total_doses() == 0


HUBS = ("DXB", "CPH")
STORES = ("KEN-NS", "NGA-NS", "IDN-NS", "PER-NS")
NETWORK = (
    Node("SII", "Serum Institute", NodeKind.SUPPLIER, country="IND"),
    Node("DXB", "Dubai hub", NodeKind.HUB, country="ARE"),
    Node("CPH", "Copenhagen hub", NodeKind.HUB, country="DNK"),
    Node("KEN-NS", "Kenya", NodeKind.NATIONAL_STORE, country="KEN"),
    Node("NGA-NS", "Nigeria", NodeKind.NATIONAL_STORE, country="NGA"),
    Node("IDN-NS", "Indonesia", NodeKind.NATIONAL_STORE, country="IDN"),
    Node("PER-NS", "Peru", NodeKind.NATIONAL_STORE, country="PER"),
)


def generated_events(shipments: int, seed: int) -> list[LedgerEvent]:
    """Shipments in every state, some in two lots, some via a hub (held or not, partly sent
    onward), at moments spread over a month and over the nodes' time zones."""
    rng = random.Random(seed)
    start = datetime(2021, 6, 1, tzinfo=UTC)
    out: list[LedgerEvent] = []
    for i in range(shipments):
        sid = f"S{i}"
        dest = rng.choice(STORES)
        hub = rng.choice((None, *HUBS))
        route = ("SII", hub, dest) if hub else ("SII", dest)
        lots = [Lot("AZ", f"L{i}a", expiry=date(2021, 12, 1) + timedelta(days=i % 90))]
        if rng.random() < 0.4:
            lots.append(Lot("AZ", f"L{i}b", expiry=date(2022, 1, 1)))
        doses = [rng.randint(1, 50) * 100 for _ in lots]
        t = start + timedelta(hours=rng.randint(0, 24 * 20))
        by = "gen"
        out.append(
            ShipmentPlanned(
                event_id=f"{sid}:p",
                occurred_at=t,
                recorded_by=by,
                shipment_id=sid,
                origin="SII",
                destination=dest,
                product="AZ",
                quantity=sum(doses),
                route=route,
            )
        )
        first = route[1]
        for lot, q in zip(lots, doses, strict=True):
            out.append(
                ShipmentDispatched(
                    event_id=f"{sid}:d:{lot.number}",
                    occurred_at=t,
                    recorded_by=by,
                    shipment_id=sid,
                    origin="SII",
                    destination=first,
                    lot=lot,
                    quantity=q,
                    expected_arrival=(t + timedelta(days=3)).date(),
                )
            )
        t += timedelta(hours=rng.randint(6, 96))
        if hub:
            for lot, q in zip(lots, doses, strict=True):
                out.append(
                    ArrivedAtHub(
                        event_id=f"{sid}:a:{lot.number}",
                        occurred_at=t,
                        recorded_by=by,
                        shipment_id=sid,
                        hub=hub,
                        lot=lot,
                        quantity=q,
                    )
                )
            if rng.random() < 0.4:
                out.append(
                    ShipmentHeld(
                        event_id=f"{sid}:h",
                        occurred_at=t,
                        recorded_by=by,
                        shipment_id=sid,
                        hub=hub,
                        reason="permit",
                    )
                )
                continue
            t += timedelta(hours=rng.randint(6, 96))
            sent = lots if rng.random() < 0.8 else lots[:1]
            for lot, q in zip(sent, doses, strict=False):
                out.append(
                    DispatchedOnward(
                        event_id=f"{sid}:o:{lot.number}",
                        occurred_at=t,
                        recorded_by=by,
                        shipment_id=sid,
                        hub=hub,
                        destination=dest,
                        lot=lot,
                        quantity=q,
                        expected_arrival=(t + timedelta(days=2)).date(),
                    )
                )
            arriving = list(zip(sent, doses, strict=False))  # a lot left at the hub stays
            t += timedelta(hours=rng.randint(6, 96))
        else:
            arriving = list(zip(lots, doses, strict=True))
        if rng.random() < 0.7:
            for lot, q in arriving:
                out.append(
                    ShipmentReceived(
                        event_id=f"{sid}:r:{lot.number}",
                        occurred_at=t,
                        recorded_by=by,
                        shipment_id=sid,
                        node=dest,
                        lot=lot,
                        quantity=q,
                    )
                )
    # some receipts and holds recorded in error, undone later: undone where they took effect
    undone = [e for e in out if ":r:" in e.event_id or e.event_id.endswith(":h")]
    out += [
        Reversal(
            event_id=f"undo:{e.event_id}",
            occurred_at=datetime(2021, 7, 15, tzinfo=UTC),
            recorded_by="gen",
            reverses=e.event_id,
            reason="in error",
        )
        for e in rng.sample(undone, len(undone) // 10)
    ]
    return out


def seed_generated(engine: Engine, shipments: int = 300) -> LedgerStore:
    ledger = LedgerStore(engine)
    ledger.register_nodes(NETWORK)
    ledger.append_events(generated_events(shipments, seed=16))
    return ledger


def check_reconciles(engine: Engine, ledger: LedgerStore, as_of: date) -> StartState:
    state = read_start_state(engine, as_of)
    assert state.total_doses() == ledger_total(ledger, as_of), as_of
    assert all(s.doses > 0 for s in state.stock)
    assert all(p.doses > 0 for p in state.pipeline)
    for p in state.pipeline:  # waiting at a hub xor travelling to the next node
        assert (p.held_at is None) != (p.next_node is None), p
        assert p.route[0] == "SII"
        assert p.destination in STORES
    return state


def test_generated_ledger_reconciles_day_by_day(db_url: str) -> None:
    engine = open_database(db_url)
    ledger = seed_generated(engine)
    seen_held = seen_waiting = seen_travelling = 0
    for day in range(0, 40, 3):
        state = check_reconciles(engine, ledger, date(2021, 6, 1) + timedelta(days=day))
        seen_held += sum(p.held for p in state.pipeline)
        seen_waiting += sum(p.held_at is not None and not p.held for p in state.pipeline)
        seen_travelling += sum(p.next_node is not None for p in state.pipeline)
    assert seen_held
    assert seen_waiting
    assert seen_travelling
    # at the end every held shipment is still waiting, one line per lot
    final = read_start_state(engine, date(2021, 8, 1))
    held = [p for p in final.pipeline if p.held]
    assert held
    assert {p.held_at for p in held} <= set(HUBS)
    two_lots = {p.shipment_id for p in held if p.lot.endswith("b")}
    for sid in two_lots:
        assert {p.lot[-1] for p in held if p.shipment_id == sid} == {"a", "b"}
    # nothing waiting at a hub is counted a second time as the hub's own stock, not even
    # the lot a shipment left there when the rest went on and was received
    assert not [s for s in final.stock if s.node in HUBS]
    left = {p.shipment_id for p in final.pipeline if p.held_at and not p.held}
    received = {e.shipment_id for e in ledger.events() if e.kind is EventKind.RECEIVED}
    assert left & received


def test_the_engine_runs_from_the_live_start(tmp_path: Path) -> None:
    """The start read from the ledger drives a run whose events, after the opening balance,
    pass a scratch ledger's self-check with every dose of the start accounted for."""
    engine = open_database(f"sqlite:///{tmp_path / 'live.sqlite'}")
    seed_ledger(engine)
    start = read_start_state(engine, date(2021, 5, 10))
    scenario = Scenario(
        nodes=SEED_NODES,
        lanes=(SimLane("DXB", "KEN-NS", LeadTime(Distribution.FIXED, 2)),),
        demand=(Demand("KEN-NS", 500), Demand("NGA-NS", 500)),
    )
    result = run(start, scenario, seed=1, days=30)
    scratch = LedgerStore(open_database(f"sqlite:///{tmp_path / 'scratch.sqlite'}"))
    scratch.register_nodes((*SEED_NODES, OPENING_NODE))
    scratch.append_events([*opening_events(start, result.run_id, {"SII"}), *result.events])
    report = scratch.self_check()
    assert report.ok, report.repairs
    assert report.entered == start.total_doses() == 40_800
    assert result.administered.sum() > 0
