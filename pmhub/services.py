"""Writes of the core app: API tokens and worker heartbeats."""
import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .audit import audit_record
from .models import ApiToken, WorkerHeartbeat

TOKEN_PREFIX = "pmh_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """Create a token; the raw secret is returned once and never stored."""
    name = (name or "").strip()
    if not name:
        from django.core.exceptions import ValidationError

        raise ValidationError({"name": "Give the token a name, such as 'training jobs'."})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name[:100], prefix=raw[:12], key_hash=hash_token(raw))
        audit_record(actor=user, action="token.created", target=token)
    return token, raw


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        with transaction.atomic():
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit_record(actor=token.user, action="token.revoked", target=token)
    return token


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    """The active token matching raw, with last_used_at kept to the minute."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    from .selectors import api_token_active

    token = api_token_active(key_hash=hash_token(raw))
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def worker_heartbeat_record(*, hostname: str) -> WorkerHeartbeat:
    with transaction.atomic():
        beat, _ = WorkerHeartbeat.objects.select_for_update().get_or_create(
            hostname=hostname[:255], defaults={"last_seen": timezone.now()}
        )
        beat.last_seen = timezone.now()
        beat.beats += 1
        beat.save(update_fields=["last_seen", "beats"])
    return beat
