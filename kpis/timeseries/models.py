"""The one time-series store: a Series of Points.

A Point is (series, ts, step, value). Its natural key is (series, ts, step);
every write is an idempotent upsert on it, so a retried request or a re-run pull
never duplicates a point. `step` is 0 when the caller has none (KPIs, and model
metrics logged without a step), as MLflow does.
"""
from django.db import models
from django.db.models import Q


class Series(models.Model):
    class Kind(models.TextChoices):
        KPI = "kpi", "KPI"
        METRIC = "metric", "Model metric"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    key = models.CharField(max_length=250, help_text="The KPI key or the metric key.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "series"
        constraints = [models.CheckConstraint(condition=~Q(key=""), name="series_key_not_empty")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.key}"


class Point(models.Model):
    # No index of its own: the natural key's index starts with series and serves
    # every lookup by series; a second index only slowed each insert down.
    # No foreign-key constraint in the database either: PostgreSQL checks one per
    # inserted row, which cost about as much as the insert itself (5 of 11 ms of
    # server CPU per 1,000 points). The one write path checks the series once per
    # batch instead, under the series' lock, and series are deleted only through
    # kpis.timeseries.services.series_delete, which takes the same lock.
    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="points", db_index=False,
                               db_constraint=False)
    ts = models.DateTimeField()
    step = models.BigIntegerField(default=0)
    value = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "ts", "step"], name="point_natural_key"),
        ]

    def __str__(self):
        return f"{self.series_id}@{self.ts.isoformat()}#{self.step}={self.value}"


class Rollup(models.Model):
    """Pre-aggregated buckets of a series (hourly and daily), kept at ingest.

    A row is always what a GROUP BY over the bucket's raw points gives (count,
    sum, min, max, and the value of its latest point by (ts, step)): new points
    are merged in as deltas, and a bucket holding an overwritten point is
    recomputed from its raw points (kpis.timeseries.services).
    Charts over long ranges read these instead of millions of raw points.
    """

    HOUR = 3600
    DAY = 86400

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="rollups", db_index=False)
    bucket = models.IntegerField(help_text="Bucket width in seconds: 3600 or 86400.")
    ts = models.DateTimeField(help_text="Start of the bucket (UTC).")
    count = models.IntegerField()
    sum = models.FloatField()
    min = models.FloatField()
    max = models.FloatField()
    last = models.FloatField()
    last_ts = models.DateTimeField()
    last_step = models.BigIntegerField(default=0, help_text="Step of the latest point (ties on last_ts).")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "bucket", "ts"], name="rollup_natural_key"),
            models.CheckConstraint(condition=Q(bucket__in=[3600, 86400]), name="rollup_bucket_known"),
        ]

    def __str__(self):
        return f"{self.series_id}/{self.bucket}s@{self.ts.isoformat()}"
