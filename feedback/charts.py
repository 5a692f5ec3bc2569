"""Plotly figures of the feedback dashboard: pure functions, data in, go.Figure out.

Every text that came from a person (tag names, roadmap themes) is HTML-escaped
before it reaches a label or hover text: plotly.js renders a subset of HTML in
labels, and "<b>" typed into a tag must show as "<b>", not bold.
"""
from collections import defaultdict

import plotly.graph_objects as go

from pmhub.chart_text import escape
from pmhub.dates import PLOTLY_DATE


SENTIMENT_COLOURS = {"positive": "#2e7d32", "neutral": "#9ca3af", "negative": "#c62828"}
CHANNEL_COLOURS = ["#1565c0", "#6a1b9a", "#00838f", "#ef6c00", "#2e7d32", "#ad1457", "#5d4037", "#455a64"]
SEGMENT_COLOURS = ["#1565c0", "#ef6c00", "#6b7280", "#6a1b9a"]


def _layout(fig: go.Figure, title: str, **extra) -> go.Figure:
    layout = dict(
        title={"text": escape(title), "x": 0, "font": {"size": 15}},
        margin={"l": 48, "r": 16, "t": 48, "b": 40}, height=330,
        paper_bgcolor="white", plot_bgcolor="white", legend={"orientation": "h", "y": -0.18},
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
    )
    layout.update(extra)
    fig.update_layout(**layout)
    fig.update_xaxes(showgrid=False)
    fig.update_yaxes(gridcolor="#eef2f7", zeroline=False)
    return fig


WEEK_MS = 7 * 24 * 3600 * 1000
# Date ticks in pmhub's style (pmhub/dates.py): a week's days, months, years, never clock times.
WEEK_TICKS = [
    {"dtickrange": [None, "M1"], "value": "%-d %b %Y"},
    {"dtickrange": ["M1", "M12"], "value": "%b %Y"},
    {"dtickrange": ["M12", None], "value": "%Y"},
]


def _week_axis(fig: go.Figure, weeks: list) -> go.Figure:
    """A date axis of whole weeks: ticks at least a week apart, and a lone week shown with room around it."""
    axis = {"type": "date", "tickformatstops": WEEK_TICKS}
    if weeks:
        first, last = min(weeks), max(weeks)
        if len(set(weeks)) < 3:
            from datetime import timedelta

            axis["range"] = [first - timedelta(days=14), last + timedelta(days=14)]
        axis["dtick"] = WEEK_MS if len(set(weeks)) < 8 else None
    fig.update_xaxes(**{k: v for k, v in axis.items() if v is not None})
    return fig


def _empty(fig: go.Figure, message="No feedback in this period.") -> go.Figure:
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font={"size": 14, "color": "#6b7280"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def volume_by_channel(rows: list[dict], channel_choices) -> go.Figure:
    """Weekly feedback counts stacked by channel. rows: [{week, channel, n}]."""
    fig = go.Figure()
    labels = dict(channel_choices)
    by_channel = defaultdict(dict)
    for row in rows:
        by_channel[row["channel"]][row["week"]] = row["n"]
    weeks = sorted({row["week"] for row in rows})
    for i, (channel, label) in enumerate(labels.items()):
        if channel not in by_channel:
            continue
        fig.add_bar(x=weeks, y=[by_channel[channel].get(w, 0) for w in weeks], name=escape(label),
                    marker_color=CHANNEL_COLOURS[i % len(CHANNEL_COLOURS)], width=WEEK_MS * 0.8,
                    hovertemplate="%{x|" + PLOTLY_DATE + "}: %{y} via " + escape(label) + "<extra></extra>")
    _layout(fig, "Volume per week by channel", barmode="stack")
    _week_axis(fig, weeks)
    fig.update_yaxes(title_text="pieces of feedback", rangemode="tozero")
    return fig if rows else _empty(fig)


def sentiment_trend(rows: list[dict]) -> go.Figure:
    """Weekly average sentiment (-1 to 1) with the share of negative feedback. rows: [{week, avg, n, negative}]."""
    fig = go.Figure()
    weeks = [r["week"] for r in rows]
    fig.add_scatter(x=weeks, y=[round(r["avg"] or 0, 3) for r in rows], mode="lines+markers", name="Average sentiment",
                    line={"color": "#1565c0", "width": 2},
                    customdata=[[r["n"]] for r in rows],
                    hovertemplate="Week of %{x|" + PLOTLY_DATE + "}<br>average %{y:.2f} over %{customdata[0]} pieces<extra></extra>")
    fig.add_bar(x=weeks, y=[round(r["negative"] / r["n"], 3) if r["n"] else 0 for r in rows], name="Share negative",
                marker_color="rgba(198,40,40,0.25)", yaxis="y2", width=WEEK_MS * 0.8,
                hovertemplate="Week of %{x|" + PLOTLY_DATE + "}<br>%{y:.0%} negative<extra></extra>")
    _layout(fig, "Sentiment trend",
            yaxis={"range": [-1, 1], "title": {"text": "average (−1 to 1)"}, "zeroline": True, "zerolinecolor": "#9ca3af"},
            yaxis2={"overlaying": "y", "side": "right", "range": [0, 1], "tickformat": ".0%", "showgrid": False})
    _week_axis(fig, weeks)
    return fig if rows else _empty(fig)


def top_tags(rows: list[dict]) -> go.Figure:
    """Most used tags, largest on top. rows: [{name, n}]."""
    fig = go.Figure()
    rows = list(reversed(rows))
    names = [escape(r["name"]) for r in rows]
    fig.add_bar(x=[r["n"] for r in rows], y=names, orientation="h", marker_color="#00838f",
                hovertemplate="%{y}: %{x}<extra></extra>")
    _layout(fig, "Top tags", height=max(330, 28 * len(rows) + 90))
    fig.update_yaxes(automargin=True, type="category")
    return fig if rows else _empty(fig, "No tags yet.")


def segment_share(rows: list[dict], segment_choices) -> go.Figure:
    """Share of feedback per stakeholder segment. rows: [{segment, n}]."""
    labels = dict(segment_choices)
    fig = go.Figure()
    fig.add_pie(labels=[escape(labels.get(r["segment"], r["segment"])) for r in rows], values=[r["n"] for r in rows],
                hole=0.5, sort=False, marker={"colors": SEGMENT_COLOURS},
                hovertemplate="%{label}: %{value} (%{percent})<extra></extra>")
    _layout(fig, "Share by segment")
    return fig if rows else _empty(fig)


def sentiment_by_theme(rows: list[dict]) -> go.Figure:
    """Linked feedback per roadmap theme, stacked by sentiment.
    rows: [{roadmap_item__theme, feedback__sentiment_label, n}]."""
    counts = defaultdict(lambda: defaultdict(int))
    for r in rows:
        counts[r["roadmap_item__theme"] or "(no theme)"][r["feedback__sentiment_label"]] += r["n"]
    themes = sorted(counts, key=lambda t: -sum(counts[t].values()))
    fig = go.Figure()
    for label in ("negative", "neutral", "positive"):
        fig.add_bar(x=[escape(t) for t in themes], y=[counts[t][label] for t in themes], name=label.capitalize(),
                    marker_color=SENTIMENT_COLOURS[label],
                    hovertemplate="%{x}: %{y} " + label + "<extra></extra>")
    _layout(fig, "Sentiment of linked feedback per roadmap theme", barmode="stack")
    fig.update_xaxes(type="category")
    return fig if rows else _empty(fig, "No feedback linked to the roadmap yet.")
