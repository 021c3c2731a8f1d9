"""Signed entries of the shared cache: another process's document is trusted only when this
deployment signed it, and never for longer than this process's lifetime bound.

The JWK Set and metadata documents that :mod:`django_jwt_at.jwks` keeps in the Django cache
``JWT_AT_CACHE`` decide which keys verify tokens, and that cache is often a Redis that other
programs can reach. So every entry is a JSON object signed with Django's
:class:`~django.core.signing.Signer` under ``SECRET_KEY`` and the salt :data:`SALT`
(HMAC-SHA256). The signed object names the cache key and the subject it was stored for (the
JWKS URL, or the issuer identifier for metadata), so an entry cannot be moved to another key.

Reading an entry (:func:`unseal`) refuses it when

- its signature does not verify under the current ``SECRET_KEY``: planted, tampered with,
  of another format, or signed by another deployment (ERROR, reason
  ``shared_cache_bad_signature``);
- it verifies only under a key of ``SECRET_KEY_FALLBACKS``: written before a rotation of
  ``SECRET_KEY`` (WARNING, reason ``shared_cache_previous_key``). Such an entry is fetched
  again rather than trusted: a retired key may be a leaked one, and refetching costs one
  request per document;
- it was signed for another cache key or subject (ERROR, ``shared_cache_wrong_key``);
- it is malformed, expires before it was fetched, or was fetched later than ``skew``
  seconds from now (ERROR, ``shared_cache_bad_entry``).

An accepted entry's lifetime is clamped: its fetch time to now at the latest, its expiry to
``max_lifetime`` past that fetch time. Whatever the entry says, what a process builds from
it expires no later than ``max_lifetime`` after the read.

The signature is checked when an entry is read, which happens when a process has no fresh
document of its own (once per lifetime), never per request. Each refused entry is logged
once per process (:func:`open_entry`), however often it is read while it stays in the cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signing import BadSignature, Signer

logger = logging.getLogger(__name__)

#: The salt of every shared-cache signature: a MAC made for this purpose can stand for no
#: other use of ``SECRET_KEY`` (sessions, password reset tokens, ...), nor theirs for it.
SALT = "django_jwt_at.shared-cache"
_FORMAT = 1
_MAX_REMEMBERED = 256


class _Refused(Exception):
    """A shared-cache entry that must not be used: ``reason`` is the stable code logged in
    ``extra["reason"]``, ``level`` the log level, ``why`` a fixed text without entry content."""

    def __init__(self, reason: str, level: int, why: str) -> None:
        super().__init__(why)
        self.reason, self.level, self.why = reason, level, why


@dataclass(frozen=True)
class _Entry:
    """An authenticated document: the URL it was fetched from, its text, and its fetch time
    and expiry as clamped by :func:`unseal`."""

    url: str
    text: str
    fetched_at: float
    expires_at: float


def _signer(key: str | bytes | None = None) -> Signer:
    # fallback_keys=[]: only the current SECRET_KEY authenticates (module docstring).
    # Raises ImproperlyConfigured when SECRET_KEY is empty.
    return Signer(key=key, salt=SALT, algorithm="sha256", fallback_keys=[])


def available() -> bool:
    """Whether entries can be signed: ``SECRET_KEY`` is set. Without it the shared cache
    holds no documents and every process fetches its own."""
    try:
        return bool(settings.SECRET_KEY)
    except ImproperlyConfigured:
        return False


def seal(key: str, subject: str, url: str, text: str, fetched_at: float, expires_at: float) -> str:
    """The signed entry for a document fetched from ``url`` at ``fetched_at``, stored under
    the cache key ``key`` for ``subject`` (the JWKS URL, or the issuer for metadata).

    Raises ImproperlyConfigured when SECRET_KEY is empty (see :func:`available`).
    """
    payload = {
        "v": _FORMAT,
        "key": key,
        "subject": subject,
        "url": url,
        "text": text,
        "fetched_at": fetched_at,
        "expires_at": expires_at,
    }
    return _signer().sign(json.dumps(payload, separators=(",", ":")))


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Refused("shared_cache_bad_entry", logging.ERROR, "the entry is malformed")
    return float(value)


def _verify(raw: object) -> str:
    """The signed payload of ``raw``; _Refused unless the current SECRET_KEY signed it."""
    if not isinstance(raw, str):
        raise _Refused(
            "shared_cache_bad_signature", logging.ERROR, "it is not a signed entry of this version of django-jwt-at"
        )
    try:
        return _signer().unsign(raw)
    except BadSignature:
        pass
    for old in getattr(settings, "SECRET_KEY_FALLBACKS", None) or ():
        try:
            _signer(old).unsign(raw)
        except BadSignature:
            continue
        raise _Refused(
            "shared_cache_previous_key",
            logging.WARNING,
            "it is signed with a key of SECRET_KEY_FALLBACKS, not with the current SECRET_KEY",
        )
    raise _Refused(
        "shared_cache_bad_signature",
        logging.ERROR,
        "its signature does not verify with SECRET_KEY (planted, tampered with, or written by a "
        "deployment with another SECRET_KEY)",
    )


def unseal(raw: object, key: str, subject: str, *, now: float, max_lifetime: float, skew: float) -> _Entry:
    """The document of the shared-cache entry ``raw`` read under ``key`` for ``subject``.

    Raises _Refused as the module docstring describes; otherwise the returned times are
    clamped so that ``fetched_at <= now`` and ``expires_at <= fetched_at + max_lifetime``.
    ``skew`` is how far in the future a fetch time may be (clocks of the processes differ).
    """
    try:
        payload = json.loads(_verify(raw))
    except ValueError:  # signed but not JSON: not an entry of this format
        payload = None
    if not isinstance(payload, dict) or type(payload.get("v")) is not int or payload["v"] != _FORMAT:
        raise _Refused("shared_cache_bad_entry", logging.ERROR, "the entry is malformed")
    if payload.get("key") != key or payload.get("subject") != subject:
        raise _Refused(
            "shared_cache_wrong_key", logging.ERROR, "it was signed for another cache key (moved from another entry)"
        )
    url, text = payload.get("url"), payload.get("text")
    if not isinstance(url, str) or not isinstance(text, str):
        raise _Refused("shared_cache_bad_entry", logging.ERROR, "the entry is malformed")
    fetched_at, expires_at = _number(payload.get("fetched_at")), _number(payload.get("expires_at"))
    if fetched_at > now + skew:
        raise _Refused("shared_cache_bad_entry", logging.ERROR, "it claims a fetch time in the future")
    if expires_at < fetched_at:
        raise _Refused("shared_cache_bad_entry", logging.ERROR, "it expires before it was fetched")
    fetched_at = min(fetched_at, now)
    return _Entry(url, text, fetched_at, min(expires_at, fetched_at + max_lifetime))


# Per process: the digest of the last refused value under each cache key, so that an entry
# read again and again (by threads polling for another process's fetch, by every retry while
# the issuer is down) is logged once, not once per read.
_refused: dict[str, str] = {}
_refused_lock = threading.Lock()


def _digest(raw: object) -> str:
    try:
        text = raw if isinstance(raw, str) else repr(raw)
    except Exception:  # noqa: BLE001  (an unpickled object of any class: its repr may fail)
        text = type(raw).__qualname__
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def open_entry(
    raw: object,
    key: str,
    subject: str,
    *,
    now: float,
    max_lifetime: float,
    skew: float,
    what: str,
    issuer: str,
) -> _Entry | None:
    """:func:`unseal`, or None for a refused entry, logged once per process and value.

    ``what`` names the document for the log record (e.g. ``the JWK Set <url> of issuer
    <issuer>``; never text from the entry), ``issuer`` goes to ``extra["issuer"]``.
    """
    try:
        entry = unseal(raw, key, subject, now=now, max_lifetime=max_lifetime, skew=skew)
    except _Refused as exc:
        digest = _digest(raw)
        with _refused_lock:
            if _refused.get(key) == digest:
                return None
            if len(_refused) >= _MAX_REMEMBERED:
                _refused.clear()
            _refused[key] = digest
        logger.log(
            exc.level,
            "Ignored the shared-cache entry for %s: %s",
            what,
            exc.why,
            extra={"reason": exc.reason, "issuer": issuer},
        )
        return None
    if key in _refused:
        with _refused_lock:
            _refused.pop(key, None)  # a later bad value under this key is logged again
    return entry


def forget() -> None:
    """Forget which refused entries were logged (with the rest of a process's key-set state)."""
    with _refused_lock:
        _refused.clear()
