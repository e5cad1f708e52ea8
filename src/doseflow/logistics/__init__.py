"""Cold chain and routing: storage profiles, the network file, feasibility, routes, capacity.

The public API (see ``docs/logistics.md``):

- storage profiles: :func:`storage_profile`, :func:`storage_cm3_per_dose`,
  :func:`transport_cm3_per_dose`, :func:`storage_litres`, :func:`profile_table`,
  :func:`reference_product`;
- the network file: :func:`load_network`, :func:`load_network_file`,
  :func:`example_network_path`;
- feasibility: :func:`check_feasibility` (a :class:`Feasibility` with a route or a
  :class:`Reason`), :func:`feasibility_matrix`;
- routing: :func:`plan_route` (one route, or ``LOGISTICS_INFEASIBLE``),
  :func:`plan_shipments` (many requests within lane capacity, split as needed);
- allocations to requests: :func:`requests_for_allocations` (each country's doses to its
  national store, from the product's suppliers);
- capacity: :func:`capacity_gaps` (stock held at nodes), :func:`plan_capacity_gaps` (peak of
  a shipment plan), :func:`band_capacity_litres`, :func:`holding_band`.
"""

from __future__ import annotations

from doseflow.logistics.allocation_requests import (
    Unplaced,
    national_store,
    requests_for_allocations,
)
from doseflow.logistics.capacity import (
    CapacityGap,
    Holding,
    band_capacity_litres,
    capacity_gaps,
    gaps_from_needs,
    holding_band,
    plan_capacity_gaps,
    plan_storage_needs,
)
from doseflow.logistics.feasibility import (
    Feasibility,
    Reason,
    ReasonKind,
    check_feasibility,
    feasibility_matrix,
)
from doseflow.logistics.network_file import (
    NetworkFile,
    example_network_path,
    load_network,
    load_network_file,
    parse_network_document,
    parse_network_yaml,
)
from doseflow.logistics.profile_file import load_profiles
from doseflow.logistics.request_file import (
    load_requests,
    parse_request_specs,
    requests_from_records,
)
from doseflow.logistics.route_search import BandChange, Leg, Objective, Route, RoutingGraph
from doseflow.logistics.routing import (
    PlannedShipment,
    ShipmentPlan,
    ShipmentRequest,
    Undelivered,
    plan_route,
    plan_shipments,
)
from doseflow.logistics.storage_profiles import (
    PackedVolume,
    ProfileTable,
    StorageProfile,
    bundled_profiles,
    profile_table,
    reference_product,
    storage_cm3_per_dose,
    storage_litres,
    storage_profile,
    transport_cm3_per_dose,
    transport_litres,
)

__all__ = [
    "BandChange",
    "CapacityGap",
    "Feasibility",
    "Holding",
    "Leg",
    "NetworkFile",
    "Objective",
    "PackedVolume",
    "PlannedShipment",
    "ProfileTable",
    "Reason",
    "ReasonKind",
    "Route",
    "RoutingGraph",
    "ShipmentPlan",
    "ShipmentRequest",
    "StorageProfile",
    "Undelivered",
    "Unplaced",
    "band_capacity_litres",
    "bundled_profiles",
    "capacity_gaps",
    "check_feasibility",
    "example_network_path",
    "feasibility_matrix",
    "gaps_from_needs",
    "holding_band",
    "load_network",
    "load_network_file",
    "load_profiles",
    "load_requests",
    "national_store",
    "parse_network_document",
    "parse_network_yaml",
    "parse_request_specs",
    "plan_capacity_gaps",
    "plan_route",
    "plan_shipments",
    "plan_storage_needs",
    "profile_table",
    "reference_product",
    "requests_for_allocations",
    "requests_from_records",
    "storage_cm3_per_dose",
    "storage_litres",
    "storage_profile",
    "transport_cm3_per_dose",
    "transport_litres",
]
