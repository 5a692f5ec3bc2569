"""Writes of KPIs and objectives, and the ingest of a KPI's points."""
from __future__ import annotations

import gc
import math
from datetime import datetime, timedelta, timezone as dt_timezone

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from kpis.models import KPI, Objective
from kpis.timeseries.models import Series
from pmhub import limits
from pmhub.audit import audit_record
from pmhub.outbox import delay_on_commit, delay_on_commit_coalesced
from pmhub.permissions import require
from pmhub.roles import Action

from .alerts import alert_open, alert_resolve  # noqa: F401  (re-exported: kpis.services.kpis.alert_open)
from kpis.timeseries.services import PointIn, series_create, series_delete, series_points_upsert

MAX_POINTS_PER_REQUEST = 10_000
# New points are evaluated against the thresholds this long after they commit;
# points arriving meanwhile join that one evaluation (see kpi_points_ingest).
EVALUATE_AFTER_SECONDS = 1.0
EARLIEST = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)
FUTURE_SLACK = timedelta(days=1)
MAX_REPORTED_ERRORS = 100
VALUE_MAX = limits.VALUE_MAX
VALUE_MESSAGE = limits.value_message()

KPI_FIELDS = ("name", "key", "description", "unit", "category", "direction", "target", "warning_threshold",
              "critical_threshold", "headline", "pending_minutes", "objective")


# --- points ------------------------------------------------------------------------

class _Errors:
    """Collects per-point errors under keys like "points[12].value", up to a cap."""

    def __init__(self):
        self.errors: dict[str, list[str]] = {}
        self.count = 0

    def add(self, key: str, message: str):
        self.count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.setdefault(key, []).append(message)

    def raise_if_any(self):
        if self.count:
            errors = dict(self.errors)
            if self.count > len(errors):
                errors["non_field_errors"] = [f"{self.count} errors in all; the first {len(self.errors)} are shown."]
            raise ValidationError(errors)


def _ts_range() -> tuple[datetime, datetime]:
    return EARLIEST, timezone.now() + FUTURE_SLACK


class CheckedPoints(list):
    """Points that points_parse (or another caller's own loop) has checked as
    kpi_points_ingest would: it does not check them a second time."""


def points_parse(items, *, max_points: int = MAX_POINTS_PER_REQUEST, field: str = "points") -> CheckedPoints:
    """Validate a decoded JSON list of {"ts", "value"} as a whole, without per-item serializers.

    ts: an ISO 8601 string with a UTC offset (or Z), or Unix seconds; value: a
    finite number (not a string, not a boolean). Every bad point is reported
    under "points[i].ts" / "points[i].value" (the first 100).
    """
    if not isinstance(items, list):
        raise ValidationError({field: ['Send a list of points: [{"ts": "2026-01-01T00:00:00Z", "value": 1.5}, …].']})
    if not items:
        raise ValidationError({field: ["Send at least one point."]})
    if len(items) > max_points:
        raise ValidationError({field: [f"At most {max_points:,} points per request; this one has {len(items):,}."]})
    # The loop allocates tens of thousands of objects, none of them in a cycle:
    # no point letting the garbage collector walk the heap several times meanwhile.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _points_parse(items, field)
    finally:
        if gc_was_enabled:
            gc.enable()


def _points_parse(items: list, field: str) -> CheckedPoints:
    errors = _Errors()
    lo, hi = _ts_range()
    out = CheckedPoints()
    append = out.append
    fromiso = datetime.fromisoformat
    utc = dt_timezone.utc
    new = tuple.__new__  # PointIn(ts, value) without NamedTuple's Python-level __new__: 10,000 times per batch
    vmin, vmax = -VALUE_MAX, VALUE_MAX  # pmhub.limits' bounds, as locals in the loop
    for i, item in enumerate(items):
        if type(item) is not dict:
            errors.add(f"{field}[{i}]", 'Each point is an object {"ts": …, "value": …}.')
            continue
        ts = item.get("ts")
        value = item.get("value")
        ok = True
        tv = type(ts)
        if tv is str:
            try:
                ts = fromiso(ts)
            except ValueError:
                errors.add(f"{field}[{i}].ts", f"Not an ISO 8601 timestamp: {item['ts'][:40]!r}.")
                ok = False
            else:
                if ts.tzinfo is None:  # fromisoformat gives a fixed offset or nothing
                    errors.add(f"{field}[{i}].ts", "The timestamp has no timezone; add Z or an offset like +02:00.")
                    ok = False
        elif tv is int or tv is float:
            if not math.isfinite(ts) or not (0 <= ts <= 253402300799):
                errors.add(f"{field}[{i}].ts", "Unix seconds out of range.")
                ok = False
            else:
                ts = datetime.fromtimestamp(ts, tz=utc)
        elif ts is None:
            errors.add(f"{field}[{i}].ts", "This field is required." if "ts" not in item else "May not be null.")
            ok = False
        else:
            errors.add(f"{field}[{i}].ts", "Give an ISO 8601 string or Unix seconds.")
            ok = False
        if ok and not (lo <= ts <= hi):
            errors.add(f"{field}[{i}].ts", f"Out of range: timestamps go from 1970 to one day from now; got {ts.isoformat()}.")
        tv = type(value)
        if tv is float:
            if not vmin <= value <= vmax:  # False for NaN and infinities too
                errors.add(f"{field}[{i}].value", VALUE_MESSAGE)
                ok = False
        elif tv is int:
            if vmin <= value <= vmax:
                value = float(value)
            else:
                errors.add(f"{field}[{i}].value", VALUE_MESSAGE)
                ok = False
        elif value is None:
            errors.add(f"{field}[{i}].value", "This field is required." if "value" not in item else "May not be null.")
            ok = False
        else:
            errors.add(f"{field}[{i}].value", f"Must be a number, not {type(value).__name__ if tv is not str else 'a string'}.")
            ok = False
        if ok and not errors.count:
            append(new(PointIn, (ts, value, 0)))
    errors.raise_if_any()
    return out


