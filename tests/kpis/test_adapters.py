"""Adapters against real servers on 127.0.0.1: HTTP JSON, Prometheus API, PostgreSQL."""
from datetime import datetime, timezone

import pytest

from kpis.sources.adapters import ADAPTERS, PullError, TransientPullError, net
from tests.kpis.pull_servers import *  # noqa: F403 - fixtures

SLOT = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def fetch(kind, config, secrets=None, timeout=5.0):
    adapter = ADAPTERS[kind]
    config, secrets = adapter.clean(config, secrets or {})
    return adapter.fetch(config=config, secrets=secrets, slot=SLOT, timeout=timeout).points


def http(server, path, json_path="", **extra):
    return fetch("http_json", {"url": server.url + path, "json_path": json_path, **extra.pop("config", {})}, **extra)


# --- HTTP JSON ----------------------------------------------------------------------------------

def test_value_at_json_path_is_stored_at_the_slot(metrics_server, allow_loopback):
    points = http(metrics_server, "/good", "data.value")
    assert [(p.ts, p.value) for p in points] == [(SLOT, 42.5)]


def test_list_of_points_keeps_their_own_times(metrics_server, allow_loopback):
    points = http(metrics_server, "/series", "$.points")
    assert [p.value for p in points] == [1.0, 2.5, 4.0]
    assert points[0].ts == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert points[2].ts == datetime(2026, 1, 1, 2, tzinfo=timezone.utc)
    pairs = http(metrics_server, "/pairs")
    assert [p.value for p in pairs] == [10.0, 11.0]


def test_headers_are_sent_and_post_body_too(metrics_server, allow_loopback):
    http(metrics_server, "/echo", "value", secrets={"headers": {"Authorization": "Bearer abc123"}},
         config={"method": "POST", "body": '{"q": 1}'})
    assert metrics_server.headers_seen["/echo"]["Authorization"] == "Bearer abc123"


@pytest.mark.parametrize("path, json_path, message", [
    ("/good", "data.missing", "finds nothing at $.data.missing"),
    ("/good", "data", "finds an object"),
    ("/notnum", "data.value", "'n/a', not a number"),
    ("/html", "value", "not JSON (text/html"),
    ("/notfound", "", "answered 404"),
    ("/huge", "value", "at most 2,097,152 are read"),
    ("/huge-chunked", "value", "larger than 2,097,152 bytes"),
    ("/redirect-loop", "", "more than 5 redirects"),
])
def test_bad_responses_fail_without_retry(metrics_server, allow_loopback, path, json_path, message):
    with pytest.raises(PullError) as exc:
        http(metrics_server, path, json_path)
    assert message in str(exc.value)
    assert not exc.value.retriable


def test_5xx_timeouts_and_refused_connections_are_retriable(metrics_server, allow_loopback):
    with pytest.raises(TransientPullError, match="answered 500"):
        http(metrics_server, "/error500")
    with pytest.raises(TransientPullError, match="did not answer within 1 s"):
        fetch("http_json", {"url": metrics_server.url + "/slow?s=3"}, timeout=1)
    from tests.fixtures_live import free_port

    with pytest.raises(TransientPullError, match="cannot connect"):
        fetch("http_json", {"url": f"http://127.0.0.1:{free_port()}/x"})


