"""The Overview for the API and the dashboard: the figures as JSON-ready models, the alerts
with the page that shows each, and the coverage map's classes.

Every figure comes from :func:`doseflow.store.overview.read_overview` (computed once, in
the store); reporting compliance from :func:`doseflow.store.reporting.compliance_view` and
cold-chain feasibility from :func:`doseflow.service.coldchain_views.feasibility_rows`. This
module only narrows to the caller's country, words the alerts and links them to pages.
Shared by ``routers/overview.py`` and the dashboard's Overview page, so both give the same
numbers.

Plausibility flags come from :func:`doseflow.store.reporting.plausibility`, the check the
Reporting page runs (about 20 ms on the demo database once the process has loaded its
statistics code), so the alert counts exactly the flags that page lists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from urllib.parse import urlencode

from pydantic import BaseModel, Field
from sqlalchemy import Engine

from doseflow.data.world_map import world_map
from doseflow.reporting.compliance import ComplianceStatus
from doseflow.reporting.hierarchy import Hierarchy
from doseflow.reporting.plausibility import Strength
from doseflow.service.auth import Access
from doseflow.service.coldchain_views import bundled_network, feasibility_rows
from doseflow.service.permissions import PERMISSIONS
from doseflow.store.overview import STEPS, Coverage, Overview, Pipeline, read_overview
from doseflow.store.reporting import compliance_view, plausibility

#: Days ahead the expiry alert looks, unless asked otherwise.
DEFAULT_WITHIN_DAYS = 90
#: The action whose scope narrows the Overview (every role has it; a participant: its own).
OVERVIEW_ACTION = "shipments.read"


class PipelineOut(BaseModel):
    """Doses at each step from allocation to arm (docs/service.md, "Overview")."""

    allocated: int
    shipped: int
    in_transit: int
    at_hubs: int = Field(description="arrived at or held at a hub on the way")
    received: int
    administered: int
    wasted: int = Field(description="written off on receipt, or removed by an adjustment")


class CoverageOut(BaseModel):
    population: int = Field(description="UN WPP 2019, 1 July 2020")
    delivered: int = Field(description="doses received in the country")
    doses_per_100: float | None = Field(description="delivered doses per 100 people")
    courses: int = Field(description="complete courses the delivered doses make")
    fully_covered: float | None = Field(description="courses / population, 0 to 1")
    doses_without_course: int = Field(
        description="delivered doses of products whose doses per course is unknown"
    )


class ParticipantOut(BaseModel):
    iso3: str
    name: str
    pipeline: PipelineOut
    coverage: CoverageOut


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    INFO = "info"


class AlertOut(BaseModel):
    kind: str = Field(description="expiring-lots, overdue-shipments, held-at-hubs, ...")
    severity: Severity
    count: int = Field(description="how many items the alert is about")
    text: str = Field(description="one sentence with the figure")
    link: str = Field(description="the dashboard page that shows the items")


class OverviewOut(BaseModel):
    scope: str | None = Field(description="the participant (ISO3) shown, or null: all")
    as_of: date
    within_days: int
    total: PipelineOut
    coverage: CoverageOut
    participants: list[ParticipantOut]
    alerts: list[AlertOut]


def pipeline_out(p: Pipeline) -> PipelineOut:
    return PipelineOut(**{name: getattr(p, name) for name, _ in STEPS})


def coverage_out(c: Coverage) -> CoverageOut:
    return CoverageOut(
        population=c.population,
        delivered=c.delivered,
        doses_per_100=None if c.doses_per_100 is None else round(c.doses_per_100, 2),
        courses=c.courses,
        fully_covered=None if c.fully_covered is None else round(c.fully_covered, 4),
        doses_without_course=c.doses_without_course,
    )


def _may(access: Access, action: str) -> bool:
    return access.principal.role in PERMISSIONS[action].roles


def _link(path: str, **params: object) -> str:
    kept = {k: v for k, v in params.items() if v is not None}
    return path + ("?" + urlencode(kept) if kept else "")


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _verb(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def ledger_alerts(overview: Overview) -> list[AlertOut]:
    """Lots expiring, shipments overdue, shipments waiting at hubs: from the ledger."""
    out: list[AlertOut] = []
    if overview.expiring:
        lots = overview.expiring
        first = lots[0]
        expired = sum(1 for x in lots if x.days_left < 0)
        out.append(
            AlertOut(
                kind="expiring-lots",
                severity=Severity.HIGH if expired else Severity.MEDIUM,
                count=len(lots),
                text=f"{_plural(len(lots), 'lot')} in stock ({sum(x.doses for x in lots):,} "
                f"doses) {_verb(len(lots), 'expires', 'expire')} within "
                f"{overview.within_days} days of {overview.as_of.isoformat()}"
                + (f", {expired:,} already expired" if expired else "")
                + f"; the first is lot {first.lot} of {first.product} at {first.node}, "
                f"expiring {first.expiry.isoformat()}.",
                link=_link(
                    "/dashboard/stock", within_days=overview.within_days, country=overview.iso3
                ),
            )
        )
    if overview.overdue:
        late = overview.overdue
        out.append(
            AlertOut(
                kind="overdue-shipments",
                severity=Severity.HIGH,
                count=len(late),
                text=f"{_plural(len(late), 'shipment')} ({sum(x.doses for x in late):,} doses) "
                f"{_verb(len(late), 'is', 'are')} past the expected arrival and not received; the "
                f"latest, "
                f"{late[0].shipment_id} to {late[0].destination}, is "
                f"{_plural(late[0].days_late, 'day')} late.",
                link=_link("/dashboard/shipments", state="in transit", country=overview.iso3),
            )
        )
    if overview.held:
        held = overview.held
        on_hold = [h for h in held if h.held]
        waiting = on_hold[0] if on_hold else held[0]
        why = f" ({waiting.reason})" if waiting.reason else ""
        out.append(
            AlertOut(
                kind="held-at-hubs",
                severity=Severity.MEDIUM,
                count=len(held),
                text=f"{_plural(len(held), 'shipment')} ({sum(h.doses for h in held):,} doses) "
                f"{_verb(len(held), 'waits', 'wait')} at a hub, {len(on_hold):,} of them held; "
                f"e.g. {waiting.shipment_id} at {waiting.hub}{why}.",
                link=_link(
                    "/dashboard/shipments",
                    state="held" if on_hold else "at hub",
                    country=overview.iso3,
                ),
            )
        )
    return out


def reporting_alerts(
    engine: Engine,
    access: Access,
    country: str | None,
    as_of: date,
    zones: Mapping[str, str] | None,
) -> list[AlertOut]:
    """Reports missing or late as of ``as_of`` (the Reporting page's compliance table)."""
    if not _may(access, "compliance.read"):
        return []
    rows = compliance_view(engine, as_of=as_of, participant=country, zones=zones)
    out: list[AlertOut] = []
    for status, severity, words in (
        (ComplianceStatus.MISSING, Severity.HIGH, "missing"),
        (ComplianceStatus.LATE, Severity.MEDIUM, "submitted late"),
    ):
        found = [r for r in rows if r.status is status]
        if not found:
            continue
        who = sorted({r.participant for r in found})
        out.append(
            AlertOut(
                kind=f"reports-{status.value}",
                severity=severity,
                count=len(found),
                text=f"{_plural(len(found), 'report')} {words} as of {as_of.isoformat()}, "
                f"from {_plural(len(who), 'participant')} ({', '.join(who[:5])}"
                + (", ..." if len(who) > 5 else "")
                + ").",
                link=_link(
                    "/dashboard/reporting",
                    as_of=as_of.isoformat(),
                    status=status.value,
                    participant=country,
                ),
            )
        )
    return out


def coldchain_alerts(access: Access, country: str | None) -> list[AlertOut]:
    """Product and store pairs that cannot keep their cold chain on the bundled network
    (stores in ``country`` only, if given)."""
    if not _may(access, "coldchain.read"):
        return []
    net = bundled_network()
    broken = [
        r
        for r in feasibility_rows(access, net)
        if not r.feasible and (country is None or r.country == country)
    ]
    if not broken:
        return []
    return [
        AlertOut(
            kind="coldchain-gaps",
            severity=Severity.MEDIUM,
            count=len(broken),
            text=f"{_plural(len(broken), 'product and store pair')} cannot keep the cold chain "
            f"on the bundled example network; e.g. {broken[0].text}.",
            link="/dashboard/coldchain",
        )
    ]


def plausibility_alerts(
    engine: Engine, access: Access, country: str | None, hierarchy: Hierarchy
) -> list[AlertOut]:
    """Stored values the plausibility checks flag (of ``country`` only, judged against its
    neighbours as the Reporting page judges them), the strongest named."""
    if not _may(access, "plausibility.read"):
        return []
    flags = plausibility(engine, hierarchy, participants=[country] if country else None).flags
    if not flags:
        return []
    order = {Strength.HIGH: 0, Strength.MEDIUM: 1, Strength.LOW: 2}
    strongest = min(flags, key=lambda f: (order[f.strength], -abs(f.score)))
    high = sum(1 for f in flags if f.strength is Strength.HIGH)
    who = sorted({f.participant for f in flags})
    periods = (
        strongest.first_period
        if strongest.first_period == strongest.last_period
        else f"{strongest.first_period}-{strongest.last_period}"
    )
    return [
        AlertOut(
            kind="plausibility-flags",
            severity=Severity.MEDIUM,
            count=len(flags),
            text=f"{_plural(len(flags), 'plausibility flag')} ({high} strong) on reports of "
            f"{', '.join(who[:5])}" + (", ..." if len(who) > 5 else "")
            + f"; e.g. {strongest.data_element} of {strongest.org_unit} in {periods}.",
            link=_link("/dashboard/reporting", participant=country),
        )
    ]


def overview_out(
    engine: Engine,
    access: Access,
    *,
    iso3: str | None = None,
    as_of: date,
    within_days: int = DEFAULT_WITHIN_DAYS,
    hierarchy: Hierarchy,
) -> tuple[Overview, OverviewOut]:
    """The Overview of ``iso3`` (None: every participant) as the store computed it and as
    the API answers it. A participant gets its own country whatever it asks, and naming
    another is ``SERVICE_OUT_OF_SCOPE`` (``Access.scoped``, as every other endpoint)."""
    country = access.scoped(iso3)
    overview = read_overview(
        engine,
        iso3=country,
        as_of=as_of,
        within_days=within_days,
        published_only=access.own_iso3 is not None,
    )
    alerts = [
        *ledger_alerts(overview),
        *reporting_alerts(engine, access, country, as_of, hierarchy.participant_zones()),
        *plausibility_alerts(engine, access, country, hierarchy),
        *coldchain_alerts(access, country),
    ]
    out = OverviewOut(
        scope=country,
        as_of=as_of,
        within_days=within_days,
        total=pipeline_out(overview.total),
        coverage=coverage_out(overview.coverage),
        participants=[
            ParticipantOut(
                iso3=p.iso3,
                name=p.name,
                pipeline=pipeline_out(p.pipeline),
                coverage=coverage_out(p.coverage),
            )
            for p in overview.participants
        ],
        alerts=alerts,
    )
    return overview, out


# --- the map --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    """A coverage class: doses per 100 people from ``low`` (inclusive) to ``high``."""

    css: str
    low: float
    high: float | None

    @property
    def label(self) -> str:
        if self.high is None:
            return f"{self.low:g} or more"
        return f"{self.low:g} to under {self.high:g}"


#: Classes of delivered doses per 100 people (two doses a course: 200 covers everyone).
BANDS: tuple[Band, ...] = (
    Band("ov-band-1", 0, 10),
    Band("ov-band-2", 10, 40),
    Band("ov-band-3", 40, 80),
    Band("ov-band-4", 80, 120),
    Band("ov-band-5", 120, 160),
    Band("ov-band-6", 160, None),
)
NO_DATA = "ov-band-0"


def band_of(doses_per_100: float | None) -> str:
    if doses_per_100 is None:
        return NO_DATA
    for band in BANDS:
        if band.high is None or doses_per_100 < band.high:
            return band.css
    return BANDS[-1].css


@dataclass(frozen=True)
class MapShape:
    iso3: str
    name: str
    path: str
    css: str
    title: str
    link: str | None


@dataclass(frozen=True)
class MapView:
    width: int
    height: int
    source: str
    shapes: tuple[MapShape, ...]
    bands: tuple[Band, ...]
    no_data: str


def map_view(participants: Sequence[ParticipantOut]) -> MapView:
    """Every bundled outline, coloured by its participant's delivered doses per 100 people;
    those with figures link to their shipments (the Overview's own permission, so the user
    may open them)."""
    drawing = world_map()
    figures = {p.iso3: p for p in participants}
    shapes = []
    for iso3, outline in drawing.outlines.items():
        p = figures.get(iso3)
        per_100 = p.coverage.doses_per_100 if p is not None else None
        name = p.name if p is not None else outline.name
        title = (
            f"{name}: {per_100:,.1f} doses per 100 people"
            if per_100 is not None
            else f"{name}: no data"
        )
        link = _link("/dashboard/shipments", country=iso3) if p is not None else None
        shapes.append(MapShape(iso3, name, outline.path, band_of(per_100), title, link))
    return MapView(drawing.width, drawing.height, drawing.source, tuple(shapes), BANDS, NO_DATA)
