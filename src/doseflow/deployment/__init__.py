"""In-country deployment: national stock to regions and priority groups.

The API other areas (CLI, REST service, demo) call::

    from doseflow.deployment import load_deployment, plan_deployment, project_coverage

    inp = load_deployment("deployment_prk.yaml")          # or build a DeploymentInput
    plan = plan_deployment(inp)                            # pure, NumPy-vectorised
    plan.shipments()          # whole packs per region and lot (ShipmentLine)
    plan.region_lines()       # per region and product, with what decided it (Limit)
    plan.held()               # stock left at the national store, with the reason
    plan.explain("RG", "AZ-SII")                           # why, in words and figures
    project_coverage(plan).by_group()                      # coverage over time
    planned_events(plan, reference="prk-2021-06")          # ledger ShipmentPlanned events

See ``docs/deployment.md`` for the method and the file format.
"""

from doseflow.deployment.deployment_file import (
    load_deployment,
    parse_deployment_document,
    parse_deployment_yaml,
)
from doseflow.deployment.events import plan_nodes, planned_events
from doseflow.deployment.groups import GroupSpec, age_share, apportion, size_group
from doseflow.deployment.model import (
    DeploymentInput,
    GroupKind,
    PriorityGroup,
    ProductPolicy,
    Region,
    StockLot,
    Strategy,
)
from doseflow.deployment.planner import plan_deployment
from doseflow.deployment.products import DEFAULT_INTERVAL_DAYS, product_policy
from doseflow.deployment.projection import CoverageProjection, project_coverage
from doseflow.deployment.result import (
    DeploymentPlan,
    HeldStock,
    Limit,
    LotPlan,
    ProductPlan,
    RegionLine,
    ShipmentLine,
)
from doseflow.deployment.sources import (
    regions_from_network,
    stock_from_allocation,
    stock_from_ledger,
)

__all__ = [
    "DEFAULT_INTERVAL_DAYS",
    "CoverageProjection",
    "DeploymentInput",
    "DeploymentPlan",
    "GroupKind",
    "GroupSpec",
    "HeldStock",
    "Limit",
    "LotPlan",
    "PriorityGroup",
    "ProductPlan",
    "ProductPolicy",
    "Region",
    "RegionLine",
    "ShipmentLine",
    "StockLot",
    "Strategy",
    "age_share",
    "apportion",
    "load_deployment",
    "parse_deployment_document",
    "parse_deployment_yaml",
    "plan_deployment",
    "plan_nodes",
    "planned_events",
    "product_policy",
    "project_coverage",
    "regions_from_network",
    "size_group",
    "stock_from_allocation",
    "stock_from_ledger",
]
