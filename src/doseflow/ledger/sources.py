"""Where stock comes from: the network's stores or the UNICEF deliveries data.

The UNICEF import receives reported deliveries at stores of its own (``<ISO3>-NS-UNICEF``,
supplied by ``UNICEF-<channel>`` nodes), never at the network's ``<ISO3>-NS`` where
shipments planned from allocation rounds (modelled, or recorded as they happen) arrive. So
the source of any stock is the node it sits at, and a stock view keeps sources apart by
choosing nodes: no tag on events, no second ledger. Every view that shows stock names the
source it covers with :func:`describe`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from doseflow.ledger.unicef import is_unicef_node


class StockSource(StrEnum):
    """Which stock a view covers."""

    ALL = "all"
    NETWORK = "network"  # every node but the UNICEF import's
    UNICEF = "unicef"  # the UNICEF import's stores and supply nodes


_TEXT = {
    StockSource.NETWORK: (
        "the network's stores only: shipments planned from allocation rounds and events "
        "recorded by command, file or API (not the UNICEF deliveries data)"
    ),
    StockSource.UNICEF: (
        "the UNICEF deliveries data only: deliveries UNICEF reported, received at "
        "<ISO3>-NS-UNICEF (not modelled shipments)"
    ),
}


def source_of(node: str) -> StockSource:
    """The source of the stock at a node."""
    return StockSource.UNICEF if is_unicef_node(node) else StockSource.NETWORK


def select(nodes: Iterable[str], source: StockSource) -> list[str]:
    """The nodes a view of ``source`` covers, in the order given."""
    return [n for n in nodes if source is StockSource.ALL or source_of(n) is source]


def describe(source: StockSource) -> str:
    """One plain sentence: the stock a view of ``source`` covers."""
    if source is StockSource.ALL:
        return (
            "both sources, kept at separate nodes: the network's stores (shipments planned "
            "from allocation rounds, events recorded by command, file or API) and the UNICEF "
            "deliveries data (<ISO3>-NS-UNICEF); a total adds them, so it is given per source"
        )
    return _TEXT[source]
