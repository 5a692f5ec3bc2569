"""Fault: a Celery worker SIGKILLed in the middle of a job; another worker redoes it.

The whole worker (main process and pool) is killed, as the OOM killer or a
lost machine would: its message was never acknowledged (acks_late), so Redis
gives it to the surviving worker once the visibility timeout passes. The task
is idempotent (upserts on the points' natural key; the import is one
transaction), so every point ends up stored exactly once.
"""
import os
import signal
import time

import pytest

from tests.hardening.conftest import manage, wait_until

pytestmark = pytest.mark.slow

ROWS = 40_000

IMPORT_SETUP = """
import io
from django.core.files.uploadedfile import SimpleUploadedFile
from django.contrib.auth import get_user_model
from kpis.services.kpis import kpi_create
from kpis.services.imports import import_job_create
from products.models import Product
pm = get_user_model().objects.get(username="fault-pm")
product = Product.objects.get(slug="faulty")
kpi = kpi_create(actor=pm, product=product, name="Imported", key="imported")
lines = ["ts,value"] + [f"{1700000000 + i * 60},{i % 97}.5" for i in range(ROWS)]
upload = SimpleUploadedFile("big.csv", ("\\n".join(lines) + "\\n").encode(), content_type="text/csv")
job = import_job_create(actor=pm, kpi=kpi, upload=upload)
print(f"JOB={job.pk}")
"""


POINTS = ("SELECT count({what}) FROM kpis_point p JOIN kpis_kpi k ON k.series_id = p.series_id "
          "WHERE k.key = 'imported'")


def _kill_worker(proc):
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def test_worker_killed_during_csv_import_is_redone_by_another(stack):
    env = {"CELERY_VISIBILITY_TIMEOUT": "8"}
    stack.env.update(env)
    first = stack.worker("first")
    out = manage(stack.env, "shell", "-c", IMPORT_SETUP.replace("ROWS", str(ROWS)))
    job = int([line for line in out.splitlines() if line.startswith("JOB=")][0][4:])

    def state():
        return stack.pg.scalar("SELECT state || ':' || rows_total FROM kpis_importjob WHERE id = %s", [job])

    # Kill it while it stores: the rows are counted (checked) and the import transaction is open.
    wait_until(lambda: state().startswith("running:") and not state().endswith(":0"), timeout=120,
               interval=0.05, message="the import to start storing")
    _kill_worker(first)
    assert stack.pg.scalar(POINTS.format(what="*")) == 0  # the open transaction died with it
    assert stack.pg.scalar("SELECT state FROM kpis_importjob WHERE id = %s", [job]) == "running"

    started = time.monotonic()
    stack.worker("second")
    wait_until(lambda: stack.pg.scalar("SELECT state FROM kpis_importjob WHERE id = %s", [job]) == "done",
               timeout=180, message="the second worker to redo the import")
    assert stack.pg.scalar(POINTS.format(what="*")) == ROWS
    assert stack.pg.scalar(POINTS.format(what="DISTINCT p.ts")) == ROWS
    assert stack.pg.scalar("SELECT rows_imported FROM kpis_importjob WHERE id = %s", [job]) == ROWS
    print(f"import redone {time.monotonic() - started:.1f}s after the kill")
