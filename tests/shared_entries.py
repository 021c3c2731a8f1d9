"""The documented format of a shared-cache entry, written and read without the library.

An entry is the compact JSON object ``{"v": 1, "key", "subject", "url", "text",
"fetched_at", "expires_at"}`` signed by ``django.core.signing.Signer`` (HMAC-SHA256,
salt ``django_jwt_at.shared-cache``): tests plant entries signed with any SECRET_KEY, for
any key, with any times, and read what the library stored, with Django's signing only.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.signing import Signer

SALT = "django_jwt_at.shared-cache"


def signed(
    key: str,
    subject: str,
    text: str | dict,
    fetched_at: float,
    expires_at: float,
    *,
    url: str | None = None,
    secret: str | None = None,
) -> str:
    """An entry for cache key ``key`` and ``subject``, signed with ``secret`` (default:
    the current SECRET_KEY)."""
    payload = {
        "v": 1,
        "key": key,
        "subject": subject,
        "url": url or subject,
        "text": text if isinstance(text, str) else json.dumps(text),
        "fetched_at": fetched_at,
        "expires_at": expires_at,
    }
    signer = Signer(key=secret or settings.SECRET_KEY, salt=SALT, algorithm="sha256", fallback_keys=[])
    return signer.sign(json.dumps(payload, separators=(",", ":")))


def read(key: str, alias: str = "default") -> dict[str, Any]:
    """The payload of the entry stored under ``key``, checked with the current SECRET_KEY."""
    raw = caches[alias].get(key)
    assert isinstance(raw, str), f"no signed entry under {key}: {type(raw).__name__}"
    signer = Signer(salt=SALT, algorithm="sha256", fallback_keys=[])
    return json.loads(signer.unsign(raw))
