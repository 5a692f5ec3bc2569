"""Checks that hold for every test: each HTML page served carries the CSP header.

Every response the Django handler produces during a test (test client and the
live server behind the browser alike) is looked at; an HTML page without a
Content-Security-Policy or clickjacking protection fails the test that asked
for it. Pages drawn by the suite are all pages of pmhub, so this is the test
that "every page carries it".
"""
import threading

import pytest
from django.core.handlers.base import BaseHandler

_lock = threading.Lock()
_served: list[tuple[str, int, bool, bool]] = []
_original_get_response = BaseHandler.get_response


def _recording_get_response(self, request):
    response = _original_get_response(self, request)
    if "text/html" in response.get("Content-Type", "") and response.status_code < 500:
        with _lock:
            _served.append((
                request.get_full_path(), response.status_code,
                "Content-Security-Policy" in response, response.get("X-Frame-Options") == "DENY",
            ))
    return response


BaseHandler.get_response = _recording_get_response


@pytest.fixture(autouse=True)
def _every_page_has_csp():
    with _lock:
        _served.clear()
    yield
    with _lock:
        missing = [(path, status) for path, status, csp, _ in _served if not csp]
        frameable = [(path, status) for path, status, _, xfo in _served if not xfo]
        _served.clear()
    assert not missing, f"HTML pages served without Content-Security-Policy: {missing[:10]}"
    assert not frameable, f"HTML pages served without X-Frame-Options: DENY: {frameable[:10]}"


def html_pages_served() -> int:
    with _lock:
        return len(_served)
