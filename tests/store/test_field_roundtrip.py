"""Whatever the bounded field types accept is stored and read back unchanged, on SQLite and
PostgreSQL alike (issue 11): the types' character and length rules are exactly what both
backends can hold, so no accepted value meets a database error or comes back altered."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from doseflow.data.fields import Code, FreeText, Identifier, LotNumber, Quantity, UserName
from doseflow.domain.events import Adjustment, AdjustmentReason, Reversal
from doseflow.domain.limits import MAX_QUANTITY
from doseflow.domain.lot import Lot
from doseflow.domain.network import Node, NodeKind
from doseflow.ledger.event_file import events_from_rows
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore

#: Any character at all except surrogates, which JSON can carry but Python's str cannot
#: encode (the types refuse them too); the filter below keeps what a type accepts.
_CHARS = st.characters(exclude_categories=("Cs",))


def _accepted(kind: object, max_size: int, min_size: int = 1) -> st.SearchStrategy[str]:
    adapter: TypeAdapter[str] = TypeAdapter(kind)

    def ok(text: str) -> bool:
        try:
            adapter.validate_python(text)
        except ValidationError:
            return False
        return True

    return st.text(_CHARS, min_size=min_size, max_size=max_size).filter(ok)


_ids = itertools.count()


@pytest.fixture
def ledger(db_url: str) -> LedgerStore:
    store = LedgerStore(open_database(db_url))
    store.register_nodes([Node("NS", "National store", NodeKind.NATIONAL_STORE, country="KEN")])
    return store


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(
    event_id=_accepted(Identifier, 150),
    lot=_accepted(LotNumber, 100),
    product=_accepted(Code, 64),
    user=_accepted(UserName, 100),
    reason=_accepted(FreeText, 500, min_size=1),
    quantity=st.integers(1, MAX_QUANTITY),
)
def test_accepted_values_come_back_unchanged(
    ledger: LedgerStore,
    event_id: str,
    lot: str,
    product: str,
    user: str,
    reason: str,
    quantity: int,
) -> None:
    n = next(_ids)
    found_id, undo_id = f"{n}+{event_id}", f"{n}-{event_id}"
    at = datetime(2021, 5, 1, tzinfo=UTC)
    # the file reader accepts the same values (and stores exactly what it was given)
    (row_event,) = events_from_rows(
        [
            (
                1,
                {
                    "id": found_id,
                    "type": "adjustment",
                    "reason": "found",
                    "occurred_at": at.isoformat(),
                    "recorded_by": user,
                    "node": "NS",
                    "product": product,
                    "lot": lot,
                    "quantity": quantity,
                },
            )
        ],
        "property",
    )
    found = Adjustment(
        event_id=found_id,
        occurred_at=at,
        recorded_by=user,
        node="NS",
        lot=Lot(product, lot),
        quantity=quantity,
        reason=AdjustmentReason.FOUND,
    )
    assert row_event == found
    undo = Reversal(
        event_id=undo_id, occurred_at=at, recorded_by=user, reverses=found_id, reason=reason
    )
    ledger.append_events([found, undo])
    stored = {e.event_id: e for e in ledger.events() if e.event_id in (found_id, undo_id)}
    assert stored[found_id].same_content(found)
    assert stored[undo_id].same_content(undo)
    assert TypeAdapter(Quantity).validate_python(quantity) == quantity
