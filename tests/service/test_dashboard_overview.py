"""The Overview: headline figures, pipeline per participant, coverage map and alerts, the same
on the page and in ``GET /api/overview``, narrowed to its own country for a participant."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from doseflow.data.population import countries
from doseflow.data.world_map import world_map
from doseflow.domain.events import Adjustment, AdjustmentReason, Administration, Reversal
from doseflow.reporting import Requirement, parse_period
from doseflow.reporting.periods import PeriodType
from doseflow.service.overview_views import BANDS, NO_DATA, band_of
from doseflow.store.allocation import AllocationStore, RoundStatus
from doseflow.store.ledger import LedgerStore
from doseflow.store.reporting import save_requirements
from tests.service.conftest import Service, dashboard_sign_in, make_service
from tests.service.scenario import NAME, scenario_document
from tests.service.seed import K1, seed_ledger

AS_OF = "2021-06-01"
STEPS = ("allocated", "shipped", "in_transit", "at_hubs", "received", "administered", "wasted")


def _more_events(ledger: LedgerStore) -> None:
    """At Kenya's store: 3,000 doses given (and 500 more, reversed), 200 broken, 50 found."""
    at = datetime(2021, 5, 10, 9, tzinfo=UTC)
    ledger.append_events(
        [
            Administration(
                event_id="adm-1",
                occurred_at=at,
                recorded_by="t",
                node="KEN-NS",
                lot=K1,
                quantity=3_000,
            ),
            Administration(
                event_id="adm-2",
                occurred_at=at,
                recorded_by="t",
                node="KEN-NS",
                lot=K1,
                quantity=500,
            ),
            Reversal(
                event_id="rev-adm-2",
                occurred_at=at,
                recorded_by="t",
                reverses="adm-2",
                reason="entered twice",
            ),
            Adjustment(
                event_id="adj-broken",
                occurred_at=at,
                recorded_by="t",
                node="KEN-NS",
                lot=K1,
                quantity=-200,
                reason=AdjustmentReason.BROKEN,
            ),
            Adjustment(
                event_id="adj-found",
                occurred_at=at,
                recorded_by="t",
                node="KEN-NS",
                lot=K1,
                quantity=50,
                reason=AdjustmentReason.FOUND,
            ),
        ]
    )


@pytest.fixture
def site(fresh_sqlite: str) -> Iterator[Service]:
    """The seeded ledger (Kenya received, held at Dubai; Nigeria in transit), Kenya's use of
    its doses, the COVAX example run with round 1 published, and two monthly reports owed."""
    for service in make_service(fresh_sqlite):
        _more_events(seed_ledger(service.engine))
        assert service.post("/api/scenarios", "administrator", json=scenario_document()).is_success
        assert service.post(f"/api/scenarios/{NAME}/run", "allocation-analyst").is_success
        published = service.post(f"/api/scenarios/{NAME}/rounds/1/publish", "administrator")
        assert published.is_success
        save_requirements(
            service.engine,
            [
                Requirement(iso3, "distribution", PeriodType.MONTHLY, 15, parse_period("202104"))
                for iso3 in ("KEN", "NGA")
            ],
        )
        yield service


