import datetime

import pytest
from django.utils import timezone

from products.sprints import services
from products.sprints.models import SprintSnapshot
from products.sprints.tasks import sprint_snapshots_record

pytestmark = pytest.mark.django_db


def test_daily_snapshot_task_is_idempotent_and_skips_closed(pm, product):
    today = timezone.localdate()
    active = services.sprint_create(actor=pm, product=product, name="A", start_date=today,
                                    end_date=today + datetime.timedelta(days=9))
    services.work_item_create(actor=pm, product=product, title="w", points=4, sprint=active)
    services.sprint_create(actor=pm, product=product, name="P", start_date=today, end_date=today)
    services.sprint_start(actor=pm, sprint=active)
    SprintSnapshot.objects.all().delete()
    assert sprint_snapshots_record.apply().get() == 1
    assert sprint_snapshots_record.apply().get() == 1
    snap = SprintSnapshot.objects.get()
    assert (snap.sprint_id, snap.date, snap.scope_points, snap.remaining_points) == (active.pk, today, 4, 4)
    services.sprint_close(actor=pm, sprint=active)
    assert sprint_snapshots_record.apply().get() == 0
