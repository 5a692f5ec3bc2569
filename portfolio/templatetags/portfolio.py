from django import template
from django.utils.html import format_html

from portfolio.selectors import fmt_change, fmt_change_parts, fmt_value

register = template.Library()


@register.filter
def kpi_value(value, unit=""):
    return fmt_value(value, unit or "")


@register.filter
def kpi_change(card):
    return fmt_change(card)


@register.filter
def kpi_change_figure(card):
    """kpi_change for a table cell: "+2.4 min (+8.5%)" may break before the parenthesis, never
    inside the difference or the percentage (no-wrap spans, inline for the e-mail digest)."""
    difference, relative = fmt_change_parts(card)
    nowrap = '<span class="figure" style="white-space: nowrap;">{}</span>'
    if not relative:
        return format_html(nowrap, difference)
    return format_html(f"{nowrap} {nowrap}", difference, f"({relative})")


@register.filter
def signed(value, unit=""):
    """A difference with its sign: +0.012, −3 ms."""
    if value is None:
        return "—"
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    return sign + fmt_value(abs(value), unit or "")
