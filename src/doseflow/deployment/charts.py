"""Charts of projected coverage: a PNG (matplotlib) and a self-contained HTML page (plotly
with its JavaScript inlined, so it opens offline). Both return the file's content; writing
it is the caller's job."""

from __future__ import annotations

import io

import numpy as np

from doseflow.deployment.projection import CoverageProjection


def coverage_png(projection: CoverageProjection, title: str) -> bytes:
    """Coverage of each group's target population over time (first dose solid, complete
    course dashed), as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dates = np.array(projection.dates(), dtype="datetime64[D]")
    started = projection.by_group()
    done = projection.by_group(complete=True)
    fig, ax = plt.subplots(figsize=(12, 5.5), dpi=110)
    colours = plt.get_cmap("tab10")
    for g, name in enumerate(projection.group_names):
        ax.plot(dates, started[g] * 100, color=colours(g % 10), label=f"{name}: first dose")
        ax.plot(
            dates,
            done[g] * 100,
            color=colours(g % 10),
            linestyle="--",
            label=f"{name}: full course",
        )
    ax.set_ylabel("% of the group's target population")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.autofmt_xdate()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def coverage_html(projection: CoverageProjection, title: str) -> str:
    """Interactive coverage by group (national) and by region, one self-contained page."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    dates = projection.dates()
    fig = make_subplots(
        rows=2,
        cols=1,
        subplot_titles=("By priority group", "By region (all groups)"),
        vertical_spacing=0.12,
    )
    for g, name in enumerate(projection.group_names):
        fig.add_trace(
            go.Scatter(
                x=dates,
                y=np.round(projection.by_group()[g] * 100, 2),
                name=f"{name}: first dose",
                legendgroup=name,
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=dates,
                y=np.round(projection.by_group(complete=True)[g] * 100, 2),
                name=f"{name}: full course",
                legendgroup=name,
                line={"dash": "dash"},
            ),
            row=1,
            col=1,
        )
    by_region = projection.by_region()
    for r, code in enumerate(projection.region_codes):
        fig.add_trace(
            go.Scatter(
                x=dates,
                y=np.round(by_region[r] * 100, 2),
                name=code,
                legendgroup="regions",
                showlegend=True,
            ),
            row=2,
            col=1,
        )
    fig.update_yaxes(title_text="% of target population", range=[0, 100])
    fig.update_layout(title=title, height=900, template="plotly_white")
    html: str = fig.to_html(include_plotlyjs=True, full_html=True)
    return html
