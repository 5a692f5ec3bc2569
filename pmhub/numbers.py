"""How pmhub writes a measured value for people: one style on every card, table, page and e-mail.

    value_text(40.98, "min")              "41.0 min"
    value_text(0.5353)                    "0.535"
    value_text(4_512, "USD")              "4.5k USD"
    value_text(999_999_999_999_999, "%")  "999.9T%"
    exact_text(999_999_999_999_999.0)     "999,999,999,999,999"

- Below 1,000 a value keeps three significant digits or so (12.3, 1.23, 0.123).
- From 1,000 on it is compact, the way an executive reads it: 4.5k, 12.3M, 7B, 999.9T.
  The policy (pmhub/limits.py) accepts up to 10^15, shown as 1,000T (no "Q": it reads
  as a quarter). The digit after the point is cut, not rounded, so a value just under a
  target or a threshold never reads as reaching it (999,999,999,999,999 is 999.9T, not 1,000T).
- The unit follows after a space, except % and ‰, which stick to the number; a unit
  typed with a leading space (" min") counts once.
- exact_text is the whole value, for a tooltip (`title`) or an export.

Templates: `{{ value|figure:unit }}` (built in, pmhub/templatetags/numbers.py) writes the value
in a span that never breaks between number and unit, never overflows its box, and carries
the exact value in its title when the short text says less. Pure functions: no Django here.
"""
from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

COMPACT_FROM = 1_000
# (size, suffix), largest first. T is the last one: the policy's largest value is 1,000T.
SUFFIXES = ((10 ** 12, "T"), (10 ** 9, "B"), (10 ** 6, "M"), (10 ** 3, "k"))
UNITS_WITHOUT_SPACE = ("%", "‰")


def as_number(value) -> float | None:
    """value as a finite float, or None (None, "", text that is no number, NaN, infinities)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def small_text(number: float) -> str:
    """A value below 1,000 in magnitude: 123, 12.3, 1.23, 0.123 (trailing zeros dropped below 10)."""
    magnitude = abs(number)
    if magnitude >= 100:
        text = f"{number:,.0f}"  # 999.6 rounds to "1,000"
    elif magnitude >= 10:
        text = f"{number:.1f}"
    elif magnitude >= 1 or magnitude == 0:
        text = f"{number:.2f}".rstrip("0").rstrip(".") if magnitude else "0"
    else:
        text = f"{number:.3g}"
        if "e" in text:  # below 0.0001: still a plain decimal, never 1e-07
            text = f"{number:.3f}".rstrip("0").rstrip(".")
            text = "0" if text in ("-0", "0") else text
    return "0" if text == "-0" else text


def compact_text(number: float) -> str:
    """A value of 1,000 or more in magnitude: 4.5k, 12.3M, 999.9T, 1,000T (one decimal, cut)."""
    sign = "-" if number < 0 else ""
    magnitude = abs(number)
    for size, suffix in SUFFIXES:
        if magnitude >= size:
            # Cut to one decimal in integers (tenths of the suffix), so float noise cannot round up.
            tenths = int(Decimal(repr(magnitude)) * 10 / size)
            whole, tenth = divmod(tenths, 10)
            text = f"{whole:,}" + (f".{tenth}" if tenth else "")
            return f"{sign}{text}{suffix}"
    raise ValueError(f"{number} is below {COMPACT_FROM}")


def number_text(value) -> str:
    """The short text of a value, without a unit: small_text or compact_text."""
    number = as_number(value)
    if number is None:
        return "—"
    return compact_text(number) if abs(number) >= COMPACT_FROM else small_text(number)


def exact_text(value) -> str:
    """The whole value with thousands separators: 999,999,999,999,999 / 40.98 / 0.000123."""
    number = as_number(value)
    if number is None:
        return "—"
    try:
        exact = Decimal(repr(number))
    except InvalidOperation:  # pragma: no cover (repr of a finite float is always a decimal)
        return str(number)
    text = f"{exact:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def with_unit(text: str, unit: str | None) -> str:
    """text followed by its unit: "12 ms", "41.0%", "4.5k USD"; the unit as typed, stripped."""
    unit = (unit or "").strip()
    if not unit:
        return text
    return f"{text}{unit}" if unit in UNITS_WITHOUT_SPACE else f"{text} {unit}"


def value_text(value, unit: str | None = "") -> str:
    """The short text of a value with its unit; "—" when there is no value."""
    number = as_number(value)
    if number is None:
        return "—"
    return with_unit(number_text(number), unit)


def exact_value_text(value, unit: str | None = "") -> str:
    """The whole value with its unit, for a title: "999,999,999,999,999 USD"."""
    number = as_number(value)
    if number is None:
        return "—"
    return with_unit(exact_text(number), unit)