def _check_points(points: list[PointIn]) -> None:
    errors = _Errors()
    lo, hi = _ts_range()
    for i, p in enumerate(points):
        if p.ts.tzinfo is None or p.ts.utcoffset() is None:
            errors.add(f"points[{i}].ts", "The timestamp has no timezone.")
        elif not (lo <= p.ts <= hi):
            errors.add(f"points[{i}].ts", "Out of range: timestamps go from 1970 to one day from now.")
        if limits.value_error(p.value):
            errors.add(f"points[{i}].value", VALUE_MESSAGE)
    errors.raise_if_any()


def kpi_points_ingest(*, kpi: KPI, points: list[PointIn], actor=None, evaluate: bool = True,
                      expect_new: bool = True) -> int:
    """Store points in the KPI's series (idempotent upsert) and queue its evaluation.

    With an actor, the actor must be allowed to track on the KPI's product
    (product managers and data scientists). Without one (pulls, model-fed KPIs)
    the caller has checked. Status and alerts are re-evaluated by the Celery
    task kpis.tasks.kpi_evaluate after the transaction commits. expect_new=False
    for writers that mostly resend stored points (see series_points_upsert_many).
    """
    if actor is not None:
        require(actor, kpi.product, Action.TRACK)
    if not isinstance(points, CheckedPoints):
        points = list(points)
        _check_points(points)
    if not points:
        return 0
    # The upsert is its own transaction (no savepoint nested in one opened here: two
    # round trips less per request). The evaluation is queued once that transaction,
    # or the caller's outer one, has committed (on_commit runs at once in autocommit).
    stored = series_points_upsert(series=kpi.series_id, points=points, expect_new=expect_new)
    if evaluate:
        # Coalesced: a KPI fed by many clients at once is evaluated at most once a
        # second, not once per request (the evaluation reads the latest points).
        delay_on_commit_coalesced("kpis.tasks.kpi_evaluate", kpi.pk, countdown=EVALUATE_AFTER_SECONDS)
    return stored


# --- KPIs ------------------------------------------------------------------------------

def _clean_kpi(kpi: KPI) -> None:
    kpi.name = (kpi.name or "").strip()
    kpi.key = slugify(kpi.key or kpi.name)[:80]
    errors: dict[str, list[str]] = {}
    if not kpi.name:
        errors["name"] = ["Give the KPI a name."]
    if not kpi.key:
        errors["key"] = ["The key needs letters or digits."]
    elif KPI.objects.filter(product_id=kpi.product_id, key=kpi.key).exclude(pk=kpi.pk).exists():
        errors["key"] = [f"Another KPI of this product already uses the key '{kpi.key}'."]
    if kpi.category not in KPI.Category.values:
        errors["category"] = [f"Choose one of {', '.join(KPI.Category.values)}."]
    if kpi.direction not in KPI.Direction.values:
        errors["direction"] = [f"Choose one of {', '.join(KPI.Direction.values)}."]
    for name in ("target", "warning_threshold", "critical_threshold"):
        value = getattr(kpi, name)
        message = limits.value_error(value)
        if message:
            errors[name] = [message]
    w, c = kpi.warning_threshold, kpi.critical_threshold
    if w is not None and c is not None and "warning_threshold" not in errors and "critical_threshold" not in errors:
        if kpi.direction == KPI.Direction.HIGHER and c > w:
            errors["critical_threshold"] = ["Higher is better: the critical threshold must be at or below the warning one."]
        if kpi.direction == KPI.Direction.LOWER and c < w:
            errors["critical_threshold"] = ["Lower is better: the critical threshold must be at or above the warning one."]
    if kpi.objective_id and not Objective.objects.filter(pk=kpi.objective_id, product_id=kpi.product_id).exists():
        errors["objective"] = ["Choose an objective of the same product."]
    if errors:
        raise ValidationError(errors)


