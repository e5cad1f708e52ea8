"""Which endpoint needs which action: read back from the app, for the docs and the role tests.

The permission table names actions; endpoints name their action through
``Depends(authorize(...))``. This walks the app's routes and pairs each method and path with
that action, so the role-matrix tests and the documentation cover every endpoint there is,
including ones added later, without a second list to keep in step.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

ACTION_ATTRIBUTE = "doseflow_action"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    action: str | None
    summary: str


def _api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)  # FastAPI >= 0.13x wraps included routers
        if inner is not None:
            yield from _api_routes(inner.routes)


def _action_of(dependant: Any) -> str | None:
    for sub in dependant.dependencies:
        action = getattr(sub.call, ACTION_ATTRIBUTE, None)
        if isinstance(action, str):
            return action
        found = _action_of(sub)
        if found:
            return found
    return None


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every API endpoint (under ``/api``) with the action it requires (``None``: public)."""
    found: dict[tuple[str, str], Endpoint] = {}
    for route in _api_routes(app.routes):
        if not route.path.startswith("/api") or not route.include_in_schema:
            continue
        for method in sorted(route.methods or ()):
            found[(route.path, method)] = Endpoint(
                method, route.path, _action_of(route.dependant), route.summary or route.name
            )
    return [found[key] for key in sorted(found)]
