"""API rate limits: per token, else per logged-in user, else per client address.

Rates come from settings (API_THROTTLE_RATE, API_THROTTLE_RATE_ANON in the
environment) and are read on each request, so tests and operators can change
them. The counters live in the cache (Redis): if it is down, requests are let
through rather than refused, since ingest must keep answering.

On Redis the count is a sliding window estimated from two fixed-window counters
(this minute's and the last one's, weighted by how much of the last one still
lies in the window): one round trip per request (INCR, EXPIRE, GET in a
pipeline), and concurrent requests of one token cannot overwrite each other's
count. Other caches (the embedded file cache) use DRF's list of timestamps.
"""
import logging
import math
import time

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiToken
from .net import client_ip

log = logging.getLogger(__name__)

# After a cache failure this process stops asking the cache for a while, so a
# Redis outage costs one slow request per process, not a timeout per request.
CACHE_RETRY_AFTER = 5.0
_cache_down_until = 0.0


class _FailOpenThrottle(SimpleRateThrottle):
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        global _cache_down_until
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if time.monotonic() < _cache_down_until:
            return True
        try:
            backend = caches["default"]  # what self.cache (a proxy) stands for
            if isinstance(backend, RedisCache):
                return self._allow_request_redis(request, view, backend)
            return super().allow_request(request, view)
        except Exception as exc:  # noqa: BLE001 - the cache is down: let the request through
            _cache_down_until = time.monotonic() + CACHE_RETRY_AFTER
            log.warning("API throttling off for %.0f s, cache unavailable: %s", CACHE_RETRY_AFTER, type(exc).__name__)
            return True

    def _allow_request_redis(self, request, view, backend):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window, into = divmod(self.now, self.duration)
        base = backend.make_and_validate_key(self.key)
        current, previous = f"{base}:{int(window)}", f"{base}:{int(window) - 1}"
        client = backend._cache.get_client(write=True)  # Django's pool, timeouts and retry
        pipe = client.pipeline(transaction=False)
        pipe.incr(current)
        pipe.expire(current, 2 * self.duration)
        pipe.get(previous)
        count, _, before = pipe.execute()
        before = int(before or 0)
        left = 1 - into / self.duration  # share of the previous window still inside the sliding one
        if before * left + count <= self.num_requests:
            return True
        client.decr(current)  # a refused request does not count against the allowance
        # Retry-After: when this request would fit, the previous window's weight falling with time.
        if before and (before * left + count - self.num_requests) / before <= left:
            self._wait = self.duration * (before * left + count - self.num_requests) / before
        else:  # only once the window turns, this window's count then being the previous one
            after = count - 1
            self._wait = self.duration * left + (
                self.duration * max(0.0, 1 - (self.num_requests - 1) / after) if after else 0.0)
        return False

    def wait(self):
        if hasattr(self, "_wait"):
            return max(1, min(math.ceil(self._wait), self.duration))
        return super().wait()

    def get_ident(self, request):
        return client_ip(request)


class ApiClientRateThrottle(_FailOpenThrottle):
    """Authenticated callers: one bucket per API token, or per user for browser sessions."""

    scope = "api"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ApiAnonRateThrottle(_FailOpenThrottle):
    """Anonymous callers (schema, failed logins): one bucket per client address."""

    scope = "api_anon"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
