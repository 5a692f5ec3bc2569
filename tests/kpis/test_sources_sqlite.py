"""Claiming due sources on the embedded default (SQLite + file-system broker).

SQLite has no SELECT ... FOR UPDATE SKIP LOCKED: Django drops select_for_update there.
What keeps two dispatchers from queueing one slot twice is that pmhub opens every
SQLite write transaction IMMEDIATE (settings): the second dispatcher's BEGIN waits for
the first to commit, then sees the moved next_run_at. Here four dispatcher processes
race on one SQLite file and the real broker folder is read back: every source is
queued exactly once, on the pulls queue. (The whole stack with beat and both workers
is driven in tests/e2e/test_sources_embedded.py.)
"""
import base64
import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = pytest.mark.slow

SOURCES = 60

SETUP = """
from django.db import connection
from django.utils import timezone
from kpis.models import KPI, MetricSource, Series
from products.models import Product

assert connection.vendor == "sqlite"
print("select_for_update supported:", connection.features.has_select_for_update)
product = Product.objects.create(name="SQLite race", slug="sqlite-race")
series = Series.objects.create(kind="kpi", key="race")
kpi = KPI.objects.create(product=product, series=series, key="race", name="Race")
now = timezone.now()
MetricSource.objects.bulk_create([
    MetricSource(kpi=kpi, name=f"s{i}", kind="http_json", interval_seconds=3600, timeout_seconds=5,
                 config={"url": f"http://example.com/{i}", "method": "GET", "json_path": "value", "body": ""},
                 next_run_at=now)
    for i in range(%d)])
""" % SOURCES

DISPATCH = """
import os, time
from kpis.sources.services import sources_dispatch_due

time.sleep(max(0.0, float(os.environ["RACE_AT"]) - time.time()))  # all four start together
claimed, idle_since = 0, None
while True:
    n = sources_dispatch_due(limit=2)
    claimed += n
    if n:
        idle_since = None
    elif idle_since is None:
        idle_since = time.monotonic()
    elif time.monotonic() - idle_since > 1.5:
        break
print("claimed", claimed)
"""


def _manage(env, *args, **kwargs):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=300, **kwargs)


def test_racing_dispatchers_on_sqlite_queue_each_slot_once(tmp_path):
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PMHUB_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="pmhub.settings", PYTHONUNBUFFERED="1")
    migrate = _manage(env, "migrate", "--noinput", "-v", "0")
    assert migrate.returncode == 0, migrate.stderr
    setup = _manage(env, "shell", "-c", SETUP)
    assert setup.returncode == 0, setup.stderr
    assert "select_for_update supported: False" in setup.stdout

    import time

    race_env = dict(env, RACE_AT=str(time.time() + 10))
    racers = [subprocess.Popen([sys.executable, "manage.py", "shell", "-c", DISPATCH], cwd=settings.BASE_DIR,
                               env=race_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(4)]
    outputs = [p.communicate(timeout=180) for p in racers]
    assert all(p.returncode == 0 for p in racers), [err for _out, err in outputs]
    claimed = [int(out.split("claimed")[-1]) for out, _err in outputs]
    assert sum(claimed) == SOURCES, claimed
    print("claims per dispatcher:", claimed)

    queued = []
    for name in os.listdir(var / "broker" / "queue"):
        assert name.endswith(f".{settings.PMHUB_PULL_QUEUE}.msg"), name  # pulls go to their own queue
        message = json.loads((var / "broker" / "queue" / name).read_text())
        assert message["headers"]["task"] == "kpis.tasks_sources.pull_source"
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        queued.append(tuple(args))
    assert len(queued) == SOURCES
    assert len({source_id for source_id, _slot in queued}) == SOURCES  # each source once
    assert len({slot for _source_id, slot in queued}) == 1  # all for the same (first) slot
    assert not (settings.BASE_DIR / "control").exists()  # exchange tables stay under var/broker/control
    assert (var / "broker" / "control").is_dir()
