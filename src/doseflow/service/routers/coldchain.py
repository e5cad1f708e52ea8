"""Cold chain and routing: feasibility with the reasons in words, routes, capacity gaps.

Over :mod:`doseflow.logistics`, the same engine as ``doseflow coldchain feasibility``,
``doseflow routes`` and ``doseflow capacity``. ``GET`` endpoints work on the bundled example
network (``doseflow/data/examples/network.yaml``) and are open to every reader; a
participant sees only destinations in its own country. ``POST`` endpoints take a network
document and structured requests in the body (logistics officers and administrators);
they compute and store nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field, StringConstraints, model_validator

from doseflow.data.fields import Code, Number
from doseflow.domain.limits import MAX_CODE_LENGTH
from doseflow.logistics import NetworkFile, Objective
from doseflow.logistics.routing import DEFAULT_HORIZON_DAYS
from doseflow.service.auth import Access, authorize
from doseflow.service.coldchain_views import (
    CapacityGapOut,
    FeasibilityOut,
    NetworkOut,
    RequestIn,
    ShipmentPlanOut,
    bundled_network,
    check_destinations,
    feasibility_rows,
    gap_rows,
    network_from_body,
    network_out,
    plan_out,
    requests_from_rows,
    requests_from_specs,
    shipment_plan,
)
from doseflow.service.errors import ERROR_RESPONSES
from doseflow.service.queries import PAGED_RESPONSES, Page, page_of
from doseflow.service.text_checks import require_unicode

router = APIRouter(
    prefix="/api/coldchain", tags=["cold chain and routing"], responses=ERROR_RESPONSES
)

Read = Annotated[Access, Depends(authorize("coldchain.read"))]
Plan = Annotated[Access, Depends(authorize("coldchain.plan"))]

BUNDLED = "bundled example network"
MAX_REQUESTS = 2000
MAX_HORIZON_DAYS = 365.0

Codes = Annotated[list[Code], Query(max_length=200)]
#: PRODUCT=DESTINATION:DOSES@ORIGIN: three codes and a number.
SPEC_LENGTH = 3 * MAX_CODE_LENGTH + 20
Spec = Annotated[str, StringConstraints(min_length=1, max_length=SPEC_LENGTH)]
#: Shipments one GET may name: its answer stays under about 300 KB (the bodies of the POST
#: endpoints take up to MAX_REQUESTS).
MAX_SHIP_PARAMS = 500
ShipQuery = Annotated[
    list[Spec],
    Query(
        max_length=MAX_SHIP_PARAMS,
        description="shipments as on the command line: PRODUCT=DESTINATION:DOSES[@ORIGIN], "
        "e.g. AZ-SII=PRK-NS:1992000 (repeat the parameter for more, at most 500 times)",
    ),
]
UseDays = Annotated[
    float | None,
    Query(ge=0, le=3650, description="planned use at the destination (default: the node's)"),
]
Horizon = Annotated[
    float, Query(ge=1, le=MAX_HORIZON_DAYS, description="plan departures up to this day")
]


class NetworkSource(BaseModel):
    """Which network: a network document (the network file format of docs/logistics.md, as
    JSON), the text of a YAML network file, or neither for the bundled example."""

    network: dict[str, object] | None = Field(default=None, description="a network document")
    network_yaml: str | None = Field(
        default=None, max_length=2_000_000, description="the text of a YAML network file"
    )

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        return require_unicode(data)

    @model_validator(mode="after")
    def _one_source(self) -> NetworkSource:
        if self.network is not None and self.network_yaml is not None:
            raise ValueError("give either network or network_yaml, not both")
        return self

    def load(self) -> tuple[NetworkFile, str]:
        sent = self.network is not None or self.network_yaml is not None
        net = network_from_body(self.network, self.network_yaml)
        return net, "request body" if sent else BUNDLED


class FeasibilityIn(NetworkSource):
    products: list[Code] = Field(
        default_factory=list, max_length=200, description="default: every supplied product"
    )
    destinations: list[Code] = Field(
        default_factory=list, max_length=5000, description="default: every store"
    )
    origins: list[Code] = Field(
        default_factory=list, max_length=200, description="default: the product's suppliers"
    )
    use_days: Number | None = Field(default=None, ge=0, le=3650)
    objective: Objective = Objective.FASTEST


class RoutesIn(NetworkSource):
    requests: list[RequestIn] = Field(min_length=1, max_length=MAX_REQUESTS)
    objective: Objective = Objective.FASTEST
    horizon_days: Number = Field(default=DEFAULT_HORIZON_DAYS, ge=1, le=MAX_HORIZON_DAYS)


class CapacityIn(RoutesIn):
    include_idle: bool = Field(default=False, description="show stores with nothing planned")


@router.get("/network", summary="Nodes and lanes of the bundled example network")
def get_network(_access: Read) -> NetworkOut:
    return network_out(bundled_network(), BUNDLED)


@router.get(
    "/feasibility",
    summary="Can each product reach each store in its cold chain? Routes, or the reason in words "
    "(paged)",
    responses=PAGED_RESPONSES,
)
def get_feasibility(
    request: Request,
    response: Response,
    access: Read,
    page: Page,
    product: Codes = [],  # noqa: B006 - FastAPI copies query defaults
    destination: Codes = [],  # noqa: B006
    origin: Codes = [],  # noqa: B006
    use_days: UseDays = None,
    objective: Objective = Objective.FASTEST,
) -> list[FeasibilityOut]:
    rows = feasibility_rows(
        access, bundled_network(), product, destination, origin, use_days, objective
    )
    return page_of(request, response, page, rows)


@router.post(
    "/feasibility",
    summary="Feasibility matrix for a network sent in the body (or the bundled one)",
)
def post_feasibility(access: Plan, body: FeasibilityIn) -> list[FeasibilityOut]:
    net, _ = body.load()
    return feasibility_rows(
        access,
        net,
        body.products,
        body.destinations,
        body.origins,
        body.use_days,
        body.objective,
    )


@router.get(
    "/routes",
    summary="Fastest or cheapest feasible routes for shipments on the bundled network",
)
def get_routes(
    access: Read,
    ship: ShipQuery = [],  # noqa: B006
    objective: Objective = Objective.FASTEST,
    horizon_days: Horizon = DEFAULT_HORIZON_DAYS,
) -> ShipmentPlanOut:
    net = bundled_network()
    requests = requests_from_specs(ship, net)
    check_destinations(access, net, [r.destination for r in requests])
    return plan_out(shipment_plan(net, requests, objective, horizon_days), BUNDLED)


@router.post(
    "/routes",
    summary="Plan shipments within lane capacity: split, and say what cannot be delivered",
)
def post_routes(access: Plan, body: RoutesIn) -> ShipmentPlanOut:
    net, source = body.load()
    requests = requests_from_rows(body.requests, net)
    return plan_out(shipment_plan(net, requests, body.objective, body.horizon_days), source)


@router.get(
    "/capacity-gaps",
    summary="Peak storage needed by shipments vs available, per node and band (bundled network; "
    "paged)",
    responses=PAGED_RESPONSES,
)
def get_capacity_gaps(
    request: Request,
    response: Response,
    access: Read,
    page: Page,
    ship: ShipQuery = [],  # noqa: B006
    objective: Objective = Objective.FASTEST,
    horizon_days: Horizon = DEFAULT_HORIZON_DAYS,
    include_idle: bool = False,
) -> list[CapacityGapOut]:
    net = bundled_network()
    requests = requests_from_specs(ship, net)
    check_destinations(access, net, [r.destination for r in requests])
    plan = shipment_plan(net, requests, objective, horizon_days)
    return page_of(request, response, page, gap_rows(access, net, plan, include_idle))


@router.post(
    "/capacity-gaps",
    summary="Capacity gaps of the shipments sent, on the network sent (or the bundled one)",
)
def post_capacity_gaps(access: Plan, body: CapacityIn) -> list[CapacityGapOut]:
    net, _ = body.load()
    requests = requests_from_rows(body.requests, net)
    plan = shipment_plan(net, requests, body.objective, body.horizon_days)
    return gap_rows(access, net, plan, body.include_idle)
