"""Dashboard charts drawn on the server as inline SVG: bars (grouped or stacked, upright or
lying down) and lines, with axes, ticks, a legend and a tooltip on every mark.

Why not a chart library in the browser: plotly.js alone weighed 4.8 MB and drew nothing until
it had loaded and run. An SVG written here is a few kilobytes, is on screen with the page's
first paint, needs no script (so the Content-Security-Policy stays strict) and prints. Every
chart is one ``<svg role="img">`` whose ``aria-label`` says what it shows; each page also keeps
a data table with the same numbers for anyone who cannot see the chart. Each mark carries its
value in ``data-value`` (and its category and series) so tests can check the drawing against
the data, and a ``<title>`` the browser shows as a tooltip.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

#: The dashboard's colours (dashboard.css): ink blue, green, red for a shortfall, grey.
INK = "#0b4f6c"
GREEN = "#1d6b35"
RED = "#a4161a"
GREY = "#9aa5b1"
#: Series colours in turn, distinct and dark enough on white.
PALETTE = (INK, GREEN, RED, "#8a4b00", "#5b3f8c", "#2a7f9e", "#6b6b00")

WIDTH = 760
FONT_SIZE = 12
CHAR_WIDTH = 6.6  # a generous average glyph width at FONT_SIZE, to size margins for labels
BAR_BAND = 22  # height of one category's band in a lying-down bar chart
LEGEND_ROW = 20
LONG_LIST = 15  # lying-down bars beyond this many categories get the scale on top as well
TICKS = 5


@dataclass(frozen=True)
class Series:
    """One named row of values, one per category (or per x label for lines).

    ``colours`` overrides ``colour`` bar by bar (e.g. a shortfall in red); ``dashed`` draws a
    line series dashed."""

    name: str
    values: tuple[float, ...]
    colour: str
    colours: tuple[str, ...] | None = None
    dashed: bool = False


@dataclass(frozen=True)
class Axis:
    """The value axis: its label, the unit words for tooltips, decimals shown, fixed top."""

    label: str
    unit: str = ""
    decimals: int = 0
    maximum: float | None = None


def format_value(value: float, decimals: int) -> str:
    """A number with thousands separators (1,234,567 or 12.35)."""
    return f"{value:,.{decimals}f}"


def nice_ticks(top: float, count: int = TICKS) -> list[float]:
    """Round tick values from 0 to at least ``top`` (steps of 1, 2, 2.5 or 5 times 10^k)."""
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    steps = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(steps + 1)]


def _tick_decimals(ticks: Sequence[float]) -> int:
    return 0 if all(float(t).is_integer() for t in ticks) else 1


def _text_width(text: str) -> float:
    return len(text) * CHAR_WIDTH


def _attr(value: object) -> str:
    return str(escape(str(value)))


def _num(value: float) -> str:
    """Coordinates with one decimal at most: enough for a screen, short in the page."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _legend(
    series: Sequence[Series], x0: float, y0: float, width: float, line: bool
) -> tuple[list[str], float]:
    """Swatches and names laid out in rows within ``width``; returns the marks and height."""
    if len(series) < 2:
        return [], 0.0
    marks = ['<g class="legend">']
    x, y = x0, y0
    for s in series:
        item = 22 + _text_width(s.name) + 16
        if x > x0 and x + item > x0 + width:
            x, y = x0, y + LEGEND_ROW
        if line:
            dash = ' stroke-dasharray="6 4"' if s.dashed else ""
            marks.append(
                f'<line x1="{_num(x)}" y1="{_num(y + 8)}" x2="{_num(x + 18)}" y2="{_num(y + 8)}"'
                f' stroke="{_attr(s.colour)}" stroke-width="2.5"{dash}/>'
            )
        else:
            marks.append(
                f'<rect x="{_num(x)}" y="{_num(y + 2)}" width="12" height="12"'
                f' fill="{_attr(s.colour)}"/>'
            )
        marks.append(f'<text x="{_num(x + 22)}" y="{_num(y + 12)}">{escape(s.name)}</text>')
        x += item
    marks.append("</g>")
    return marks, y - y0 + LEGEND_ROW + 6


