"""Every dashboard chart is an SVG drawn on the server (issue 15): no chart script, no JSON
to draw from, and each bar or point carries the number the data gives it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from doseflow.service.deployment_views import example_input, plan_for, plan_out
from doseflow.service.impact_job import KIND
from doseflow.store.allocation import AllocationStore
from doseflow.store.database import open_database
from doseflow.store.service_jobs import claim_next_job, finish_job, submit_job
from tests.service.conftest import Service, dashboard_sign_in, make_service
from tests.service.scenario import NAME, scenario_document

SVG = "{http://www.w3.org/2000/svg}"
CHART_PAGES = ("/dashboard/allocation", "/dashboard/coldchain", "/dashboard/deployment")


def svg_of(html: str, figure_id: str) -> ET.Element:
    """The chart inside ``<figure id=figure_id>``, parsed (so it must be well-formed)."""
    found = re.search(rf'<figure id="{figure_id}"[^>]*>\s*(<svg.*?</svg>)', html, re.S)
    assert found is not None, f"no SVG chart in #{figure_id}"
    root = ET.fromstring(found.group(1))
    assert root.get("role") == "img"
    assert root.get("aria-label")
    return root


def bars(root: ET.Element) -> list[tuple[str | None, str | None, str | None]]:
    return [
        (b.get("data-category"), b.get("data-series"), b.get("data-value"))
        for b in root.iter(f"{SVG}rect")
        if b.get("class") == "bar"
    ]


def signed_in(service: Service, actor: str) -> TestClient:
    client = TestClient(service.app)
    assert dashboard_sign_in(client, service.tokens[actor]).status_code == 303
    return client


@pytest.fixture
def rounds(fresh_sqlite: str) -> Iterator[Service]:
    for service in make_service(fresh_sqlite):
        service.post("/api/scenarios", "allocation-analyst", json=scenario_document())
        service.post(f"/api/scenarios/{NAME}/run", "allocation-analyst")
        yield service


def test_the_coverage_chart_draws_each_participants_doses_per_100(rounds: Service) -> None:
    html = signed_in(rounds, "viewer").get("/dashboard/allocation", params={"round": 1}).text
    chart = svg_of(html, "coverage-chart")
    coverage = AllocationStore(rounds.engine).coverage(NAME, 1)
    ranked = sorted(coverage, key=lambda c: c.doses_per_100, reverse=True)
    assert bars(chart) == [
        (c.iso3, "doses per 100 people", f"{c.doses_per_100:.2f}") for c in ranked
    ]
    assert chart.findtext(f"{SVG}title") == "Doses per 100 people after round 1"
    assert 'id="coverage-table"' in html  # the same numbers as a table


def test_the_capacity_chart_draws_the_tables_litres(service: Service) -> None:
    client = signed_in(service, "logistics-officer")
    html = client.get("/dashboard/coldchain").text
    chart = svg_of(html, "capacity-chart")
    table = html[html.index('<table id="capacity-table">') :]
    table = table[: table.index("</table>")]
    rows = re.findall(
        r'<th scope="row">(.*?) <span class="explanation">[^<]*</span></th><td>[^<]*</td>'
        r'<td>([^<]*)</td>\s*<td class="num">([\d,]+)</td><td class="num">([\d,]+)</td>'
        r'\s*<td class="num">(.*?)</td>',
        table,
    )
    assert rows
    expected, short = [], {}
    for name, band, needed, available, gap in rows:
        label = f"{name} · {band}".replace("&#176;", "°")
        expected += [
            (label, "available", available.replace(",", "")),
            (label, "needed (peak)", needed.replace(",", "")),
        ]
        short[label] = "#a4161a" if "short" in gap else "#0b4f6c"  # a shortfall in red
    # the table sorts on the server (largest shortfall first by default), the chart keeps
    # the engine's order: the same bars either way
    assert sorted(bars(chart)) == sorted(expected)
    fills = {
        b.get("data-category"): b.get("fill")
        for b in chart.iter(f"{SVG}rect")
        if b.get("data-series") == "needed (peak)"
    }
    assert fills == short
    shortfall = client.get("/dashboard/coldchain", params={"ship": "SINOVAC=BGD-NS:18,394,000"})
    assert 'fill="#a4161a"' in shortfall.text  # this plan overfills Dalian


def test_the_deployment_chart_draws_each_groups_coverage_over_time(service: Service) -> None:
    html = signed_in(service, "allocation-analyst").get("/dashboard/deployment").text
    chart = svg_of(html, "deployment-chart")
    coverage = plan_out(plan_for(example_input("PRK")), "x", 7).coverage
    drawn = {
        g.get("data-series"): [(c.get("data-x"), c.get("data-value")) for c in g]
        for g in chart.iter(f"{SVG}g")
        if g.get("class") == "series"
    }
    expected = {}
    dates = [d.isoformat() for d in coverage.dates]
    for series in coverage.by_group:
        for kind, values in (
            ("first dose", series.first_dose),
            ("full course", series.full_course),
        ):
            expected[f"{series.name}: {kind}"] = [
                (d, f"{v * 100:.1f}") for d, v in zip(dates, values, strict=True)
            ]
    drawn = {k: [p for p in v if p[0] is not None] for k, v in drawn.items()}
    assert drawn == expected


def test_the_impact_chart_draws_deaths_averted_per_rule(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'impact.sqlite'}"
    engine = open_database(url)
    totals = [
        {"rule": "equal coverage", "doses": 1e6, "deaths": 900.4, "deaths_averted": 1234.6},
        {"rule": "pro rata", "doses": 1e6, "deaths": 1000.0, "deaths_averted": 98.2},
    ]
    submit_job(
        engine, kind=KIND, params={"scenario": NAME, "round": None}, submitted_by="administrator"
    )
    claim = claim_next_job(engine, "test", [KIND])
    assert claim is not None
    assert finish_job(engine, claim, result={"totals": totals})
    engine.dispose()
    for service in make_service(url):
        html = signed_in(service, "viewer").get("/dashboard/impact").text
        chart = svg_of(html, "impact-chart")
        assert bars(chart) == [
            ("equal coverage", "deaths averted", "1235"),
            ("pro rata", "deaths averted", "98"),
        ]
        tips = [t.text for t in chart.iter(f"{SVG}title")]
        assert "equal coverage, deaths averted: 1,235 deaths averted" in tips


@pytest.mark.parametrize("path", CHART_PAGES)
def test_chart_pages_load_no_chart_script(service: Service, path: str) -> None:
    client = signed_in(service, "administrator")
    html = client.get(path).text
    assert "plotly" not in html
    assert 'type="application/json"' not in html
    assert re.findall(r'<script src="([^"]+)"', html) == ["/static/dashboard.js"]
    assert client.get("/static/vendor/plotly.min.js").status_code == 404
