"""Outbound requests that can only reach hosts settings allow (the SSRF guard).

Every connection resolves the host name itself, refuses it if any address it
resolves to is loopback, private, link-local (cloud metadata lives there),
multicast, reserved or otherwise not globally routable, and then connects to
the address it checked (so a DNS answer that changes between check and connect
cannot slip through). Redirects are followed by hand, so every hop is checked
the same way. Hosts listed in PMHUB_PULL_ALLOWED_HOSTS skip the address check
(on-premise Prometheus, databases). Responses are read in chunks up to
PMHUB_PULL_MAX_BYTES and within the source's timeout as a whole.
"""
from __future__ import annotations

import ipaddress
import socket
import threading
import time
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from kpis.sources.adapters.base import PullError, TransientPullError

MAX_REDIRECTS = 5
# The watchdog cuts a fetch this long after its timeout (the fetch's own checks come first).
WATCHDOG_GRACE = 0.5
USER_AGENT = "pmhub-pull/1.0"


class HostRefused(PullError):
    pass


def host_allowed_by_setting(host: str) -> bool:
    allowed = {h.strip().lower().rstrip(".") for h in settings.PMHUB_PULL_ALLOWED_HOSTS if h.strip()}
    return (host or "").lower().rstrip(".").strip("[]") in allowed


def address_is_public(ip: ipaddress._BaseAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local
                                 or ip.is_loopback or ip.is_private or ip.is_unspecified)


def resolve_checked(host: str, port: int) -> str:
    """The address to connect to for host:port, or HostRefused."""
    host = (host or "").strip("[]")
    if not host:
        raise HostRefused("the URL has no host")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TransientPullError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    addresses = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise TransientPullError(f"cannot resolve {host}")
    if not host_allowed_by_setting(host):
        refused = [ip for ip in addresses if not address_is_public(ip)]
        if refused:
            raise HostRefused(
                f"{host} resolves to {refused[0]}, a loopback, private, link-local or reserved address; "
                f"pulls may not reach it unless an administrator lists the host in PMHUB_PULL_ALLOWED_HOSTS"
            )
    return str(addresses[0])


class _GuardMixin:
    def _new_conn(self):
        self._dns_host = resolve_checked(self.host, self.port)
        return super()._new_conn()

    def request(self, *args, **kwargs):
        watch = getattr(_local, "watch", None)
        if watch is not None:
            watch.conns.append(self)
        result = super().request(*args, **kwargs)
        if watch is not None and self.sock is not None:
            # The response may outlive self.sock (http.client hands a closing connection's
            # socket over to its response), so the watchdog keeps the socket itself too.
            watch.conns.append(self.sock)
        return result


class _Watchdog:
    """Shuts down the sockets of one fetch once its time is up.

    The per-recv read timeout alone does not bound a request: a server that drips a
    byte every few seconds keeps every recv short. Pulls run in a threads pool, where
    Celery enforces no soft or hard time limit (a thread cannot be killed), so this
    is the hard bound: at the deadline a timer thread shuts the connection's socket
    down, the blocked read returns at once, and the fetch fails as timed out.
    """

    def __init__(self, seconds: float):
        self.conns: list = []
        self.fired = self.cancelled = False
        self.lock = threading.Lock()  # cancel() waits for a firing timer: a pooled connection the
        self.timer = threading.Timer(seconds, self._fire)  # next fetch reuses is never cut
        self.timer.daemon = True

    def _fire(self):
        with self.lock:
            if self.cancelled:
                return
            self.fired = True
            for conn in list(self.conns):
                sock = conn if isinstance(conn, socket.socket) else getattr(conn, "sock", None)
                if sock is not None:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

    def cancel(self):
        """Afterwards `fired` is final."""
        self.timer.cancel()
        with self.lock:
            self.cancelled = True


class GuardedHTTPConnection(_GuardMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardMixin, HTTPSConnection):
    pass


class GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}


_local = threading.local()


def session() -> requests.Session:
    """One keep-alive session per thread; ignores proxy variables of the environment."""
    s = getattr(_local, "session", None)
    if s is None:
        s = requests.Session()
        s.trust_env = False
        adapter = GuardedAdapter(pool_connections=32, pool_maxsize=32, max_retries=0)
        s.mount("http://", adapter)
        s.mount("https://", adapter)
        s.headers["User-Agent"] = USER_AGENT
        _local.session = s
    return s


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise HostRefused(f"only http and https URLs may be pulled, not {parts.scheme or 'no scheme'}")
    if not parts.hostname:
        raise HostRefused("the URL has no host")
    if parts.username or parts.password:
        raise HostRefused("put credentials in a header, not in the URL")


