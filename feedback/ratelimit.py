"""A fixed-window rate limit on Django's cache (Redis in production: INCR is atomic).

Used by the public feedback link: each client address may send `limit` forms per
`window` seconds; others are not affected, so a flood from one address never
crowds out honest people elsewhere.
"""
import time

from django.conf import settings
from django.core.cache import cache


def public_rate() -> tuple[int, int]:
    """(limit, window seconds) from FEEDBACK_PUBLIC_RATE ("count/seconds"), default 10 per 10 minutes."""
    limit, window = str(getattr(settings, "FEEDBACK_PUBLIC_RATE", "10/600")).split("/")
    return int(limit), int(window)


def hit(key: str, *, limit: int, window: int) -> tuple[bool, int]:
    """Count one request under key: (allowed, seconds until the window resets)."""
    now = time.time()
    bucket = int(now // window)
    cache_key = f"feedback:rate:{key}:{bucket}"
    if cache.add(cache_key, 1, timeout=window + 5):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.set(cache_key, 1, timeout=window + 5)
            count = 1
    retry_after = max(1, int((bucket + 1) * window - now))
    return count <= limit, retry_after


def client_address(request) -> str:
    """The client's address. Behind a trusted proxy (BEHIND_TLS_PROXY) the last
    X-Forwarded-For hop the proxy added; otherwise REMOTE_ADDR, never a header a client can forge."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()[:64]
    return request.META.get("REMOTE_ADDR", "")[:64] or "unknown"
