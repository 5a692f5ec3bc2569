"""The look every figure of the products app shares (roadmap and sprints)."""
import plotly.graph_objects as go

FONT = dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size=13, color="#1f2937")


def layout(fig: go.Figure, **kw) -> go.Figure:
    kw.setdefault("margin", dict(l=10, r=10, t=40, b=10))
    fig.update_layout(font=FONT, paper_bgcolor="white", plot_bgcolor="white", hoverlabel=dict(font_size=12), **kw)
    fig.update_xaxes(gridcolor="#eef2f7", zeroline=False)
    fig.update_yaxes(gridcolor="#eef2f7", zeroline=False)
    return fig


def short(text: str, limit: int) -> str:
    """Text cut to limit characters with "…" (for tick labels; hover text carries the whole)."""
    text = text or ""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def date_tickformatstops() -> list[dict]:
    """Date ticks in pmhub's style (pmhub/dates.py) at every zoom: days, months, quarters, years."""
    return [
        dict(dtickrange=[None, 86400000 * 28], value="%-d %b %Y"),
        dict(dtickrange=[86400000 * 28, "M3"], value="%b %Y"),
        dict(dtickrange=["M3", "M12"], value="Q%q %Y"),
        dict(dtickrange=["M12", None], value="%Y"),
    ]
