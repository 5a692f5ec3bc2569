"""Fault: metric sources that hang, trickle, flood or answer garbage, pulled by a real Celery worker.

A raw TCP server on 127.0.0.1 plays every bad source at once: it accepts and never answers,
trickles the status line or the body a byte at a time, floods an endless body (plain or
chunked, or under a 50 GiB Content-Length), or answers binary junk, a JSON nesting bomb or
something that is not HTTP at all. One real worker (the pool main configures) pulls them all,
next to a good source. Every pull ends within the source's own timeout (plus scheduling slack,
nowhere near the task's time limits), is recorded as failed with a message, stores nothing,
and the worker goes on to pull the good source.
"""
import os
import socketserver
import threading
import time

import pytest
from django.utils import timezone

from kpis.sources.models import MetricSource, PullRun
from kpis.timeseries.models import Point
from tests import factories
from tests.fixtures_live import BIN, _log_path, process_env, spawn, stop
from tests.hardening.conftest import worker_queues
from tests.kpis.factories import make_kpi

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TIMEOUT = 3  # each source's timeout_seconds
SLACK_MS = 7000  # a loaded 2-core machine may start or finish a pull late; far below the 150 s soft limit


class _Hostile(socketserver.BaseRequestHandler):
    stop: threading.Event

    def _sleep_forever(self):
        self.stop.wait(120)

    def _drip(self, data: bytes, every: float):
        for byte in data:
            if self.stop.wait(every):
                return
            self.request.sendall(bytes([byte]))

    def handle(self):  # noqa: C901 - one switch over the bad behaviours
        sock = self.request
        sock.settimeout(130)
        request = b""
        try:
            while b"\r\n\r\n" not in request:
                part = sock.recv(4096)
                if not part:
                    return
                request += part
            path = request.split(b" ", 2)[1].decode()
            if path == "/good":
                body = b'{"data": {"value": 42.5}}'
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                             b"Connection: close\r\n\r\n%s" % (len(body), body))
            elif path == "/hang":
                self._sleep_forever()
            elif path == "/trickle-status":
                self._drip(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" * 100, 0.3)
            elif path == "/trickle-body":
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
                self._drip(b'{"data": {"value": 1' + b" " * 99000 + b"}}", 0.2)
            elif path == "/flood":
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[")
                while not self.stop.is_set():
                    sock.sendall(b"1," * 32768)
            elif path == "/flood-chunked":
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                chunk = b"1," * 32768
                while not self.stop.is_set():
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            elif path == "/flood-declared":
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 53687091200\r\n\r\n")
                while not self.stop.is_set():
                    sock.sendall(b" " * 65536)
            elif path == "/junk":
                junk = os.urandom(200_000)
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                             % len(junk) + junk)
            elif path == "/nesting-bomb":
                bomb = b"[" * 1_000_000
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                             % len(bomb) + bomb)
            elif path == "/not-http":
                sock.sendall(b"SSH-2.0-OpenSSH_9.6\r\n" + os.urandom(5000))
                self._sleep_forever()
            elif path == "/bad-values":
                body = b'{"data": {"value": NaN, "other": 1e999}}'
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))
        except OSError:
            return  # the puller hung up: what it should do


class HostileServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


BAD = ["/hang", "/trickle-status", "/trickle-body", "/flood", "/flood-chunked", "/flood-declared", "/junk",
       "/nesting-bomb", "/not-http", "/bad-values"]


@pytest.fixture
def hostile_server():
    stopping = threading.Event()
    server = HostileServer(("127.0.0.1", 0), type("H", (_Hostile,), {"stop": stopping}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    stopping.set()
    server.shutdown()
    server.server_close()


def test_hostile_sources_never_hold_a_worker_past_their_timeout(hostile_server, artifacts_dir):
    from kpis.sources.tasks import pull_source
    from pmhub.celery import app

    product = factories.ProductFactory(slug="sources-under-fire")
    sources = {}
    for path in BAD + ["/good"]:
        kpi = make_kpi(product, "k" + path.strip("/").replace("-", ""))
        sources[path] = MetricSource.objects.create(
            kpi=kpi, name=path, kind=MetricSource.Kind.HTTP_JSON, timeout_seconds=TIMEOUT,
            config={"url": hostile_server + path, "method": "GET", "json_path": "data.value", "body": ""})
    app.conf.task_always_eager = False
    log = _log_path("celery-hostile-sources")
    worker = spawn([os.path.join(BIN, "celery"), "-A", "pmhub", "worker", "--loglevel", "INFO", "--concurrency", "2",
                    "--hostname", "hostile@%h", "--without-mingle", "--without-gossip", "-Q", worker_queues()],
                   process_env(PMHUB_PULL_ALLOWED_HOSTS="127.0.0.1", PMHUB_PULL_MAX_RETRIES="0"), log)
    try:
        slot = timezone.now().replace(microsecond=0)
        for path in BAD:  # the bad ones first: the good one waits behind all of them
            pull_source.delay(sources[path].pk, slot.isoformat())
        pull_source.delay(sources["/good"].pk, slot.isoformat())
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            done = PullRun.objects.filter(source__kpi__product=product).exclude(status=PullRun.Status.RUNNING).count()
            if done == len(sources):
                break
            assert worker.poll() is None, f"the worker died (see {log})"
            time.sleep(0.5)
        runs = {r.source.name: r for r in PullRun.objects.filter(source__kpi__product=product).select_related("source")}
        assert set(runs) == set(sources), f"pulls never finished: {set(sources) - set(runs)} (see {log})"
        report = []
        for path, run in sorted(runs.items()):
            report.append(f"{path:16} {run.status:8} {run.duration_ms or 0:6d} ms  {run.error[:90]}")
        print("\n".join(report))
        for path in BAD:
            run = runs[path]
            assert run.status == PullRun.Status.FAILED and run.error, (path, run.status, run.error)
            assert "Internal error" not in run.error, (path, run.error)
            assert run.duration_ms <= TIMEOUT * 1000 + SLACK_MS, f"{path} held the worker {run.duration_ms} ms"
            assert not Point.objects.filter(series_id=sources[path].kpi.series_id).exists(), path
        good = runs["/good"]
        assert good.status == PullRun.Status.SUCCESS and good.points_written == 1
        assert worker.poll() is None, "the worker did not survive"
    finally:
        stop(worker)
        app.conf.task_always_eager = True
