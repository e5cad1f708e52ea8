"""Quantities beyond the documented maximum are refused by the events themselves (issue 11):
a Python caller of the store gets the same coded refusal as a file or a request, on both
backends, instead of a balance that wraps near 2**63 ("short by 2 doses") or a database
error."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from doseflow.domain.errors import DoseflowError
from doseflow.domain.events import AdjustmentReason, LedgerEvent
from doseflow.domain.limits import MAX_QUANTITY
from doseflow.domain.lot import Lot
from doseflow.store import ledger_tables as t
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from tests.ledger.factory import NODES, adjusted, dispatched


@pytest.fixture
def ledger(db_url: str) -> LedgerStore:
    store = LedgerStore(open_database(db_url))
    store.register_nodes(NODES)
    return store


def _events(ledger: LedgerStore) -> int:
    with ledger.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.events)).scalar_one())


@pytest.mark.parametrize("quantity", [2**63 - 1, 2**64, 10**31, MAX_QUANTITY + 1])
def test_found_doses_near_two_to_the_63_are_refused_with_a_code(
    ledger: LedgerStore, quantity: int
) -> None:
    with pytest.raises(DoseflowError) as caught:
        ledger.append_events(
            [
                adjusted("f1", 1, quantity, AdjustmentReason.FOUND),
                adjusted("f2", 2, quantity, AdjustmentReason.FOUND),
            ]
        )
    assert caught.value.code == "LEDGER_BAD_ADJUSTMENT"
    assert "1,000,000,000,000" in (caught.value.detail.expected or "")
    assert _events(ledger) == 0


def test_a_dispatch_beyond_the_maximum_is_refused(ledger: LedgerStore) -> None:
    with pytest.raises(DoseflowError) as caught:
        ledger.append_events([dispatched("d1", 1, 2**63 - 1)])
    assert caught.value.code == "LEDGER_BAD_QUANTITY"
    assert _events(ledger) == 0


def test_the_maximum_itself_is_stored_and_read_back(ledger: LedgerStore) -> None:
    ledger.append_events(
        [
            adjusted("f1", 1, MAX_QUANTITY, AdjustmentReason.FOUND),
            adjusted("f2", 2, MAX_QUANTITY, AdjustmentReason.FOUND),
        ]
    )
    assert sum(line.doses for line in ledger.stock_on_hand()) == 2 * MAX_QUANTITY


@pytest.mark.parametrize(
    ("build", "code"),
    [
        (lambda: adjusted("e" * 201, 1, 5, AdjustmentReason.FOUND), "LEDGER_BAD_TEXT"),
        (lambda: adjusted("f\x00", 1, 5, AdjustmentReason.FOUND), "LEDGER_BAD_TEXT"),
        (
            lambda: adjusted("f1", 1, 5, AdjustmentReason.FOUND, lot=Lot("AZ", "L" * 101)),
            "LEDGER_BAD_LOT",
        ),
        (lambda: dispatched("d1", 1, 5, shipment="S" * 101), "LEDGER_BAD_TEXT"),
    ],
)
def test_events_built_in_python_are_bounded_too(
    ledger: LedgerStore, build: Callable[[], LedgerEvent], code: str
) -> None:
    # the CLI's own commands and Python callers build events without a file: the events
    # hold the same column limits, so PostgreSQL never sees a value it cannot store
    with pytest.raises(DoseflowError) as caught:
        ledger.append_events([build()])
    assert caught.value.code == code
    assert _events(ledger) == 0
