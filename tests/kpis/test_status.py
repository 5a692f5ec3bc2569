import pytest

from kpis.selectors.status import progress_for, status_for


@pytest.mark.parametrize("direction,value,expected", [
    ("higher", None, "no_data"),
    ("higher", 16, "on_track"),
    ("higher", 12, "at_risk"),  # inside the thresholds but short of the target
    ("higher", 9, "at_risk"),
    ("higher", 4, "off_track"),
    ("lower", 4, "on_track"),
    ("lower", 7, "at_risk"),  # inside the thresholds but above the target
    ("lower", 11, "at_risk"),
    ("lower", 30, "off_track"),
])
def test_status_respects_direction(direction, value, expected):
    warning, critical = (10, 5) if direction == "higher" else (10, 20)
    target = 15 if direction == "higher" else 5
    assert status_for(direction=direction, target=target, warning=warning, critical=critical, value=value) == expected


def test_status_without_thresholds_follows_target():
    assert status_for(direction="higher", target=10, warning=None, critical=None, value=11) == "on_track"
    assert status_for(direction="higher", target=10, warning=None, critical=None, value=9) == "at_risk"
    assert status_for(direction="lower", target=10, warning=None, critical=None, value=9) == "on_track"


@pytest.mark.parametrize("direction,target,warning,critical,value", [
    ("higher", 90, 85, 80, 89.57),   # CSAT 89.57 % against a 90 % target
    ("higher", 0.85, 0.8, 0.75, 0.8447),  # AUC short of 0.85
    ("lower", 30, 45, 60, 30.74),    # response time 30.74 min against 30 min, lower is better
])
def test_on_track_only_when_the_target_is_met(direction, target, warning, critical, value):
    """Issue 18.6: inside the thresholds but short of the target is "at risk", never "on track"."""
    assert status_for(direction=direction, target=target, warning=warning, critical=critical, value=value) == "at_risk"
    met = target
    assert status_for(direction=direction, target=target, warning=warning, critical=critical, value=met) == "on_track"


def test_card_api_and_portfolio_use_the_one_rule():
    from kpis.selectors import portfolio, status

    assert portfolio.kpi_status_of(value=89.57, direction="higher", target=90, warning=85, critical=80) == "at_risk"
    assert portfolio.status_for is status.status_for


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
    texts = [f"{a.text} {a.hovertext}" for a in fig.layout.annotations]
    assert any("target<br>8%" in t for t in texts) and any("+250.0%" in t for t in texts)
    # Threshold and target labels sit in the right margin, beside the plot, never under the data line.
    labels = [a for a in fig.layout.annotations if a.yref == "y"]
    assert len(labels) == 3 and all(a.xref == "paper" and a.x == 1 and a.xanchor == "left" for a in labels)
    assert fig.layout.margin.r >= 80
    # Labels of lines close together are pushed apart.
    close = kpi_figure(name="Conversion", unit="%", direction="higher", start=t0, end=t0 + timedelta(hours=10),
                       buckets=buckets, target=3.1, warning=3, critical=2.9)
    shifts = sorted(a.yshift or 0 for a in close.layout.annotations if a.yref == "y")
    assert shifts[1] >= 20 and shifts[2] >= 40
    assert sum(1 for s in fig.layout.shapes if s.type == "rect") == 2


def test_kpi_figure_keeps_a_ship_note_near_the_right_edge_inside_the_chart():
    from datetime import datetime, timedelta, timezone

    from kpis.charts import kpi_figure_spec
    from kpis.selectors.kpis import Marker
    from kpis.timeseries.selectors import Bucket

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    end = t0 + timedelta(days=365)
    buckets = [Bucket(ts=t0 + timedelta(days=i), avg=i, min=i, max=i, sum=i, count=1, last=i) for i in range(365)]
    markers = [Marker(item_id=1, title="A launch near the end of the year with a long name", shipped_at=end - timedelta(days=3),
                      before=1.0, after=2.0),
               Marker(item_id=2, title="Another one", shipped_at=end - timedelta(days=10), before=1.0, after=2.0),
               Marker(item_id=3, title="Early", shipped_at=t0 + timedelta(days=5), before=1.0, after=2.0)]
    fig = kpi_figure_spec(name="Users", unit="", direction="higher", start=t0, end=end, buckets=buckets,
                          markers=markers)
    notes = [a for a in fig["layout"]["annotations"] if a.get("yref") == "paper"]
    by_title = {a["hovertext"].split(":")[0]: a for a in notes}
    assert by_title["A launch near the end of the year with a long name"]["xanchor"] == "right"
    assert by_title["Early"]["xanchor"] == "left"
    # The two notes at the end are on rows of their own, and the top margin makes room for both.
    assert by_title["Another one"]["yshift"] != by_title["A launch near the end of the year with a long name"]["yshift"]
    assert fig["layout"]["margin"]["t"] >= 20 + 15 * 2
    assert all(len(a["text"]) <= 31 for a in notes)
