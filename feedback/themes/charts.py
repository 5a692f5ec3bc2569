"""Plotly figures of feedback themes: pure functions, data in, go.Figure out.
Theme labels come from people's text (or a PM's rename): escaped before they reach a figure."""
import plotly.graph_objects as go

from pmhub.chart_text import escape

SENTIMENT_COLOURS = {"positive": "#2e7d32", "neutral": "#9ca3af", "negative": "#c62828"}
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12}


def _short(text: str, n: int = 48) -> str:
    text = " ".join(str(text).split())
    return escape(text if len(text) <= n else text[: n - 1] + "…")


def themes_overview(themes: list[dict]) -> go.Figure:
    """Horizontal bars, one per theme (largest on top), stacked by sentiment.
    themes: [{"label", "positive", "neutral", "negative"}]."""
    fig = go.Figure()
    rows = themes[:20][::-1]
    labels = [f"{_short(t['label'])} ({i})" for i, t in zip(range(len(rows), 0, -1), rows)]
    for key in ("negative", "neutral", "positive"):
        fig.add_bar(y=labels, x=[t[key] for t in rows], name=key.capitalize(), orientation="h",
                    marker_color=SENTIMENT_COLOURS[key],
                    hovertemplate="%{y}<br>" + key + ": %{x}<extra></extra>")
    fig.update_layout(barmode="stack", height=max(220, 60 + 26 * len(rows)), margin={"l": 8, "r": 16, "t": 40, "b": 40},
                      title={"text": "Themes by size and sentiment", "x": 0, "font": {"size": 15}},
                      paper_bgcolor="white", plot_bgcolor="white", font=FONT,
                      legend={"orientation": "h", "y": -0.12 if rows else 0})
    fig.update_yaxes(automargin=True)
    fig.update_xaxes(gridcolor="#eef2f7", title_text="pieces of feedback")
    if not rows:
        fig.add_annotation(text="No themes yet.", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                           font={"size": 14, "color": "#6b7280"})
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
    return fig


def theme_trend(weekly: list[dict]) -> go.Figure:
    """Pieces of feedback per week in one theme. weekly: [{"week": datetime, "n": int}]."""
    fig = go.Figure()
    if weekly:
        fig.add_bar(x=[int(r["week"].timestamp() * 1000) for r in weekly], y=[r["n"] for r in weekly],
                    marker_color="#1565c0", hovertemplate="week of %{x|%-d %b %Y}: %{y}<extra></extra>")
    fig.update_layout(height=260, margin={"l": 40, "r": 16, "t": 40, "b": 40}, paper_bgcolor="white",
                      plot_bgcolor="white", font=FONT, showlegend=False,
                      title={"text": "Pieces per week", "x": 0, "font": {"size": 15}})
    fig.update_xaxes(type="date", showgrid=False, tickformat="%-d %b %Y")
    fig.update_yaxes(gridcolor="#eef2f7", rangemode="tozero")
    if not weekly:
        fig.add_annotation(text="No feedback in this theme.", showarrow=False, x=0.5, y=0.5, xref="paper",
                           yref="paper", font={"size": 14, "color": "#6b7280"})
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
    return fig
