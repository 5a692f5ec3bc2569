from django import template

from portfolio.selectors import fmt_change, fmt_value

register = template.Library()


@register.filter
def kpi_value(value, unit=""):
    return fmt_value(value, unit or "")


@register.filter
def kpi_change(card):
    return fmt_change(card)


@register.filter
def signed(value, unit=""):
    """A difference with its sign: +0.012, −3 ms."""
    if value is None:
        return "—"
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    return sign + fmt_value(abs(value), unit or "")
