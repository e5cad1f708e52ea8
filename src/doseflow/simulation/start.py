"""Where a simulation starts: stock on hand by node and lot, and the shipments on their way.

These are the only inputs the engine takes from the ledger; the store reads them from the
live ledger (``doseflow.store.simulation_start``) and files can give them for a hypothetical
network, so the engine itself never touches a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class LotStock:
    """Doses of one lot at one node on the start day (``vvm_stage`` 1-4, as last reported)."""

    node: str
    product: str
    lot: str
    expiry: date | None
    vvm_stage: int
    doses: int


@dataclass(frozen=True)
class PipelineShipment:
    """Doses of one lot on their way on the start day: travelling towards ``next_node``
    (expected there on ``expected_arrival``, None if unknown), or waiting at the hub
    ``held_at`` (``held`` true when a hold keeps them there). ``route`` is every node from
    origin to final destination, as the ledger recorded it."""

    shipment_id: str
    product: str
    lot: str
    expiry: date | None
    doses: int
    route: tuple[str, ...]
    next_node: str | None
    expected_arrival: date | None
    held_at: str | None = None
    held: bool = False

    @property
    def destination(self) -> str:
        return self.route[-1]


@dataclass(frozen=True)
class StartState:
    """The ledger's picture on ``as_of`` (the start of day 0): every lot on hand with doses,
    every shipment not yet received."""

    as_of: date
    stock: tuple[LotStock, ...]
    pipeline: tuple[PipelineShipment, ...]

    def total_doses(self) -> int:
        """Doses on hand plus doses on their way: what conservation starts from."""
        return sum(s.doses for s in self.stock) + sum(p.doses for p in self.pipeline)