def kpi_create(*, actor, product, name: str, key: str = "", roadmap_items=None, **fields) -> KPI:
    require(actor, product, Action.EDIT)
    unknown = set(fields) - set(KPI_FIELDS)
    if unknown:
        raise ValidationError({f: ["Unknown field."] for f in unknown})
    kpi = KPI(product=product, name=name, key=key, **{k: v for k, v in fields.items() if v is not None or k in (
        "target", "warning_threshold", "critical_threshold", "objective")})
    _clean_kpi(kpi)
    try:
        with transaction.atomic():
            kpi.series = series_create(kind=Series.Kind.KPI, key=kpi.key)
            kpi.save()
            if roadmap_items is not None:
                _set_roadmap_items(kpi, roadmap_items)
    except IntegrityError:
        raise ValidationError({"key": [f"Another KPI of this product already uses the key '{kpi.key}'."]}) from None
    return kpi


def _set_roadmap_items(kpi: KPI, items) -> None:
    items = list(items)
    if any(item.product_id != kpi.product_id for item in items):
        raise ValidationError({"roadmap_items": ["Link roadmap items of the same product only."]})
    kpi.roadmap_items.set(items)


def kpi_update(*, actor, kpi: KPI, roadmap_items=None, **fields) -> KPI:
    require(actor, kpi.product, Action.EDIT)
    unknown = set(fields) - set(KPI_FIELDS)
    if unknown:
        raise ValidationError({f: ["This field cannot be changed."] for f in unknown})
    for name, value in fields.items():
        setattr(kpi, name, value)
    _clean_kpi(kpi)
    try:
        with transaction.atomic():
            kpi.save()
            if kpi.series.key != kpi.key:
                Series.objects.filter(pk=kpi.series_id).update(key=kpi.key)
            if roadmap_items is not None:
                _set_roadmap_items(kpi, roadmap_items)
            kpi_id = kpi.pk
            delay_on_commit("kpis.tasks.kpi_evaluate", kpi_id)
    except IntegrityError:
        raise ValidationError({"key": [f"Another KPI of this product already uses the key '{kpi.key}'."]}) from None
    return kpi


def kpi_delete(*, actor, kpi: KPI) -> None:
    require(actor, kpi.product, Action.MANAGE)
    with transaction.atomic():
        audit_record(actor=actor, action="kpi.deleted", product=kpi.product_id, target=kpi,
                     data={"key": kpi.key, "name": kpi.name})
        series_id = kpi.series_id
        kpi.delete()
        series_delete(series_ids=[series_id])


def product_kpi_data_delete(*, product) -> None:
    """Delete what the kpis app holds for a product about to be deleted, series included.

    KPIs and model metrics protect their series, so a product's deletion alone
    would leave every point behind; products.services.product_delete calls this
    first, in its transaction (the caller has checked the manage right).
    """
    from kpis.ml.models import AIModel, ModelMetric

    with transaction.atomic():
        series_ids = [*KPI.objects.filter(product=product).values_list("series_id", flat=True),
                      *ModelMetric.objects.filter(version__model__product=product).values_list("series_id", flat=True)]
        KPI.objects.filter(product=product).delete()
        AIModel.objects.filter(product=product).delete()
        series_delete(series_ids=series_ids)


def kpi_link_roadmap_item(*, actor, kpi: KPI, item, linked: bool = True) -> None:
    require(actor, kpi.product, Action.EDIT)
    if item.product_id != kpi.product_id:
        raise ValidationError({"roadmap_items": ["Link roadmap items of the same product only."]})
    if linked:
        kpi.roadmap_items.add(item)
    else:
        kpi.roadmap_items.remove(item)


# --- objectives ------------------------------------------------------------------------

def _clean_objective(objective: Objective) -> None:
    objective.title = (objective.title or "").strip()
    errors = {}
    if not objective.title:
        errors["title"] = ["Give the objective a title."]
    for field in ("start_date", "end_date"):
        message = limits.date_error(getattr(objective, field))
        if message:
            errors[field] = [message]
    if not objective.start_date:
        errors["start_date"] = ["Give a start date."]
    if not objective.end_date:
        errors["end_date"] = ["Give an end date."]
    elif objective.start_date and objective.end_date < objective.start_date and not errors:
        errors["end_date"] = ["The end date comes on or after the start date."]
    if errors:
        raise ValidationError(errors)


def objective_create(*, actor, product, title: str, start_date, end_date, description: str = "") -> Objective:
    require(actor, product, Action.EDIT)
    objective = Objective(product=product, title=title, description=description or "", start_date=start_date,
                          end_date=end_date)
    _clean_objective(objective)
    with transaction.atomic():
        objective.save()
    return objective


def objective_update(*, actor, objective: Objective, **fields) -> Objective:
    require(actor, objective.product, Action.EDIT)
    for name, value in fields.items():
        if name not in ("title", "description", "start_date", "end_date"):
            raise ValidationError({name: ["This field cannot be changed."]})
        setattr(objective, name, value)
    _clean_objective(objective)
    with transaction.atomic():
        objective.save()
    return objective


def objective_delete(*, actor, objective: Objective) -> None:
    require(actor, objective.product, Action.MANAGE)
    with transaction.atomic():
        audit_record(actor=actor, action="objective.deleted", product=objective.product_id, target=objective)
        objective.delete()
