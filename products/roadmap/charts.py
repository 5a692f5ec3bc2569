"""Plotly figures of the roadmap. Pure functions: selector data in, go.Figure out.

Titles, themes and sprint names are typed by people; plotly.js renders a subset of HTML in
tick labels, text, legends and hover text, so every such text is HTML-escaped here.
"""
import datetime
import math

import plotly.graph_objects as go

from pmhub import limits
from pmhub.chart_text import escape
from pmhub.dates import date_text
from products.chart_style import date_tickformatstops, layout, short as _short


STATUS_COLOURS = {
    "idea": "#94a3b8",
    "discovery": "#a78bfa",
    "planned": "#60a5fa",
    "in_progress": "#f59e0b",
    "shipped": "#16a34a",
    "dropped": "#d1d5db",
}
STATUS_LABELS = {
    "idea": "Idea", "discovery": "Discovery", "planned": "Planned", "in_progress": "In progress",
    "shipped": "Shipped", "dropped": "Dropped",
}
HORIZON_COLOURS = {"now": "#2563eb", "next": "#f59e0b", "later": "#94a3b8"}
HORIZON_LABELS = {"now": "Now", "next": "Next", "later": "Later"}
DAY_MS = 24 * 3600 * 1000


def _quarter_start(d: datetime.date) -> datetime.date:
    return datetime.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def _add_months(d: datetime.date, months: int) -> datetime.date:
    """The first of the month `months` after d's month, saturating at the calendar's ends."""
    m = d.month - 1 + months
    year = d.year + m // 12
    if year > datetime.MAXYEAR:
        return datetime.date.max
    if year < datetime.MINYEAR:
        return datetime.date.min
    return datetime.date(year, m % 12 + 1, 1)


def _clamp(d: datetime.date) -> datetime.date:
    """Keep the axis arithmetic within the dates pmhub accepts (rows stored before the
    policy, or through a path that skipped it, still draw: their bars run off the view)."""
    return min(max(d, limits.DATE_MIN), limits.DATE_MAX)


def timeline_figure(rows: list[dict], *, today: datetime.date, title: str = "") -> go.Figure:
    """A Gantt of items with start and target dates: one bar per item, grouped by theme (y axis is
    theme › title), coloured by status, the current quarter in view, today marked.

    The zoom buttons sit above the dates, the status legend below the chart: neither covers the
    other whatever the width. Ticks follow the zoom (days, months, quarters or years).
    """
    fig = go.Figure()
    rows = [dict(r, start_date=_clamp(r["start_date"]), target_date=_clamp(r["target_date"])) for r in rows]
    rows = sorted(rows, key=lambda r: ((r["theme"] or "~").lower(), r["start_date"], r["title"].lower()))
    y_theme = [escape(_short(r["theme"] or "No theme", 32)) for r in rows]
    y_title = [escape(_short(r["title"], 38)) for r in rows]
    for status, colour in STATUS_COLOURS.items():
        idx = [i for i, r in enumerate(rows) if r["status"] == status]
        if not idx:
            continue
        fig.add_trace(go.Bar(
            orientation="h",
            y=[[y_theme[i] for i in idx], [y_title[i] for i in idx]],
            base=[rows[i]["start_date"].isoformat() for i in idx],
            x=[((rows[i]["target_date"] - rows[i]["start_date"]).days + 1) * DAY_MS for i in idx],
            name=STATUS_LABELS[status],
            marker=dict(color=colour, line=dict(color="#ffffff", width=1)),
            customdata=[[escape(rows[i]["title"]), date_text(rows[i]["start_date"], today=today),
                         date_text(rows[i]["target_date"], today=today), STATUS_LABELS[status],
                         escape(rows[i]["theme"] or "No theme")] for i in idx],
            hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[4]} · %{customdata[3]}"
                          "<br>%{customdata[1]} → %{customdata[2]}<extra></extra>",
        ))
    if rows:
        first = _clamp(min(r["start_date"] for r in rows))
        last = _clamp(max(r["target_date"] for r in rows))
    else:
        first = last = today
    today = _clamp(today)
    q = _quarter_start(today)
    view_start = max(_add_months(q, -3), _quarter_start(first))
    view_end = _add_months(q, 6) if last < _add_months(q, 6) else _add_months(_quarter_start(last), 3)
    view_end = min(view_end, _add_months(view_start, 15))
    fig.add_shape(type="line", xref="x", yref="paper", x0=today.isoformat(), x1=today.isoformat(), y0=0, y1=1,
                  line=dict(color="#dc2626", width=2, dash="dot"))
    fig.add_annotation(x=today.isoformat(), xref="x", y=0, yref="paper", text="Today", showarrow=False,
                       yanchor="top", font=dict(color="#dc2626", size=12), bgcolor="rgba(255,255,255,0.85)")
    top, bottom = 84, 64
    height = max(280, 34 * len(rows) + top + bottom)
    plot_height = height - top - bottom
    layout(fig, title=None, barmode="overlay", height=height, showlegend=True,
           legend=dict(orientation="h", xanchor="left", x=0, yanchor="top", y=-24 / plot_height,
                       title_text="Status: "))
    fig.update_xaxes(type="date", range=[view_start.isoformat(), view_end.isoformat()], showgrid=True, side="top",
                     tickformatstops=date_tickformatstops())
    # Quarter zoom: buttons that set the visible range (no script of ours needed), in a row of their own.
    next_q = _add_months(q, 3)
    zooms = [
        ("This quarter", q, next_q),
        ("Next quarter", next_q, _add_months(next_q, 3)),
        ("Year", q, _add_months(q, 12)),
        ("Whole plan", _quarter_start(min(first, today)), _add_months(_quarter_start(max(last, today)), 3)),
    ]
    fig.update_layout(updatemenus=[dict(
        type="buttons", direction="right", x=1, xanchor="right", y=1 + 44 / plot_height, yanchor="bottom",
        showactive=False, pad=dict(r=0, t=0, b=0, l=0), font=dict(size=11),
        buttons=[dict(label=label, method="relayout", args=[{"xaxis.range": [a.isoformat(), b.isoformat()]}])
                 for label, a, b in zooms],
    )])
    if title:
        fig.add_annotation(text=escape(_short(title, 60)), xref="paper", x=0, xanchor="left", yref="paper",
                           y=1 + 44 / plot_height, yanchor="bottom", showarrow=False, font=dict(size=14))
    fig.update_yaxes(autorange="reversed", type="multicategory", tickfont=dict(size=12))
    fig.update_layout(margin=dict(l=10, r=10, t=top, b=bottom))
    return fig


