"""A run's events, loaded into a scratch ledger database, pass the ledger's own self-check:
doses at the start = on hand + in transit + administered + written off at the end."""

from __future__ import annotations

from doseflow.ledger.accounts import AccountState
from doseflow.simulation.engine import run
from doseflow.simulation.opening import opening_events
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from tests.simulation.cases import NODES, OPENING_NODE, SUPPLIERS
from tests.simulation.test_determinism import BEGIN, SCENARIO, X_NODES


def test_a_run_loaded_into_a_scratch_ledger_passes_its_self_check(sqlite_url: str) -> None:
    result = run(BEGIN, SCENARIO, seed=7, days=150)
    ledger = LedgerStore(open_database(sqlite_url))
    ledger.register_nodes((*NODES, *X_NODES, OPENING_NODE))
    events = [*opening_events(BEGIN, result.run_id, SUPPLIERS), *result.events]
    appended = ledger.append_events(events)
    assert len(appended.appended) == len(events)

    report = ledger.self_check()
    assert report.ok, report.repairs
    # the ledger tracks no supplier stock: what SII still holds at the end never entered
    at_supplier = sum(s.doses for s in result.stock_end if s.node in SUPPLIERS)
    assert BEGIN.total_doses() == 10_300
    assert report.entered == 10_300 - at_supplier
    totals = report.totals
    assert totals[AccountState.STOCK] == result.on_hand_end() - at_supplier
    assert totals[AccountState.TRANSIT] == result.in_transit_end
    assert totals[AccountState.ADMINISTERED] == int(result.administered.sum())
    assert totals[AccountState.WRITTEN_OFF] == result.written_off()
    assert result.written_off() > 0
    assert result.administered.sum() > 0


def test_the_ledger_refuses_a_run_that_would_break_conservation(sqlite_url: str) -> None:
    """The check has teeth: the same events without the opening balance take doses the
    ledger never had, and the append is refused."""
    import pytest

    from doseflow.domain.errors import DoseflowError

    result = run(BEGIN, SCENARIO, seed=7, days=30)
    ledger = LedgerStore(open_database(sqlite_url))
    ledger.register_nodes((*NODES, *X_NODES, OPENING_NODE))
    with pytest.raises(DoseflowError) as caught:
        ledger.append_events(list(result.events))
    assert caught.value.code == "LEDGER_NEGATIVE_BALANCE"
