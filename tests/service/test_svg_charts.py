"""The server-side SVG charts: each mark carries the number it draws, sizes follow the values,
axes have thousands separators, and the chart is an accessible, well-formed image."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from doseflow.service.dashboard.svg_charts import (
    Axis,
    Series,
    bar_chart,
    format_value,
    line_chart,
    nice_ticks,
)

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def bars(root: ET.Element) -> list[ET.Element]:
    return root.findall(f".//{SVG}rect[@class='bar']")


def test_nice_ticks_cover_the_top_value_in_round_steps() -> None:
    assert nice_ticks(100) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(213_148) == [0, 50_000, 100_000, 150_000, 200_000, 250_000]
    assert nice_ticks(7.83) == [0, 2, 4, 6, 8]
    assert nice_ticks(0) == [0, 1]
    assert format_value(1234567, 0) == "1,234,567"
    assert format_value(7.834, 2) == "7.83"


def test_grouped_upright_bars_carry_their_values_and_heights_follow_them() -> None:
    chart = bar_chart(
        chart_id="t",
        title="Storage <needed> & available",
        description="litres per node",
        categories=["Dalian · 2-8 °C", "Dhaka · 2-8 °C"],
        series=[
            Series("available", (60_000.0, 90_000.0), "#999"),
            Series("needed", (213_148.0, 86_400.0), "#00f", colours=("#f00", "#00f")),
        ],
        axis=Axis("litres", unit="L"),
    )
    root = parse(chart)  # well-formed XML even with < and & in the title
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Storage <needed> & available. litres per node"
    assert root.findtext(f"{SVG}title") == "Storage <needed> & available"
    marks = bars(root)
    got = [(b.get("data-category"), b.get("data-series"), b.get("data-value")) for b in marks]
    assert got == [
        ("Dalian · 2-8 °C", "available", "60000"),
        ("Dalian · 2-8 °C", "needed", "213148"),
        ("Dhaka · 2-8 °C", "available", "90000"),
        ("Dhaka · 2-8 °C", "needed", "86400"),
    ]
    heights = [float(b.get("height", "0")) for b in marks]
    assert heights[1] / heights[0] == pytest.approx(213_148 / 60_000, rel=0.01)
    assert [b.get("fill") for b in marks] == ["#999", "#f00", "#999", "#00f"]
    assert marks[1].findtext(f"{SVG}title") == "Dalian · 2-8 °C, needed: 213,148 L"
    ticks = [t.text for t in root.findall(f".//{SVG}text[@class='tick']")]
    assert ticks == ["0", "50,000", "100,000", "150,000", "200,000", "250,000"]
    legend = [t.text for t in root.findall(f".//{SVG}g[@class='legend']/{SVG}text")]
    assert legend == ["available", "needed"]


def test_lying_down_bars_keep_the_order_given_and_widths_follow_the_values() -> None:
    values = (7.83, 12.5, 0.0)
    root = parse(
        bar_chart(
            chart_id="c",
            title="Doses per 100",
            description="",
            categories=["PRK", "NGA", "KEN"],
            series=[Series("doses per 100", values, "#0b4f6c")],
            axis=Axis("doses per 100 people", decimals=2),
            horizontal=True,
        )
    )
    marks = bars(root)
    assert [b.get("data-category") for b in marks] == ["PRK", "NGA", "KEN"]
    assert [b.get("data-value") for b in marks] == ["7.83", "12.50", "0.00"]
    widths = [float(b.get("width", "0")) for b in marks]
    assert widths[0] / widths[1] == pytest.approx(7.83 / 12.5, rel=0.01)
    assert widths[2] == 0
    ys = [float(b.get("y", "0")) for b in marks]
    assert ys == sorted(ys)  # first category on top
    assert root.findall(f".//{SVG}g[@class='legend']") == []  # one series: no legend
    written = [t.text for t in root.findall(f".//{SVG}text[@class='value']")]
    assert written == ["7.83", "12.50", "0.00"]  # one series: each value at its bar's end


def test_a_long_list_of_bars_has_its_scale_on_top_and_bottom() -> None:
    names = [f"C{i:02d}" for i in range(20)]
    root = parse(
        bar_chart(
            chart_id="long",
            title="Long",
            description="",
            categories=names,
            series=[Series("n", tuple(float(i) for i in range(20)), "#000")],
            axis=Axis("n"),
            horizontal=True,
        )
    )
    ticks = [t.text for t in root.findall(f".//{SVG}text[@class='tick']")]
    assert ticks.count("20") == 2
    assert len(bars(root)) == 20


def test_stacked_bars_sit_on_each_other() -> None:
    root = parse(
        bar_chart(
            chart_id="s",
            title="Stacked",
            description="",
            categories=["a"],
            series=[Series("x", (30.0,), "#111"), Series("y", (70.0,), "#222")],
            axis=Axis("doses"),
            stacked=True,
        )
    )
    low, high = bars(root)
    assert float(high.get("y", "0")) + float(high.get("height", "0")) == pytest.approx(
        float(low.get("y", "0")), abs=0.11
    )
    assert float(high.get("height", "0")) / float(low.get("height", "0")) == pytest.approx(
        70 / 30, rel=0.01
    )


def test_lines_have_a_point_per_value_and_dashed_series_are_dashed() -> None:
    labels = ["2021-06-01", "2021-06-08", "2021-06-15"]
    root = parse(
        line_chart(
            chart_id="l",
            title="Coverage",
            description="by group",
            x_labels=labels,
            series=[
                Series("Health workers: first dose", (0.0, 45.5, 90.3), "#0b4f6c"),
                Series("Health workers: full course", (0.0, 0.0, 40.1), "#0b4f6c", dashed=True),
            ],
            axis=Axis("% of the group", unit="%", decimals=1, maximum=100),
        )
    )
    groups = root.findall(f".//{SVG}g[@class='series']")
    assert [g.get("data-series") for g in groups] == [
        "Health workers: first dose",
        "Health workers: full course",
    ]
    first = groups[0].findall(f"{SVG}circle")
    assert [(c.get("data-x"), c.get("data-value")) for c in first] == list(
        zip(labels, ["0.0", "45.5", "90.3"], strict=True)
    )
    assert first[2].findtext(f"{SVG}title") == "2021-06-15, Health workers: first dose: 90.3 %"
    lines = [g.find(f"{SVG}polyline") for g in groups]
    assert lines[0] is not None
    assert lines[0].get("stroke-dasharray") is None
    assert lines[1] is not None
    assert lines[1].get("stroke-dasharray") == "6 4"
    ticks = [t.text for t in root.findall(f".//{SVG}text[@class='tick']")]
    assert ticks[:6] == ["0", "20", "40", "60", "80", "100"]  # fixed top at 100 %


def test_a_series_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="has 1 values for 2 categories"):
        bar_chart(
            chart_id="x",
            title="x",
            description="",
            categories=["a", "b"],
            series=[Series("s", (1.0,), "#000")],
            axis=Axis("n"),
        )
