"""Issuer key sets: fetched, parsed once, cached in process and in the Django cache.

For each configured issuer this process keeps the parsed key set in memory; the raw JWKS
document (and the discovered ``jwks_uri``) also go to the Django cache named by
``JWT_AT_CACHE``, so that processes sharing that cache fetch once per lifetime.

- Lifetime: the response's Cache-Control max-age clamped to [JWT_AT_JWKS_MIN_TTL,
  JWT_AT_JWKS_MAX_TTL], JWT_AT_JWKS_DEFAULT_TTL without one.
- Unknown kid: one refetch, then at most one per JWT_AT_JWKS_REFRESH_COOLDOWN, counted from
  the previous refetch an unknown kid caused (choice A-35), so rotation is seen at once and
  a flood of random kids cannot make us hammer the issuer (C-8414-06, C-8414-07).
- Failure: the last good set stays in use up to JWT_AT_JWKS_MAX_STALE past its lifetime;
  with nothing usable, :class:`~django_jwt_at.errors.KeySetUnavailable` (503, choice A-11).
  After a failure no new attempt is made for ``FAILURE_BACKOFF`` seconds.
- One fetch at a time per issuer in a process: other threads wait for its result.

Keys are looked up by (issuer, kid, alg): a kid published by one issuer never verifies a
token of another (RFC 8725 §3.8, C-8414-14).
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import caches
from django.core.signals import setting_changed

from . import clock
from .conf import Config, IssuerConfig
from .discovery import check_metadata, discover
from .errors import KeySetUnavailable
from .fetch import Document, FetchError, fetch_json, parse_document
from .keys import UnusableKey, VerificationKey, load_jwk

logger = logging.getLogger(__name__)

FAILURE_BACKOFF = 10
_CACHE_PREFIX = "django_jwt_at:v1:"


@dataclass(frozen=True)
class KeySet:
    """The usable keys of one JWKS document, indexed for lookup by (kid, alg)."""

    by_kid: dict[tuple[str, str], tuple[VerificationKey, ...]]
    by_alg: dict[str, tuple[VerificationKey, ...]]
    fetched_at: float
    expires_at: float

    def find(self, kid: str | None, alg: str) -> tuple[VerificationKey, ...]:
        """Keys that may verify a token with this kid and alg (all of the alg without kid)."""
        if kid is None:
            return self.by_alg.get(alg, ())
        return self.by_kid.get((kid, alg), ())


def build_key_set(issuer: IssuerConfig, document: Document, fetched_at: float, expires_at: float) -> KeySet:
    """Prepare every usable key of a JWKS document; drop the others with a log record.

    Raises FetchError when the document is not a JWKS or has no usable key.
    """
    jwks = document.data.get("keys")
    if not isinstance(jwks, list):
        raise FetchError(f"{document.url} is not a JWK Set")
    by_kid: dict[tuple[str, str], list[VerificationKey]] = {}
    by_alg: dict[str, list[VerificationKey]] = {}
    for jwk in jwks:
        try:
            prepared = load_jwk(jwk, issuer.algorithms)
        except UnusableKey as exc:
            kid = jwk.get("kid") if isinstance(jwk, dict) else None
            # A published private key is compromised: anyone could sign with it (C-8414-13).
            logger.log(
                logging.ERROR if exc.private else logging.WARNING,
                "Dropped key kid=%r of issuer %s: %s",
                kid if isinstance(kid, str) else None,
                issuer.issuer,
                exc,
            )
            continue
        for key in prepared:
            if key.kid is not None:
                by_kid.setdefault((key.kid, key.alg), []).append(key)
            by_alg.setdefault(key.alg, []).append(key)
    if not by_alg:
        raise FetchError(f"{document.url} has no usable key for {sorted(issuer.algorithms)}")
    return KeySet(
        by_kid={k: tuple(v) for k, v in by_kid.items()},
        by_alg={k: tuple(v) for k, v in by_alg.items()},
        fetched_at=fetched_at,
        expires_at=expires_at,
    )


def _lifetime(config: Config, max_age: int | None) -> int:
    if max_age is None:
        return config.jwks_default_ttl
    return min(max(max_age, config.jwks_min_ttl), config.jwks_max_ttl)


def _cache_key(kind: str, url: str) -> str:
    return _CACHE_PREFIX + kind + ":" + hashlib.sha256(url.encode()).hexdigest()


def _shared_get(config: Config, key: str) -> Any:
    try:
        return caches[config.cache_alias].get(key)
    except Exception as exc:  # a cache outage must not stop validation
        logger.warning("JWT_AT_CACHE %r is unavailable (%s)", config.cache_alias, type(exc).__name__)
        return None


def _shared_set(config: Config, key: str, value: Any, timeout: float) -> None:
    try:
        caches[config.cache_alias].set(key, value, timeout=max(1, math.ceil(timeout)))
    except Exception as exc:
        logger.warning("JWT_AT_CACHE %r is unavailable (%s)", config.cache_alias, type(exc).__name__)


@dataclass
class IssuerKeys:
    """The key-set state of one issuer in this process."""

    issuer: IssuerConfig
    key_set: KeySet | None = None
    jwks_uri: tuple[str, float] | None = None  # discovered uri and when it expires
    last_forced_refresh: float = -math.inf
    retry_at: float = -math.inf
    lock: threading.Lock = field(default_factory=threading.Lock)

    def find(self, kid: str | None, alg: str, config: Config) -> tuple[VerificationKey, ...]:
        """Keys for (kid, alg); refreshes as the module docstring describes.

        Raises KeySetUnavailable when no usable key set can be had.
        """
        now = clock.now()
        key_set = self.key_set
        if key_set is None or now >= key_set.expires_at:
            key_set = self._refresh(config, now, seen=key_set, forced=False)
        found = key_set.find(kid, alg)
        if not found and now >= self.last_forced_refresh + config.jwks_refresh_cooldown:
            key_set = self._refresh(config, now, seen=key_set, forced=True)
            found = key_set.find(kid, alg)
        return found

    def _refresh(self, config: Config, now: float, *, seen: KeySet | None, forced: bool) -> KeySet:
        with self.lock:
            current = self.key_set
            if current is not seen and current is not None and now < current.expires_at:
                return current  # another thread refreshed while we waited
            if forced:
                if now < self.last_forced_refresh + config.jwks_refresh_cooldown:
                    assert current is not None
                    return current
                self.last_forced_refresh = now
            try:
                if now < self.retry_at:
                    raise FetchError("waiting after a failed fetch")
                key_set = self._load(config, now, forced=forced)
            except FetchError as exc:
                return self._failed(config, now, current, exc, forced=forced)
            self.key_set = key_set
            self.retry_at = -math.inf
            return key_set

    def _failed(self, config: Config, now: float, current: KeySet | None, exc: FetchError, *, forced: bool) -> KeySet:
        """Stale-if-error: the last good set (ours, or another process's from the shared
        cache) serves up to max-stale past its lifetime. A refresh for an unknown kid that
        fails is a 503, not a 401: the key may exist (choice A-11)."""
        if now >= self.retry_at:
            self.retry_at = now + FAILURE_BACKOFF
            logger.warning("Key set of issuer %s could not be refreshed: %s", self.issuer.issuer, exc)
        if current is None:
            uri = self.issuer.jwks_uri or (self.jwks_uri[0] if self.jwks_uri else None)
            current = self._shared_key_set(config, uri, now, stale=True) if uri else None
            self.key_set = current
        if not forced and current is not None and now < current.expires_at + config.jwks_max_stale:
            return current
        raise KeySetUnavailable(retry_after=max(1, math.ceil(self.retry_at - now)))

    def _shared_key_set(self, config: Config, uri: str, now: float, *, stale: bool) -> KeySet | None:
        """The key set another process stored in the shared cache, if still usable."""
        shared = _shared_get(config, _cache_key("jwks", uri))
        if not isinstance(shared, dict):
            return None
        try:
            usable_until = shared["expires_at"] + (config.jwks_max_stale if stale else 0)
            if now >= usable_until:
                return None
            document = parse_document(uri, shared["text"], None)
            return build_key_set(self.issuer, document, shared["fetched_at"], shared["expires_at"])
        except (FetchError, KeyError, TypeError):
            return None  # a damaged shared entry is replaced by a fresh fetch

    def _load(self, config: Config, now: float, *, forced: bool) -> KeySet:
        uri = self._jwks_uri(config, now)
        if not forced:
            shared = self._shared_key_set(config, uri, now, stale=False)
            if shared is not None:
                return shared
        document = fetch_json(uri, timeout=config.http_timeout)
        expires_at = now + _lifetime(config, document.max_age)
        key_set = build_key_set(self.issuer, document, now, expires_at)
        _shared_set(
            config,
            _cache_key("jwks", uri),
            {"text": document.text, "fetched_at": now, "expires_at": expires_at},
            expires_at - now + config.jwks_max_stale,
        )
        return key_set

    def _jwks_uri(self, config: Config, now: float) -> str:
        if self.issuer.jwks_uri is not None:
            return self.issuer.jwks_uri
        if self.jwks_uri is not None and now < self.jwks_uri[1]:
            return self.jwks_uri[0]
        key = _cache_key("metadata", self.issuer.issuer)
        shared = _shared_get(config, key)
        if isinstance(shared, dict) and now < shared.get("expires_at", 0):
            try:
                uri = check_metadata(self.issuer, parse_document(shared["url"], shared["text"], None))
                self.jwks_uri = (uri, shared["expires_at"])
                return uri
            except (FetchError, KeyError, TypeError):
                pass
        try:
            uri, document = discover(self.issuer, timeout=config.http_timeout)
        except FetchError as exc:
            logger.error("Metadata of issuer %s is unusable: %s", self.issuer.issuer, exc)
            raise
        expires_at = now + _lifetime(config, document.max_age)
        self.jwks_uri = (uri, expires_at)
        _shared_set(
            config,
            key,
            {"url": document.url, "text": document.text, "expires_at": expires_at},
            expires_at - now,
        )
        return uri


class KeySetRegistry:
    """Key-set state of every configured issuer in this process."""

    def __init__(self) -> None:
        self._issuers: dict[IssuerConfig, IssuerKeys] = {}
        self._lock = threading.Lock()

    def find(self, issuer: IssuerConfig, kid: str | None, alg: str, config: Config) -> Sequence[VerificationKey]:
        """Keys of ``issuer`` for (kid, alg), fetching as needed; see :class:`IssuerKeys`."""
        state = self._issuers.get(issuer)
        if state is None:
            with self._lock:
                state = self._issuers.setdefault(issuer, IssuerKeys(issuer))
        return state.find(kid, alg, config)

    def clear(self) -> None:
        """Forget every key set held in this process (the Django cache is left alone)."""
        with self._lock:
            self._issuers.clear()


#: The registry used by the authentication class.
key_sets = KeySetRegistry()


def _reset_on_setting_change(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("JWT_AT_") or setting == "CACHES":
        key_sets.clear()


setting_changed.connect(_reset_on_setting_change, dispatch_uid="django_jwt_at.jwks.reset")
