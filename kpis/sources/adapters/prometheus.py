"""Prometheus (or any server speaking its HTTP API: Thanos, Mimir, VictoriaMetrics).

An instant query is evaluated at the slot's time and stores one point; a range
query stores the points of the last `range_minutes` at `step_seconds`. The
query must return exactly one series (aggregate with sum(...) or avg(...)).
"""
from __future__ import annotations

import json
from datetime import timedelta

from django.core.exceptions import ValidationError

from kpis.sources.secrets import mask
from kpis.timeseries.services import PointIn

from kpis.sources.adapters import net
from kpis.sources.adapters.base import Adapter, FetchResult, PullError, check_count, to_ts, to_value
from kpis.sources.adapters.http_json import HEADER_NAME


class PrometheusAdapter(Adapter):
    kind = "prometheus"
    MODES = ("instant", "range")

    def clean(self, config, secrets):
        errors = {}
        base = (config.get("url") or "").strip().rstrip("/")
        try:
            net.check_url(base)
        except PullError as exc:
            errors["url"] = [str(exc)[:1].upper() + str(exc)[1:] + "."]
        query = (config.get("query") or "").strip()
        if not query:
            errors["query"] = ["Give a PromQL query."]
        mode = config.get("mode") or "instant"
        if mode not in self.MODES:
            errors["mode"] = ["Use instant or range."]
        try:
            range_minutes = int(config.get("range_minutes") or 60)
            step_seconds = int(config.get("step_seconds") or 60)
            if not (1 <= range_minutes <= 7 * 24 * 60) or not (1 <= step_seconds <= 86400):
                raise ValueError
            if range_minutes * 60 / step_seconds > 10_000:
                errors["step_seconds"] = ["That range and step give more than 10,000 points; use a larger step."]
        except (TypeError, ValueError):
            errors["range_minutes"] = ["Range: 1 minute to 7 days; step: 1 s to 1 day."]
            range_minutes, step_seconds = 60, 60
        headers = {}
        for name, value in (secrets.get("headers") or {}).items():
            if not HEADER_NAME.match(name.strip()) or "\n" in str(value):
                errors["headers"] = [f"'{name[:40]}' is not a valid header."]
                break
            headers[name.strip()] = str(value).strip()
        if errors:
            raise ValidationError(errors)
        cleaned = {"url": base, "query": query, "mode": mode}
        if mode == "range":
            cleaned.update(range_minutes=range_minutes, step_seconds=step_seconds)
        return cleaned, ({"headers": headers} if headers else {})

    def fetch(self, *, config, secrets, slot, timeout):
        headers = {"Accept": "application/json", **(secrets.get("headers") or {})}
        if config.get("mode") == "range":
            start = slot - timedelta(minutes=int(config.get("range_minutes", 60)))
            url = f"{config['url']}/api/v1/query_range"
            params = {"query": config["query"], "start": f"{start.timestamp():.3f}", "end": f"{slot.timestamp():.3f}",
                      "step": str(int(config.get("step_seconds", 60)))}
        else:
            url = f"{config['url']}/api/v1/query"
            params = {"query": config["query"], "time": f"{slot.timestamp():.3f}"}
        try:
            _status, _ctype, data = net.fetch(url, headers=headers, params=params, timeout=timeout)
        except PullError as exc:
            raise type(exc)(f"{exc} (Prometheus at {config['url']})") from None
        try:
            document = json.loads(data)
        except RecursionError:
            raise PullError("Prometheus answered with JSON nested too deeply to read") from None
        except ValueError:
            raise PullError(f"Prometheus answered with something that is not JSON: {data[:30]!r}") from None
        if not isinstance(document, dict) or document.get("status") != "success":
            error = document.get("error") if isinstance(document, dict) else None
            raise PullError(f"Prometheus refused the query: {str(error or document)[:200]}")
        result = (document.get("data") or {}).get("result")
        rtype = (document.get("data") or {}).get("resultType")
        if rtype == "scalar":
            ts, value = result
            return FetchResult([PointIn(ts=to_ts(ts), value=to_value(value))], detail=f"query {config['query']}")
        if not isinstance(result, list) or not result:
            raise PullError("the query returned no series")
        if len(result) > 1:
            raise PullError(f"the query returned {len(result)} series; aggregate it to one (sum(...), avg(...))")
        series = result[0]
        if rtype == "vector":
            ts, value = series["value"]
            points = [PointIn(ts=to_ts(ts), value=to_value(value))]
        elif rtype == "matrix":
            points = [PointIn(ts=to_ts(ts), value=to_value(v)) for ts, v in series.get("values", [])]
        else:
            raise PullError(f"unexpected result type {rtype!r}")
        return FetchResult(check_count(points), detail=f"{config.get('mode', 'instant')} query {config['query']}")

    def describe(self, config, secrets):
        rows = [("Prometheus", config.get("url", "")), ("Query", config.get("query", "")),
                ("Mode", config.get("mode", "instant"))]
        if config.get("mode") == "range":
            rows.append(("Range", f"last {config.get('range_minutes')} min every {config.get('step_seconds')} s"))
        for name, value in (secrets.get("headers") or {}).items():
            rows.append((f"Header {name}", mask(value)))
        return rows
