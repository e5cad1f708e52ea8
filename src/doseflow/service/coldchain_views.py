"""Cold chain and routing for the API and the dashboard: where the network comes from, and
the engines' answers as JSON-ready models.

Every figure and sentence comes from :mod:`doseflow.logistics` (``feasibility_matrix``,
``plan_shipments``, ``plan_capacity_gaps``, ``Reason.render``, ``Feasibility.describe``);
this module only picks the network (the bundled example, or a document sent with the
request), turns request rows into the engine's own request file format, narrows answers to a
participant's country, and shapes the results. Shared by ``routers/coldchain.py`` and the
dashboard's *Cold chain* page so both show the same things.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from functools import cache

from pydantic import BaseModel, Field

from doseflow.data.fields import Code, Label, Number, Quantity
from doseflow.domain.errors import DoseflowError
from doseflow.domain.network import Network, NodeKind
from doseflow.logistics import (
    CapacityGap,
    Feasibility,
    NetworkFile,
    Objective,
    Route,
    ShipmentPlan,
    ShipmentRequest,
    StorageProfile,
    example_network_path,
    feasibility_matrix,
    load_network_file,
    parse_network_document,
    parse_network_yaml,
    parse_request_specs,
    plan_capacity_gaps,
    plan_shipments,
    requests_from_records,
)
from doseflow.logistics.routing import DEFAULT_HORIZON_DAYS
from doseflow.logistics.storage_profiles import band_words
from doseflow.service.auth import Access

#: Where a network sent in a request body is said to come from in error messages.
BODY_NETWORK = "request body (network)"
BODY_REQUESTS = "request body (requests)"
SHIP_PARAMETER = "query parameter ship"


@cache
def bundled_network() -> NetworkFile:
    """The example network shipped with doseflow (read once per process)."""
    return load_network_file(example_network_path())


def network_from_body(document: dict[str, object] | None, yaml_text: str | None) -> NetworkFile:
    """The network a request sent (a JSON document or the text of a YAML network file), or
    the bundled example when it sent none; parsed and checked by the logistics engine."""
    if yaml_text is not None:
        return parse_network_yaml(yaml_text, BODY_NETWORK)
    if document is not None:
        return parse_network_document(document, BODY_NETWORK)
    return bundled_network()


# --- who may see what ----------------------------------------------------------------------


def destination_country(net: NetworkFile, code: str) -> str | None:
    node = net.network.nodes.get(code)
    return node.country if node is not None else None


def check_destinations(access: Access, net: NetworkFile, codes: Sequence[str]) -> None:
    """Refuse a participant any destination in another country (unknown codes are left to
    the engine, which names them with its own error)."""
    for code in codes:
        if code in net.network.nodes:
            access.check_iso3(destination_country(net, code))


def store_codes(network: Network, iso3: str | None = None) -> list[str]:
    """Every store a load can be delivered to (not suppliers or hubs), in file order;
    only those in ``iso3`` if given."""
    return [
        code
        for code, node in network.nodes.items()
        if node.kind not in (NodeKind.SUPPLIER, NodeKind.HUB)
        and (iso3 is None or node.country == iso3)
    ]


# --- request rows -> the engine's shipment requests ----------------------------------------


class RequestIn(BaseModel):
    """One shipment to plan (the columns of a logistics request file, docs/logistics.md)."""

    product: Code = Field(description="code, name or alias")
    destination: Code = Field(description="node code")
    doses: Quantity = Field(gt=0)
    origin: list[Code] = Field(
        default_factory=list,
        max_length=50,
        description="origin node codes (default: the suppliers listing the product)",
    )
    ready_day: Number = Field(default=0.0, ge=0, le=3650)
    use_days: Number | None = Field(default=None, ge=0, le=3650)
    doses_per_vial: Quantity | None = Field(default=None, gt=0, le=1000)
    reference: Label = ""


def requests_from_rows(rows: Sequence[RequestIn], net: NetworkFile) -> list[ShipmentRequest]:
    """The engine's requests for ``rows``, checked by the engine as a request file's rows
    are; errors name the request body and the request's number (``line``)."""
    return requests_from_records(
        [
            {
                "product": row.product,
                "destination": row.destination,
                "doses": row.doses,
                "origin": ";".join(row.origin),
                "ready_day": row.ready_day,
                "use_days": row.use_days,
                "doses_per_vial": row.doses_per_vial,
                "reference": row.reference or f"request {number}",
            }
            for number, row in enumerate(rows, start=1)
        ],
        net,
        BODY_REQUESTS,
    )


def requests_from_specs(specs: Sequence[str], net: NetworkFile) -> list[ShipmentRequest]:
    """Requests written as on the command line, ``PRODUCT=DESTINATION:DOSES[@ORIGIN]``."""
    if not specs:
        raise DoseflowError(
            "LOGISTICS_BAD_REQUEST",
            "no shipments to plan",
            field="ship",
            expected="ship=PRODUCT=DESTINATION:DOSES, e.g. AZ=PRK-NS:480000",
        )
    try:
        return parse_request_specs(list(specs), net)
    except DoseflowError as err:  # the engine names the command line's option
        raise DoseflowError.from_details(
            replace(d, location=replace(d.location, source=SHIP_PARAMETER))
            if d.location.source == "--ship"
            else d
            for d in err.details
        ) from None


