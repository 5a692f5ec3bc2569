"""Oversized and endless request bodies are refused before anything reads them.

Against a real gunicorn: a client declares a huge Content-Length and sends almost nothing, or
streams an endless chunked body; the answer (413 / 411 JSON) comes at once, while the client is
still sending, nothing is stored, and the server goes on serving. In-process: JSON ingest, API
writes, HTML forms and the CSV upload, each just over its limit, are refused with 413 and change
nothing.
"""
import io
import json
import socket
import threading
import time

import pytest
import requests
from django.conf import settings

from kpis.models import ImportJob
from kpis.timeseries.models import Point
from tests.kpis.factories import make_kpi


def _raw_request(base_url, head: str, body_chunks, *, send_seconds: float, while_sending=None):
    """Send head, then body_chunks for up to send_seconds in a thread.

    Returns (status line, headers, body, elapsed, still_sending): still_sending is true when the
    answer came while the client was still sending, or the server cut the connection on it.
    """
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=20)
    sock.sendall(head.encode())
    stop = threading.Event()
    sent = {"bytes": 0, "closed_by_server": False}

    def feed():
        deadline = time.monotonic() + send_seconds
        try:
            for chunk in body_chunks:
                if stop.is_set() or time.monotonic() > deadline:
                    return
                sock.sendall(chunk)
                sent["bytes"] += len(chunk)
                time.sleep(0.01)
        except OSError:
            sent["closed_by_server"] = not stop.is_set()

    sender = threading.Thread(target=feed, daemon=True)
    started = time.monotonic()
    sender.start()
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part:
            break
        data += part
    head_bytes, _, rest = data.partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head_bytes.decode().split("\r\n")[1:] if ": " in line)
    if while_sending:
        while_sending()
    sock.settimeout(1)
    while True:  # the answer says Connection: close: read to the end
        try:
            part = sock.recv(65536)
        except OSError:
            break
        if not part:
            break
        rest += part
        if headers.get("Transfer-Encoding") == "chunked" and rest.endswith(b"0\r\n\r\n"):
            break
        if "Content-Length" in headers and len(rest) >= int(headers["Content-Length"]):
            break
    if headers.get("Transfer-Encoding") == "chunked":
        decoded, buf = b"", rest
        while buf:
            size_line, _, buf = buf.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            decoded, buf = decoded + buf[:size], buf[size + 2:]
        rest = decoded
    elapsed = time.monotonic() - started
    still_sending = sender.is_alive() or sent["closed_by_server"]
    stop.set()
    sock.close()
    sender.join(5)
    return head_bytes.decode().split("\r\n")[0], headers, rest, elapsed, still_sending


@pytest.fixture
def live_kpi(transactional_db, gunicorn_server):
    from pmhub.services import api_token_create
    from tests import factories

    product = factories.ProductFactory(slug="bodies")
    pm = factories.member(product, "pm")
    kpi = make_kpi(product, "signups")
    _, token = api_token_create(user=pm, name="bodies")
    return gunicorn_server, kpi, token


def _endless_chunks(size=64 * 1024):
    chunk = b'{"ts": "2026-11-01T00:00:00Z", "value": 1.0},' * (size // 46)
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    while True:
        yield framed


def test_endless_chunked_body_is_refused_while_the_client_still_sends(live_kpi):
    base, kpi, token = live_kpi
    head = (f"POST /api/v1/kpis/{kpi.pk}/points HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    served = []

    def another_caller():  # while the endless body still streams in
        ok = requests.get(f"{base}/api/v1/kpis/{kpi.pk}/", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        served.append(ok.status_code)

    status, headers, body, elapsed, still_sending = _raw_request(base, head, _endless_chunks(), send_seconds=30,
                                                                 while_sending=another_caller)
    assert status.split()[1] == "411", (status, body)
    assert json.loads(body)["detail"].startswith("Send the body with a Content-Length")
    assert still_sending, "the answer only came once the client stopped sending"
    assert served == [200]
    assert not Point.objects.filter(series_id=kpi.series_id).exists()


def test_huge_declared_body_is_refused_before_it_is_sent(live_kpi):
    base, kpi, token = live_kpi
    declared = 50 * 1024 ** 3  # 50 GiB announced; a few KB sent, slowly
    head = (f"POST /api/v1/kpis/{kpi.pk}/points HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n")
    status, headers, body, elapsed, still_sending = _raw_request(base, head, iter([b'{"points": ['] * 1000),
                                                                 send_seconds=30)
    assert status.split()[1] == "413", (status, body)
    assert json.loads(body)["detail"].startswith("The request body is larger than the limit")
    assert still_sending, "the answer only came once the client stopped sending"
    # Multipart (the CSV upload) has its own, larger limit; a body past it is refused the same way.
    head = (f"POST /kpis/{kpi.product.slug}/k/{kpi.key}/import/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {declared}\r\nAccept: text/html\r\n\r\n")
    status, headers, body, elapsed, still_sending = _raw_request(base, head, iter([b"--x\r\n" * 1000]), send_seconds=30)
    assert status.split()[1] == "413" and b"larger than the limit" in body
    assert not Point.objects.filter(series_id=kpi.series_id).exists()


@pytest.mark.django_db
def test_oversized_ingest_batch_is_refused_and_nothing_stored(api, pm, product):
    kpi = make_kpi(product, "dau")
    api.as_user(pm)
    point = b'{"ts": "2026-11-01T00:00:00Z", "value": 1.0}, '
    body = b'{"points": [' + point * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE // len(point) + 1) + b'{"ts": 1, "value": 1}]}'
    response = api.generic("POST", f"/api/v1/kpis/{kpi.pk}/points", body, content_type="application/json")
    assert response.status_code == 413 and "larger than the limit" in response.json()["detail"]
    assert not Point.objects.filter(series_id=kpi.series_id).exists()
    # The same batch just under the limit is read (and refused for its content, not its size).
    small = b'{"points": [' + point * 10 + b'{"ts": "x", "value": 1}]}'
    assert api.generic("POST", f"/api/v1/kpis/{kpi.pk}/points", small, content_type="application/json").status_code == 400


@pytest.mark.django_db
def test_oversized_csv_upload_is_refused_and_no_import_starts(client, pm, product, settings):
    settings.UPLOAD_MAX_BODY_SIZE = 64 * 1024  # the real limit is 210 MiB; the rule is the same
    kpi = make_kpi(product, "revenue")
    client.force_login(pm)
    rows = "ts,value\n" + "".join(f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z,{i}\n" for i in range(4000))
    upload = io.BytesIO(rows.encode())
    upload.name = "big.csv"
    response = client.post(f"/kpis/{product.slug}/k/{kpi.key}/import/", {"file": upload}, HTTP_ACCEPT="text/html")
    assert response.status_code == 413 and b"larger than the limit" in response.content
    assert not ImportJob.objects.exists() and not Point.objects.filter(series_id=kpi.series_id).exists()


@pytest.mark.django_db
def test_chunked_body_is_refused_in_process_too(api, pm, product):
    kpi = make_kpi(product, "wau")
    api.as_user(pm)
    response = api.generic("POST", f"/api/v1/kpis/{kpi.pk}/points", b'{"points": []}', content_type="application/json",
                           HTTP_TRANSFER_ENCODING="chunked")
    assert response.status_code == 411
    assert response.json()["detail"].startswith("Send the body with a Content-Length")
