"""pmhub/numbers.py and the figure filter: how a measured value reads, from 0.0001 to the policy's 10^15."""
import pytest
from django.template import Context, Template

from pmhub import limits
from pmhub.numbers import exact_text, exact_value_text, value_text


@pytest.mark.parametrize("value, unit, text", [
    (999_999_999_999_999, "USD", "999.9T USD"),   # cut, not rounded: under the target never reads as reaching it
    (limits.VALUE_MAX, "USD", "1,000T USD"),       # the policy's largest value
    (-limits.VALUE_MAX, "ms", "-1,000T ms"),
    (12_345_678, "", "12.3M"),
    (7_000_000_000, "req", "7B req"),
    (4_512, "USD", "4.5k USD"),
    (1_000, "", "1k"),
    (999.6, "", "1,000"),
    (40.98, " min", "41.0 min"),                   # a unit typed with its space counts once
    (41.99, "%", "42.0%"),                         # % and ‰ stick to the number
    (3.0, "pp", "3 pp"),
    (0.5353, "", "0.535"),
    (0.000123, "", "0.000123"),
    (1e-7, "", "0"),                               # never "1e-07"
    (-0.0, "", "0"),
    ("12", "", "12.0"),
    (None, "%", "—"),
    ("", "%", "—"),
    ("n/a", "%", "—"),
    (float("nan"), "", "—"),
    (float("inf"), "", "—"),
])
def test_value_text(value, unit, text):
    assert value_text(value, unit) == text


def test_exact_text_is_the_whole_value():
    assert exact_text(999_999_999_999_999.0) == "999,999,999,999,999"
    assert exact_text(1e15) == "1,000,000,000,000,000"
    assert exact_text(-1234.5) == "-1,234.5"
    assert exact_text(40.98) == "40.98"
    assert exact_text(1e-7) == "0.0000001"
    assert exact_value_text(999_999_999_999_999, "USD") == "999,999,999,999,999 USD"


def _figure(value, unit):
    return Template("{{ value|figure:unit }}").render(Context({"value": value, "unit": unit}))


def test_figure_keeps_number_and_unit_together_and_titles_the_whole_value():
    html = _figure(999_999_999_999_999, "USD")
    assert html == ('<span class="figure" style="white-space: nowrap;" title="999,999,999,999,999 USD">'
                    '999.9T USD</span>')
    # the title whenever the short text says something else; none when it is the whole value
    assert _figure(40.98, " min") == ('<span class="figure" style="white-space: nowrap;" title="40.98 min">'
                                      '41.0 min</span>')
    assert _figure(3, "ms") == '<span class="figure" style="white-space: nowrap;">3 ms</span>'
    assert _figure(None, "%") == '<span class="figure" style="white-space: nowrap;">—</span>'


def test_figure_escapes_the_unit():
    html = _figure(5, '<b>"x"</b>')
    assert "<b>" not in html and "&lt;b&gt;" in html and "&quot;x&quot;" in html
