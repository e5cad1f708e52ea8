"""Charts of logistics results: PNG (matplotlib) and self-contained HTML (plotly, JS inlined).

The HTML files embed plotly.js, so they open offline and can be mailed as one file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

from doseflow.domain.network import Network
from doseflow.logistics.capacity import CapacityGap
from doseflow.logistics.feasibility import Feasibility
from doseflow.logistics.routing import ShipmentPlan
from doseflow.logistics.storage_profiles import band_words

_BAND_COLOURS = {
    "ultra-cold": "#3b4cc0",
    "frozen": "#6f9bd1",
    "2-8": "#2ca02c",
    "ambient": "#d68b2a",
}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _write_html(fig: object, path: str) -> None:
    fig.write_html(path, include_plotlyjs=True, full_html=True)  # type: ignore[attr-defined]


def capacity_png(gaps: Sequence[CapacityGap], path: str | os.PathLike[str]) -> None:
    """Grouped bars: litres needed and available at each node and band."""
    plt = _pyplot()
    labels = [f"{g.name}\n{band_words(g.band)}" for g in gaps]
    xs = list(range(len(gaps)))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(gaps) + 2), 4.8))
    ax.bar(
        [x - 0.2 for x in xs],
        [g.available_litres for g in gaps],
        0.4,
        label="available",
        color="#b0b0b0",
    )
    ax.bar(
        [x + 0.2 for x in xs],
        [g.needed_litres for g in gaps],
        0.4,
        label="needed",
        color=["#d62728" if g.short else _BAND_COLOURS[g.band.value] for g in gaps],
    )
    for x, g in zip(xs, gaps, strict=True):
        if g.short:
            ax.annotate(
                f"short {g.shortfall_litres:,.0f} L",
                (x + 0.2, g.needed_litres),
                ha="center",
                va="bottom",
                fontsize=8,
                color="#d62728",
            )
    ax.set_xticks(xs, labels, fontsize=8, rotation=30, ha="right")
    ax.set_ylabel("litres")
    ax.set_yscale("symlog", linthresh=100)
    ax.set_title("Storage needed vs available (red: shortfall)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=120)
    plt.close(fig)


def capacity_html(gaps: Sequence[CapacityGap], path: str | os.PathLike[str]) -> None:
    import plotly.graph_objects as go

    labels = [f"{g.name} · {band_words(g.band)}" for g in gaps]
    fig = go.Figure(
        [
            go.Bar(
                name="available",
                x=labels,
                y=[g.available_litres for g in gaps],
                marker_color="#b0b0b0",
            ),
            go.Bar(
                name="needed",
                x=labels,
                y=[g.needed_litres for g in gaps],
                marker_color=["#d62728" if g.short else _BAND_COLOURS[g.band.value] for g in gaps],
                customdata=[[g.gap_litres] for g in gaps],
                hovertemplate="%{x}<br>needed %{y:,.0f} L<br>gap %{customdata[0]:,.0f} L",
            ),
        ]
    )
    fig.update_layout(
        barmode="group",
        title="Storage needed vs available (red: shortfall)",
        yaxis_title="litres",
        yaxis_type="log",
    )
    _write_html(fig, os.fspath(path))


def routes_png(plan: ShipmentPlan, path: str | os.PathLike[str]) -> None:
    """A timeline: one row per shipment, a bar per leg (hatched where it waits)."""
    plt = _pyplot()
    names = plan.network.nodes
    rows = plan.shipments
    fig, ax = plt.subplots(figsize=(10, max(2.5, 0.45 * len(rows) + 1.5)))
    for y, s in enumerate(rows):
        for leg in s.route.legs:
            if leg.wait_days > 0:
                ax.barh(
                    y,
                    leg.wait_days,
                    left=leg.depart_day - leg.wait_days,
                    color="none",
                    edgecolor="#999999",
                    hatch="//",
                    height=0.5,
                )
            ax.barh(
                y,
                max(leg.arrive_day - leg.depart_day, 0.05),
                left=leg.depart_day,
                color=_BAND_COLOURS[leg.band.value],
                height=0.5,
            )
    ax.set_yticks(
        range(len(rows)),
        [f"{s.product.name} {s.doses:,} → {names[s.route.destination].name}" for s in rows],
        fontsize=8,
    )
    ax.invert_yaxis()
    ax.set_xlabel("day")
    ax.set_title(f"Shipments ({plan.objective.value}); colour = band, hatched = waiting")
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=120)
    plt.close(fig)


def routes_html(plan: ShipmentPlan, path: str | os.PathLike[str]) -> None:
    import plotly.graph_objects as go

    names = plan.network.nodes
    fig = go.Figure()
    for i, s in enumerate(plan.shipments):
        label = f"{i + 1}. {s.product.name} {s.doses:,} → {names[s.route.destination].name}"
        for leg in s.route.legs:
            fig.add_trace(
                go.Bar(
                    y=[label],
                    x=[max(leg.arrive_day - leg.depart_day, 0.05)],
                    base=[leg.depart_day],
                    orientation="h",
                    showlegend=False,
                    marker_color=_BAND_COLOURS[leg.band.value],
                    hovertext=(
                        f"{names[leg.lane.origin].name} → {names[leg.lane.destination].name}"
                        f" by {leg.lane.mode.value}, {band_words(leg.band)}, "
                        f"waited {leg.wait_days:g} d"
                    ),
                )
            )
    fig.update_layout(
        title=f"Shipments ({plan.objective.value}); colour = band",
        xaxis_title="day",
        yaxis_autorange="reversed",
        barmode="overlay",
    )
    _write_html(fig, os.fspath(path))


def _matrix(
    results: Sequence[Feasibility], network: Network
) -> tuple[list[str], list[str], list[list[float]]]:
    products = sorted({r.product for r in results})
    dests = list(dict.fromkeys(r.destination for r in results))
    grid = [[math.nan for _ in dests] for _ in products]
    for r in results:
        value = -1.0
        if r.route is not None:
            value = 999.0 if math.isinf(r.route.days_left) else r.route.days_left - r.use_days
        grid[products.index(r.product)][dests.index(r.destination)] = value
    return products, [network.node(d).name for d in dests], grid


def feasibility_png(
    results: Sequence[Feasibility], network: Network, path: str | os.PathLike[str]
) -> None:
    """A product x destination grid: red infeasible, amber thawed with little margin, green."""
    plt = _pyplot()
    products, dests, grid = _matrix(results, network)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(dests) + 2), 0.6 * len(products) + 2))
    colours = [
        ["#d62728" if v < 0 else "#2ca02c" if v >= 999 else "#f2b134" for v in row] for row in grid
    ]
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            if math.isnan(v):
                continue
            ax.add_patch(plt.Rectangle((j, i), 1, 1, color=colours[i][j]))
            text = "✗" if v < 0 else ("✓" if v >= 999 else f"{v:.0f} d")
            ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize=9)
    ax.set_xlim(0, len(dests))
    ax.set_ylim(len(products), 0)
    ax.set_xticks([j + 0.5 for j in range(len(dests))], dests, rotation=30, ha="right", fontsize=8)
    ax.set_yticks([i + 0.5 for i in range(len(products))], products)
    ax.set_title("Cold-chain feasibility (amber: thawed, days to spare after planned use)")
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=120)
    plt.close(fig)


def feasibility_html(
    results: Sequence[Feasibility], network: Network, path: str | os.PathLike[str]
) -> None:
    import plotly.graph_objects as go

    products, dests, grid = _matrix(results, network)
    text = [
        [
            "infeasible" if v < 0 else "long-term band" if v >= 999 else f"{v:.0f} days spare"
            for v in row
        ]
        for row in grid
    ]
    fig = go.Figure(
        go.Heatmap(
            z=[[min(v, 60) for v in row] for row in grid],
            x=dests,
            y=products,
            text=text,
            texttemplate="%{text}",
            zmin=-1,
            zmax=60,
            colorscale=[[0, "#d62728"], [0.02, "#f2b134"], [1, "#2ca02c"]],
            showscale=False,
        )
    )
    fig.update_layout(title="Cold-chain feasibility", yaxis_autorange="reversed")
    _write_html(fig, os.fspath(path))
