"""Dashboard page of a round's revisions: the list (when, by whom, what changed in the
supply) and who gained and who lost between two of them, and why. Read only (revisions
are made with ``doseflow allocate revise`` or the API); the same store calls and rows
as the API's ``.../revisions/diff``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from doseflow.allocation.revision_diff import diff_rows
from doseflow.service.context import engine_of
from doseflow.service.dashboard.allocation_pages import ScenarioParam, _scenario
from doseflow.service.dashboard.paging import OffsetParam, page_rows, table_page
from doseflow.service.dashboard.render import NavItem, add_nav, page_access, render
from doseflow.store.allocation import AllocationStore, RoundStatus
from doseflow.store.allocation_revisions import RevisionStore

router = APIRouter(prefix="/dashboard", include_in_schema=False)
add_nav(NavItem("/dashboard/revisions", "Revisions", "rounds.read"))

RevisionParam = Annotated[int | None, Query(ge=0, le=1_000_000)]


@router.get("/revisions")
def revisions_page(
    request: Request,
    scenario: ScenarioParam = None,
    round: Annotated[int | None, Query(ge=1, le=1000)] = None,
    from_revision: Annotated[RevisionParam, Query(alias="from")] = None,
    to_revision: Annotated[RevisionParam, Query(alias="to")] = None,
    diff_offset: OffsetParam = 0,
) -> Response:
    access = page_access(request, "rounds.read")
    store = AllocationStore(engine_of(request))
    name = _scenario(store, scenario)
    context: dict[str, Any] = {
        "scenarios": [s.name for s in store.scenarios()],
        "scenario": name,
        "rounds": [],
        "round": None,
        "revisions": [],
        "rows": [],
        "diff_page": table_page(request, "diff_offset", 0, 0, 0),
        "from_revision": None,
        "to_revision": None,
    }
    if name is not None:
        rounds = store.rounds(name)
        if access.own_iso3 is not None:
            rounds = [r for r in rounds if r.status == RoundStatus.PUBLISHED.value]
        context["rounds"] = rounds
        chosen = next((r for r in rounds if r.number == round), rounds[0] if rounds else None)
        if chosen is not None:
            context["round"] = chosen
            revisions = RevisionStore(store)
            listed = revisions.revisions(name, chosen.number)
            context["revisions"] = listed
            if len(listed) >= 2:
                a = listed[-2].revision if from_revision is None else from_revision
                b = listed[-1].revision if to_revision is None else to_revision
                found = revisions.diff(name, chosen.number, a, b)
                own = None if access.own_iso3 is None else (access.own_iso3,)
                context["rows"], context["diff_page"] = page_rows(
                    request, "diff_offset", diff_offset, diff_rows(found, own)
                )
                context["from_revision"], context["to_revision"] = a, b
    return render(request, "revisions.html", title="Revisions of a round's supply", **context)