# --- answers --------------------------------------------------------------------------------


def _finite(value: float) -> float | None:
    return None if math.isinf(value) or math.isnan(value) else round(value, 4)


class LegOut(BaseModel):
    origin: str
    destination: str
    mode: str
    band: str
    trip: int | None = Field(description="scheduled departure number (1 = the first), or None")
    wait_days: float
    depart_day: float
    arrive_day: float


class BandChangeOut(BaseModel):
    node: str
    from_band: str
    to_band: str
    day: float
    on_arrival: bool


class RouteOut(BaseModel):
    nodes: list[str]
    path: str = Field(description="node names joined by arrows")
    legs: list[LegOut]
    band_changes: list[BandChangeOut]
    start_band: str
    arrival_band: str
    arrival_day: float
    transit_days: float
    cost_per_dose: float
    days_left: float | None = Field(
        description="days still allowed in the arrival band; null: no limit"
    )


def route_out(route: Route, network: Network) -> RouteOut:
    return RouteOut(
        nodes=list(route.nodes),
        path=" → ".join(network.nodes[c].name for c in route.nodes),
        legs=[
            LegOut(
                origin=leg.lane.origin,
                destination=leg.lane.destination,
                mode=leg.lane.mode.value,
                band=leg.band.value,
                trip=None if leg.trip is None else leg.trip + 1,
                wait_days=leg.wait_days,
                depart_day=leg.depart_day,
                arrive_day=leg.arrive_day,
            )
            for leg in route.legs
        ],
        band_changes=[
            BandChangeOut(
                node=c.node,
                from_band=c.from_band.value,
                to_band=c.to_band.value,
                day=c.day,
                on_arrival=c.on_arrival,
            )
            for c in route.changes
        ],
        start_band=route.start_band.value,
        arrival_band=route.arrival_band.value,
        arrival_day=route.arrival_day,
        transit_days=route.transit_days,
        cost_per_dose=round(route.cost_per_dose, 6),
        days_left=_finite(route.days_left),
    )


class FeasibilityOut(BaseModel):
    """One product and destination: feasible with its route, or not with the reason."""

    product: str
    product_name: str
    origin: str
    destination: str
    destination_name: str
    country: str | None
    feasible: bool
    use_days: float
    text: str = Field(description="the verdict in words: the route, or why it is infeasible")
    reason_kind: str | None = Field(description="the rule that failed (docs/logistics.md)")
    kept_in: str | None = Field(description="the band it arrives in, and where it was thawed")
    route: RouteOut | None


def feasibility_out(
    profile: StorageProfile, verdict: Feasibility, network: Network
) -> FeasibilityOut:
    dest = network.nodes[verdict.destination]
    kept = None
    if verdict.route is not None:
        kept = band_words(verdict.route.arrival_band)
        if verdict.route.changes:
            kept += f" (thawed at {network.nodes[verdict.route.changes[-1].node].name})"
    return FeasibilityOut(
        product=profile.product,
        product_name=profile.short,
        origin=verdict.origin,
        destination=verdict.destination,
        destination_name=dest.name,
        country=dest.country,
        feasible=verdict.feasible,
        use_days=verdict.use_days,
        text=verdict.describe(network, profile),
        reason_kind=verdict.reason.kind.value if verdict.reason is not None else None,
        kept_in=kept,
        route=route_out(verdict.route, network) if verdict.route is not None else None,
    )


class RequestOut(BaseModel):
    number: int = Field(description="1 = the first request")
    reference: str
    product: str
    destination: str
    doses: int
    delivered: int
    missing: int


class ShipmentOut(BaseModel):
    request: int = Field(description="the request's number")
    reference: str
    product: str
    destination: str
    doses: int
    packs: int
    route: RouteOut


class UndeliveredOut(BaseModel):
    request: int
    reference: str
    product: str
    destination: str
    doses: int
    reason_kind: str
    reason: str = Field(description="why, in words")


class ShipmentPlanOut(BaseModel):
    objective: str
    horizon_days: float
    network: str
    requests: list[RequestOut]
    shipments: list[ShipmentOut]
    undelivered: list[UndeliveredOut]
    planned_doses: int
    asked_doses: int


