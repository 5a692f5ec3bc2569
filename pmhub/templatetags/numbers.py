"""Number filters, built into every template (settings.TEMPLATES builtins): see pmhub/numbers.py."""
from django import template
from django.utils.html import format_html

from pmhub import numbers

register = template.Library()


@register.filter
def figure(value, unit=""):
    """`{{ card.value|figure:card.kpi.unit }}`: "999.9T USD" in a span that keeps number and unit
    on one line and within its box (CSS .figure), with the whole value in its title when the
    short text says less ("999,999,999,999,999 USD").

    The no-wrap is inline too: the same markup goes into e-mails (the digest), where our
    stylesheet is not."""
    text = numbers.value_text(value, unit)
    exact = numbers.exact_value_text(value, unit)
    if exact == text:
        return format_html('<span class="figure" style="white-space: nowrap;">{}</span>', text)
    return format_html('<span class="figure" style="white-space: nowrap;" title="{}">{}</span>', exact, text)
