"""Plotly figures for AI models. Pure functions: data in, go.Figure out.

Version labels and metric keys are typed by people (or MLflow clients); plotly.js renders a
subset of HTML in titles, names, tick labels and hover text, so they are HTML-escaped for
display (colours and values are still looked up by the raw label).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from pmhub.chart_text import escape


# Colour-blind-safe (Okabe-Ito, then Tableau) so versions stay apart; one per version, same on every chart.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
           "#4E79A7", "#F28E2B", "#59A14F", "#B07AA1"]
BEST = "★ best"


def version_colours(labels: Sequence[str]) -> dict[str, str]:
    """A stable colour per version label, in the order given."""
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}


def _layout(fig: go.Figure, *, title: str, height: int = 340) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        height=height, margin={"l": 50, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.2, "title": {"text": "version"}},
        plot_bgcolor="white", paper_bgcolor="white", hovermode="x unified",
    )
    fig.update_xaxes(showgrid=True, gridcolor="#eef0f3", zeroline=False)
    fig.update_yaxes(showgrid=True, gridcolor="#eef0f3", zeroline=False)
    return fig


def metric_curves_figure(*, key: str, curves: Sequence[tuple[str, Sequence[int], Sequence[float]]],
                         colours: dict[str, str], higher_is_better: bool = True) -> go.Figure:
    """One line per version: the metric over steps. curves: (version label, steps, values)."""
    fig = go.Figure()
    for label, steps, values in curves:
        fig.add_trace(go.Scatter(
            x=list(steps), y=list(values), mode="lines", name=escape(label),
            line={"color": colours.get(label, PALETTE[0]), "width": 2},
            hovertemplate=f"{escape(label)}: %{{y:.4g}}<extra></extra>",
        ))
    max_step = max((max(steps) for _, steps, _ in curves if len(steps)), default=0)
    # Steps are whole numbers: no "0.5" tick on a short run.
    fig.update_xaxes(title_text="step", **({"dtick": 1} if max_step <= 10 else {"tickformat": "d"}))
    arrow = "higher is better" if higher_is_better else "lower is better"
    return _layout(fig, title=f"{escape(key)} <span style='font-size:12px;color:#6b7280'>({arrow})</span>")


def final_values_figure(*, keys: Sequence[str], versions: Sequence[str], values: dict[tuple[str, str], float],
                        best: dict[str, set[str]], colours: dict[str, str], columns: int = 3) -> go.Figure:
    """One small bar chart per metric: each version's final value, the best marked ★.

    values: (version label, key) -> final value; best: key -> labels of the best version(s).
    """
    keys = list(keys)
    if not keys:
        return _layout(go.Figure(), title="Final values")
    columns = max(1, min(columns, len(keys)))
    rows = math.ceil(len(keys) / columns)
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=[escape(k) for k in keys], vertical_spacing=0.5 / rows if rows > 1 else 0.1)
    shown = set()
    for i, key in enumerate(keys):
        row, col = i // columns + 1, i % columns + 1
        labels = [v for v in versions if (v, key) in values]
        ys = [values[(v, key)] for v in labels]
        fig.add_trace(go.Bar(
            x=[escape(v) for v in labels], y=ys, marker={"color": [colours.get(v, PALETTE[0]) for v in labels],
                                    "line": {"color": ["#111827" if v in best.get(key, ()) else "rgba(0,0,0,0)"
                                                       for v in labels], "width": 2}},
            text=[f"{y:.4g} {BEST}" if v in best.get(key, ()) else f"{y:.4g}" for v, y in zip(labels, ys)],
            textposition="outside", cliponaxis=False, showlegend=False, name=escape(key),
            hovertemplate="%{x}: %{y:.4g}<extra>" + escape(key) + "</extra>",
        ), row=row, col=col)
        shown.update(labels)
        # Long version labels would run into the next chart: ticks are cut short, the hover has the whole label.
        fig.update_xaxes(type="category", row=row, col=col, tickangle=0, tickvals=[escape(v) for v in labels],
                         ticktext=[escape(v if len(v) <= 12 else v[:11] + "…") for v in labels])
        if ys:
            lo, hi = min(ys + [0]), max(ys + [0])
            pad = (hi - lo) * 0.25 or 1
            fig.update_yaxes(range=[lo - (pad if lo < 0 else 0), hi + pad], row=row, col=col)
    return _layout(fig, title="Final value per version", height=max(300, 260 * rows))