def plan_out(plan: ShipmentPlan, source: str) -> ShipmentPlanOut:
    network = plan.network
    return ShipmentPlanOut(
        objective=plan.objective.value,
        horizon_days=plan.horizon_days,
        network=source,
        requests=[
            RequestOut(
                number=i + 1,
                reference=r.reference,
                product=r.product.code,
                destination=r.destination,
                doses=r.doses,
                delivered=plan.delivered(i),
                missing=plan.missing(i),
            )
            for i, r in enumerate(plan.requests)
        ],
        shipments=[
            ShipmentOut(
                request=s.request_index + 1,
                reference=s.reference,
                product=s.product.code,
                destination=s.route.destination,
                doses=s.doses,
                packs=s.packs,
                route=route_out(s.route, network),
            )
            for s in plan.shipments
        ],
        undelivered=[
            UndeliveredOut(
                request=u.request_index + 1,
                reference=u.reference,
                product=u.product.code,
                destination=u.destination,
                doses=u.doses,
                reason_kind=u.reason.kind.value,
                reason=u.reason.render(),
            )
            for u in plan.undelivered
        ],
        planned_doses=sum(s.doses for s in plan.shipments),
        asked_doses=sum(r.doses for r in plan.requests),
    )


class CapacityGapOut(BaseModel):
    node: str
    name: str
    country: str | None
    band: str
    band_words: str
    needed_litres: float
    available_litres: float
    gap_litres: float = Field(description="needed - available: positive is a shortfall")
    utilisation: float | None = Field(description="needed / available; null: no storage at all")
    short: bool


def gap_out(gap: CapacityGap) -> CapacityGapOut:
    return CapacityGapOut(
        node=gap.node,
        name=gap.name,
        country=gap.country,
        band=gap.band.value,
        band_words=band_words(gap.band),
        needed_litres=round(gap.needed_litres, 3),
        available_litres=round(gap.available_litres, 3),
        gap_litres=round(gap.gap_litres, 3),
        utilisation=_finite(gap.utilisation),
        short=gap.short,
    )


class NodeOut(BaseModel):
    code: str
    name: str
    kind: str
    country: str | None
    parent: str | None
    region: str | None
    capacity_litres: dict[str, float]
    planned_use_days: float | None
    supplies: list[str]


class LaneOut(BaseModel):
    origin: str
    destination: str
    mode: str
    lead_time_days: float
    cost_per_dose: float
    temperature: list[str]
    capacity_doses_per_trip: int | None
    trips_per_week: float | None


class NetworkOut(BaseModel):
    source: str
    nodes: list[NodeOut]
    lanes: list[LaneOut]


def network_out(net: NetworkFile, source: str) -> NetworkOut:
    return NetworkOut(
        source=source,
        nodes=[
            NodeOut(
                code=n.code,
                name=n.name,
                kind=n.kind.value,
                country=n.country,
                parent=n.parent,
                region=n.region,
                capacity_litres={b.value: v for b, v in n.capacity_litres.items()},
                planned_use_days=net.planned_use_days.get(n.code),
                supplies=list(net.supplies.get(n.code, ())),
            )
            for n in net.network.nodes.values()
        ],
        lanes=[
            LaneOut(
                origin=lane.origin,
                destination=lane.destination,
                mode=lane.mode.value,
                lead_time_days=lane.lead_time_days,
                cost_per_dose=lane.cost_per_dose,
                temperature=sorted(b.value for b in lane.temperature),
                capacity_doses_per_trip=lane.capacity_doses_per_trip,
                trips_per_week=lane.trips_per_week,
            )
            for lane in net.network.lanes
        ],
    )


# --- the engine's answers, narrowed to what the caller may see -----------------------------


def feasibility_rows(
    access: Access,
    net: NetworkFile,
    products: Sequence[str] = (),
    destinations: Sequence[str] = (),
    origins: Sequence[str] = (),
    use_days: float | None = None,
    objective: Objective = Objective.FASTEST,
) -> list[FeasibilityOut]:
    """``feasibility_matrix`` over the stores the caller may see (a participant: its own)."""
    check_destinations(access, net, destinations)
    own = access.own_iso3
    wanted = list(destinations) or ([] if own is None else store_codes(net.network, own))
    if own is not None and not wanted:
        return []  # no store of its own country in this network
    results = feasibility_matrix(
        net, products, wanted, origins=origins, use_days=use_days, objective=objective
    )
    return [feasibility_out(profile, verdict, net.network) for profile, verdict in results]


def shipment_plan(
    net: NetworkFile,
    requests: Sequence[ShipmentRequest],
    objective: Objective = Objective.FASTEST,
    horizon: float = DEFAULT_HORIZON_DAYS,
) -> ShipmentPlan:
    """``plan_shipments`` with the network file's storage profiles and planned use days."""
    return plan_shipments(
        net.network,
        requests,
        objective=objective,
        profiles=net.profile_table(),
        horizon_days=horizon,
        planned_use_days=net.planned_use_days,
    )


def gap_rows(
    access: Access, net: NetworkFile, plan: ShipmentPlan, include_idle: bool = False
) -> list[CapacityGapOut]:
    """``plan_capacity_gaps``; a participant sees its own country's nodes only."""
    gaps = plan_capacity_gaps(plan, profiles=net.profile_table(), include_idle=include_idle)
    own = access.own_iso3
    return [gap_out(g) for g in gaps if own is None or g.country == own]
