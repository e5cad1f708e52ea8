"""Charts of deaths averted by strategy and supply (PNG with matplotlib, HTML with plotly).

HTML files inline plotly's JavaScript, so they open offline and can be mailed as one file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def _png_lines(table: pd.DataFrame, x: str, y: str, series: str, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for name, rows in table.groupby(series, sort=False):
        rows = rows.sort_values(x)
        ax.plot(rows[x] * 100, rows[y], marker="o", label=str(name))
    ax.set_xlabel("supply (doses as % of population)")
    ax.set_ylabel(y.replace("_", " "))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(title=series)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _html_lines(table: pd.DataFrame, x: str, y: str, series: str, title: str, path: Path) -> None:
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, rows in table.groupby(series, sort=False):
        rows = rows.sort_values(x)
        fig.add_trace(go.Scatter(x=rows[x] * 100, y=rows[y], mode="lines+markers", name=str(name)))
    fig.update_layout(
        title=title,
        xaxis_title="supply (doses as % of population)",
        yaxis_title=y.replace("_", " "),
        legend_title=series,
    )
    fig.write_html(path, include_plotlyjs=True, full_html=True)


def plot_strategies(
    table: pd.DataFrame,
    out_dir: Path | str,
    *,
    stem: str = "deaths_averted",
    metric: str = "deaths_averted",
) -> tuple[Path, Path]:
    """Deaths averted (or ``metric``) against supply, one line per strategy: PNG and HTML.

    ``table`` has columns ``strategy``, ``supply_share`` and ``metric`` (a strategy comparison
    or a sweep; rows of other countries/R0 should be filtered or aggregated first)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = pd.DataFrame(
        table.groupby(["strategy", "supply_share"], sort=False, as_index=False)[metric].sum()
    )
    title = f"{metric.replace('_', ' ').capitalize()} by strategy and supply"
    png, html = out / f"{stem}.png", out / f"{stem}.html"
    _png_lines(data, "supply_share", metric, "strategy", title, png)
    _html_lines(data, "supply_share", metric, "strategy", title, html)
    return png, html


def plot_allocation_rules(
    totals: pd.DataFrame, out_dir: Path | str, *, stem: str = "allocation_rules"
) -> tuple[Path, Path]:
    """Total deaths averted per allocation rule (a global comparison): PNG and HTML bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png, html = out / f"{stem}.png", out / f"{stem}.html"
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    ax.barh(totals["rule"], totals["deaths_averted"], color="#2a7ab0")
    ax.invert_yaxis()
    ax.set_xlabel("deaths averted (all participants)")
    ax.set_title("Deaths averted by allocation rule, same total supply")
    fig.tight_layout()
    fig.savefig(png)
    plt.close(fig)
    pfig = go.Figure(go.Bar(x=totals["deaths_averted"], y=totals["rule"], orientation="h"))
    pfig.update_layout(
        title="Deaths averted by allocation rule, same total supply",
        xaxis_title="deaths averted",
        yaxis={"autorange": "reversed"},
    )
    pfig.write_html(html, include_plotlyjs=True, full_html=True)
    return png, html
