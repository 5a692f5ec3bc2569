"""API rate limits: per token, else per logged-in user, else per client address.

Rates come from settings (API_THROTTLE_RATE, API_THROTTLE_RATE_ANON in the
environment) and are read on each request, so tests and operators can change
them. The counters live in the cache (Redis): if it is down, requests are let
through rather than refused, since ingest must keep answering.
"""
import logging
import time

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
            return super().allow_request(request, view)
        except Exception as exc:  # noqa: BLE001 - the cache is down: let the request through
            _cache_down_until = time.monotonic() + CACHE_RETRY_AFTER
            log.warning("API throttling off for %.0f s, cache unavailable: %s", CACHE_RETRY_AFTER, type(exc).__name__)
            return True

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
