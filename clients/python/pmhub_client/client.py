"""The pmhub REST API for data scientists: models, versions, metrics, promotion."""
from __future__ import annotations

import math
import os
import time
from datetime import datetime, timezone

import requests

MAX_BATCH = 10_000
RETRY_STATUSES = {429, 502, 503, 504}
_UNSET = object()


class PMHubError(Exception):
    """An error answer from pmhub (or no answer at all).

    `status` is the HTTP status (None when the server could not be reached),
    `detail` pmhub's message and `errors` its field errors, e.g.
    {"metrics[12].value": ["Must be a finite number (not NaN or infinity)."]}.
    """

    def __init__(self, message, *, status=None, detail=None, errors=None):
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.errors = errors or {}


class PMHub:
    """A pmhub client.

    PMHub(url, token) — both default to the PMHUB_URL and PMHUB_TOKEN environment
    variables; `product` (a product slug, default PMHUB_PRODUCT) is needed only when
    a model name exists in more than one of your products.
    """

    def __init__(self, url: str | None = None, token: str | None = None, *, product: str | None = None,
                 batch_size: int = 1000, timeout: float = 60, retries: int = 3, backoff: float = 0.5,
                 session: requests.Session | None = None):
        url = url or os.environ.get("PMHUB_URL")
        token = token or os.environ.get("PMHUB_TOKEN")
        if not url:
            raise PMHubError("No pmhub URL: pass url= or set PMHUB_URL.")
        if not token:
            raise PMHubError("No API token: pass token= or set PMHUB_TOKEN (create one on your pmhub profile page).")
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must lie between 1 and {MAX_BATCH}")
        self.url = url.rstrip("/")
        self.product = product or os.environ.get("PMHUB_PRODUCT") or None
        self.batch_size = batch_size
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})
        self._versions: dict[tuple, int] = {}
        self._buffer: dict[int, list[dict]] = {}
        self._buffered = 0

    # --- plumbing -----------------------------------------------------------------------

    def _request(self, method: str, path: str, *, json=None, params=None, retry: bool = True):
        url = f"{self.url}/api/v1/{path.lstrip('/')}"
        attempts = 1 + (self.retries if retry else 0)
        for attempt in range(attempts):
            try:
                response = self.session.request(method, url, json=json, params=params, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt + 1 < attempts:
                    time.sleep(self.backoff * 2**attempt)
                    continue
                raise PMHubError(f"Cannot reach pmhub at {self.url}: {exc}") from exc
            if response.status_code in RETRY_STATUSES or response.status_code >= 500:
                if attempt + 1 < attempts:
                    time.sleep(self.backoff * 2**attempt)
                    continue
            if response.status_code >= 400:
                try:
                    body = response.json()
                except ValueError:
                    body = {"detail": response.text[:500]}
                detail = body.get("detail") if isinstance(body, dict) else str(body)
                errors = body.get("errors") if isinstance(body, dict) else None
                message = f"{method} {path}: {response.status_code} {detail}"
                if errors:
                    shown = "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                                      for k, v in list(errors.items())[:5])
                    message += f" ({shown})"
                raise PMHubError(message, status=response.status_code, detail=detail, errors=errors)
            return response.json() if response.content else None
        raise AssertionError("unreachable")

    def _product(self, product):
        return product or self.product

    # --- models and versions ---------------------------------------------------------------

    def models(self, product: str | None = None) -> list[dict]:
        params = {"page_size": 500}
        if self._product(product):
            params["product"] = self._product(product)
        return self._request("GET", "models/", params=params)["results"]

    def get_model(self, name: str, product: str | None = None) -> dict:
        params = {"name": name}
        if self._product(product):
            params["product"] = self._product(product)
        found = self._request("GET", "models/", params=params)["results"]
        if not found:
            raise PMHubError(f"Unknown model '{name}'" + (f" in product '{self._product(product)}'." if
                                                           self._product(product) else "."), status=404)
        if len(found) > 1:
            raise PMHubError(f"Model '{name}' exists in several products "
                             f"({', '.join(m['product'] for m in found)}): give product=.")
        return found[0]

    def create_model(self, name: str, *, product: str | None = None, task: str = "other", description: str = "",
                     primary_metric: str = "", higher_is_better: bool = True) -> dict:
        if not self._product(product):
            raise PMHubError("Give product= (or PMHUB_PRODUCT) to create a model.")
        return self._request("POST", "models/", retry=False, json={
            "product": self._product(product), "name": name, "task": task, "description": description,
            "primary_metric": primary_metric, "higher_is_better": higher_is_better,
        })

    def create_version(self, model: str | int, version: str, *, product: str | None = None, params: dict | None = None,
                       notes: str = "", stage: str = "development") -> dict:
        model_id = model if isinstance(model, int) else self.get_model(model, product)["id"]
        created = self._request("POST", f"models/{model_id}/versions/", retry=False, json={
            "version": str(version), "params": params or {}, "notes": notes, "stage": stage,
        })
        self._versions[(model, str(version), self._product(product))] = created["id"]
        return created

    def get_version(self, model: str | int, version: str, product: str | None = None) -> dict:
        params = {"version": str(version)}
        if isinstance(model, int):
            params["model"] = model
        else:
            params["model_name"] = model
        if self._product(product):
            params["product"] = self._product(product)
        found = self._request("GET", "model-versions/", params=params)["results"]
        if not found:
            raise PMHubError(f"Unknown model or version: {model} {version}"
                             + (f" in product '{self._product(product)}'." if self._product(product) else "."),
                             status=404)
        if len(found) > 1:
            raise PMHubError(f"Model '{model}' exists in several products "
                             f"({', '.join(v['product'] for v in found)}): give product=.")
        return found[0]

    def _version_id(self, model, version, product) -> int:
        cache_key = (model, str(version), self._product(product))
        if cache_key not in self._versions:
            self._versions[cache_key] = self.get_version(model, version, product)["id"]
        return self._versions[cache_key]

    # --- metrics -----------------------------------------------------------------------------

    def log_metrics(self, model: str | int, version: str, metrics: dict, *, step: int | None = None,
                    ts: datetime | None = None, product: str | None = None) -> None:
        """Buffer {key: value} at step (0 when None) and now (or ts); sent in batches of batch_size.

        Values are checked here (numbers, finite) so a bad one fails at the line
        that logged it rather than at a later flush.
        """
        version_id = self._version_id(model, version, product)
        when = (ts or datetime.now(timezone.utc))
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        stamp = when.isoformat()
        entries = self._buffer.setdefault(version_id, [])
        for key, value in metrics.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"metric {key!r}: {value!r} is not a finite number")
            entry = {"key": str(key), "value": float(value), "ts": stamp}
            if step is not None:
                entry["step"] = int(step)
            entries.append(entry)
            self._buffered += 1
        if self._buffered >= self.batch_size:
            self.flush()

    def flush(self) -> int:
        """Send everything buffered; returns the number of entries stored."""
        stored = 0
        for version_id in list(self._buffer):
            entries = self._buffer[version_id]
            while entries:
                batch = entries[:self.batch_size]
                stored += self._send(version_id, batch)
                del entries[:len(batch)]
                self._buffered -= len(batch)
            del self._buffer[version_id]
        return stored

    def _send(self, version_id: int, batch: list[dict]) -> int:
        # Every entry carries its ts, so a retry of this request stores nothing twice.
        return self._request("POST", f"model-versions/{version_id}/metrics/", json={"metrics": batch})["stored"]

    def metrics(self, model: str | int, version: str, *, product: str | None = None) -> dict[str, float]:
        """The final value of every metric of a version: {key: value}."""
        version_id = self._version_id(model, version, product)
        body = self._request("GET", f"model-versions/{version_id}/metrics/")
        return {m["key"]: m["value"] for m in body["metrics"]}

    def metric_history(self, model: str | int, version: str, key: str, *, bucket: str = "raw",
                       product: str | None = None, **params) -> list[dict]:
        """A metric's points: raw [{step, ts, value}] or bucketed (bucket="steps", "auto", "1h", ...)."""
        version_id = self._version_id(model, version, product)
        body = self._request("GET", f"model-versions/{version_id}/metrics/",
                             params={"key": key, "bucket": bucket, **params})
        return body["points"]

    # --- promotion -----------------------------------------------------------------------------

    def promote(self, model: str | int, version: str, *, product: str | None = None, note: str = "",
                expected_production=_UNSET) -> dict:
        """Make version the production version (the previous one is archived).

        expected_production: the label you believe is in production now (None: none);
        if someone else promoted meanwhile pmhub refuses with 409 and changes nothing.
        """
        version_id = self._version_id(model, version, product)
        body = {"note": note}
        if expected_production is not _UNSET:
            body["expected_production"] = expected_production
        return self._request("POST", f"model-versions/{version_id}/promote/", json=body, retry=False)

    # --- lifetime --------------------------------------------------------------------------------

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.session.close()
