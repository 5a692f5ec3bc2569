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
