"""Real servers on 127.0.0.1 for pull tests: an HTTP JSON / Prometheus-compatible
server in a thread, and a PostgreSQL database for the SQL kind.

Import the fixtures into a test module: `from tests.kpis.pull_servers import *`.
"""
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import psycopg2
import pytest
from django.db import connection

__all__ = ["metrics_server", "allow_loopback", "sql_source_db", "MetricsServer"]


class MetricsServer:
    """State the tests may change: `broken` paths answer 500; `values` per /value/<name>."""

    def __init__(self):
        self.hits = Counter()
        self.headers_seen = {}
        self.broken = set()
        self.values = {}
        self.lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"state": self})
        self.httpd = _QuietServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # clients that hang up on purpose (size cap, timeouts)


class _Handler(BaseHTTPRequestHandler):
    state: MetricsServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status, body, ctype="application/json", extra=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        self.do_GET()

    def do_GET(self):  # noqa: C901 - one switch over the test endpoints
        st = self.state
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        with st.lock:
            st.hits[path] += 1
            hits = st.hits[path]
            st.headers_seen[path] = dict(self.headers)
        if path in st.broken:
            return self._send(500, {"error": "broken on purpose"})
        if path == "/good":
            return self._send(200, {"data": {"value": 42.5, "label": "visits"}})
        if path.startswith("/value/"):
            return self._send(200, {"value": st.values.get(path[7:], 1.0)})
        if path == "/series":
            return self._send(200, {"points": [{"ts": "2026-01-01T00:00:00Z", "value": 1},
                                               {"ts": "2026-01-01T01:00:00Z", "value": 2.5},
                                               {"ts": 1767232800, "value": "4"}]})
        if path == "/pairs":
            return self._send(200, [[1767225600, 10], [1767229200, 11]])
        if path == "/slow":
            time.sleep(float(query.get("s", ["3"])[0]))
            return self._send(200, {"value": 1})
        if path == "/delay50":
            time.sleep(0.05)
            return self._send(200, {"value": hits})
        if path == "/error500":
            return self._send(500, b"<h1>Internal Server Error</h1>", "text/html")
        if path == "/notfound":
            return self._send(404, {"error": "no"})
        if path == "/html":
            return self._send(200, b"<!doctype html><html><body>Login</body></html>", "text/html")
        if path == "/huge":
            return self._send(200, b'{"value": 1, "pad": "' + b"x" * (5 * 1024 * 1024) + b'"}')
        if path == "/huge-chunked":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                self.wfile.write(b'{"pad": "')
                for _ in range(80):
                    self.wfile.write(b"x" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return
        if path == "/drip":  # a byte every 0.2 s, no length: each read is short, the response never ends
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            started = time.monotonic()
            try:
                self.wfile.write(b'{"value": 1, "pad": "')
                self.wfile.flush()
                while time.monotonic() - started < float(query.get("s", ["30"])[0]):
                    time.sleep(0.2)
                    self.wfile.write(b"x")
                    self.wfile.flush()
                self.wfile.write(b'"}')
            except (BrokenPipeError, ConnectionResetError):
                with st.lock:
                    st.hits["/drip:cut"] += 1
            return
        if path == "/notnum":
            return self._send(200, {"data": {"value": "n/a"}})
        if path == "/redirect-good":
            return self._send(302, b"", extra={"Location": "/good"})
        if path == "/redirect-private":
            return self._send(302, b"", extra={"Location": "http://169.254.169.254/latest/meta-data/"})
        if path == "/redirect-localhost":
            return self._send(302, b"", extra={"Location": f"http://localhost:{st.port}/good"})
        if path == "/redirect-loop":
            return self._send(302, b"", extra={"Location": "/redirect-loop"})
        if path.startswith("/count/"):
            return self._send(200, {"value": hits})
        if path.startswith("/flaky/"):
            if hits <= int(query.get("fail", ["2"])[0]):
                return self._send(503, {"error": "try later"})
            return self._send(200, {"value": 7})
        if path == "/echo":
            return self._send(200, {"value": 1, "body": getattr(self, "body", b"").decode()})
        if path == "/api/v1/query":
            q = query.get("query", [""])[0]
            t = float(query.get("time", [time.time()])[0])
            if q == "bad(":
                return self._send(400, {"status": "error", "errorType": "bad_data", "error": "parse error"})
            if q == "many":
                return self._send(200, {"status": "success", "data": {"resultType": "vector", "result": [
                    {"metric": {"i": "1"}, "value": [t, "1"]}, {"metric": {"i": "2"}, "value": [t, "2"]}]}})
            if q == "none":
                return self._send(200, {"status": "success", "data": {"resultType": "vector", "result": []}})
            return self._send(200, {"status": "success", "data": {"resultType": "vector", "result": [
                {"metric": {}, "value": [t, "0.875"]}]}})
        if path == "/api/v1/query_range":
            start, end = float(query["start"][0]), float(query["end"][0])
            step = float(query["step"][0])
            values, t = [], start
            while t <= end:
                values.append([t, str(round(t % 1000 / 10, 3))])
                t += step
            return self._send(200, {"status": "success", "data": {"resultType": "matrix", "result": [
                {"metric": {"job": "api"}, "values": values}]}})
        return self._send(404, {"error": "unknown path"})


@pytest.fixture
def metrics_server():
    server = MetricsServer()
    yield server
    server.stop()


@pytest.fixture
def allow_loopback(settings):
    """Tests reach their servers on 127.0.0.1, which pulls refuse unless allowed."""
    settings.PMHUB_PULL_ALLOWED_HOSTS = ["127.0.0.1"]
    return settings


@pytest.fixture
def sql_source_db(db):
    """A separate PostgreSQL database on the local server, standing for a product's database.

    Yields its DSN; holds a table daily_signups(day timestamptz, signups int).
    """
    params = connection.settings_dict
    name = f"{params['NAME']}_sqlsource"
    admin = psycopg2.connect(host=params["HOST"] or "127.0.0.1", port=params["PORT"] or 5432,
                             user=params["USER"], dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cur.fetchone():
            cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    conn = psycopg2.connect(host=params["HOST"] or "127.0.0.1", port=params["PORT"] or 5432,
                            user=params["USER"], dbname=name)
    with conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS daily_signups")
        cur.execute("CREATE TABLE daily_signups (day timestamptz PRIMARY KEY, signups int NOT NULL)")
        cur.execute("INSERT INTO daily_signups VALUES ('2026-01-01T00:00:00Z', 120), ('2026-01-02T00:00:00Z', 135), "
                    "('2026-01-03T00:00:00Z', 150)")
    conn.close()
    yield {"dsn": f"postgres://{params['USER']}:s3cret-pw@127.0.0.1:{params['PORT'] or 5432}/{name}",
           "name": name, "params": params}


def make_kpi(product, key="signups", name=None):
    """A KPI with its series (the KPIs app's own factories may replace this)."""
    from kpis.models import KPI
    from kpis.timeseries.models import Series

    series = Series.objects.create(kind=Series.Kind.KPI, key=key)
    return KPI.objects.create(product=product, series=series, key=key, name=name or key.replace("-", " ").title())


__all__ += ["make_kpi"]


@pytest.fixture
def celery_beat_process(tmp_path):
    """Starts Celery beat (dispatching due sources every PMHUB_PULL_DISPATCH_INTERVAL s); stopped at teardown."""
    import os
    import sys

    from tests.fixtures_live import _log_path, process_env, spawn, stop

    procs = []

    def start(**env):
        cmd = [os.path.join(os.path.dirname(sys.executable), "celery"), "-A", "pmhub", "beat", "--loglevel", "INFO",
               "--schedule", str(tmp_path / "beat-schedule")]
        proc = spawn(cmd, process_env(**env), _log_path("beat"))
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        stop(proc)


__all__ += ["celery_beat_process"]


class FreezingProxy:
    """A TCP proxy on 127.0.0.1 to a real server that stops passing anything on, in both
    directions, once the client sends `trigger` (bytes): a server that hangs mid-query
    while its TCP stack stays up."""

    def __init__(self, target_port: int, trigger: bytes):
        import socket

        self.target_port, self.trigger = target_port, trigger
        self.frozen = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import socket

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, src, dst, from_client):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    return
                if from_client and self.trigger in data:
                    self.frozen.set()
                if self.frozen.is_set():
                    continue  # swallowed: the "server" never answers
                dst.sendall(data)
        except OSError:
            return

    def close(self):
        self.listener.close()
        for sock in self.sockets:
            try:
                sock.close()
            except OSError:
                pass


__all__ += ["FreezingProxy"]