# Where a bubble's number may go, tried in turn until it collides with no number placed before.
_LABEL_SPOTS = ("middle center", "top center", "bottom center", "middle right", "middle left",
                "top right", "top left", "bottom right", "bottom left")


def _label_positions(points: list[tuple[float, float, float, str]], width: float, height: float) -> list[str]:
    """A textposition per point (pixel x, pixel y, marker diameter, label) so that labels do not overlap.

    Greedy, in the order given (highest RICE first keeps the best spot); a label that fits nowhere
    stays in its bubble's centre (hover text and the key still name it).
    """
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for x, y, size, label in points:
        w, h, r = 7.0 * len(label) + 4, 13.0, size / 2
        chosen = None
        for spot in _LABEL_SPOTS:
            vertical, horizontal = spot.split()
            dy = {"top": r + h / 2, "bottom": -(r + h / 2), "middle": 0.0}[vertical]
            dx = {"right": r + w / 2, "left": -(r + w / 2), "center": 0.0}[horizontal]
            box = (x + dx - w / 2, y + dy - h / 2, x + dx + w / 2, y + dy + h / 2)
            inside = 0 <= box[0] and box[2] <= width and 0 <= box[1] and box[3] <= height
            if inside and not any(box[0] < p[2] and p[0] < box[2] and box[1] < p[3] and p[1] < box[3] for p in placed):
                chosen = spot
                placed.append(box)
                break
        out.append(chosen or "middle center")
    return out