def _frame(chart_id: str, title: str, description: str, height: float, body: list[str]) -> Markup:
    label = f"{title}. {description}" if description else title
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{_attr(chart_id)}-svg" class="svg-chart"'
        f' viewBox="0 0 {WIDTH} {_num(height)}" role="img" aria-label="{_attr(label)}"'
        f' font-size="{FONT_SIZE}" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title>"
        f'<text class="chart-title" x="{WIDTH / 2:g}" y="20" text-anchor="middle"'
        f' font-size="{FONT_SIZE + 3}" font-weight="600">{escape(title)}</text>'
        + "".join(body)
        + "</svg>"
    )


def _check(categories: Sequence[str], series: Sequence[Series]) -> None:
    for s in series:
        if len(s.values) != len(categories):
            raise ValueError(
                f"series {s.name!r} has {len(s.values)} values for {len(categories)} categories"
            )


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    axis: Axis,
    horizontal: bool = False,
    stacked: bool = False,
) -> Markup:
    """Bars per category, one per series side by side (or stacked), upright or lying down.

    A chart of one series writes each value at the end of its bar. Values below zero are
    drawn as zero-length bars (the charts here count doses, litres
    and deaths averted); their tooltip still gives the value."""
    _check(categories, series)
    n = len(categories)
    totals = [
        sum(max(s.values[i], 0.0) for s in series)
        if stacked
        else max((s.values[i] for s in series), default=0.0)
        for i in range(n)
    ]
    top = axis.maximum if axis.maximum is not None else max(totals, default=0.0)
    ticks = nice_ticks(top)
    scale_top = ticks[-1]
    tick_dec = _tick_decimals(ticks)
    top_y = 34.0
    legend, legend_h = _legend(series, 12, top_y, WIDTH - 24, line=False)
    top_y += legend_h
    body = list(legend)
    per_band = 1 if stacked else len(series)
    labelled = len(series) == 1  # one series: its value is written at the end of each bar
    if horizontal:
        left = min(320.0, 14 + max((_text_width(c) for c in categories), default=0.0))
        right = WIDTH - (70 if labelled else 24)
        if n > LONG_LIST:  # a long list: the scale on top too, where reading starts
            top_y += 18
        plot_h = max(1, n) * BAR_BAND
        bottom = top_y + plot_h
        height = bottom + 48

        def to_x(v: float) -> float:
            return left + (right - left) * max(v, 0.0) / scale_top

        for t in ticks:
            x = to_x(t)
            body.append(
                f'<line class="grid" x1="{_num(x)}" y1="{_num(top_y)}" x2="{_num(x)}"'
                f' y2="{_num(bottom)}" stroke="#dde3ea"/>'
                f'<text class="tick" x="{_num(x)}" y="{_num(bottom + 16)}"'
                f' text-anchor="middle">{format_value(t, tick_dec)}</text>'
            )
            if n > LONG_LIST:
                body.append(
                    f'<text class="tick" x="{_num(x)}" y="{_num(top_y - 6)}"'
                    f' text-anchor="middle">{format_value(t, tick_dec)}</text>'
                )
        body.append(
            f'<text class="axis-label" x="{_num((left + right) / 2)}" y="{_num(bottom + 38)}"'
            f' text-anchor="middle">{escape(axis.label)}</text>'
        )
        bar_h = (BAR_BAND - 6) / per_band
        for i, category in enumerate(categories):
            y0 = top_y + i * BAR_BAND + 3
            body.append(
                f'<text class="category" x="{_num(left - 6)}" y="{_num(y0 + BAR_BAND / 2 + 1)}"'
                f' text-anchor="end">{escape(category)}</text>'
            )
            base = 0.0
            for j, s in enumerate(series):
                value = s.values[i]
                x0 = to_x(base) if stacked else left
                x1 = to_x(base + max(value, 0.0)) if stacked else to_x(value)
                y = y0 if stacked else y0 + j * bar_h
                body.append(_bar(s, i, category, value, axis, x0, y, x1 - x0, bar_h))
                if labelled:
                    body.append(
                        f'<text class="value" x="{_num(x1 + 4)}" y="{_num(y + bar_h / 2 + 4)}">'
                        f"{format_value(value, axis.decimals)}</text>"
                    )
                if stacked:
                    base += max(value, 0.0)
        body.append(
            f'<line class="axis" x1="{_num(left)}" y1="{_num(top_y)}" x2="{_num(left)}"'
            f' y2="{_num(bottom)}" stroke="#4a5360"/>'
        )
        return _frame(chart_id, title, description, height, body)

    label_w = max((_text_width(c) for c in categories), default=0.0)
    tick_w = max(_text_width(format_value(t, tick_dec)) for t in ticks)
    left = 30 + tick_w
    right = WIDTH - 16
    band = (right - left) / max(n, 1)
    rotate = label_w > band - 6
    label_h = min(label_w, 220.0) * 0.6 + 14 if rotate else 18.0
    plot_top = top_y + (16 if labelled else 4)
    bottom = plot_top + 300
    height = bottom + label_h + 16

    def to_y(v: float) -> float:
        return bottom - (bottom - plot_top) * max(v, 0.0) / scale_top

    body.append(_value_axis(ticks, tick_dec, axis.label, left, right, plot_top, bottom, to_y))
    bar_w = band * 0.7 / per_band
    for i, category in enumerate(categories):
        x0 = left + i * band + band * 0.15
        cx = left + (i + 0.5) * band
        if rotate:
            body.append(
                f'<text class="category" x="{_num(cx)}" y="{_num(bottom + 14)}"'
                f' text-anchor="end" transform="rotate(-35 {_num(cx)} {_num(bottom + 14)})">'
                f"{escape(category)}</text>"
            )
        else:
            body.append(
                f'<text class="category" x="{_num(cx)}" y="{_num(bottom + 16)}"'
                f' text-anchor="middle">{escape(category)}</text>'
            )
        base = 0.0
        for j, s in enumerate(series):
            value = s.values[i]
            if stacked:
                y_top, y_base = to_y(base + max(value, 0.0)), to_y(base)
                base += max(value, 0.0)
                x = x0
            else:
                y_top, y_base = to_y(value), bottom
                x = x0 + j * bar_w
            body.append(_bar(s, i, category, value, axis, x, y_top, bar_w, y_base - y_top))
            if labelled:
                body.append(
                    f'<text class="value" x="{_num(x + bar_w / 2)}" y="{_num(y_top - 5)}"'
                    f' text-anchor="middle">{format_value(value, axis.decimals)}</text>'
                )
    body.append(
        f'<line class="axis" x1="{_num(left)}" y1="{_num(bottom)}" x2="{_num(right)}"'
        f' y2="{_num(bottom)}" stroke="#4a5360"/>'
    )
    return _frame(chart_id, title, description, height, body)


