"""Small networks for simulation tests, and loading a run into a scratch ledger."""

from __future__ import annotations

from datetime import date, timedelta

from doseflow.domain.network import Node, NodeKind
from doseflow.ledger.accounts import CHECKED_STATES
from doseflow.ledger.book import Book
from doseflow.ledger.conservation import ConservationReport, compare
from doseflow.simulation.opening import OPENING_SOURCE, opening_events
from doseflow.simulation.result import SimulationResult
from doseflow.simulation.start import LotStock, PipelineShipment, StartState

AS_OF = date(2021, 6, 1)
PRODUCT = "AZ-SII"

NODES = (
    Node("SII", "Serum Institute of India", NodeKind.SUPPLIER),
    Node("DLC", "Dalian hub", NodeKind.HUB, country="CHN"),
    Node("PRK-BORDER", "Sinuiju border post", NodeKind.NATIONAL_STORE, country="PRK"),
    Node("PRK-NS", "DPRK national store", NodeKind.NATIONAL_STORE, country="PRK"),
    Node("PRK-SP", "DPRK service point", NodeKind.SERVICE_POINT, country="PRK"),
)

SUPPLIERS = frozenset(n.code for n in NODES if n.kind is NodeKind.SUPPLIER)

OPENING_NODE = Node(OPENING_SOURCE, "opening balance of a run", NodeKind.SUPPLIER)


def on(day: int) -> date:
    """The date of day ``day`` of a run starting on :data:`AS_OF`."""
    return AS_OF + timedelta(days=day)


def lot(node: str, number: str, doses: int, expiry_day: int | None, stage: int = 1) -> LotStock:
    expiry = None if expiry_day is None else on(expiry_day)
    return LotStock(node, PRODUCT, number, expiry, stage, doses)


def start(*stock: LotStock, pipeline: tuple[PipelineShipment, ...] = ()) -> StartState:
    return StartState(AS_OF, tuple(stock), pipeline)


def scratch_check(begin: StartState, result: SimulationResult) -> tuple[Book, ConservationReport]:
    """The run's events after its opening balance in an in-memory ledger (``Book.append``
    refuses any negative stock or transit balance), and the ledger's conservation report.
    As in the ledger, the suppliers' stock is not tracked: doses enter when dispatched."""
    book = Book(sources=frozenset({OPENING_SOURCE, *SUPPLIERS}))
    events = [*opening_events(begin, result.run_id, SUPPLIERS), *result.events]
    book.append(events)
    balances = book.balances()
    stored = {k: v for k, v in balances.items() if k.state in CHECKED_STATES and v}
    return book, compare(len(events), balances, stored, [])
