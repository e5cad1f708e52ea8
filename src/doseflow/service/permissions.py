"""The permission table: which role may do which action, and over whose data.

Held as data so it can be read, documented (``docs/service.md`` prints it) and tested as a
whole; :func:`doseflow.service.auth.authorize` is the one place it is enforced. An action a
role is not listed for is refused. ``OWN`` means the participant's own country only: lists
are filtered to it, and naming another country is refused with ``SERVICE_OUT_OF_SCOPE``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from doseflow.store.service import Role


class Scope(StrEnum):
    ALL = "all"
    OWN = "own"


@dataclass(frozen=True)
class Action:
    """Something a request does, what it means, whether it writes, and who may do it."""

    name: str
    description: str
    writes: bool
    roles: Mapping[Role, Scope]


_A = Role.ADMINISTRATOR
_AN = Role.ALLOCATION_ANALYST
_LO = Role.LOGISTICS_OFFICER
_P = Role.PARTICIPANT
_V = Role.VIEWER

_EVERYONE_ALL: Mapping[Role, Scope] = dict.fromkeys(Role, Scope.ALL)
_EVERYONE_OWN: Mapping[Role, Scope] = {**_EVERYONE_ALL, _P: Scope.OWN}
_STAFF_READ: Mapping[Role, Scope] = {_A: Scope.ALL, _AN: Scope.ALL, _LO: Scope.ALL, _V: Scope.ALL}
_ALLOCATION_WRITE: Mapping[Role, Scope] = {_A: Scope.ALL, _AN: Scope.ALL}
_LOGISTICS_WRITE: Mapping[Role, Scope] = {_A: Scope.ALL, _LO: Scope.ALL}
_ADMIN: Mapping[Role, Scope] = {_A: Scope.ALL}

ACTIONS: tuple[Action, ...] = (
    Action("participants.read", "list participants and their profiles", False, _EVERYONE_ALL),
    Action("products.read", "list products", False, _EVERYONE_ALL),
    Action("supply.read", "see pooled supply", False, _EVERYONE_ALL),
    Action(
        "scenarios.write",
        "store a scenario (its participants, products, supply and rounds)",
        True,
        _ALLOCATION_WRITE,
    ),
    Action("rounds.read", "see allocation rounds and their lines", False, _EVERYONE_OWN),
    Action("rounds.preview", "compute rounds for review (status preview)", True, _ALLOCATION_WRITE),
    Action("rounds.run", "run and save an allocation round", True, _ALLOCATION_WRITE),
    Action("rounds.publish", "publish a round to participants", True, _ALLOCATION_WRITE),
    Action("declines.read", "see declines and where the doses went", False, _EVERYONE_OWN),
    Action(
        "declines.create",
        "decline an allocation (its doses are redistributed)",
        True,
        {_A: Scope.ALL, _AN: Scope.ALL, _P: Scope.OWN},
    ),
    Action("shipments.read", "see shipments and ledger events", False, _EVERYONE_OWN),
    Action("shipments.write", "record shipments and ledger events", True, _LOGISTICS_WRITE),
    Action("stock.read", "query stock on hand and expiry", False, _EVERYONE_OWN),
    Action("reports.read", "see submitted reports", False, _EVERYONE_OWN),
    Action(
        "reports.submit",
        "submit a report or check one (dry run)",
        True,
        {_A: Scope.ALL, _P: Scope.OWN},
    ),
    Action("compliance.read", "see reporting compliance", False, _EVERYONE_OWN),
    Action("plausibility.read", "see plausibility flags", False, _EVERYONE_OWN),
    Action(
        "coldchain.read",
        "see cold-chain feasibility, routes and capacity gaps on the bundled network",
        False,
        _EVERYONE_OWN,
    ),
    Action(
        "coldchain.plan",
        "check feasibility, plan routes and capacity gaps for a network or requests sent",
        False,
        _LOGISTICS_WRITE,
    ),
    Action("deployment.read", "see in-country deployment plans", False, _EVERYONE_OWN),
    Action(
        "deployment.plan", "plan an in-country deployment from a document", False, _LOGISTICS_WRITE
    ),
    Action(
        "deployment.record",
        "record a deployment plan's shipments in the ledger as planned events",
        True,
        _LOGISTICS_WRITE,
    ),
    Action("impact.read", "see impact runs and their results", False, _STAFF_READ),
    Action("impact.run", "start an impact run", True, _ALLOCATION_WRITE),
    Action("tokens.manage", "issue, list and revoke API tokens", True, _ADMIN),
    Action("audit.read", "read the audit log", False, _ADMIN),
)

PERMISSIONS: Mapping[str, Action] = {action.name: action for action in ACTIONS}


def scope_for(role: Role, action: str) -> Scope | None:
    """What ``role`` may do with ``action``: over all data, its own, or ``None`` (refused)."""
    return PERMISSIONS[action].roles.get(role)


def matrix_markdown() -> str:
    """The permission table as Markdown (``docs/service.md`` shows it; a test keeps it equal)."""
    roles = list(Role)
    head = "| action | " + " | ".join(r.value for r in roles) + " |"
    rule = "|---|" + "---|" * len(roles)
    lines = [head, rule]
    for action in ACTIONS:
        cells = []
        for role in roles:
            scope = action.roles.get(role)
            cells.append("—" if scope is None else ("own" if scope is Scope.OWN else "yes"))
        lines.append(f"| `{action.name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)
