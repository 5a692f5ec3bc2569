"""MLflow's search filter and order_by strings, the subset pmhub understands.

Filter: clauses joined by AND, each `<entity>.<key> <op> <value>` where entity is
metrics / params / tags / attributes (and their MLflow aliases), key plain or
quoted with backquotes or double quotes, op one of = != < <= > >= LIKE ILIKE
IN NOT IN, value a quoted string, a number or a parenthesised list of strings.
Anything else is refused with INVALID_PARAMETER_VALUE, never ignored.
Experiments and runs are few per product, so clauses are evaluated in Python
on already-loaded rows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from kpis.ml.mlflow.errors import invalid

ENTITY_ALIASES = {
    "metric": "metrics", "metrics": "metrics",
    "param": "params", "params": "params", "parameter": "params", "parameters": "params",
    "tag": "tags", "tags": "tags",
    "attribute": "attributes", "attributes": "attributes", "attr": "attributes", "run": "attributes",
}
COMPARATORS = {"=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN"}
_SPECIAL = set("=!<>(),'\"`")


@dataclass(frozen=True)
class Clause:
    entity: str
    key: str
    op: str
    value: object


def _tokens(text: str):
    i, n, out = 0, len(text), []
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "'\"`":
            j = text.find(c, i + 1)
            if j < 0:
                raise invalid(f"Unterminated quote in search filter: {text!r}.")
            out.append(("ident" if c in "`\"" else "str", text[i + 1:j], c))
            i = j + 1
        elif text.startswith(("!=", ">=", "<="), i):
            out.append(("op", text[i:i + 2], None))
            i += 2
        elif c in "=<>":
            out.append(("op", c, None))
            i += 1
        elif c in "(),":
            out.append(("punct", c, None))
            i += 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in _SPECIAL:
                j += 1
            out.append(("word", text[i:j], None))
            i = j
    return out


def _identifier(tokens, pos, default_entity):
    kind, text, quote = tokens[pos]
    if kind == "word" and text.endswith(".") and pos + 1 < len(tokens) and tokens[pos + 1][0] == "ident":
        prefix, key, pos = text[:-1], tokens[pos + 1][1], pos + 2
    elif kind == "word" and "." in text:
        prefix, key = text.split(".", 1)
        pos += 1
    elif kind in ("word", "ident") and default_entity:
        prefix, key = None, text
        pos += 1
    else:
        raise invalid(f"Expected an identifier such as metrics.accuracy in the search filter, got {text!r}.")
    entity = ENTITY_ALIASES.get(prefix.lower()) if prefix is not None else default_entity
    if entity is None:
        if default_entity:  # a dotted attribute name, e.g. an experiment tag without prefix: refuse
            raise invalid(f"Unknown entity '{prefix}' in the search filter; use metrics., params., tags. "
                          "or attributes.")
        raise invalid(f"Unknown entity '{prefix}' in the search filter; use metrics., params., tags. or attributes.")
    return entity, key, pos


def parse_filter(text: str | None, *, default_entity: str | None = None) -> list[Clause]:
    if not text or not text.strip():
        return []
    tokens = _tokens(text)
    clauses, pos = [], 0
    while True:
        if pos >= len(tokens):
            raise invalid(f"Incomplete search filter: {text!r}.")
        entity, key, pos = _identifier(tokens, pos, default_entity)
        if pos >= len(tokens):
            raise invalid(f"Missing comparator after '{key}' in the search filter.")
        kind, word, _ = tokens[pos]
        op = word.upper() if kind in ("op", "word") else None
        if op == "NOT" and pos + 1 < len(tokens) and tokens[pos + 1][1].upper() == "IN":
            op, pos = "NOT IN", pos + 1
        if op not in COMPARATORS:
            raise invalid(f"Unsupported comparator {word!r} in the search filter; pmhub understands "
                          f"{', '.join(sorted(COMPARATORS))}.")
        pos += 1
        if pos >= len(tokens):
            raise invalid(f"Missing value after '{key} {op}' in the search filter.")
        if op in ("IN", "NOT IN"):
            if tokens[pos] != ("punct", "(", None):
                raise invalid(f"{op} takes a list in parentheses, e.g. ('a', 'b').")
            values, pos = [], pos + 1
            while pos < len(tokens) and tokens[pos][1] != ")":
                if tokens[pos][0] == "str":
                    values.append(tokens[pos][1])
                elif tokens[pos] != ("punct", ",", None):
                    raise invalid(f"{op} lists hold quoted strings only.")
                pos += 1
            if pos >= len(tokens):
                raise invalid(f"Unclosed list after {op} in the search filter.")
            value, pos = values, pos + 1
        else:
            vkind, vtext, _ = tokens[pos]
            if vkind == "str":
                value = vtext
            elif vkind == "word":
                try:
                    value = float(vtext)
                except ValueError:
                    raise invalid(f"Expected a quoted string or a number in the search filter, got {vtext!r}.") from None
            else:
                raise invalid(f"Expected a value in the search filter, got {vtext!r}.")
            pos += 1
        clauses.append(Clause(entity, key, op, value))
        if pos >= len(tokens):
            return clauses
        if tokens[pos][0] != "word" or tokens[pos][1].upper() != "AND":
            raise invalid(f"Search filter clauses are joined with AND (OR is not supported); got {tokens[pos][1]!r}.")
        pos += 1


def _like(pattern: str, flags=0):
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile(f"^{regex}$", flags | re.DOTALL)


def compare(actual, op: str, expected) -> bool:
    """MLflow semantics: a missing metric/param/tag never matches."""
    if actual is None:
        return False
    if op in ("IN", "NOT IN"):
        inside = str(actual) in expected
        return inside if op == "IN" else not inside
    if op in ("LIKE", "ILIKE"):
        if not isinstance(expected, str):
            raise invalid(f"{op} needs a quoted pattern.")
        return bool(_like(expected, re.IGNORECASE if op == "ILIKE" else 0).match(str(actual)))
    if isinstance(actual, (int, float)) and not isinstance(actual, bool):
        if isinstance(expected, str):
            try:
                expected = float(expected)
            except ValueError:
                raise invalid(f"Cannot compare a number with {expected!r}.") from None
    else:
        if not isinstance(expected, str):
            if op not in ("=", "!="):
                raise invalid("Only numbers (metrics, times) compare with < <= > >=.")
            expected = str(expected) if not float(expected).is_integer() else str(int(expected))
        actual = str(actual)
    return {"=": actual == expected, "!=": actual != expected, "<": actual < expected,
            "<=": actual <= expected, ">": actual > expected, ">=": actual >= expected}[op]


def matches(row: dict, clauses: list[Clause]) -> bool:
    """row: {"attributes": {...}, "metrics": {...}, "params": {...}, "tags": {...}}."""
    for c in clauses:
        if c.entity == "attributes" and c.key not in row["attributes"]:
            raise invalid(f"Unknown attribute '{c.key}' in the search filter; pmhub knows "
                          f"{', '.join(sorted(row['attributes']))}.")
        if not compare(row[c.entity].get(c.key), c.op, c.value):
            return False
    return True


def parse_order_by(items, *, default_entity: str | None = None, attributes: set[str]) -> list[tuple[str, str, bool]]:
    """[(entity, key, descending)] from MLflow order_by strings like 'metrics.acc DESC'."""
    out = []
    for item in items or []:
        text = str(item).strip()
        descending = False
        upper = text.upper()
        if upper.endswith(" DESC"):
            text, descending = text[:-5].strip(), True
        elif upper.endswith(" ASC"):
            text = text[:-4].strip()
        tokens = _tokens(text)
        if not tokens:
            raise invalid(f"Empty order_by clause: {item!r}.")
        entity, key, pos = _identifier(tokens, 0, default_entity)
        if pos != len(tokens):
            raise invalid(f"Cannot read order_by clause {item!r}; use e.g. 'metrics.accuracy DESC'.")
        if entity == "attributes" and key not in attributes:
            raise invalid(f"Cannot order by attribute '{key}'; pmhub orders by {', '.join(sorted(attributes))}.")
        out.append((entity, key, descending))
    return out


def sort_rows(rows: list[dict], order: list[tuple[str, str, bool]]) -> list[dict]:
    """Stable multi-key sort; missing values last whatever the direction (as MLflow)."""
    for entity, key, descending in reversed(order):
        present = [r for r in rows if r[entity].get(key) is not None]
        missing = [r for r in rows if r[entity].get(key) is None]
        present.sort(key=lambda r: r[entity][key], reverse=descending)
        rows = present + missing
    return rows
