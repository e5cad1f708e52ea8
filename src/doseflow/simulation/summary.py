"""What a run comes to, node by node: the figures a planner compares between policies.

The result holds arrays per node and day; a comparison of two variants asks for their sums
(doses given, expired, discarded for heat, demand unmet, stock left), one line per node and
one for the network, the same for the command, a file or a test.
"""

from __future__ import annotations

from dataclasses import dataclass

from doseflow.simulation.result import SimulationResult

__all__ = ["NodeTotals", "network_totals", "node_totals"]


@dataclass(frozen=True)
class NodeTotals:
    """One node's doses over a whole run (``node`` is "total" for the network)."""

    node: str
    administered: int
    expired: int
    vvm_discarded: int
    unmet: int
    stock_end: int


def node_totals(result: SimulationResult) -> tuple[NodeTotals, ...]:
    """One line per node of the run, in the result's (sorted) node order."""
    stock: dict[str, int] = {}
    for line in result.stock_end:
        stock[line.node] = stock.get(line.node, 0) + line.doses
    return tuple(
        NodeTotals(
            node,
            int(result.administered[i].sum()),
            int(result.expired[i].sum()),
            int(result.vvm_discarded[i].sum()),
            int(result.unmet[i].sum()),
            stock.get(node, 0),
        )
        for i, node in enumerate(result.nodes)
    )


def network_totals(lines: tuple[NodeTotals, ...]) -> NodeTotals:
    """The sum of the nodes' lines."""
    return NodeTotals(
        "total",
        sum(t.administered for t in lines),
        sum(t.expired for t in lines),
        sum(t.vvm_discarded for t in lines),
        sum(t.unmet for t in lines),
        sum(t.stock_end for t in lines),
    )
