"""The client's address, as login lockout and API throttling see it."""
from django.conf import settings


def client_ip(request) -> str:
    """REMOTE_ADDR, or the address the trusted proxies recorded in X-Forwarded-For.

    With TRUSTED_PROXY_COUNT = n, the n-th address from the right of
    X-Forwarded-For is the client (each proxy appends the address it saw);
    anything further left was sent by the client and cannot be trusted.
    """
    remote = request.META.get("REMOTE_ADDR", "") or ""
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if count:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if len(forwarded) >= count:
            return forwarded[-count]
    return remote
