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


def _item(n, effort, impact=2, reach=100, horizon="now"):
    return {"title": f"Item number {n} with a title far longer than a bubble label", "reach": reach, "impact": impact,
            "effort": effort, "confidence": 80, "rice_score": 100 - n, "status": "planned", "horizon": horizon}


def test_matrix_labels_bubbles_by_rank_keeps_labels_apart_and_titles_whole_in_hover():
    from products.roadmap.charts import matrix_figure

    # A crowd at effort 3-4 (two items on the very same spot) and one far bigger estimate.
    rows = [_item(n, 3 + (n % 5) * 0.25, impact=(2, 3)[n % 2], horizon=("now", "next", "later")[n % 3])
            for n in range(12)]
    fig = matrix_figure(rows).to_plotly_json()
    labels = sorted(int(t) for trace in fig["data"] for t in trace["text"])
    assert labels == list(range(1, 13))  # ranks, no cut titles
    hovers = [c[0] for trace in fig["data"] for c in trace["customdata"]]
    assert all("far longer than a bubble label" in h for h in hovers)
    assert all(trace["cliponaxis"] is False for trace in fig["data"])
    # The two items on one spot are fanned out.
    points = [(x, y) for trace in fig["data"] for x, y in zip(trace["x"], trace["y"])]
    assert len(set(points)) == len(points)
    assert fig["layout"]["xaxis"].get("type") != "log"

    wide = matrix_figure(rows + [_item(99, 99999.99, reach=2_147_483_647)]).to_plotly_json()
    assert wide["layout"]["xaxis"]["type"] == "log"


def test_label_positions_move_a_number_that_would_cover_another():
    from products.roadmap.charts import _label_positions

    spots = _label_positions([(100, 100, 20, "1"), (104, 100, 20, "2"), (108, 100, 20, "3"), (400, 100, 20, "4")],
                             720, 400)
    assert spots[0] == "middle center" and spots[3] == "middle center"
    assert len(set(spots[:3])) == 3


def test_timeline_survives_dates_at_and_beyond_the_bounds_with_legend_clear_of_the_buttons():
    today = datetime.date(2026, 12, 4)
    rows = [_row("x" * 200, "in_progress", datetime.date(1900, 1, 1), datetime.date(2199, 12, 31)),
            _row("beyond", "planned", datetime.date(9999, 12, 30), datetime.date(9999, 12, 31))]
    fig = timeline_figure(rows, today=today).to_plotly_json()
    whole = {b["label"]: b["args"][0]["xaxis.range"] for b in fig["layout"]["updatemenus"][0]["buttons"]}["Whole plan"]
    assert whole[0] == "1900-01-01" and whole[1] <= "2200-03-01"
    legend, menu = fig["layout"]["legend"], fig["layout"]["updatemenus"][0]
    assert legend["y"] < 0 < 1 < menu["y"]  # legend under the plot, buttons above the dates
    assert all(len(t) <= 38 for trace in fig["data"] for t in trace["y"][1])


def test_burndown_of_a_sprint_of_three_centuries_draws_a_few_hundred_points():
    from products.sprints.charts import MAX_POINTS, burndown_figure

    start, end = datetime.date(1900, 1, 1), datetime.date(2199, 12, 31)
    days = [start + datetime.timedelta(days=i) for i in range((end - start).days + 1)]
    n = len(days)
    data = {"name": "Long", "days": days, "ideal": [10 * (1 - i / (n - 1)) for i in range(n)],
            "remaining": [10] * 3 + [None] * (n - 3), "scope": [10] * n, "committed": 10, "today": None}
    fig = burndown_figure(data).to_plotly_json()
    assert all(len(trace["x"]) <= MAX_POINTS + 1 for trace in fig["data"])
    assert fig["data"][0]["x"][0] == "1900-01-01" and fig["data"][0]["x"][-1] == "2199-12-31"
    assert fig["layout"]["xaxis"]["tickformatstops"]  # ticks carry the year
