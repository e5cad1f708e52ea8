"""Dashboard pages for allocation: coverage after a round (ranked bars), the allocation table
with each line's explanation, declines and where the doses went; forms to run and publish a
round (analysts) and to decline an allocation (participants). Same store calls as the API."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from doseflow.allocation import Decline, Redirect
from doseflow.domain.errors import DoseflowError
from doseflow.domain.limits import MAX_NAME_LENGTH
from doseflow.service.allocation_views import DeclineView, decline_view
from doseflow.service.auth import Access
from doseflow.service.context import engine_of
from doseflow.service.dashboard.render import (
    NavItem,
    add_nav,
    form_int,
    page_access,
    read_form,
    render,
)
from doseflow.service.dashboard.svg_charts import INK, Axis, Series, bar_chart
from doseflow.service.dashboard.tables import (
    Column,
    PageData,
    PageTables,
    Rows,
    TableSpec,
    TableView,
    add_download,
    whole,
)
from doseflow.service.permissions import PERMISSIONS
from doseflow.store.allocation import AllocationStore, RoundStatus

ScenarioParam = Annotated[str | None, Query(min_length=1, max_length=100)]
DoneParam = Annotated[str | None, Query(max_length=MAX_NAME_LENGTH)]

router = APIRouter(prefix="/dashboard", include_in_schema=False)
add_nav(NavItem("/dashboard/allocation", "Allocation", "rounds.read"))
add_nav(NavItem("/dashboard/declines", "Declines", "declines.read"))


def _scenario(store: AllocationStore, requested: str | None) -> str | None:
    names = [s.name for s in store.scenarios()]
    if requested and requested in names:
        return requested
    return names[0] if names else None


def _may(request: Request, action: str) -> bool:
    principal = page_access(request, "participants.read").principal
    return principal.role in PERMISSIONS[action].roles


def coverage_chart(rows: list[Any], round_name: str) -> Markup:
    """Ranked bars of doses per 100 people, lying down (highest first)."""
    ranked = sorted(rows, key=lambda c: c.doses_per_100, reverse=True)
    return bar_chart(
        chart_id="coverage-chart",
        title=f"Doses per 100 people after {round_name}",
        description=f"Ranked bar chart of doses per 100 people by participant after {round_name};"
        " the same figures are in the table below.",
        categories=[c.iso3 for c in ranked],
        series=[
            Series("doses per 100 people", tuple(round(c.doses_per_100, 2) for c in ranked), INK)
        ],
        axis=Axis("doses per 100 people", unit="doses per 100", decimals=2),
        horizontal=True,
    )


LINE_COLUMNS = (
    Column("pool", "Pool", lambda x: x.pool),
    Column("participant", "Participant", lambda x: x.iso3),
    Column("product", "Product", lambda x: x.product),
    Column("doses", "Doses", lambda x: x.doses, numeric=True),
    Column("packs", "Packs", lambda x: x.packs, numeric=True),
    Column("why", "Why", lambda x: x.explanation.binding_text, sortable=False),
)
ALLOCATION_TABLES = PageTables(
    "/dashboard/allocation",
    (TableSpec("lines", LINE_COLUMNS, "pool", "allocation-lines"),),
)

Iso3Filter = Annotated[str | None, Query(max_length=3, pattern=r"^[A-Za-z]{0,3}$")]
CodeFilter = Annotated[str | None, Query(max_length=100)]
RoundParam = Annotated[int | None, Query(ge=1, le=1000)]


def allocation_setup(
    request: Request,
    scenario: ScenarioParam = None,
    round: RoundParam = None,
    participant: Iso3Filter = None,
    pool: CodeFilter = None,
    product: CodeFilter = None,
) -> PageData:
    """The Allocation page's setup, shared by the page and its downloads: who may see
    what (a participant: its own lines of published rounds), the round, and the filters
    (participant, pool, product) the database applies to the lines."""
    access = page_access(request, "rounds.read")
    store = AllocationStore(engine_of(request))
    name = _scenario(store, scenario)
    own = access.own_iso3
    wanted = (participant or "").upper() or None
    rounds = []
    chosen = None
    if name is not None:
        rounds = store.rounds(name)
        if own is not None:
            rounds = [r for r in rounds if r.status == RoundStatus.PUBLISHED.value]
        chosen = next((r for r in rounds if r.number == round), rounds[-1] if rounds else None)

    def lines(view: TableView, everything: bool) -> Rows:
        if name is None or chosen is None or (own and wanted and own != wanted):
            return [], 0
        return store.lines_page(
            name,
            chosen.number,
            own or wanted,
            limit=None if everything else view.size,
            offset=0 if everything else view.offset,
            pool=pool or None,
            product=product or None,
            sort=view.sort,
            descending=view.descending,
        )

    filters = {"participant": wanted or "", "pool": pool or "", "product": product or ""}
    context: dict[str, Any] = {"store": store, "name": name, "access": access}
    context["rounds"] = rounds
    context |= {"round": chosen, "filters": filters}
    return PageData({"lines": lines}, context)


AllocationSetup = Annotated[PageData, Depends(allocation_setup)]


@router.get("/allocation")
def allocation_page(request: Request, data: AllocationSetup, done: DoneParam = None) -> Response:
    access: Access = data.context["access"]
    store: AllocationStore = data.context["store"]
    name: str | None = data.context["name"]
    chosen = data.context["round"]
    context: dict[str, Any] = {
        "scenarios": [s.name for s in store.scenarios()],
        "scenario": name,
        "done": done,
        "may_run": _may(request, "rounds.run"),
        "may_publish": _may(request, "rounds.publish"),
        "may_decline": _may(request, "declines.create"),
        "own_iso3": access.own_iso3,
        "rounds": data.context["rounds"],
        "round": chosen,
        "filters": data.context["filters"],
        "coverage": [],
        "chart": None,
        **ALLOCATION_TABLES.build(request, data),
    }
    if name is not None and chosen is not None:
        coverage = store.coverage(name, chosen.number)
        if access.own_iso3 is not None:
            coverage = [c for c in coverage if c.iso3 == access.own_iso3]
        context["coverage"] = sorted(coverage, key=lambda c: c.doses_per_100, reverse=True)
        context["chart"] = coverage_chart(coverage, f"round {chosen.number}")
    return render(request, "allocation.html", title="Allocation rounds", **context)


add_download(router, ALLOCATION_TABLES, allocation_setup)


def _back(path: str, **params: Any) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return RedirectResponse(f"{path}?{query}", status_code=303)


@router.post("/allocation/run")
async def run_form(request: Request) -> Response:
    access = page_access(request, "rounds.run")
    form = await read_form(request)
    name = form.get("scenario", "")
    store = AllocationStore(engine_of(request))
    store.run(name)
    access.audit(f"scenario {name}")
    return _back("/dashboard/allocation", scenario=name, done=f"Ran every round of {name}.")


@router.post("/allocation/publish")
async def publish_form(request: Request) -> Response:
    access = page_access(request, "rounds.publish")
    form = await read_form(request)
    name = form.get("scenario", "")
    number = form_int(form.get("round"), "round")
    AllocationStore(engine_of(request)).publish(name, number)
    access.audit(f"scenario {name} round {number}")
    return _back(
        "/dashboard/allocation",
        scenario=name,
        round=number,
        done=f"Round {number} is published to participants.",
    )


@router.post("/allocation/decline")
async def decline_form(request: Request) -> Response:
    access = page_access(request, "declines.create")
    form = await read_form(request)
    name = form.get("scenario", "")
    iso3 = form.get("iso3", "").upper()
    access.check_iso3(iso3)
    number = form_int(form.get("round"), "round")
    store = AllocationStore(engine_of(request))
    if access.own_iso3 is not None and number not in {
        r.number for r in store.rounds(name) if r.status == RoundStatus.PUBLISHED.value
    }:
        raise DoseflowError(
            "SERVICE_ROUND_NOT_PUBLISHED",
            f"round {number} of {name} has not been published to participants yet",
            field="round",
            expected="a published round",
            value=number,
        )
    decline = Decline(
        round=number,
        product=form.get("product", ""),
        iso3=iso3,
        reason=form.get("reason", "")[:500],
        redirect=Redirect.SAME_RULES,
        pool=form.get("pool") or None,
    )
    store.record_decline(name, decline, recorded_by=f"via the dashboard by {access.principal.user}")
    access.audit(f"scenario {name} round {number} {decline.product} {iso3}")
    return _back(
        "/dashboard/declines",
        scenario=name,
        done=f"{iso3} declined its {decline.product} allocation in round {number}; "
        "the doses were redistributed.",
    )


DECLINE_COLUMNS = (
    Column("round", "Round", lambda d: d.round, numeric=True),
    Column("participant", "Participant", lambda d: d.iso3),
    Column("product", "Product", lambda d: d.product),
    Column("pool", "Pool", lambda d: d.pool or ""),
    Column("doses", "Doses declined", lambda d: d.doses, numeric=True),
    Column("redirect", "Redistributed by", lambda d: d.redirect_text),
    Column("reason", "Reason", lambda d: d.reason),
    Column("source", "Source", lambda d: d.source),
)
DECLINE_TABLES = PageTables(
    "/dashboard/declines",
    (TableSpec("declines", DECLINE_COLUMNS, "round", "declines"),),
)


def declines_setup(
    request: Request,
    scenario: ScenarioParam = None,
    participant: Iso3Filter = None,
    product: CodeFilter = None,
    round: RoundParam = None,
) -> PageData:
    """The Declines page's setup, shared by the page and its downloads. Declines come from
    the scenario file and the recorded ones together (the store reads both whole): a
    participant sees its own, in published rounds; the filters keep a participant, a
    product, a round."""
    access = page_access(request, "declines.read")
    store = AllocationStore(engine_of(request))
    name = _scenario(store, scenario)
    wanted = (participant or "").upper() or None
    shown: list[Decline] = []
    if name is not None:
        published = {
            r.number for r in store.rounds(name) if r.status == RoundStatus.PUBLISHED.value
        }
        shown = [
            d
            for d in store.declines(name)
            if (access.own_iso3 is None or (d.iso3 == access.own_iso3 and d.round in published))
            and (wanted is None or d.iso3 == wanted)
            and (not product or d.product == product)
            and (round is None or d.round == round)
        ]
    filters = {"participant": wanted or "", "product": product or "", "round": round}
    return PageData({"declines": whole(shown)}, {"store": store, "name": name, "filters": filters})


@router.get("/declines")
def declines_page(
    request: Request,
    data: Annotated[PageData, Depends(declines_setup)],
    done: DoneParam = None,
) -> Response:
    store: AllocationStore = data.context["store"]
    name: str | None = data.context["name"]
    tables = DECLINE_TABLES.build(request, data)
    # where the doses went is worked out per decline: only for the page's
    views: list[DeclineView] = (
        [decline_view(store, name, d) for d in tables["declines"].rows] if name else []
    )
    return render(
        request,
        "declines.html",
        title="Declines and where the doses went",
        scenarios=[s.name for s in store.scenarios()],
        scenario=name,
        views=views,
        filters=data.context["filters"],
        done=done,
        **tables,
    )


add_download(router, DECLINE_TABLES, declines_setup)
