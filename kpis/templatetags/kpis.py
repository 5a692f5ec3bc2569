from django import template

register = template.Library()


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