def _bar(
    s: Series,
    i: int,
    category: str,
    value: float,
    axis: Axis,
    x: float,
    y: float,
    width: float,
    height: float,
) -> str:
    colour = s.colours[i] if s.colours is not None else s.colour
    shown = format_value(value, axis.decimals)
    tip = f"{category}, {s.name}: {shown}" + (f" {axis.unit}" if axis.unit else "")
    return (
        f'<rect class="bar" x="{_num(x)}" y="{_num(y)}" width="{_num(max(width, 0.0))}"'
        f' height="{_num(max(height, 0.0))}" fill="{_attr(colour)}"'
        f' data-category="{_attr(category)}" data-series="{_attr(s.name)}"'
        f' data-value="{_attr(shown.replace(",", ""))}"><title>{escape(tip)}</title></rect>'
    )


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    axis: Axis,
    max_x_ticks: int = 8,
) -> Markup:
    """Lines over evenly spaced x labels (dates), a point with a tooltip at each value."""
    _check(x_labels, series)
    n = len(x_labels)
    top = (
        axis.maximum
        if axis.maximum is not None
        else max((v for s in series for v in s.values), default=0.0)
    )
    ticks = nice_ticks(top)
    scale_top = ticks[-1]
    tick_dec = _tick_decimals(ticks)
    top_y = 34.0
    legend, legend_h = _legend(series, 12, top_y, WIDTH - 24, line=True)
    body = list(legend)
    plot_top = top_y + legend_h + 6
    bottom = plot_top + 300
    left = 30 + max(_text_width(format_value(t, tick_dec)) for t in ticks)
    right = WIDTH - 24
    height = bottom + 40

    def to_x(i: int) -> float:
        return left + (right - left) * (i / (n - 1) if n > 1 else 0.5)

    def to_y(v: float) -> float:
        return bottom - (bottom - plot_top) * max(v, 0.0) / scale_top

    body.append(_value_axis(ticks, tick_dec, axis.label, left, right, plot_top, bottom, to_y))
    every = max(1, math.ceil(n / max_x_ticks))
    for i in range(0, n, every):
        body.append(
            f'<text class="tick" x="{_num(to_x(i))}" y="{_num(bottom + 18)}"'
            f' text-anchor="middle">{escape(x_labels[i])}</text>'
        )
    for s in series:
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        points = " ".join(f"{_num(to_x(i))},{_num(to_y(v))}" for i, v in enumerate(s.values))
        body.append(
            f'<g class="series" data-series="{_attr(s.name)}">'
            f'<polyline points="{points}" fill="none" stroke="{_attr(s.colour)}"'
            f' stroke-width="2"{dash}/>'
        )
        for i, v in enumerate(s.values):
            shown = format_value(v, axis.decimals)
            tip = f"{x_labels[i]}, {s.name}: {shown}" + (f" {axis.unit}" if axis.unit else "")
            body.append(
                f'<circle class="point" cx="{_num(to_x(i))}" cy="{_num(to_y(v))}" r="3"'
                f' fill="{_attr(s.colour)}" data-x="{_attr(x_labels[i])}"'
                f' data-value="{shown.replace(",", "")}"><title>{escape(tip)}</title></circle>'
            )
        body.append("</g>")
    body.append(
        f'<line class="axis" x1="{_num(left)}" y1="{_num(bottom)}" x2="{_num(right)}"'
        f' y2="{_num(bottom)}" stroke="#4a5360"/>'
    )
    return _frame(chart_id, title, description, height, body)


def _value_axis(
    ticks: Sequence[float],
    decimals: int,
    label: str,
    left: float,
    right: float,
    plot_top: float,
    bottom: float,
    to_y: Callable[[float], float],
) -> str:
    """An upright chart's value axis: a grid line and a tick label per tick, and the axis
    label turned along the left edge (shared by the bar and line charts)."""
    parts = [
        f'<line class="grid" x1="{_num(left)}" y1="{_num(to_y(t))}" x2="{_num(right)}"'
        f' y2="{_num(to_y(t))}" stroke="#dde3ea"/>'
        f'<text class="tick" x="{_num(left - 6)}" y="{_num(to_y(t) + 4)}"'
        f' text-anchor="end">{format_value(t, decimals)}</text>'
        for t in ticks
    ]
    mid = (plot_top + bottom) / 2
    parts.append(
        f'<text class="axis-label" x="12" y="{_num(mid)}" text-anchor="middle"'
        f' transform="rotate(-90 12 {_num(mid)})">{escape(label)}</text>'
    )
    return "".join(parts)
