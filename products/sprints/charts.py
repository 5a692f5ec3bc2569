"""Plotly figures of sprints: burndown and velocity. Pure functions: selector data in, go.Figure out.

Sprint names are typed by people; plotly.js renders a subset of HTML in tick labels,
so they are HTML-escaped here.
"""
import plotly.graph_objects as go

from pmhub.chart_text import escape
from products.chart_style import date_tickformatstops, layout


MAX_POINTS = 400


def burndown_figure(data: dict) -> go.Figure:
    """Ideal line, actual remaining points per day, and scope (selectors.sprint_burndown data).

    A sprint of years (dates far apart are accepted) is drawn from at most MAX_POINTS days,
    evenly spread with the first and last kept; ticks carry the year unless all is this year.
    """
    n = len(data["days"])
    keep = list(range(n))
    if n > MAX_POINTS:
        step = -(-n // MAX_POINTS)
        keep = sorted(set(range(0, n, step)) | {n - 1})
    days = [data["days"][i].isoformat() for i in keep]
    data = dict(data, ideal=[data["ideal"][i] for i in keep], scope=[data["scope"][i] for i in keep],
                remaining=[data["remaining"][i] for i in keep])
    this_year = data.get("today") and all(d.year == data["today"].year for d in (data["days"][0], data["days"][-1]))
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=days, y=data["ideal"], name="Ideal", mode="lines",
                             line=dict(color="#94a3b8", dash="dash", width=2)))
    fig.add_trace(go.Scatter(x=days, y=data["scope"], name="Scope", mode="lines", line=dict(color="#7c3aed", width=2,
                                                                                              shape="hv")))
    fig.add_trace(go.Scatter(x=days, y=data["remaining"], name="Remaining", mode="lines+markers",
                             line=dict(color="#2563eb", width=3), marker=dict(size=6)))
    if data.get("today"):
        t = data["today"].isoformat()
        fig.add_shape(type="line", xref="x", yref="paper", x0=t, x1=t, y0=0, y1=1,
                      line=dict(color="#dc2626", width=1, dash="dot"))
        fig.add_annotation(x=t, xref="x", y=1, yref="paper", text="Today", showarrow=False, yanchor="bottom",
                           font=dict(color="#dc2626", size=11))
    layout(fig, height=340, legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
            margin=dict(l=10, r=10, t=50, b=10))
    fig.update_yaxes(title_text="Points", rangemode="tozero")
    if this_year:
        fig.update_xaxes(type="date", tickformat="%-d %b")
    else:
        fig.update_xaxes(type="date", tickformatstops=date_tickformatstops())
    return fig


def velocity_figure(rows: list[dict]) -> go.Figure:
    """Committed vs completed points of the last closed sprints, with the average completed."""
    names = [escape(r["name"]) for r in rows]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=names, y=[r["committed"] for r in rows], name="Committed", marker_color="#cbd5e1",
                         text=[r["committed"] for r in rows], textposition="outside"))
    fig.add_trace(go.Bar(x=names, y=[r["completed"] for r in rows], name="Completed", marker_color="#16a34a",
                         text=[r["completed"] for r in rows], textposition="outside"))
    if rows:
        avg = sum(r["completed"] for r in rows) / len(rows)
        fig.add_trace(go.Scatter(x=names, y=[avg] * len(rows), name=f"Average completed ({avg:.0f})", mode="lines",
                                 line=dict(color="#15803d", dash="dot")))
    layout(fig, height=320, barmode="group", legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
            margin=dict(l=10, r=10, t=50, b=10))
    fig.update_yaxes(title_text="Points", rangemode="tozero")
    return fig
