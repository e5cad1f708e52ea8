"""Shipment requests for allocated doses: each country's doses to its national store.

Allocation results are (product, ISO3, doses) lines; logistics plans them from the product's
supplier (the network file's ``products`` lists) to the country's national store. Lines for
a country with no national store in the network are returned separately, not guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from doseflow.domain.network import NodeKind
from doseflow.domain.product import Product
from doseflow.logistics.network_file import NetworkFile
from doseflow.logistics.routing import ShipmentRequest


@dataclass(frozen=True)
class Unplaced:
    """An allocation the network cannot place: no national store, or no known supplier."""

    product: Product
    iso3: str
    doses: int
    why: str


def national_store(net: NetworkFile, iso3: str) -> str | None:
    """Code of the country's national store in the network, if there is one."""
    for code, node in net.network.nodes.items():
        if node.kind is NodeKind.NATIONAL_STORE and node.country == iso3:
            return code
    return None


def requests_for_allocations(
    net: NetworkFile, lines: Iterable[tuple[Product, str, int]], *, ready_day: float = 0.0
) -> tuple[list[ShipmentRequest], list[Unplaced]]:
    """One request per product and country (doses summed), in first-seen order."""
    totals: dict[tuple[str, str], int] = {}
    products: dict[str, Product] = {}
    for product, iso3, doses in lines:
        if doses <= 0:
            continue
        products[product.code] = product
        totals[(product.code, iso3)] = totals.get((product.code, iso3), 0) + doses
    requests: list[ShipmentRequest] = []
    unplaced: list[Unplaced] = []
    for (code, iso3), doses in totals.items():
        product = products[code]
        store = national_store(net, iso3)
        origins = net.origins_for(product)
        if store is None:
            unplaced.append(Unplaced(product, iso3, doses, "no national store in the network"))
        elif not origins:
            unplaced.append(Unplaced(product, iso3, doses, "no supplier lists the product"))
        else:
            requests.append(
                ShipmentRequest(
                    product, store, doses, origins, ready_day=ready_day, reference=f"{code}/{iso3}"
                )
            )
    return requests, unplaced
