"""Stock and regions for a plan from other areas' objects: allocation lines, ledger stock,
the supply network.

Each function accepts plain objects with the attributes it reads (protocols), so the
deployment engine does not depend on how allocation rounds or the ledger are stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Protocol

from doseflow.deployment.model import Region, StockLot
from doseflow.domain.errors import DoseflowError
from doseflow.domain.network import Network, NodeKind
from doseflow.domain.product import Product


class AllocatedDoses(Protocol):
    """What an allocation line carries (``doseflow.allocation`` ``AllocationLine``)."""

    @property
    def iso3(self) -> str: ...
    @property
    def product(self) -> str: ...
    @property
    def doses(self) -> int: ...
    @property
    def pool(self) -> str: ...


class LotBalance(Protocol):
    """What a ledger stock line carries (``doseflow.ledger.views`` ``StockLine``)."""

    @property
    def node(self) -> str: ...
    @property
    def product(self) -> str: ...
    @property
    def lot(self) -> str: ...
    @property
    def expiry(self) -> date | None: ...
    @property
    def doses(self) -> int: ...


def stock_from_allocation(
    lines: Iterable[AllocatedDoses],
    iso3: str,
    products: Mapping[str, Product],
    received: date,
    expiry_by_pool: Mapping[str, date | None] | None = None,
) -> tuple[StockLot, ...]:
    """One lot per pool allocated to ``iso3``, expiring when its pool does
    (``expiry_by_pool``) or, if that is not known, ``shelf_life_days`` after ``received``."""
    lots: dict[tuple[str, str], int] = {}
    for line in lines:
        if line.iso3 == iso3 and line.doses > 0:
            key = (line.product, line.pool)
            lots[key] = lots.get(key, 0) + line.doses
    out = []
    for (code, pool), doses in sorted(lots.items()):
        product = products.get(code)
        expiry = (expiry_by_pool or {}).get(pool)
        if expiry is None and product is not None:
            expiry = received + timedelta(days=product.shelf_life_days)
        out.append(StockLot(product=code, lot=f"{pool}", doses=doses, expiry=expiry))
    return tuple(out)


def stock_from_ledger(balances: Iterable[LotBalance], node: str) -> tuple[StockLot, ...]:
    """Lots on hand at ``node`` (e.g. the national store) as ledger stock lines give them."""
    return tuple(
        StockLot(product=b.product, lot=b.lot, doses=b.doses, expiry=b.expiry)
        for b in balances
        if b.node == node and b.doses > 0
    )


def regions_from_network(
    network: Network,
    populations: Mapping[str, int],
    doses_per_day: Mapping[str, int],
    *,
    kinds: Iterable[NodeKind] = (NodeKind.REGIONAL_STORE,),
    lead_days: Mapping[str, int] | None = None,
) -> tuple[Region, ...]:
    """Regions from the network's nodes of ``kinds`` (regional stores by default, or service
    points), with their cold-chain capacity; population and daily capacity per node code."""
    wanted = set(kinds)
    out = []
    for node in network.nodes.values():
        if node.kind not in wanted:
            continue
        for what, table in (("population", populations), ("doses_per_day", doses_per_day)):
            if node.code not in table:
                raise DoseflowError(
                    "DEPLOY_UNKNOWN_REGION",
                    f"no {what} given for network node {node.code}",
                    field=what,
                    expected=f"a {what} for every {'/'.join(k.value for k in wanted)} node",
                    value=node.code,
                )
        out.append(
            Region(
                code=node.code,
                name=node.region or node.name,
                population=populations[node.code],
                doses_per_day=doses_per_day[node.code],
                capacity_litres=node.capacity_litres,
                lead_days=(lead_days or {}).get(node.code, 0),
                node=node.code,
            )
        )
    return tuple(out)