def matrix_figure(rows: list[dict]) -> go.Figure:
    """Impact (RICE impact) against effort (person-weeks); bubble area ~ reach; colour = horizon.

    rows come ranked (highest RICE first); each bubble is labelled with its rank, which the page's
    key beside the chart names, and hover text gives the whole title: no title is cut at the plot
    edge or lies over another. Numbers are placed where they collide with no other (in the bubble,
    above, below, beside); items at the same spot are fanned out a little so each stays visible.
    A single huge effort puts the effort axis on a log scale so the others are not squeezed.
    """
    fig = go.Figure()
    max_reach = max([r["reach"] for r in rows] + [1])
    efforts = [float(r["effort"]) for r in rows] or [1.0]
    log_x = max(efforts) / min(efforts) > 40
    if log_x:
        x_lo, x_hi = math.log10(min(efforts)) - 0.15, math.log10(max(efforts)) + 0.15
    else:
        x_lo, x_hi = 0.0, max(efforts) * 1.15 + 0.5
    y_lo, y_hi = -0.25, 3.7
    spot_count: dict[tuple, int] = {}
    placed = []
    for rank, r in enumerate(rows, start=1):
        spot = (float(r["effort"]), float(r["impact"]))
        n = spot_count.get(spot, 0)
        spot_count[spot] = n + 1
        # The n-th item at one spot moves a little right, left, right... (in axis units, log or not).
        step = ((n + 1) // 2) * (1 if n % 2 else -1) * 0.015 * (x_hi - x_lo) if n else 0.0
        x_axis = (math.log10(spot[0]) if log_x else spot[0]) + step
        placed.append({"rank": rank, "row": r, "x_axis": x_axis, "x": 10 ** x_axis if log_x else x_axis,
                       "y": spot[1], "size": 16 + 44 * (r["reach"] / max_reach) ** 0.5})
    # Pixels of the plot area at a typical width (the chart is responsive; close enough to keep numbers apart).
    width, height = 720.0, 400.0
    positions = _label_positions([((p["x_axis"] - x_lo) / (x_hi - x_lo) * width,
                                   (p["y"] - y_lo) / (y_hi - y_lo) * height, p["size"], str(p["rank"]))
                                  for p in placed], width, height)
    for p, position in zip(placed, positions):
        p["position"] = position
    for horizon, colour in HORIZON_COLOURS.items():
        sub = [p for p in placed if p["row"]["horizon"] == horizon]
        if not sub:
            continue
        fig.add_trace(go.Scatter(
            x=[p["x"] for p in sub], y=[p["y"] for p in sub],
            mode="markers+text", name=HORIZON_LABELS[horizon],
            text=[str(p["rank"]) for p in sub], textposition=[p["position"] for p in sub],
            textfont=dict(size=11, color="#0f172a"), cliponaxis=False,
            marker=dict(size=[p["size"] for p in sub], color=colour, opacity=0.55, line=dict(color="white", width=1)),
            customdata=[[escape(p["row"]["title"]), p["row"]["reach"], p["row"]["confidence"], p["row"]["rice_score"],
                         STATUS_LABELS[p["row"]["status"]], p["rank"], float(p["row"]["effort"]),
                         float(p["row"]["impact"])] for p in sub],
            hovertemplate="<b>%{customdata[5]}. %{customdata[0]}</b><br>impact %{customdata[7]} · effort "
                          "%{customdata[6]:,} pw<br>reach %{customdata[1]:,} · confidence %{customdata[2]}%"
                          "<br>RICE %{customdata[3]:,.1f} · %{customdata[4]}<extra></extra>",
        ))
    x_mid = sorted(efforts)[len(efforts) // 2]
    fig.add_shape(type="line", x0=x_mid, x1=x_mid, y0=0, y1=3.3, line=dict(color="#cbd5e1", dash="dash"))
    fig.add_shape(type="line", xref="paper", x0=0, x1=1, y0=1.5, y1=1.5, line=dict(color="#cbd5e1", dash="dash"))
    for x, y, text, anchor in ((0, 3.55, "Quick wins", "left"), (1, 3.55, "Big bets", "right"),
                               (0, -0.12, "Fill-ins", "left"), (1, -0.12, "Money pits", "right")):
        fig.add_annotation(x=x, xref="paper", y=y, xanchor=anchor, text=text, showarrow=False,
                           font=dict(color="#64748b", size=12))
    layout(fig, height=480, legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0, title_text="Horizon: "),
           margin=dict(l=10, r=20, t=40, b=10))
    if log_x:
        fig.update_xaxes(type="log", range=[x_lo, x_hi], title_text="Effort (person-weeks, log scale) →")
    else:
        fig.update_xaxes(range=[x_lo, x_hi], title_text="Effort (person-weeks) →")
    fig.update_yaxes(title_text="Impact →", range=[y_lo, y_hi], tickvals=[0.25, 0.5, 1, 2, 3],
                     ticktext=["0.25 minimal", "0.5 low", "1 medium", "2 high", "3 massive"])
    return fig


def progress_figure(counts: list[dict]) -> go.Figure:
    """Roadmap progress: items per horizon, stacked by status (selectors.roadmap_status_counts)."""
    fig = go.Figure()
    horizons = list(HORIZON_LABELS)
    for status, colour in STATUS_COLOURS.items():
        values = [sum(c["count"] for c in counts if c["status"] == status and c["horizon"] == h) for h in horizons]
        if not any(values):
            continue
        fig.add_trace(go.Bar(orientation="h", y=[HORIZON_LABELS[h] for h in horizons], x=values,
                             name=STATUS_LABELS[status], marker_color=colour,
                             text=[v or "" for v in values], textposition="inside",
                             hovertemplate="%{y}: %{x} " + STATUS_LABELS[status].lower() + "<extra></extra>"))
    layout(fig, height=220, barmode="stack", legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
            margin=dict(l=10, r=10, t=40, b=10))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="Items", dtick=1)
    return fig
