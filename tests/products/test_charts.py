import datetime

from products.roadmap.charts import timeline_figure


def _row(title, status, start, end, theme="Search"):
    return {"title": title, "status": status, "theme": theme, "start_date": start, "target_date": end}


def test_timeline_colours_by_status_marks_today_and_zooms_by_quarter():
    today = datetime.date(2026, 11, 27)
    rows = [
        _row("Semantic search", "in_progress", datetime.date(2026, 10, 1), datetime.date(2026, 12, 15)),
        _row("<b>Spell fix</b>", "planned", datetime.date(2027, 1, 5), datetime.date(2027, 2, 20), theme="Quality"),
    ]
    fig = timeline_figure(rows, today=today).to_plotly_json()
    names = {trace["name"] for trace in fig["data"]}
    assert names == {"In progress", "Planned"}
    assert fig["layout"]["shapes"][0]["x0"] == "2026-11-27"
    buttons = fig["layout"]["updatemenus"][0]["buttons"]
    zoom = {b["label"]: b["args"][0]["xaxis.range"] for b in buttons}
    assert zoom["This quarter"] == ["2026-10-01", "2027-01-01"]
    assert zoom["Next quarter"] == ["2027-01-01", "2027-04-01"]
    assert zoom["Whole plan"][0] <= "2026-10-01" and zoom["Whole plan"][1] >= "2027-04-01"
