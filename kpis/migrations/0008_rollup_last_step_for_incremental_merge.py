# Rollups are merged incrementally at ingest (kpis.timeseries.services): a new
# point replaces a bucket's `last` only if it comes after it by (ts, step), so
# the bucket keeps the step of its latest point. Existing rows get it from their
# raw points (the largest step at last_ts, which is how `last` was chosen).
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('kpis', '0007_point_series_no_db_constraint'),
    ]

    operations = [
        migrations.AddField(
            model_name='rollup',
            name='last_step',
            field=models.BigIntegerField(default=0, help_text='Step of the latest point (ties on last_ts).'),
        ),
        migrations.RunSQL(
            "UPDATE kpis_rollup SET last_step = COALESCE((SELECT max(p.step) FROM kpis_point p "
            "WHERE p.series_id = kpis_rollup.series_id AND p.ts = kpis_rollup.last_ts), 0)",
            migrations.RunSQL.noop,
        ),
    ]
