"""Concurrent card moves against PostgreSQL: columns stay numbered 0..n-1, nothing is lost."""
import threading
from collections import defaultdict

import pytest
from django.db import connection
from django.utils import timezone

from products.roadmap import services as roadmap_services
from products.roadmap.models import RoadmapItem
from products.sprints import services as sprint_services
from products.sprints.models import WorkItem

pytestmark = pytest.mark.django_db(transaction=True)


def run_threads(n, target):
    barrier = threading.Barrier(n)
    errors = []

    def worker(i):
        try:
            barrier.wait()
            target(i)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def assert_dense(rows):
    columns = defaultdict(list)
    for key, order in rows:
        columns[key].append(order)
    for key, orders in columns.items():
        assert sorted(orders) == list(range(len(orders))), (key, sorted(orders))


def test_concurrent_moves_of_the_same_card_keep_ordering(pm, product):
    sprint = sprint_services.sprint_create(actor=pm, product=product, name="S", start_date=timezone.localdate(),
                                    end_date=timezone.localdate())
    cards = [sprint_services.work_item_create(actor=pm, product=product, title=f"c{i}", sprint=sprint) for i in range(6)]
    target = cards[0]
    statuses = ["in_progress", "review", "done", "todo"]

    def move(i):
        for j in range(5):
            item = WorkItem.objects.get(pk=target.pk)
            sprint_services.work_item_move(actor=pm, item=item, status=statuses[(i + j) % 4], position=j % 3)

    errors = run_threads(8, move)
    assert not errors, errors
    assert WorkItem.objects.count() == 6
    assert_dense(WorkItem.objects.values_list("status", "order"))


def test_concurrent_moves_of_different_cards(pm, product):
    sprint = sprint_services.sprint_create(actor=pm, product=product, name="S", start_date=timezone.localdate(),
                                    end_date=timezone.localdate())
    cards = [sprint_services.work_item_create(actor=pm, product=product, title=f"c{i}", sprint=sprint) for i in range(8)]

    def move(i):
        item = WorkItem.objects.get(pk=cards[i].pk)
        sprint_services.work_item_move(actor=pm, item=item, status="done" if i % 2 else "review", position=0)
        sprint_services.work_item_move(actor=pm, item=item, status="in_progress", position=i % 3)

    errors = run_threads(8, move)
    assert not errors, errors
    assert WorkItem.objects.filter(status="in_progress").count() == 8
    assert_dense(WorkItem.objects.values_list("status", "order"))


def test_concurrent_roadmap_moves(pm, product):
    items = [roadmap_services.roadmap_item_create(actor=pm, product=product, title=f"r{i}", horizon="later") for i in range(6)]

    def move(i):
        for j, horizon in enumerate(["now", "next", "later", "now"]):
            item = RoadmapItem.objects.get(pk=items[(i + j) % 6].pk)
            roadmap_services.roadmap_item_move(actor=pm, item=item, horizon=horizon, position=0)

    errors = run_threads(6, move)
    assert not errors, errors
    assert RoadmapItem.objects.count() == 6
    assert_dense(RoadmapItem.objects.values_list("horizon", "position"))
