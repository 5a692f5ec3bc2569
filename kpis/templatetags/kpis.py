from django import template

register = template.Library()


@register.filter
def num(value, unit=""):
    """A KPI value for people: 4 significant digits, thousands separated, with its unit."""
    if value is None or value == "":
        return "–"
    try:
        value = float(value)
    except (TypeError, ValueError):
        return value
    text = f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if "e" in text:
        text = f"{value:,.2f}"
    return f"{text}{unit or ''}"


@register.filter
def pct(value):
    if value is None:
        return "–"
    return f"{value:+.1f}%"


@register.filter
def percent_of(value):
    if value is None:
        return ""
    return round(100 * value)


@register.filter
def bucket_label(seconds):
    seconds = int(seconds or 0)
    for size, name in ((604800, "week"), (86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds % size == 0:
            n = seconds // size
            return f"{n} {name}{'s' if n > 1 else ''}" if n > 1 else f"1 {name}"
    return f"{seconds} s"
