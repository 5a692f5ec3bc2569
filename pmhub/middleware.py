"""Request guards that answer before the application gets in trouble."""
import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse, JsonResponse

log = logging.getLogger(__name__)

DB_UNAVAILABLE_RETRY_AFTER = 5


def _wants_html(request) -> bool:
    return not request.path.startswith("/api/") and "text/html" in request.META.get("HTTP_ACCEPT", "")


def _bare_page(html: str, status: int) -> HttpResponse:
    """A page answered from outside the middleware that adds CSP: it carries its own."""
    response = HttpResponse(html, status=status)
    response["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
    response["X-Frame-Options"] = "DENY"
    return response


def database_unavailable_response(request) -> HttpResponse:
    """503 with a JSON error (a bare HTML page for browsers); renders nothing from the database."""
    detail = "The database is unavailable. Try again in a few seconds."
    if _wants_html(request):
        response = _bare_page(
            "<!doctype html><html lang=en><meta charset=utf-8><title>pmhub is unavailable</title>"
            f"<h1>pmhub is unavailable</h1><p>{detail}</p></html>",
            503,
        )
    else:
        response = JsonResponse({"detail": detail}, status=503)
    response["Retry-After"] = str(DB_UNAVAILABLE_RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """A PostgreSQL outage is answered at once with 503 + JSON instead of a 500 page.

    connect_timeout (DB_CONNECT_TIMEOUT) bounds how long a request waits for a
    server that does not answer; CONN_HEALTH_CHECKS makes the next request
    after the outage open a fresh connection, so serving resumes by itself.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        except (OperationalError, InterfaceError) as exc:
            return self._unavailable(request, exc)

    def process_exception(self, request, exception):
        if isinstance(exception, (OperationalError, InterfaceError)):
            return self._unavailable(request, exception)
        return None

    def _unavailable(self, request, exc):
        log.warning("database unavailable while serving %s %s: %s: %s", request.method, request.path,
                    type(exc).__name__, str(exc).strip()[:200])
        for conn in connections.all(initialized_only=True):
            # A broken connection must not be reused by this thread's next request.
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass
        return database_unavailable_response(request)


class RequestSizeLimitMiddleware:
    """Refuse a body over the limit from its Content-Length, before anything reads it.

    Django enforces DATA_UPLOAD_MAX_MEMORY_SIZE only for form data it parses
    itself; DRF's parsers read the raw stream. This applies the same limit to
    every body (JSON included), and UPLOAD_MAX_BODY_SIZE to multipart uploads.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            # Django reads a body only up to its Content-Length: without one it would see an empty
            # body and answer as if nothing had been sent. Say so instead, and read none of it.
            return length_required_response(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if request.path.startswith(getattr(settings, "STREAMED_BODY_PATH_PREFIXES", ())):
            return self.get_response(request)  # the view streams the body and enforces its own limit
        content_type = request.META.get("CONTENT_TYPE", "")
        limit = (
            settings.UPLOAD_MAX_BODY_SIZE
            if content_type.startswith("multipart/form-data")
            else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        )
        if limit is not None and length > limit:
            return request_too_large_response(request, limit)
        return self.get_response(request)


def length_required_response(request) -> HttpResponse:
    detail = "Send the body with a Content-Length header (chunked request bodies are not accepted)."
    if _wants_html(request):
        response = _bare_page(f"<!doctype html><title>Length required</title><p>{detail}</p>", 411)
    else:
        response = JsonResponse({"detail": detail}, status=411)
    return response


def request_too_large_response(request, limit: int) -> HttpResponse:
    detail = f"The request body is larger than the limit of {limit} bytes."
    if _wants_html(request):
        response = _bare_page(f"<!doctype html><title>Too large</title><p>{detail}</p>", 413)
    else:
        response = JsonResponse({"detail": detail}, status=413)
    # The body was not read: the connection cannot be reused for another request.
    response["Connection"] = "close"
    return response
