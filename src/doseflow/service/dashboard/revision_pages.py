"""Dashboard page of a round's revisions: the list (when, by whom, what changed in the
supply) and who gained and who lost between two of them, and why. Read only (revisions
are made with ``doseflow allocate revise`` or the API); the same store calls and rows
as the API's ``.../revisions/diff``.

Both tables sort, filter and page on the server and download as CSV or Excel (see
``tables``). They are computed whole: a round's revisions are few, and the diff is worked
out from two stored snapshots of the round."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from doseflow.allocation.revision_diff import diff_rows
from doseflow.service.context import engine_of
from doseflow.service.dashboard.allocation_pages import (
    CodeFilter,
    Iso3Filter,
    RoundParam,
    ScenarioParam,
    _scenario,
)
from doseflow.service.dashboard.render import NavItem, add_nav, page_access, render
from doseflow.service.dashboard.tables import (
    Column,
    PageData,
    PageTables,
    TableSpec,
    add_download,
    whole,
)
from doseflow.store.allocation import AllocationStore, RoundStatus
from doseflow.store.allocation_revisions import RevisionInfo, RevisionStore

router = APIRouter(prefix="/dashboard", include_in_schema=False)
add_nav(NavItem("/dashboard/revisions", "Revisions", "rounds.read"))

RevisionParam = Annotated[int | None, Query(ge=0, le=1_000_000)]

REVISION_COLUMNS = (
    Column("revision", "Revision", lambda r: r.revision, numeric=True),
    Column("when", "When (UTC)", lambda r: r.created_at.strftime("%Y-%m-%d %H:%M")),
    Column("by", "By", lambda r: r.created_by),
    Column("supply", "Supply", lambda r: r.supply, numeric=True),
    Column("allocated", "Allocated", lambda r: r.allocated, numeric=True),
    Column("changes", "What changed", lambda r: r.change_text(), sortable=False),
)
DIFF_COLUMNS = (
    Column("participant", "Participant", lambda r: r["iso3"]),
    Column("product", "Product", lambda r: r["product"]),
    Column("doses_from", "Doses before", lambda r: r["doses_from"], numeric=True),
    Column("doses_to", "Doses after", lambda r: r["doses_to"], numeric=True),
    Column("change", "Change", lambda r: r["change"], numeric=True),
    Column("coverage_from", "Coverage before", lambda r: r["coverage_from"], numeric=True),
    Column("coverage_to", "Coverage after", lambda r: r["coverage_to"], numeric=True),
    Column("why", "Why", lambda r: r["why"], sortable=False),
)
REVISION_TABLES = PageTables(
    "/dashboard/revisions",
    (
        TableSpec("revisions", REVISION_COLUMNS, "revision", "revisions"),
        TableSpec("diff", DIFF_COLUMNS, "product", "revision-diff"),
    ),
)


def revisions_setup(
    request: Request,
    scenario: ScenarioParam = None,
    round: RoundParam = None,
    from_revision: Annotated[RevisionParam, Query(alias="from")] = None,
    to_revision: Annotated[RevisionParam, Query(alias="to")] = None,
    participant: Iso3Filter = None,
    product: CodeFilter = None,
) -> PageData:
    """The Revisions page's setup, shared by the page and its downloads: the round (a
    participant: published rounds only, its own rows of the diff), the two revisions
    compared (by default the last two), and the diff's filters (participant, product)."""
    access = page_access(request, "rounds.read")
    store = AllocationStore(engine_of(request))
    name = _scenario(store, scenario)
    wanted = (participant or "").upper() or None
    context: dict[str, Any] = {
        "store": store,
        "name": name,
        "rounds": [],
        "round": None,
        "from_revision": None,
        "to_revision": None,
        "filters": {"participant": wanted or "", "product": product or ""},
    }
    listed: list[RevisionInfo] = []
    rows: list[dict[str, Any]] = []
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
            if len(listed) >= 2:
                a = listed[-2].revision if from_revision is None else from_revision
                b = listed[-1].revision if to_revision is None else to_revision
                found = revisions.diff(name, chosen.number, a, b)
                own = None if access.own_iso3 is None else (access.own_iso3,)
                rows = [
                    r
                    for r in diff_rows(found, own)
                    if (wanted is None or r["iso3"] == wanted)
                    and (not product or r["product"] == product)
                ]
                context["from_revision"], context["to_revision"] = a, b
    return PageData({"revisions": whole(listed), "diff": whole(rows)}, context)


@router.get("/revisions")
def revisions_page(
    request: Request, data: Annotated[PageData, Depends(revisions_setup)]
) -> Response:
    store: AllocationStore = data.context["store"]
    context = {k: v for k, v in data.context.items() if k not in ("store", "name")}
    return render(
        request,
        "revisions.html",
        title="Revisions of a round's supply",
        scenarios=[s.name for s in store.scenarios()],
        scenario=data.context["name"],
        **context,
        **REVISION_TABLES.build(request, data),
    )


add_download(router, REVISION_TABLES, revisions_setup)
