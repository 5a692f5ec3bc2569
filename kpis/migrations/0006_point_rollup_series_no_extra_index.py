# Drops the single-column series_id indexes of points and rollups: their natural
# keys' indexes start with series_id and serve every lookup by series (cascading
# deletes included); the extra index only cost time on each insert. Only the
# indexes go: Django's own AlterField would also drop and re-add the foreign keys,
# which re-checks every point under a lock.
import django.db.models.deletion
from django.db import migrations, models

INDEXES = {"kpis_point": "kpis_point_series_id_18739b2d", "kpis_rollup": "kpis_rollup_series_id_5875dc12"}


class Migration(migrations.Migration):

    dependencies = [
        ('kpis', '0005_metric_sources'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='point',
                    name='series',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name='points', to='kpis.series'),
                ),
                migrations.AlterField(
                    model_name='rollup',
                    name='series',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name='rollups', to='kpis.series'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    sql=f'DROP INDEX IF EXISTS "{index}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{index}" ON "{table}" ("series_id")',
                )
                for table, index in INDEXES.items()
            ],
        ),
    ]