def api(service: Service, actor: str, **params: Any) -> dict[str, Any]:
    response = service.get("/api/overview", actor, params={"as_of": AS_OF, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def page(service: Service, actor: str, query: str = f"?as_of={AS_OF}") -> str:
    service.client.cookies.clear()
    assert dashboard_sign_in(service.client, service.tokens[actor]).status_code == 303
    response = service.client.get("/dashboard/" + query)
    assert response.status_code == 200, response.text
    return response.text


def page_figures(text: str) -> dict[str, str]:
    """The headline figures the page shows, by ``data-field``: their exact value."""
    return dict(re.findall(r'<dd data-field="([^"]+)" data-value="([^"]*)">', text))


def allocated(service: Service, iso3: str, statuses: tuple[str, ...]) -> int:
    store = AllocationStore(service.engine)
    numbers = {r.number for r in store.rounds(NAME) if r.status in statuses}
    return sum(line.doses for line in store.lines(NAME, iso3=iso3) if line.round in numbers)


# -- figures ---------------------------------------------------------------------------------


def test_the_pipeline_follows_the_ledger_and_the_rounds(site: Service) -> None:
    body = api(site, "administrator")
    rows = {p["iso3"]: p for p in body["participants"]}
    ken, nga = rows["KEN"]["pipeline"], rows["NGA"]["pipeline"]
    of_record = (RoundStatus.RUN.value, RoundStatus.PUBLISHED.value)
    assert ken == {
        "allocated": allocated(site, "KEN", of_record),
        "shipped": 24_000 + 4_800,  # S-KEN-1 received, S-KEN-2 held at Dubai
        "in_transit": 0,
        "at_hubs": 4_800,
        "received": 24_000,
        "administered": 3_000,  # the 500 reversed do not count
        "wasted": 200,  # broken; found doses are not waste
    }
    assert (nga["shipped"], nga["in_transit"], nga["received"]) == (12_000, 12_000, 0)
    assert nga["allocated"] == allocated(site, "NGA", of_record) > 0
    population = countries()["KEN"].population
    coverage = rows["KEN"]["coverage"]
    assert coverage["population"] == population
    assert coverage["doses_per_100"] == round(24_000 / population * 100, 2)
    assert coverage["courses"] == 12_000  # AstraZeneca: two doses a course
    assert coverage["fully_covered"] == round(12_000 / population, 4)


def test_rows_add_up_to_the_headline_figures(site: Service) -> None:
    body = api(site, "administrator")
    assert len(body["participants"]) > 2
    for step in STEPS:
        assert sum(p["pipeline"][step] for p in body["participants"]) == body["total"][step]
    assert body["coverage"]["population"] == sum(
        p["coverage"]["population"] for p in body["participants"]
    )
    for p in body["participants"]:
        flow = p["pipeline"]
        assert flow["shipped"] >= flow["in_transit"] + flow["at_hubs"] + flow["received"]


def test_the_page_shows_the_apis_figures(site: Service) -> None:
    for actor in ("administrator", "participant-KEN"):
        body = api(site, actor)
        shown = page_figures(page(site, actor))
        for step in STEPS:
            assert shown[f"total.{step}"] == str(body["total"][step]), (actor, step)
        for name in ("doses_per_100", "fully_covered"):
            assert float(shown[f"coverage.{name}"]) == body["coverage"][name], (actor, name)


def test_the_pipeline_table_has_a_row_per_participant_summing_to_the_total(site: Service) -> None:
    text = page(site, "administrator")
    body = api(site, "administrator")
    table = text[
        text.index('<table id="ov-pipeline">') : text.index(
            "</table>", text.index('<table id="ov-pipeline">')
        )
    ]
    rows = re.findall(r'<tr data-iso3="([A-Z]{3})">(.*?)</tr>', table, re.S)
    assert [iso3 for iso3, _ in rows] == [p["iso3"] for p in body["participants"]]
    footer = table[table.index("<tfoot>") :]
    for step in STEPS:
        cells = [
            int(re.search(rf'data-field="{step}">([\d,]*)<', row).group(1).replace(",", ""))  # type: ignore[union-attr]
            for _, row in rows
        ]
        total = re.search(rf'data-field="{step}">([\d,]*)<', footer)
        assert total is not None
        assert sum(cells) == int(total.group(1).replace(",", "")) == body["total"][step]


# -- scope -----------------------------------------------------------------------------------


def test_a_participant_sees_its_own_country_only(site: Service) -> None:
    everyone = {p["iso3"]: p for p in api(site, "administrator")["participants"]}
    own = api(site, "participant-KEN")
    assert own["scope"] == "KEN"
    assert [p["iso3"] for p in own["participants"]] == ["KEN"]
    ken = own["participants"][0]["pipeline"]
    # what was shipped and used is the same; allocations only from published rounds
    for step in STEPS[1:]:
        assert ken[step] == everyone["KEN"]["pipeline"][step] == own["total"][step]
    assert ken["allocated"] == allocated(site, "KEN", (RoundStatus.PUBLISHED.value,))
    assert ken["allocated"] < everyone["KEN"]["pipeline"]["allocated"]
    alerts = {a["kind"]: a for a in own["alerts"]}
    assert "overdue-shipments" not in alerts  # Nigeria's shipment is not Kenya's business
    assert "NGA" not in alerts["reports-missing"]["text"]
    text = page(site, "participant-KEN")
    assert 'data-iso3="NGA"' in text  # the outline is drawn ...
    assert "Nigeria: no data" in text  # ... without Nigeria's figures
    assert 'data-iso3="KEN"><th' in text.replace("\n", "")
    assert '<tr data-iso3="NGA">' not in text


def test_a_participant_cannot_ask_for_another_countrys_overview(site: Service) -> None:
    refused = site.get("/api/overview", "participant-KEN", params={"iso3": "NGA"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "SERVICE_OUT_OF_SCOPE"
    assert api(site, "participant-KEN", iso3="KEN")["scope"] == "KEN"
    page(site, "participant-KEN")
    assert site.client.get("/dashboard/?iso3=NGA").status_code == 403


def test_staff_narrow_the_overview_to_one_participant(site: Service) -> None:
    everyone = {p["iso3"]: p for p in api(site, "viewer")["participants"]}
    kenya = api(site, "viewer", iso3="ken")
    assert kenya["scope"] == "KEN"
    assert [p["iso3"] for p in kenya["participants"]] == ["KEN"]
    assert kenya["total"] == everyone["KEN"]["pipeline"]  # staff: every round of record
    alerts = {a["kind"]: a for a in kenya["alerts"]}
    assert "overdue-shipments" not in alerts  # Nigeria's
    assert alerts["held-at-hubs"]["link"] == "/dashboard/shipments?state=held&country=KEN"
    assert alerts["reports-missing"]["count"] == 1
    shown = page_figures(page(site, "viewer", f"?as_of={AS_OF}&iso3=KEN"))
    assert shown["total.allocated"] == str(kenya["total"]["allocated"])


# -- map -------------------------------------------------------------------------------------


def test_the_map_has_a_path_per_country_with_its_band_title_and_link(site: Service) -> None:
    text = page(site, "administrator")
    body = api(site, "administrator")
    svg = text[text.index('<svg id="ov-map"') : text.index("</svg>")]
    assert 'role="img"' in svg
    assert "aria-labelledby" in svg
    drawn = {
        iso3: css for css, iso3 in re.findall(r'class="(ov-band-\d)" data-iso3="([A-Z]{3})"', svg)
    }
    assert set(drawn) == set(world_map().outlines)
    with_data = [p for p in body["participants"] if p["iso3"] in world_map().outlines]
    assert with_data
    for p in with_data:
        per_100 = p["coverage"]["doses_per_100"]
        assert drawn[p["iso3"]] == band_of(per_100) != NO_DATA
        # a pointer follows the shape (dashboard.js, no link inside the image: axe's
        # nested-interactive); keyboards and screen readers the table's same link
        link = f'data-iso3="{p["iso3"]}" data-href="/dashboard/shipments?country={p["iso3"]}">'
        assert link in svg
        assert "<a " not in svg
        assert f'<a href="/dashboard/shipments?country={p["iso3"]}">{p["name"]}</a>' in text
        assert html.escape(f"{p['name']}: {per_100:,.1f} doses per 100 people") in svg
    assert drawn["FRA"] == NO_DATA  # no deliveries recorded for France
    legend = text[text.index('<ul class="ov-legend"') :]
    for band in BANDS:
        assert f'class="ov-swatch {band.css}" aria-hidden="true"></span>{band.label}<' in legend


def test_bands_cover_every_value_in_order() -> None:
    assert band_of(None) == NO_DATA
    assert band_of(0.0) == BANDS[0].css
    assert band_of(10.0) == BANDS[1].css
    assert band_of(9_999.0) == BANDS[-1].css


def test_the_bundled_map_is_small_and_keyed_by_iso3() -> None:
    outlines = world_map().outlines
    assert len(outlines) > 170
    assert {"KEN", "NGA", "XKX", "FRA", "USA"} <= set(outlines)
    known = countries()
    assert all(iso3 in known for iso3 in outlines if iso3 != "ATF")  # ATF: no people
    assert sum(len(o.path) for o in outlines.values()) < 150_000


# -- alerts ----------------------------------------------------------------------------------


def test_alerts_say_the_figure_and_link_to_pages_that_exist(site: Service) -> None:
    body = api(site, "administrator")
    alerts = {a["kind"]: a for a in body["alerts"]}
    assert set(alerts) >= {
        "expiring-lots",
        "overdue-shipments",
        "held-at-hubs",
        "reports-missing",
        "coldchain-gaps",
    }
    assert "1 lot in stock (20,850 doses)" in alerts["expiring-lots"]["text"]  # K1 at KEN-NS
    assert "S-NGA-1" in alerts["overdue-shipments"]["text"]
    assert "20 days late" in alerts["overdue-shipments"]["text"]  # expected 12 May
    assert "4,800 doses" in alerts["held-at-hubs"]["text"]
    assert "awaiting import permit" in alerts["held-at-hubs"]["text"]
    assert alerts["reports-missing"]["count"] == 2
    text = page(site, "administrator")
    for alert in body["alerts"]:
        assert alert["severity"] in ("high", "medium", "info")
        assert html.escape(alert["link"]) in text
        target = site.client.get(alert["link"])
        assert target.status_code == 200, alert["link"]
    held = site.client.get(alerts["held-at-hubs"]["link"]).text
    assert "S-KEN-2" in held


def test_an_empty_database_renders_without_errors(service: Service) -> None:
    body = api(service, "administrator")
    assert body["participants"] == []
    assert all(v == 0 for v in body["total"].values())
    assert body["coverage"]["doses_per_100"] is None
    text = page(service, "administrator")
    assert "No allocations or shipments yet." in text
    assert "What your role may do" in text  # the permissions, below
    assert text.count("<path ") == len(world_map().outlines)


def test_the_ledgers_totals_are_kept_until_the_ledger_changes(
    site: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every later request finds the ledger's totals kept (grouping every shipment's events is
    most of the page's cost); a new ledger event makes the next request read them again."""
    from doseflow.store import overview as store_overview

    reads: list[int] = []
    grouped = store_overview._Reader.shipments

    def counted(self: Any) -> Any:
        reads.append(1)
        return grouped(self)

    monkeypatch.setattr(store_overview._Reader, "shipments", counted)
    page(site, "administrator")
    first = len(reads)
    site.client.get(f"/dashboard/?as_of={AS_OF}")
    api(site, "administrator")
    assert len(reads) == first  # kept
    before = api(site, "administrator")["total"]["administered"]
    ledger = LedgerStore(site.engine)
    ledger.append_events(
        [
            Administration(
                event_id="adm-3",
                occurred_at=datetime(2021, 5, 11, tzinfo=UTC),
                recorded_by="t",
                node="KEN-NS",
                lot=K1,
                quantity=100,
            )
        ]
    )
    assert api(site, "administrator")["total"]["administered"] == before + 100
    assert len(reads) == first + 1  # read again once, after the ledger changed


def test_the_figures_are_the_same_on_postgresql(service_any_db: Service) -> None:
    _more_events(seed_ledger(service_any_db.engine))
    body = service_any_db.get("/api/overview", "viewer", params={"as_of": AS_OF}).json()
    ken = next(p for p in body["participants"] if p["iso3"] == "KEN")["pipeline"]
    assert (ken["shipped"], ken["at_hubs"], ken["administered"], ken["wasted"]) == (
        28_800,
        4_800,
        3_000,
        200,
    )
    assert date.fromisoformat(body["as_of"]) == date(2021, 6, 1)


@pytest.mark.slow
def test_the_page_on_the_demo_database_lists_every_participant_and_stays_small(
    fresh_sqlite: str, tmp_path: Path
) -> None:
    """The demo's allocation rounds, ledger (round 1 via Dalian and 5,400 UNICEF deliveries)
    and reporting, as ``doseflow demo`` stores them. How fast the page answers is measured by
    ``benchmarks/dashboard_pages.py`` (docs/benchmarks.md), not asserted here."""
    import io

    from rich.console import Console

    from doseflow.cli.demo import DemoContext, allocation_step, ledger_step, reporting_step

    for service in make_service(fresh_sqlite):
        quiet = Console(file=io.StringIO())
        ctx = DemoContext(service.engine, fresh_sqlite, tmp_path, quiet)
        for run_step in (allocation_step, ledger_step, reporting_step):
            run_step(ctx)
        text = page(service, "administrator", "?as_of=2021-03-01")  # the first reads it all
        assert len(re.findall(r'<tr data-iso3="', text)) > 150
        response = service.client.get("/dashboard/?as_of=2021-03-01")
        assert response.status_code == 200
        assert len(response.content) < 500_000


def test_plausibility_flags_are_an_alert_with_the_reporting_pages_figure(service: Service) -> None:
    """The demo's reporting seed (hierarchy with neighbours, PRK's weekly surveillance): the
    Overview counts the flags the Reporting page lists, names the strongest, and links there;
    a participant's Overview counts its own flags only."""
    import io

    from rich.console import Console

    from doseflow.cli.demo import example_path
    from doseflow.cli.reporting import demo_reporting

    demo_reporting(service.engine, Console(file=io.StringIO()), example_path)
    flags = service.get("/api/reports/plausibility", "administrator").json()
    assert flags, "the seed raises flags"
    alerts = {a["kind"]: a for a in api(service, "administrator")["alerts"]}
    alert = alerts["plausibility-flags"]
    assert alert["count"] == len(flags)
    assert alert["severity"] == "medium"
    assert "PRK" in alert["text"]
    assert alert["link"].startswith("/dashboard/reporting")
    assert service.client.get(alert["link"]).status_code == 200
    assert html.escape(alert["link"]) in page(service, "administrator")
    # a participant with no flags of its own: no alert
    own = {a["kind"] for a in api(service, "participant-KEN")["alerts"]}
    assert "plausibility-flags" not in own
