"""Plotly figures of the roadmap. Pure functions: selector data in, go.Figure out.

Titles, themes and sprint names are typed by people; plotly.js renders a subset of HTML in
tick labels, text, legends and hover text, so every such text is HTML-escaped here.
"""
import datetime

import plotly.graph_objects as go

from pmhub import limits
from pmhub.chart_text import escape
from products.chart_style import layout


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
    theme › title), coloured by status, the current quarter in view (quarter ticks), today marked."""
    fig = go.Figure()
    rows = sorted(rows, key=lambda r: ((r["theme"] or "~").lower(), r["start_date"], r["title"].lower()))
    y_theme = [escape(r["theme"] or "No theme") for r in rows]
    y_title = [escape(r["title"] if len(r["title"]) <= 38 else r["title"][:36] + "…") for r in rows]
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
            customdata=[[escape(rows[i]["title"]), rows[i]["start_date"].isoformat(),
                         rows[i]["target_date"].isoformat(), STATUS_LABELS[status],
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
    ticks, d = [], _quarter_start(min(first, today))
    while d <= _add_months(_quarter_start(max(last, today)), 3):
        ticks.append(d)
        d, before = _add_months(d, 3), d
        if d <= before:
            break
    fig.add_shape(type="line", xref="x", yref="paper", x0=today.isoformat(), x1=today.isoformat(), y0=0, y1=1,
                  line=dict(color="#dc2626", width=2, dash="dot"))
    fig.add_annotation(x=today.isoformat(), xref="x", y=1, yref="paper", text="Today", showarrow=False,
                       yanchor="bottom", font=dict(color="#dc2626", size=12))
    height = max(260, 34 * len(rows) + 120)
    layout(fig, title=escape(title) if title else None, barmode="overlay", height=height, showlegend=True,
            legend=dict(orientation="h", yanchor="bottom", y=1.14, x=0, title_text="Status: "))
    fig.update_xaxes(type="date", range=[view_start.isoformat(), view_end.isoformat()],
                     tickvals=[t.isoformat() for t in ticks],
                     ticktext=[f"Q{(t.month - 1) // 3 + 1} {t.year}" for t in ticks],
                     ticklabelmode="period", showgrid=True, side="top")
    # Quarter zoom: buttons that set the visible range (no script of ours needed).
    next_q = _add_months(q, 3)
    zooms = [
        ("This quarter", q, next_q),
        ("Next quarter", next_q, _add_months(next_q, 3)),
        ("Year", q, _add_months(q, 12)),
        ("Whole plan", _quarter_start(min(first, today)), _add_months(_quarter_start(max(last, today)), 3)),
    ]
    fig.update_layout(updatemenus=[dict(
        type="buttons", direction="right", x=1, xanchor="right", y=1.14, yanchor="bottom", showactive=False,
        pad=dict(r=0, t=0), font=dict(size=11),
        buttons=[dict(label=label, method="relayout", args=[{"xaxis.range": [a.isoformat(), b.isoformat()]}])
                 for label, a, b in zooms],
    )])
    fig.update_yaxes(autorange="reversed", type="multicategory", tickfont=dict(size=12))
    fig.update_layout(margin=dict(l=10, r=10, t=110, b=10))
    return fig


def matrix_figure(rows: list[dict]) -> go.Figure:
    """Impact (RICE impact) against effort (person-weeks); bubble area ~ reach; colour = horizon."""
    fig = go.Figure()
    max_reach = max([r["reach"] for r in rows] + [1])
    for horizon, colour in HORIZON_COLOURS.items():
        sub = [r for r in rows if r["horizon"] == horizon]
        if not sub:
            continue
        fig.add_trace(go.Scatter(
            x=[float(r["effort"]) for r in sub], y=[float(r["impact"]) for r in sub],
            mode="markers+text", name=HORIZON_LABELS[horizon],
            text=[escape(r["title"] if len(r["title"]) <= 24 else r["title"][:22] + "…") for r in sub],
            textposition="top center", textfont=dict(size=11),
            marker=dict(size=[12 + 48 * (r["reach"] / max_reach) ** 0.5 for r in sub], color=colour, opacity=0.7,
                        line=dict(color="white", width=1)),
            customdata=[[escape(r["title"]), r["reach"], r["confidence"], r["rice_score"], STATUS_LABELS[r["status"]]]
                        for r in sub],
            hovertemplate="<b>%{customdata[0]}</b><br>impact %{y} · effort %{x} pw<br>reach %{customdata[1]} · "
                          "confidence %{customdata[2]}%<br>RICE %{customdata[3]:.1f} · %{customdata[4]}<extra></extra>",
        ))
    efforts = [float(r["effort"]) for r in rows] or [1.0]
    x_mid = sorted(efforts)[len(efforts) // 2]
    x_max = max(efforts) * 1.15 + 0.5
    fig.add_shape(type="line", x0=x_mid, x1=x_mid, y0=0, y1=3.3, line=dict(color="#cbd5e1", dash="dash"))
    fig.add_shape(type="line", x0=0, x1=x_max, y0=1.5, y1=1.5, line=dict(color="#cbd5e1", dash="dash"))
    for x, y, text in ((x_mid * 0.5, 3.2, "Quick wins"), (x_mid + (x_max - x_mid) / 2, 3.2, "Big bets"),
                       (x_mid * 0.5, 0.05, "Fill-ins"), (x_mid + (x_max - x_mid) / 2, 0.05, "Money pits")):
        fig.add_annotation(x=x, y=y, text=text, showarrow=False, font=dict(color="#64748b", size=12))
    layout(fig, height=480, legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0, title_text="Horizon: "))
    fig.update_xaxes(title_text="Effort (person-weeks) →", range=[0, x_max])
    fig.update_yaxes(title_text="Impact →", range=[0, 3.35], tickvals=[0.25, 0.5, 1, 2, 3],
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
