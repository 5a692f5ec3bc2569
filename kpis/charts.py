"""Plotly figures for KPIs: pure functions, data in, go.Figure out."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import plotly.graph_objects as go

from pmhub.chart_text import escape
from pmhub.dates import PLOTLY_DATETIME

# Date ticks in pmhub's style (pmhub/dates.py) whatever the range: times, days, months, years.
DATE_TICKS = [
    {"dtickrange": [None, 86400000], "value": "%H:%M<br>%-d %b %Y"},
    {"dtickrange": [86400000, 86400000 * 28], "value": "%-d %b<br>%Y"},
    {"dtickrange": [86400000 * 28, "M12"], "value": "%b %Y"},
    {"dtickrange": ["M12", None], "value": "%Y"},
]


GREEN, AMBER, RED, BLUE, GREY = "#2e7d32", "#b26a00", "#c62828", "#1565c0", "#9aa3ad"


def _fmt(value: float | None, unit: str = "") -> str:
    """A value and its unit as chart text (the unit escaped: plotly.js renders HTML in labels)."""
    return "–" if value is None else f"{value:,.4g}{escape(unit or '')}"


def _t(ts: datetime) -> str:
    """A UTC time as plotly.js reads it (it ignores zone suffixes)."""
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _ms(ts: datetime, shift: float = 0.0) -> int:
    """A time as milliseconds since the epoch, which a date axis reads as UTC.

    For the series themselves: several times cheaper to build than _t's text and
    a third shorter in the page, which matters at a thousand points a trace.
    """
    return int((ts.timestamp() + shift) * 1000)


def kpi_figure(**kwargs) -> go.Figure:
    """The KPI chart as a validated plotly Figure (see kpi_figure_spec)."""
    return go.Figure(kpi_figure_spec(**kwargs))


def kpi_figure_spec(*, name: str, unit: str, direction: str, start: datetime, end: datetime, buckets, previous=(),
                    target: float | None = None, warning: float | None = None, critical: float | None = None,
                    markers=(), height: int = 320) -> dict:
    """A KPI over a range: average per bucket with its min–max band, the previous
    period shifted onto this one, the target line, threshold bands and ship markers.

    buckets/previous: objects with ts, avg, min, max, count; markers: objects with
    title, shipped_at, before, after, change_pct. Returns the plain figure dict
    ({"data", "layout"}) that go.Figure accepts (tests check it does). Pages embed
    this dict directly: building and validating a go.Figure costs 20–40 ms per
    chart, which a dashboard of eight charts cannot afford (see README).
    """
    # Names, units and titles are typed by people; plotly.js renders a subset of HTML in trace
    # names, hover text, annotations and axis titles, so every such text is escaped here.
    # The legend keeps a name short (a long one would run out of the chart); hover has the whole.
    name, unit = escape(name if len(name) <= 40 else name[:39] + "…"), unit or ""
    span = end - start
    xs = [_ms(b.ts) for b in buckets]
    data = []
    if buckets:
        data.append({"type": "scatter", "x": xs, "y": [b.max for b in buckets], "mode": "lines",
                     "line": {"width": 0}, "hoverinfo": "skip", "showlegend": False, "name": "max"})
        data.append({"type": "scatter", "x": xs, "y": [b.min for b in buckets], "mode": "lines",
                     "line": {"width": 0}, "fill": "tonexty", "fillcolor": "rgba(21,101,192,0.15)",
                     "name": "min–max", "hoverinfo": "skip"})
    if previous:
        data.append({"type": "scatter", "x": [_ms(b.ts, span.total_seconds()) for b in previous],
                     "y": [b.avg for b in previous],
                     "mode": "lines", "name": "Previous period", "line": {"color": GREY, "dash": "dot", "width": 1.5},
                     "hovertemplate": "%{y:.4g}<extra>previous period</extra>"})
    data.append({"type": "scatter", "x": xs, "y": [b.avg for b in buckets],
                 "mode": "lines+markers" if len(buckets) < 60 else "lines", "name": name,
                 "line": {"color": BLUE, "width": 2},
                 "hovertemplate": "%{x|" + PLOTLY_DATETIME + "}: %{y:.4g}" + escape(unit) + "<extra></extra>"})

    values = [v for b in buckets for v in (b.min, b.max)] + [b.avg for b in previous]
    values += [v for v in (target, warning, critical) if v is not None]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.1 or 1.0
    lo, hi = lo - pad, hi + pad
    lower_better = direction == "lower"
    shapes, annotations = [], []
    top = 16
    plot_height = max(height - top - 36, 50)
    labels = []  # (y, color, text): drawn in the right margin, outside the data, pushed apart below

    def hline(y, color, width, dash, text):
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": y, "y1": y,
                       "line": {"color": color, "width": width, "dash": dash}})
        labels.append((y, color, text))

    bands = []
    if critical is not None:
        bands.append((critical, hi, RED) if lower_better else (lo, critical, RED))
    if warning is not None:
        edge = critical if critical is not None else (hi if lower_better else lo)
        bands.append((warning, edge, AMBER) if lower_better else (edge, warning, AMBER))
    for y0, y1, color in bands:
        if y1 > y0:
            shapes.append({"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": y0, "y1": y1,
                           "fillcolor": color, "opacity": 0.08, "line": {"width": 0}, "layer": "below"})
    if warning is not None:
        hline(warning, AMBER, 1, "dash", f"warning<br>{_fmt(warning, unit)}")
    if critical is not None:
        hline(critical, RED, 1, "dash", f"critical<br>{_fmt(critical, unit)}")
    if target is not None:
        hline(target, GREEN, 2, "solid", f"target<br>{_fmt(target, unit)}")
    # Labels of lines close together would overlap: keep 26 px (two lines of text) between their centres.
    placed_px: list[float] = []
    for y, color, text in sorted(labels, key=lambda lab: lab[0]):
        px = (y - lo) / (hi - lo) * plot_height
        shift = 0.0
        if placed_px and px - placed_px[-1] < 26:
            shift = placed_px[-1] + 26 - px
        placed_px.append(px + shift)
        annotations.append({"xref": "paper", "x": 1, "xanchor": "left", "xshift": 4, "yref": "y", "y": y,
                            "yshift": shift, "yanchor": "middle", "align": "left", "text": text, "showarrow": False,
                            "font": {"color": color, "size": 10}})
    # Ship markers: a short note at the top, anchored so it stays inside the chart (left part: text
    # to the right of the line; right part: to the left), notes close together on rows of their own;
    # hovering a note gives the whole of it.
    rows_end: list[float] = []
    span_s = max(span.total_seconds(), 1.0)
    for m in sorted(markers, key=lambda m: m.shipped_at):
        change = "" if m.change_pct is None else f" ({m.change_pct:+.1f}%)"
        x = _t(m.shipped_at)
        frac = min(max((m.shipped_at - start).total_seconds() / span_s, 0.0), 1.0)
        row = next((i for i, end_frac in enumerate(rows_end) if frac - end_frac > 0.3), len(rows_end))
        if row == len(rows_end):
            rows_end.append(frac)
        rows_end[row] = frac
        shapes.append({"type": "line", "xref": "x", "x0": x, "x1": x, "yref": "paper", "y0": 0, "y1": 1,
                       "line": {"color": "#6a1b9a", "width": 1.5, "dash": "dot"}})
        title = m.title if len(m.title) <= 28 else m.title[:27] + "…"
        annotations.append({"x": x, "xref": "x", "y": 1, "yref": "paper", "yanchor": "bottom", "showarrow": False,
                            "xanchor": "left" if frac < 0.5 else "right", "yshift": 2 + 15 * row,
                            "text": f"▲ {escape(title)}",
                            "hovertext": f"{escape(m.title)}: {_fmt(m.before, unit)} → {_fmt(m.after, unit)}{change}",
                            "font": {"size": 11, "color": "#6a1b9a"}, "bgcolor": "rgba(255,255,255,0.85)"})
    if rows_end:
        top = 20 + 15 * len(rows_end)
    if not buckets:
        annotations.append({"xref": "paper", "x": 0.5, "yref": "paper", "y": 0.5, "showarrow": False,
                            "text": "No data in this range", "font": {"size": 13, "color": "#6b7280"}})
    layout = {
        "height": height, "margin": {"l": 50, "r": 84 if labels else 20, "t": top, "b": 36},
        "showlegend": True, "legend": {"orientation": "h", "y": -0.18, "x": 0},
        "xaxis": {"range": [_t(start), _t(end)], "type": "date", "showgrid": True, "gridcolor": "#eef1f5",
                  "tickformatstops": DATE_TICKS},
        "yaxis": {"range": [lo, hi], "zeroline": False, "showgrid": True, "gridcolor": "#eef1f5", "automargin": True,
                  **({"title": {"text": escape(unit)}} if unit else {})},
        "plot_bgcolor": "#fff", "paper_bgcolor": "#fff", "hovermode": "x unified",
        "shapes": shapes, "annotations": annotations,
        "meta": {"range_start": start.isoformat(), "range_end": end.isoformat(), "buckets": len(buckets)},
    }
    return {"data": data, "layout": layout}


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
