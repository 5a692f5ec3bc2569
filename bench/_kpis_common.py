"""Shared set-up for the KPI benchmarks: a PostgreSQL database of their own, Django, a user with a token."""
import os
import statistics
import sys
import time
from urllib.parse import urlparse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/pmhub_bench_kpis"


def recreate_database(pg_url: str, name: str) -> None:
    """Drop and create database `name` on the server of pg_url (postgres://user@host:port)."""
    import psycopg2

    parsed = urlparse(pg_url)
    conn = psycopg2.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username or "postgres",
                            password=parsed.password, dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def setup_django():
    """Point Django at the benchmark database (created and migrated if needed)."""
    os.environ.setdefault("DATABASE_URL", os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pmhub.settings")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 40)
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("STATIC_MANIFEST", "0")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")  # ingest queues its evaluation in-process
    url = urlparse(os.environ["DATABASE_URL"])
    import psycopg2

    conn = psycopg2.connect(host=url.hostname, port=url.port or 5432, user=url.username or "postgres",
                            password=url.password, dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [url.path.lstrip("/")])
        if not cur.fetchone():
            cur.execute(f'CREATE DATABASE "{url.path.lstrip("/")}"')
    conn.close()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bench_user_and_product(slug="bench"):
    from django.contrib.auth import get_user_model

    from pmhub.roles import Role
    from products.models import Membership, Product

    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"email": "bench@example.org"})
    product, _ = Product.objects.get_or_create(slug=slug, defaults={"name": f"Bench {slug}"})
    Membership.objects.get_or_create(user=user, product=product, defaults={"role": Role.PM})
    return user, product


def fresh_kpi(product, key, **fields):
    from kpis.models import KPI
    from kpis.timeseries.models import Series
    from kpis.timeseries.services import series_delete

    old = KPI.objects.filter(product=product, key=key).first()
    if old is not None:
        old.delete()
        series_delete(series_ids=[old.series_id])
    series = Series.objects.create(kind="kpi", key=key)
    return KPI.objects.create(product=product, key=key, name=key, series=series, **fields)


def vacuum(*tables):
    """VACUUM ANALYZE the tables: what autovacuum would have done by now (it is off on some machines,
    and a run's deletions of the previous run's points would otherwise bloat the next one)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")


def token_for(user):
    from pmhub.services import api_token_create

    _, raw = api_token_create(user=user, name=f"bench-{time.time_ns()}")
    return raw


def median_ms(fn, repeat=7, warmup=2):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def fill_points_sql(kpi, *, count, start, step_seconds):
    """Insert count evenly spaced points straight in SQL, then rebuild the rollups (bench set-up only)."""
    from django.db import connection

    from kpis.timeseries.services import series_rollups_refresh

    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO kpis_point (series_id, ts, step, value) "
            "SELECT %s, %s + make_interval(secs => g * %s), 0, 50 + 10 * sin(g / 500.0) + random() "
            "FROM generate_series(0, %s - 1) AS g",
            [kpi.series_id, start, step_seconds, count],
        )
    series_rollups_refresh(series=kpi.series_id)


_CPU_GROUPS = (("gunicorn", "gunicorn"), ("celery", "celery"),
               # PostgreSQL's own background processes (WAL, checkpoints, vacuum) apart from the backends.
               ("postgres-bg", "checkpointer"), ("postgres-bg", "background writer"),
               ("postgres-bg", "walwriter"), ("postgres-bg", "autovacuum"), ("postgres", "postgres"),
               ("redis", "redis-server"))


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by each part of the stack (Linux /proc), to show where a run's time went.

    A process counts with the children it has reaped, so a PostgreSQL backend
    that exits still counts (under the postmaster). "clients" is what this
    process's own finished children used (the benchmark's client processes).
    """
    tick = os.sysconf("SC_CLK_TCK")
    out = dict.fromkeys((name for name, _ in _CPU_GROUPS), 0.0)
    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == me:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        for name, needle in _CPU_GROUPS:
            if needle in cmdline:
                out[name] += sum(int(v) for v in fields[11:15]) / tick  # utime stime cutime cstime
                break
    times = os.times()
    out["clients"] = times.children_user + times.children_system
    return out


def cpu_report(before: dict[str, float], after: dict[str, float], elapsed: float) -> str:
    """'gunicorn 5.1 s, postgres 3.2 s, … of 16.0 s': CPU per part during a run, against what the cores offered."""
    used = {k: after[k] - before[k] for k in after}
    parts = ", ".join(f"{k} {v:.1f}" for k, v in sorted(used.items(), key=lambda kv: -kv[1]) if v >= 0.05)
    return f"CPU s: {parts} (of {elapsed * os.cpu_count():.1f} on {os.cpu_count()} cores)"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(*, workers: int, env: dict | None = None):
    """gunicorn with `workers` sync workers on a free port, once it accepts; returns (process, port)."""
    import socket
    import subprocess

    port = free_port()
    proc = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "gunicorn"), "pmhub.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--workers", str(workers), "--log-level", "warning"],
        cwd=ROOT, env=dict(os.environ) if env is None else env, start_new_session=True)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.3).close()
            break
        except OSError:
            time.sleep(0.2)
    return proc, port
