"""Encryption of metric sources' secrets (HTTP headers, DSN passwords).

Secrets are a small JSON object encrypted with Fernet (AES-128-CBC + HMAC) under
the key(s) in PMHUB_SECRETS_KEY. With no key set (the embedded default) the key
is derived from SECRET_KEY; production should set its own key, so that rotating
SECRET_KEY does not make stored secrets unreadable. Several comma-separated keys
allow rotation: the first encrypts, any decrypts.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

MASK = "••••••"


def _fernet() -> MultiFernet:
    raw = [k.strip() for k in (settings.PMHUB_SECRETS_KEY or "").split(",") if k.strip()]
    if not raw:
        digest = hashlib.sha256(b"pmhub-source-secrets:" + settings.SECRET_KEY.encode()).digest()
        raw = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(k.encode()) for k in raw])


def secret_encrypt(data: dict) -> str:
    if not data:
        return ""
    return _fernet().encrypt(json.dumps(data, sort_keys=True).encode()).decode()


def secret_decrypt(token: str) -> dict:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise SecretUnreadable(
            "The source's secrets cannot be decrypted with the current PMHUB_SECRETS_KEY; enter them again."
        ) from None


class SecretUnreadable(Exception):
    pass


def mask(value: str) -> str:
    """Never the whole secret: a mask and, for long values, the last two characters."""
    value = str(value or "")
    return f"{MASK}{value[-2:]}" if len(value) >= 12 else MASK


def scrub(text: str, secrets: dict) -> str:
    """Remove every secret value (and DSN password) from a message before it is stored or logged."""
    text = str(text)
    values = []
    for value in _leaves(secrets):
        if len(value) >= 4:
            values.append(value)
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, MASK)
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1" + MASK + "@", text)


def _leaves(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _leaves(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _leaves(v)
    elif obj is not None:
        yield str(obj)
