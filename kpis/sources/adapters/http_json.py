"""HTTP JSON endpoint: a URL, a method, headers (secret), and a JSON path to the
value or to a list of points (`[{"ts": ..., "value": ...}]` or `[[ts, value]]`).

JSON paths are dotted with optional indices: `data.visits`, `$.series[0].points`,
`items[-1].value`. An empty path means the whole document.
"""
from __future__ import annotations

import json
import re
from datetime import datetime

from django.core.exceptions import ValidationError

from kpis.sources.secrets import mask
from kpis.timeseries.services import PointIn

from kpis.sources.adapters import net
from kpis.sources.adapters.base import Adapter, FetchResult, PullError, check_count, to_ts, to_value

_TOKEN = re.compile(r"\.?([^.\[\]]+)|\[(-?\d+)\]")
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


def parse_path(path: str) -> list[str | int]:
    path = (path or "").strip()
    if path.startswith("$"):
        path = path[1:]
    steps, pos = [], 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot read the JSON path at {path[pos:pos + 20]!r}")
        steps.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    return steps


def walk(document, steps):
    node, walked = document, "$"
    for step in steps:
        if isinstance(step, int):
            if not isinstance(node, list) or not -len(node) <= step < len(node):
                raise PullError(f"the JSON path finds nothing at {walked}[{step}]")
            node, walked = node[step], f"{walked}[{step}]"
        else:
            if not isinstance(node, dict) or step not in node:
                raise PullError(f"the JSON path finds nothing at {walked}.{step}")
            node, walked = node[step], f"{walked}.{step}"
    return node


def points_from(node, slot: datetime) -> list[PointIn]:
    """A number (stored at the slot's time) or a list of ts/value pairs."""
    if isinstance(node, list):
        points = []
        for i, item in enumerate(node):
            if isinstance(item, dict):
                if "ts" not in item or "value" not in item:
                    raise PullError(f"item {i} of the list has no 'ts' and 'value'")
                ts, value = item["ts"], item["value"]
            elif isinstance(item, list) and len(item) == 2:
                ts, value = item
            else:
                raise PullError(f"item {i} of the list is neither {{'ts', 'value'}} nor [ts, value]")
            points.append(PointIn(ts=to_ts(ts, f"item {i} ts"), value=to_value(value, f"item {i} value")))
        return check_count(points)
    if isinstance(node, dict):
        raise PullError("the JSON path finds an object; point it at a number or a list of points")
    return [PointIn(ts=slot, value=to_value(node))]


class HttpJsonAdapter(Adapter):
    kind = "http_json"
    METHODS = ("GET", "POST")

    def clean(self, config, secrets):
        errors = {}
        url = (config.get("url") or "").strip()
        try:
            net.check_url(url)
        except PullError as exc:
            errors["url"] = [str(exc)[:1].upper() + str(exc)[1:] + "."]
        method = (config.get("method") or "GET").upper()
        if method not in self.METHODS:
            errors["method"] = ["Use GET or POST."]
        path = (config.get("json_path") or "").strip()
        try:
            parse_path(path)
        except ValueError as exc:
            errors["json_path"] = [str(exc)[:1].upper() + str(exc)[1:] + "."]
        body = (config.get("body") or "").strip()
        if body:
            try:
                json.loads(body)
            except ValueError:
                errors["body"] = ["The request body must be JSON."]
        headers = {}
        for name, value in (secrets.get("headers") or {}).items():
            name = name.strip()
            if not HEADER_NAME.match(name) or "\n" in str(value) or "\r" in str(value):
                errors["headers"] = [f"'{name[:40]}' is not a valid header."]
                break
            headers[name] = str(value).strip()
        if errors:
            raise ValidationError(errors)
        return {"url": url, "method": method, "json_path": path, "body": body}, ({"headers": headers} if headers else {})

    def fetch(self, *, config, secrets, slot, timeout):
        headers = {"Accept": "application/json", **(secrets.get("headers") or {})}
        body = config.get("body") or None
        if body:
            headers.setdefault("Content-Type", "application/json")
        _status, ctype, data = net.fetch(config["url"], method=config.get("method", "GET"), headers=headers,
                                         body=body.encode() if body else None, timeout=timeout)
        try:
            document = json.loads(data)
        except RecursionError:
            raise PullError("the response is JSON nested too deeply to read") from None
        except ValueError:
            kind = ctype.split(";")[0] or "an unknown content type"
            raise PullError(f"the response is not JSON ({kind}, starts with {data[:30]!r})") from None
        node = walk(document, parse_path(config.get("json_path", "")))
        return FetchResult(points_from(node, slot), detail=f"{config.get('method', 'GET')} {config['url']}")

    def describe(self, config, secrets):
        rows = [("URL", f"{config.get('method', 'GET')} {config.get('url', '')}"),
                ("JSON path", config.get("json_path") or "(whole document)")]
        for name, value in (secrets.get("headers") or {}).items():
            rows.append((f"Header {name}", mask(value)))
        return rows
