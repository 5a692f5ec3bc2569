import pytest

from kpis.selectors.status import progress_for, status_for


@pytest.mark.parametrize("direction,value,expected", [
    ("higher", None, "no_data"),
    ("higher", 12, "on_track"),
    ("higher", 9, "at_risk"),
    ("higher", 4, "off_track"),
    ("lower", 4, "on_track"),
    ("lower", 11, "at_risk"),
    ("lower", 30, "off_track"),
])
def test_status_respects_direction(direction, value, expected):
    warning, critical = (10, 5) if direction == "higher" else (10, 20)
    assert status_for(direction=direction, target=15, warning=warning, critical=critical, value=value) == expected


def test_status_without_thresholds_follows_target():
    assert status_for(direction="higher", target=10, warning=None, critical=None, value=11) == "on_track"
    assert status_for(direction="higher", target=10, warning=None, critical=None, value=9) == "at_risk"
    assert status_for(direction="lower", target=10, warning=None, critical=None, value=9) == "on_track"


def test_progress():
    assert progress_for(direction="higher", target=200, value=50) == 0.25
    assert progress_for(direction="lower", target=2, value=4) == 0.5
    assert progress_for(direction="lower", target=2, value=1) == 1.0
    assert progress_for(direction="higher", target=None, value=1) is None


def test_kpi_figure_is_a_valid_plotly_figure_with_bands_target_and_markers():
    from datetime import datetime, timedelta, timezone

    import plotly.graph_objects as go

    from kpis.charts import kpi_figure
    from kpis.selectors.kpis import Marker
    from kpis.timeseries.selectors import Bucket

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    buckets = [Bucket(ts=t0 + timedelta(hours=i), avg=i, min=i - 1, max=i + 1, sum=i, count=1, last=i) for i in range(10)]
    marker = Marker(item_id=1, title="New ranking model", shipped_at=t0 + timedelta(hours=5), before=2.0, after=7.0)
    fig = kpi_figure(name="Conversion", unit="%", direction="higher", start=t0, end=t0 + timedelta(hours=10),
                     buckets=buckets, previous=buckets, target=8, warning=3, critical=1, markers=[marker])
    assert isinstance(fig, go.Figure)
    names = [trace.name for trace in fig.data]
    assert "Previous period" in names and "Conversion" in names and "min–max" in names
    texts = [a.text for a in fig.layout.annotations]
    assert any("target 8%" in t for t in texts) and any("+250.0%" in t for t in texts)
    assert sum(1 for s in fig.layout.shapes if s.type == "rect") == 2
