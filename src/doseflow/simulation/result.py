"""What a run produces: ledger events, and summary arrays per node and day.

The events are the ledger's own types (``doseflow.domain.events``), so a run can be loaded
into a scratch ledger and checked by the ledger's conservation self-check; the arrays are
for charts and comparisons without reading the events again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from doseflow.domain.events import LedgerEvent
from doseflow.simulation.start import LotStock

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """One replication. Arrays have shape (len(nodes), days), in doses; row i is
    ``nodes[i]``. ``stock_end`` is the stock on hand after the last day (VVM stages as the
    run left them); ``in_transit_end`` the doses still on their way (including doses held
    in quarantine)."""

    run_id: str
    days: int
    nodes: tuple[str, ...]
    events: tuple[LedgerEvent, ...]
    administered: IntArray
    expired: IntArray
    vvm_discarded: IntArray
    demand: IntArray
    unmet: IntArray
    stock_end: tuple[LotStock, ...]
    in_transit_end: int

    def node_index(self, code: str) -> int:
        return self.nodes.index(code)

    @property
    def stockout_days(self) -> IntArray:
        """Days on which some demand went unmet, per node."""
        out: IntArray = (self.unmet > 0).sum(axis=1).astype(np.int64)
        return out

    def on_hand_end(self) -> int:
        return sum(s.doses for s in self.stock_end)

    def written_off(self) -> int:
        """Doses expired or discarded for their VVM over the run."""
        return int(self.expired.sum() + self.vvm_discarded.sum())