def fetch(url: str, *, method: str = "GET", headers: dict | None = None, params: dict | None = None,
          body: bytes | None = None, timeout: float = 10.0) -> tuple[int, str, bytes]:
    """(status, content type, body) of url, redirects followed by hand under the guard.

    Raises HostRefused, TransientPullError (connection errors, timeouts, 5xx) or
    PullError (4xx, too large, too many redirects). Takes at most `timeout` seconds
    (plus the connect timeout of a connection opened just before it), whatever the server does.
    """
    watch = _Watchdog(timeout + WATCHDOG_GRACE)
    _local.watch = watch
    watch.timer.start()
    try:
        result = _fetch(url, method=method, headers=headers, params=params, body=body, timeout=timeout)
    except PullError as exc:
        said_so = "timed out" in str(exc) or "within" in str(exc)
        if watch.fired and not isinstance(exc, HostRefused) and not said_so:
            # The socket was shut under a read that was still getting bytes (a trickle).
            raise TransientPullError(f"the server did not finish answering within {timeout:g} s") from None
        raise
    finally:
        watch.cancel()
        _local.watch = None
        if watch.fired:  # its connections are cut: start the next fetch with a fresh pool
            stale = getattr(_local, "session", None)
            _local.session = None
            if stale is not None:
                stale.close()
    if watch.fired:  # a body cut short at the deadline may still look complete
        raise TransientPullError(f"the server did not finish answering within {timeout:g} s")
    return result


def _fetch(url, *, method, headers, params, body, timeout):
    deadline = time.monotonic() + timeout
    max_bytes = settings.PMHUB_PULL_MAX_BYTES
    headers = dict(headers or {})
    origin = None
    for _hop in range(MAX_REDIRECTS + 1):
        check_url(url)
        parts = urlsplit(url)
        here = (parts.scheme, parts.hostname, parts.port)
        if origin is None:
            origin = here
        elif here != origin:
            headers = {}  # secrets never follow a redirect to another origin
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TransientPullError(f"timed out after {timeout:g} s")
        try:
            response = session().request(method, url, headers=headers, params=params, data=body,
                                         timeout=(min(remaining, 5.0), remaining), allow_redirects=False,
                                         stream=True)
        except PullError:  # the guard's refusal or a failed resolution, raised inside urllib3
            raise
        except requests.exceptions.ConnectionError as exc:
            reason = _root_cause(exc)
            if isinstance(reason, PullError):
                raise reason from None
            if isinstance(exc, requests.exceptions.ConnectTimeout):
                raise TransientPullError(f"connecting to {parts.hostname} timed out") from None
            raise TransientPullError(f"cannot connect to {parts.hostname}:{parts.port or ''}: {_short(reason)}") from None
        except requests.exceptions.Timeout:
            raise TransientPullError(f"{parts.hostname} did not answer within {timeout:g} s") from None
        except requests.exceptions.RequestException as exc:
            raise PullError(f"request failed: {_short(exc)}") from None
        with response:
            if response.is_redirect:
                location = response.headers.get("Location", "")
                url = urljoin(url, location)
                params = None
                if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                    method, body = "GET", None
                continue
            data = _read_capped(response, deadline=deadline, max_bytes=max_bytes, timeout=timeout)
            status = response.status_code
            ctype = response.headers.get("Content-Type", "")
        if status >= 500:
            raise TransientPullError(f"the server answered {status} {response.reason or ''}".strip())
        if status >= 400:
            raise PullError(f"the server answered {status} {response.reason or ''}".strip())
        return status, ctype, data
    raise PullError(f"more than {MAX_REDIRECTS} redirects")


def _read_capped(response, *, deadline: float, max_bytes: int, timeout: float) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PullError(f"the response is {int(declared):,} bytes; at most {max_bytes:,} are read")
    chunks, size = [], 0
    try:
        for chunk in response.iter_content(chunk_size=65536):
            size += len(chunk)
            if size > max_bytes:
                raise PullError(f"the response is larger than {max_bytes:,} bytes")
            if time.monotonic() > deadline:
                raise TransientPullError(f"timed out after {timeout:g} s while reading the response")
            chunks.append(chunk)
    except requests.exceptions.RequestException as exc:
        if "timed out" in str(exc).lower() or "timeout" in type(_root_cause(exc)).__name__.lower():
            raise TransientPullError(f"timed out after {timeout:g} s while reading the response") from None
        raise TransientPullError(f"the connection broke while reading the response: {_short(exc)}") from None
    return b"".join(chunks)


def _root_cause(exc: BaseException) -> BaseException:
    seen = set()
    while True:
        nxt = exc.__cause__ or exc.__context__
        if isinstance(exc, PullError) or nxt is None or id(nxt) in seen:
            return exc
        seen.add(id(exc))
        # urllib3 wraps errors in MaxRetryError(reason=...)
        reason = getattr(exc, "reason", None)
        if isinstance(reason, BaseException):
            exc = reason
            continue
        exc = nxt


def _short(exc) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "…"
