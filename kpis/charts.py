"""Plotly figures for KPIs: pure functions, data in, go.Figure out."""
from __future__ import annotations

from datetime import datetime, timedelta

import plotly.graph_objects as go

GREEN, AMBER, RED, BLUE, GREY = "#2e7d32", "#b26a00", "#c62828", "#1565c0", "#9aa3ad"


def _fmt(value: float | None, unit: str = "") -> str:
    return "–" if value is None else f"{value:,.4g}{unit}"


def kpi_figure(*, name: str, unit: str, direction: str, start: datetime, end: datetime, buckets, previous=(),
               target: float | None = None, warning: float | None = None, critical: float | None = None,
               markers=(), height: int = 320) -> go.Figure:
    """A KPI over a range: average per bucket with its min–max band, the previous
    period shifted onto this one, the target line, threshold bands and ship markers.

    buckets/previous: objects with ts, avg, min, max, count; markers: objects with
    title, shipped_at, before, after, change_pct.
    """
    span = end - start
    xs = [b.ts for b in buckets]
    fig = go.Figure()
    if buckets:
        fig.add_trace(go.Scatter(x=xs, y=[b.max for b in buckets], mode="lines", line={"width": 0},
                                 hoverinfo="skip", showlegend=False, name="max"))
        fig.add_trace(go.Scatter(x=xs, y=[b.min for b in buckets], mode="lines", line={"width": 0},
                                 fill="tonexty", fillcolor="rgba(21,101,192,0.15)", name="min–max",
                                 hoverinfo="skip"))
    if previous:
        fig.add_trace(go.Scatter(x=[b.ts + span for b in previous], y=[b.avg for b in previous], mode="lines",
                                 name="Previous period", line={"color": GREY, "dash": "dot", "width": 1.5},
                                 customdata=[b.ts for b in previous],
                                 hovertemplate="%{customdata|%Y-%m-%d %H:%M}: %{y:.4g}<extra>previous</extra>"))
    fig.add_trace(go.Scatter(x=xs, y=[b.avg for b in buckets], mode="lines+markers" if len(buckets) < 60 else "lines",
                             name=name, line={"color": BLUE, "width": 2},
                             hovertemplate="%{x|%Y-%m-%d %H:%M}: %{y:.4g}" + (unit or "") + "<extra></extra>"))

    values = [v for b in buckets for v in (b.min, b.max)] + [b.avg for b in previous]
    values += [v for v in (target, warning, critical) if v is not None]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.1 or 1.0
    lo, hi = lo - pad, hi + pad
    lower_better = direction == "lower"
    bands = []
    if critical is not None:
        bands.append((critical, hi, RED) if lower_better else (lo, critical, RED))
    if warning is not None:
        edge = critical if critical is not None else (hi if lower_better else lo)
        bands.append((warning, edge, AMBER) if lower_better else (edge, warning, AMBER))
    for y0, y1, color in bands:
        if y1 > y0:
            fig.add_hrect(y0=y0, y1=y1, fillcolor=color, opacity=0.08, line_width=0, layer="below")
    if warning is not None:
        fig.add_hline(y=warning, line={"color": AMBER, "width": 1, "dash": "dash"},
                      annotation_text=f"warning {_fmt(warning, unit)}", annotation_position="bottom left",
                      annotation_font_color=AMBER)
    if critical is not None:
        fig.add_hline(y=critical, line={"color": RED, "width": 1, "dash": "dash"},
                      annotation_text=f"critical {_fmt(critical, unit)}", annotation_position="bottom left",
                      annotation_font_color=RED)
    if target is not None:
        fig.add_hline(y=target, line={"color": GREEN, "width": 2}, annotation_text=f"target {_fmt(target, unit)}",
                      annotation_position="top left", annotation_font_color=GREEN)
    for m in markers:
        change = "" if m.change_pct is None else f" ({m.change_pct:+.1f}%)"
        fig.add_vline(x=m.shipped_at.timestamp() * 1000, line={"color": "#6a1b9a", "width": 1.5, "dash": "dot"})
        fig.add_annotation(x=m.shipped_at, y=1, yref="paper", yanchor="bottom", showarrow=False,
                           text=f"▲ {m.title[:40]}: {_fmt(m.before, unit)} → {_fmt(m.after, unit)}{change}",
                           font={"size": 11, "color": "#6a1b9a"}, bgcolor="rgba(255,255,255,0.85)")
    fig.update_layout(
        height=height, margin={"l": 50, "r": 20, "t": 30 if markers else 16, "b": 36},
        showlegend=True, legend={"orientation": "h", "y": -0.18, "x": 0},
        xaxis={"range": [start, end], "type": "date"},
        yaxis={"range": [lo, hi], "title": {"text": unit} if unit else None, "zeroline": False},
        plot_bgcolor="#fff", paper_bgcolor="#fff", hovermode="x unified",
        meta={"range_start": start.isoformat(), "range_end": end.isoformat(), "buckets": len(buckets)},
    )
    fig.update_xaxes(showgrid=True, gridcolor="#eef1f5")
    fig.update_yaxes(showgrid=True, gridcolor="#eef1f5")
    return fig


def sparkline_path(values: list[float], *, width: int = 120, height: int = 32) -> str:
    """The `points` of an SVG polyline drawing values left to right (empty with fewer than 2)."""
    if len(values) < 2:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    step = width / (len(values) - 1)
    return " ".join(f"{i * step:.1f},{height - 2 - (v - lo) / span * (height - 4):.1f}" for i, v in enumerate(values))


def previous_span(start: datetime, end: datetime) -> timedelta:
    return end - start
