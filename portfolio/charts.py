"""Portfolio charts. Pure functions: data in, drawing out.

Sparklines are small inline SVG polylines rather than Plotly figures: a
portfolio of 20 products shows 160 of them, they must print, and they need no
JavaScript. Plotly stays for real charts, on the pages the sparklines link to.
"""
from __future__ import annotations

SPARK_WIDTH, SPARK_HEIGHT = 120, 28


def sparkline_points(values, width: int = SPARK_WIDTH, height: int = SPARK_HEIGHT, pad: float = 2.0) -> str:
    """SVG polyline points for the known values (gaps skipped); "" with fewer than two."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(known) < 2 or len(values) < 2:
        return ""
    lo = min(v for _, v in known)
    hi = max(v for _, v in known)
    span = hi - lo or 1.0
    x_step = (width - 2 * pad) / (len(values) - 1)
    out = []
    for i, v in known:
        x = pad + i * x_step
        y = height - pad - (v - lo) / span * (height - 2 * pad) if hi != lo else height / 2
        out.append(f"{x:.1f},{y:.1f}")
    return " ".join(out)