def test_a_server_that_drips_bytes_is_cut_off_at_the_timeout(metrics_server, allow_loopback):
    """Each read returns within the read timeout, so only the watchdog bounds the request:
    pulls run in a threads pool, where Celery enforces no time limit."""
    import time

    started = time.monotonic()
    with pytest.raises(TransientPullError, match="timed out after 1 s|did not finish answering within 1 s"):
        fetch("http_json", {"url": metrics_server.url + "/drip?s=30", "json_path": "value"}, timeout=1)
    assert time.monotonic() - started < 15  # the server would drip for 30 s
    deadline = time.monotonic() + 5
    while not metrics_server.hits["/drip:cut"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert metrics_server.hits["/drip:cut"] == 1  # the connection was closed under it
    # The thread's next pull works (the cut connection is not reused).
    assert http(metrics_server, "/good", "data.value")[0].value == 42.5


def test_redirects_are_followed_and_checked_on_every_hop(metrics_server, allow_loopback):
    assert http(metrics_server, "/redirect-good", "data.value")[0].value == 42.5
    # 169.254.169.254 (cloud metadata) is link-local: refused even though the first hop was allowed.
    with pytest.raises(net.HostRefused, match="169.254.169.254"):
        http(metrics_server, "/redirect-private")
    # localhost resolves to loopback and only 127.0.0.1 is on the allow list.
    with pytest.raises(net.HostRefused, match="localhost resolves to"):
        http(metrics_server, "/redirect-localhost", "data.value")


def test_loopback_is_refused_unless_the_setting_allows_it(metrics_server, settings):
    settings.PMHUB_PULL_ALLOWED_HOSTS = []
    with pytest.raises(net.HostRefused, match="127.0.0.1 resolves to 127.0.0.1"):
        http(metrics_server, "/good", "data.value")
    assert metrics_server.hits["/good"] == 0  # refused before connecting


@pytest.mark.parametrize("address", ["10.1.2.3", "192.168.0.1", "172.16.5.4", "169.254.169.254", "100.100.100.200",
                                     "224.0.0.1", "0.0.0.0", "::1", "fd00:ec2::254", "::ffff:127.0.0.1", "240.0.0.1"])
def test_private_and_special_addresses_are_not_public(address):
    import ipaddress

    assert not net.address_is_public(ipaddress.ip_address(address))
    assert net.address_is_public(ipaddress.ip_address("93.184.216.34"))


def test_urls_with_other_schemes_or_credentials_are_refused():
    from django.core.exceptions import ValidationError

    for url, field_message in [("file:///etc/passwd", "Only http and https"), ("ftp://x/", "Only http and https"),
                               ("http://user:pw@example.com/", "not in the URL")]:
        with pytest.raises(ValidationError) as exc:
            ADAPTERS["http_json"].clean({"url": url}, {})
        assert field_message in str(exc.value.message_dict["url"])


# --- Prometheus ---------------------------------------------------------------------------------

def test_prometheus_instant_query_is_evaluated_at_the_slot(metrics_server, allow_loopback):
    points = fetch("prometheus", {"url": metrics_server.url, "query": "sum(rate(x[5m]))"})
    assert [(p.ts, p.value) for p in points] == [(SLOT, 0.875)]


def test_prometheus_range_query_stores_every_step(metrics_server, allow_loopback):
    points = fetch("prometheus", {"url": metrics_server.url, "query": "up", "mode": "range",
                                  "range_minutes": 10, "step_seconds": 60})
    assert len(points) == 11
    assert points[-1].ts == SLOT


@pytest.mark.parametrize("query, message", [("bad(", "answered 400"), ("many", "returned 2 series"),
                                            ("none", "no series")])
def test_prometheus_errors_are_clear(metrics_server, allow_loopback, query, message):
    with pytest.raises(PullError, match=message):
        fetch("prometheus", {"url": metrics_server.url, "query": query})


# --- SQL ----------------------------------------------------------------------------------------

def test_sql_value_and_rows(sql_source_db, allow_loopback):
    dsn = {"dsn": sql_source_db["dsn"]}
    one = fetch("sql", {"query": "SELECT sum(signups) FROM daily_signups;"}, dsn)
    assert [(p.ts, p.value) for p in one] == [(SLOT, 405.0)]
    rows = fetch("sql", {"query": "SELECT day, signups FROM daily_signups ORDER BY day"}, dsn)
    assert [p.value for p in rows] == [120.0, 135.0, 150.0]
    assert rows[0].ts == datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_sql_runs_read_only_with_a_statement_timeout(sql_source_db, allow_loopback):
    import psycopg2

    dsn = {"dsn": sql_source_db["dsn"]}
    with pytest.raises(PullError, match="tried to write"):
        fetch("sql", {"query": "INSERT INTO daily_signups VALUES (now(), 1) RETURNING signups"}, dsn)
    with pytest.raises(PullError, match="tried to write"):
        fetch("sql", {"query": "WITH d AS (DELETE FROM daily_signups RETURNING signups) SELECT sum(signups) FROM d"}, dsn)
    with pytest.raises(PullError, match="ran longer than 1 s"):
        fetch("sql", {"query": "SELECT 1 FROM pg_sleep(3)"}, dsn, timeout=1)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="more than one statement"):
        fetch("sql", {"query": "SELECT 1; COMMIT; SET default_transaction_read_only = off; DELETE FROM daily_signups"}, dsn)
    p = sql_source_db["params"]
    conn = psycopg2.connect(host="127.0.0.1", port=p["PORT"] or 5432, user=p["USER"], dbname=sql_source_db["name"])
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM daily_signups")
        assert cur.fetchone()[0] == 3
    conn.close()


def test_sql_on_a_server_that_hangs_mid_query_is_cut_off(sql_source_db, allow_loopback):
    """statement_timeout needs a server that answers; past the timeout plus a grace the
    adapter shuts its socket down itself (the threads pool enforces no Celery time limit)."""
    import time

    p = sql_source_db["params"]
    proxy = FreezingProxy(int(p["PORT"] or 5432), trigger=b"SELECT 4242")  # noqa: F405
    try:
        dsn = {"dsn": f"postgres://{p['USER']}@127.0.0.1:{proxy.port}/{sql_source_db['name']}"}
        started = time.monotonic()
        with pytest.raises(TransientPullError, match="did not answer within 1 s"):
            fetch("sql", {"query": "SELECT 4242"}, dsn, timeout=1)
        assert proxy.frozen.is_set()
        assert time.monotonic() - started < 30  # without the cut it would wait forever
    finally:
        proxy.close()


def test_sql_refuses_other_schemes_and_private_hosts(sql_source_db, settings):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="Only PostgreSQL"):
        ADAPTERS["sql"].clean({"query": "SELECT 1"}, {"dsn": "sqlite:///var/pmhub.sqlite3"})
    settings.PMHUB_PULL_ALLOWED_HOSTS = []
    with pytest.raises(net.HostRefused, match="127.0.0.1"):
        fetch("sql", {"query": "SELECT 1"}, {"dsn": sql_source_db["dsn"]})


def test_sql_shape_errors(sql_source_db, allow_loopback):
    dsn = {"dsn": sql_source_db["dsn"]}
    with pytest.raises(PullError, match="must return one row"):
        fetch("sql", {"query": "SELECT signups FROM daily_signups"}, dsn)
    with pytest.raises(PullError, match="3 columns"):
        fetch("sql", {"query": "SELECT 1, 2, 3"}, dsn)
    with pytest.raises(PullError, match="not a number"):
        fetch("sql", {"query": "SELECT 'abc'"}, dsn)
    with pytest.raises(PullError, match="refused the query"):
        fetch("sql", {"query": "SELECT nope FROM nowhere"}, dsn)
