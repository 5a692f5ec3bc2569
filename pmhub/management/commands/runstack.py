"""Run pmhub in the foreground: web server, Celery workers and beat, one command.

Used by `make run`. Migrates and seeds demo data first (both idempotent).
Two workers: `worker` (prefork pool, default queue: CPU-bound work such as CSV
imports, evaluations, digests) and `pulls` (threads pool, the `pulls` queue:
metric pulls, which mostly wait on the network). Ctrl-C (or SIGTERM) stops
them all cleanly (pmhub/supervisor.py): when one exits, the others are
stopped too, so a half-running stack never lingers.
"""
import os
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Migrate, seed demo data, then run web + Celery worker + beat in the foreground."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("PMHUB_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-seed", action="store_true", help="Skip the demo data.")
        parser.add_argument("--concurrency", type=int, default=int(os.environ.get("PMHUB_WORKER_CONCURRENCY", "2")),
                            help="Processes of the default worker (prefork).")
        parser.add_argument("--pull-concurrency", type=int,
                            default=int(os.environ.get("PMHUB_PULL_CONCURRENCY", "32")),
                            help="Threads of the pulls worker.")

    def handle(self, *args, host, port, no_seed, concurrency, pull_concurrency, **options):
        from pmhub.supervisor import Supervisor

        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        if not no_seed:
            call_command("seed_demo")
        bindir = os.path.dirname(sys.executable)
        celery = os.path.join(bindir, "celery")
        env = dict(os.environ, PYTHONUNBUFFERED="1", DJANGO_SETTINGS_MODULE="pmhub.settings")
        where = "PostgreSQL" if settings.DATABASES["default"]["ENGINE"].endswith("postgresql") else "SQLite"
        broker = "Redis" if settings.REDIS_URL else "file-system broker"
        self.stdout.write(f"pmhub on http://{host}:{port}/ ({where}, {broker}); "
                          f"Ctrl-C stops web, workers and beat.")
        self.stdout.flush()
        stack = Supervisor(env=env)
        # gunicorn's own lines only from WARNING up; its access log without static files.
        stack.add("web", [os.path.join(bindir, "gunicorn"), "pmhub.wsgi:application", "--bind", f"{host}:{port}",
                          "--workers", "2", "--threads", "4", "--timeout", "60", "--graceful-timeout", "5",
                          "--keep-alive", "15", "--log-level", "warning", "--access-logfile", "-",
                          "--logger-class", "pmhub.logs.AccessLogger",
                          "--access-logformat", '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'])
        # --quiet: no banner. Levels come from settings.LOGGING (pmhub/celery.py).
        stack.add("worker", [celery, "-A", "pmhub", "--quiet", "worker", "--queues", settings.CELERY_TASK_DEFAULT_QUEUE,
                             "--concurrency", str(concurrency), "--hostname", f"{settings.CELERY_TASK_DEFAULT_QUEUE}@%h"])
        stack.add("pulls", [celery, "-A", "pmhub", "--quiet", "worker", "--queues", settings.PMHUB_PULL_QUEUE,
                            "--pool", "threads", "--concurrency", str(pull_concurrency), "--hostname", "pulls@%h"])
        stack.add("beat", [celery, "-A", "pmhub", "--quiet", "beat",
                           "--schedule", str(settings.CELERY_BEAT_SCHEDULE_FILENAME)])
        sys.exit(stack.run())
