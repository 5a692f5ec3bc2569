"""CSV import (all or nothing, with progress) and export of a KPI's series."""
from __future__ import annotations

import codecs
import csv
import io
import math
from datetime import datetime, timezone as dt_timezone

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from kpis.models import KPI, ImportJob
from kpis.timeseries.models import Point
from pmhub import limits
from pmhub.outbox import delay_on_commit
from pmhub.permissions import require
from pmhub.roles import Action

from .kpis import _ts_range, kpi_points_ingest
from kpis.timeseries.services import PointIn

MAX_IMPORT_BYTES = 200 * 1024 * 1024
MAX_STORED_ERRORS = 500
CHUNK = 10_000


def import_job_create(*, actor, kpi: KPI, upload) -> ImportJob:
    """Keep the uploaded CSV and queue its import (kpis.tasks.kpi_import_run)."""
    require(actor, kpi.product, Action.TRACK)
    if upload is None:
        raise ValidationError({"file": ["Choose a CSV file."]})
    if upload.size > MAX_IMPORT_BYTES:
        raise ValidationError({"file": [f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB."]})
    if upload.size == 0:
        raise ValidationError({"file": ["The file is empty."]})
    with transaction.atomic():
        job = ImportJob(kpi=kpi, created_by=actor if getattr(actor, "is_authenticated", False) else None,
                        filename=(upload.name or "upload.csv")[:255], size=upload.size)
        job.file.save(f"kpi-{kpi.pk}.csv", upload, save=False)
        job.save()
        job_id = job.pk
        delay_on_commit("kpis.tasks.kpi_import_run", job_id)
    return job


def _cache_key(job_id: int) -> str:
    return f"kpis:import:{job_id}:percent"


def import_job_percent(job: ImportJob) -> int:
    """Progress 0–100: reading and checking is the first half, storing the second."""
    if job.finished:
        return 100 if job.state == ImportJob.State.DONE else job.percent // 2
    stored = cache.get(_cache_key(job.pk))
    checked = job.percent // 2
    return max(checked, stored or 0)


def _parse_ts(raw: str):
    raw = raw.strip()
    try:
        ts = datetime.fromisoformat(raw)
    except ValueError:
        try:
            seconds = float(raw)
        except ValueError:
            return None, f"ts {raw[:40]!r} is not an ISO 8601 timestamp or Unix seconds"
        if not math.isfinite(seconds) or not 0 <= seconds <= 253402300799:
            return None, "ts is out of range"
        return datetime.fromtimestamp(seconds, tz=dt_timezone.utc), None
    if ts.tzinfo is None or ts.utcoffset() is None:
        return None, f"ts {raw[:40]!r} has no timezone (add Z or an offset)"
    return ts, None


def _rows(job: ImportJob):
    """Yield (line number, ts, value, error) for each data row, updating the byte count."""
    job.file.open("rb")
    try:
        raw = job.file.file
        text = codecs.getreader("utf-8-sig")(raw, errors="replace")
        header = text.readline()
        if [h.strip().lower() for h in header.strip().split(",")] != ["ts", "value"]:
            yield 1, None, None, 'the first line must be the header "ts,value"'
            return
        lo, hi = _ts_range()
        for n, line in enumerate(text, start=2):
            if n % 20000 == 0:
                yield n, None, None, "progress"
            line = line.strip()
            if not line:
                continue
            parts = line.split(",")
            if len(parts) != 2:
                row = next(csv.reader(io.StringIO(line)), [])
                if len(row) != 2:
                    yield n, None, None, f"expected 2 columns (ts,value), found {len(row)}"
                    continue
                parts = row
            ts, error = _parse_ts(parts[0])
            if error:
                yield n, None, None, error
                continue
            if not lo <= ts <= hi:
                yield n, None, None, "ts is out of range (1970 to one day from now)"
                continue
            try:
                value = float(parts[1])
            except ValueError:
                yield n, None, None, f"value {parts[1].strip()[:40]!r} is not a number"
                continue
            if limits.value_error(value):
                yield n, None, None, f"value: {limits.value_message()}"
                continue
            yield n, ts, value, None
    finally:
        job.file.close()


def _position(job: ImportJob) -> int:
    try:
        return job.file.file.tell()
    except (ValueError, AttributeError, OSError):
        return job.size


def import_job_run(*, job: ImportJob) -> ImportJob:
    """Check every row first (reporting each bad line), then store all rows in one transaction."""
    job.state, job.bytes_done, job.errors, job.error_count = ImportJob.State.RUNNING, 0, [], 0
    job.save(update_fields=["state", "bytes_done", "errors", "error_count"])
    errors, count, rows = [], 0, 0
    for n, _ts, _value, error in _rows(job):
        if error == "progress":
            ImportJob.objects.filter(pk=job.pk).update(bytes_done=_position(job))
            continue
        if error:
            count += 1
            if len(errors) < MAX_STORED_ERRORS:
                errors.append({"line": n, "message": error})
        else:
            rows += 1
    if not rows and not count:
        count, errors = 1, [{"line": 2, "message": "the file has no data rows"}]
    if count:
        job.state, job.errors, job.error_count, job.finished_at = ImportJob.State.FAILED, errors, count, timezone.now()
        job.bytes_done, job.rows_total = job.size, rows + count
        job.save(update_fields=["state", "errors", "error_count", "finished_at", "bytes_done", "rows_total"])
        return job
    ImportJob.objects.filter(pk=job.pk).update(bytes_done=job.size, rows_total=rows)
    job.bytes_done, job.rows_total = job.size, rows
    stored = 0
    with transaction.atomic():
        batch: list[PointIn] = []
        for _n, ts, value, error in _rows(job):
            if error:
                continue
            batch.append(PointIn(ts=ts, value=value))
            if len(batch) >= CHUNK:
                stored += kpi_points_ingest(kpi=job.kpi, points=batch, evaluate=False)
                batch = []
                cache.set(_cache_key(job.pk), 50 + int(50 * stored / rows), 3600)
        if batch:
            stored += kpi_points_ingest(kpi=job.kpi, points=batch, evaluate=False)
        job.state, job.rows_imported, job.finished_at = ImportJob.State.DONE, rows, timezone.now()
        job.save(update_fields=["state", "rows_imported", "finished_at"])
        kpi_id = job.kpi_id
        delay_on_commit("kpis.tasks.kpi_evaluate", kpi_id)
    cache.delete(_cache_key(job.pk))
    return job


def kpi_csv_rows(*, kpi: KPI, start=None, end=None):
    """The KPI's raw series as CSV lines (header first), streamed from the database."""
    yield "ts,value\r\n"
    qs = Point.objects.filter(series_id=kpi.series_id)
    if start is not None:
        qs = qs.filter(ts__gte=start)
    if end is not None:
        qs = qs.filter(ts__lt=end)
    buf = []
    for ts, value in qs.order_by("ts", "step").values_list("ts", "value").iterator(chunk_size=5000):
        buf.append(f"{ts.astimezone(dt_timezone.utc).isoformat().replace('+00:00', 'Z')},{value!r}\r\n")
        if len(buf) >= 5000:
            yield "".join(buf)
            buf = []
    if buf:
        yield "".join(buf)
