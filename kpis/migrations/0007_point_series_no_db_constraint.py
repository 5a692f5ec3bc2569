# Drops the database foreign key from points to their series: PostgreSQL checked
# it once per inserted row (a deferred trigger each), about as much server CPU as
# the insert itself. The write path checks each series once per batch instead,
# under the series' advisory lock, and deletions take the same lock
# (kpis.services.timeseries). On PostgreSQL this only drops the constraint; on
# SQLite Django rebuilds the table.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('kpis', '0006_point_rollup_series_no_extra_index'),
    ]

    operations = [
        migrations.AlterField(
            model_name='point',
            name='series',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                    related_name='points', to='kpis.series'),
        ),
    ]
