"""charts.py: pure functions, data in, figure out; person-typed labels escaped."""
import datetime as dt

from feedback import charts
from feedback.models import Channel, Segment

WEEK = dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc)
EVIL = "<img src=x onerror=alert(1)>"


def test_volume_stacks_channels_in_a_fixed_order():
    fig = charts.volume_by_channel([
        {"week": WEEK, "channel": "sales", "n": 2}, {"week": WEEK, "channel": "support", "n": 5},
        {"week": WEEK + dt.timedelta(days=7), "channel": "support", "n": 1},
    ], Channel.choices)
    assert [t.name for t in fig.data] == ["Support", "Sales"]
    assert list(fig.data[0].y) == [5, 1] and list(fig.data[1].y) == [2, 0]
    assert fig.layout.barmode == "stack"


def test_labels_from_people_are_escaped():
    tags = charts.top_tags([{"name": EVIL, "n": 3}])
    assert list(tags.data[0].y) == ["&lt;img src=x onerror=alert(1)&gt;"]
    themes = charts.sentiment_by_theme([{"roadmap_item__theme": EVIL, "feedback__sentiment_label": "negative", "n": 2},
                                        {"roadmap_item__theme": "", "feedback__sentiment_label": "positive", "n": 1}])
    assert list(themes.data[0].x) == ["&lt;img src=x onerror=alert(1)&gt;", "(no theme)"]
    assert [t.name for t in themes.data] == ["Negative", "Neutral", "Positive"]
    assert EVIL not in themes.to_json() and EVIL not in tags.to_json()


def test_empty_data_says_so():
    for fig in (charts.volume_by_channel([], Channel.choices), charts.sentiment_trend([]), charts.top_tags([]),
                charts.segment_share([], Segment.choices), charts.sentiment_by_theme([])):
        assert fig.layout.annotations and fig.layout.annotations[0].text


def test_sentiment_trend_share_negative():
    fig = charts.sentiment_trend([{"week": WEEK, "avg": 0.25, "n": 4, "negative": 1}])
    assert list(fig.data[0].y) == [0.25] and list(fig.data[1].y) == [0.25]


def test_a_lone_week_has_room_around_it_and_no_clock_time_ticks():
    from datetime import datetime, timezone

    from feedback.charts import sentiment_trend, volume_by_channel

    week = datetime(2026, 11, 30, tzinfo=timezone.utc)
    for fig in (volume_by_channel([{"week": week, "channel": "form", "n": 1}], [("form", "Form")]),
                sentiment_trend([{"week": week, "avg": 0.0, "n": 1, "negative": 0}])):
        axis = fig.to_plotly_json()["layout"]["xaxis"]
        start, end = (datetime.fromisoformat(str(v)) for v in axis["range"])
        assert (end - start).days == 28 and axis["dtick"] == 7 * 24 * 3600 * 1000
        assert all("%H" not in stop["value"] for stop in axis["tickformatstops"])
