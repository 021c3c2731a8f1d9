"""Issuer key sets: fetched, parsed once, cached in process and in the Django cache.

For each configured issuer this process keeps the parsed key set in memory; the raw JWKS
document and the issuer's metadata (RFC 8414 / OIDC Discovery) also go to the Django cache
named by ``JWT_AT_CACHE``, so that processes sharing that cache fetch once per lifetime.

- Lifetime: the response's Cache-Control max-age clamped to [JWT_AT_JWKS_MIN_TTL,
  JWT_AT_JWKS_MAX_TTL], JWT_AT_JWKS_DEFAULT_TTL without one (Design decisions: jwks refresh).
- One fetch at a time per document: in a process, other threads wait for its result; across
  processes, a short lock in the shared cache makes the others poll the cache for the
  document for up to JWT_AT_HTTP_TIMEOUT, then fetch themselves if it never came.
- Unknown kid: one refetch, then at most one per JWT_AT_JWKS_REFRESH_COOLDOWN, counted from
  the previous refetch an unknown kid caused (Design decisions: jwks refresh), so rotation is seen at once and
  a flood of random kids cannot make us hammer the issuer.
- Failure: the last good key set (and jwks_uri) stays in use up to JWT_AT_JWKS_MAX_STALE past
  its lifetime; with nothing usable, :class:`~django_jwt_at.errors.KeySetUnavailable` (503,
  Design decisions: keys unavailable). Retries back off from ``FAILURE_BACKOFF`` seconds, doubling up to the
  cooldown; one log record at WARNING (ERROR for unusable metadata) per failure burst.
- A failing shared cache is bypassed for ``CACHE_RETRY`` seconds: validation goes on from
  process memory and direct fetches.
- Shared-cache entries are signed with SECRET_KEY and their lifetimes clamped when read
  (:mod:`django_jwt_at.shared_cache`): an entry this deployment did not write is ignored
  and the document fetched, and a set read from the cache never outlives the read by more
  than JWT_AT_JWKS_MAX_TTL (plus JWT_AT_JWKS_MAX_STALE while the issuer fails).

Keys are looked up by (issuer, kid, alg): a kid published by one issuer never verifies a
token of another (RFC 8725 §3.8).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.cache import BaseCache, caches

from . import clock, shared_cache
from .conf import Config, IssuerConfig, on_config_change
from .discovery import check_metadata, discover, metadata_urls
from .errors import KeySetUnavailable
from .fetch import Document, FetchError, fetch_json, parse_document
from .keys import UnusableKey, VerificationKey, load_jwk
from .tenants import AdmissionWindow, dynamic_issuers

logger = logging.getLogger(__name__)

#: Seconds before the first retry after a failed fetch; doubled per further failure, up to
#: JWT_AT_JWKS_REFRESH_COOLDOWN.
FAILURE_BACKOFF = 5
#: Seconds the shared cache is bypassed after one of its operations failed.
CACHE_RETRY = 30
#: Seconds between two looks at the shared cache while another process fetches.
POLL_INTERVAL = 0.05
#: Seconds a shared-cache entry's fetch time may be ahead of this process's clock when
#: JWT_AT_LEEWAY is smaller: clocks of different hosts drift apart a little.
MIN_CLOCK_SKEW = 5
# v1 entries were unsigned dicts: under a new prefix they are never read (they expire in
# the cache), so an upgrade logs no refused entry and the two versions never share one.
_CACHE_PREFIX = "django_jwt_at:v2:"
_T = TypeVar("_T")


class MetadataError(FetchError):
    """The issuer's metadata cannot be had, or names another issuer (RFC 8414 §3.3)."""


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


#: The most JWKs of one JWK Set that are examined; the others are ignored, with one log
#: record. Providers publish a handful; without a bound, a document of tens of thousands
#: of junk entries would cost a check and a log record each, at every load.
MAX_KEYS = 100


def build_key_set(issuer: IssuerConfig, document: Document, fetched_at: float, expires_at: float) -> KeySet:
    """Prepare every usable key among the first MAX_KEYS of a JWKS document; drop the
    others with a log record (one for all those past MAX_KEYS).

    Raises FetchError when the document is not a JWKS or has no usable key.
    """
    jwks = document.data.get("keys")
    if not isinstance(jwks, list):
        raise FetchError(f"{document.url} is not a JWK Set")
    if len(jwks) > MAX_KEYS:
        logger.warning(
            "JWK Set of issuer %s has %d keys: only the first %d are used", issuer.issuer, len(jwks), MAX_KEYS
        )
    by_kid: dict[tuple[str, str], list[VerificationKey]] = {}
    by_alg: dict[str, list[VerificationKey]] = {}
    for jwk in jwks[:MAX_KEYS]:
        try:
            prepared = load_jwk(jwk, issuer.algorithms, max_rsa_bits=issuer.max_rsa_bits)
        except UnusableKey as exc:
            kid = jwk.get("kid") if isinstance(jwk, dict) else None
            # A published private key is compromised: anyone could sign with it.
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


def cache_key(kind: str, url: str) -> str:
    """The shared-cache key of a document: ``kind`` is ``jwks`` (keyed by the JWKS URL) or
    ``metadata`` (keyed by the issuer identifier). ``<key>:lock`` marks a fetch in flight.

    The entry under it is a string signed by :func:`django_jwt_at.shared_cache.seal`, bound
    to this key and to ``url``."""
    return _CACHE_PREFIX + kind + ":" + hashlib.sha256(url.encode()).hexdigest()


# --- the shared cache: never raises, bypassed for a while after a failure ----------------------

_cache_down_until: dict[str, float] = {}


def _shared(config: Config, operation: Callable[[BaseCache], _T], default: _T) -> _T:
    """Run ``operation`` on the JWT_AT_CACHE cache; ``default`` when it fails or is bypassed.

    A cache outage must not stop validation: the first failure logs one warning and the
    cache is left alone for CACHE_RETRY seconds, so a dead Redis costs no timeout per request.
    """
    alias = config.cache_alias
    now = clock.now()
    if now < _cache_down_until.get(alias, -math.inf):
        return default
    try:
        result = operation(caches[alias])
    except Exception as exc:
        if alias not in _cache_down_until:
            logger.warning(
                "JWT_AT_CACHE %r is unavailable (%s); key sets are fetched without it for %d s",
                alias,
                type(exc).__name__,
                CACHE_RETRY,
            )
        _cache_down_until[alias] = now + CACHE_RETRY
        return default
    if _cache_down_until.pop(alias, None) is not None:
        logger.info("JWT_AT_CACHE %r is available again", alias)
    return result


def _shared_get(config: Config, key: str) -> Any:
    return _shared(config, lambda cache: cache.get(key), None)


def _shared_set(config: Config, key: str, value: Any, timeout: float) -> None:
    _shared(config, lambda cache: cache.set(key, value, timeout=max(1, math.ceil(timeout))), None)


_unsigned_warned = False


def _signing_available() -> bool:
    """Whether documents can go through the shared cache: only with SECRET_KEY, which
    signs them. Without it every process fetches its own (one warning per process)."""
    global _unsigned_warned
    if shared_cache.available():
        return True
    if not _unsigned_warned:
        _unsigned_warned = True
        logger.warning("SECRET_KEY is empty: key sets and metadata are not shared through JWT_AT_CACHE")
    return False


def _shared_document(
    config: Config, kind: str, subject: str, now: float, *, what: str, issuer: str
) -> shared_cache._Entry | None:
    """The document stored under ``cache_key(kind, subject)`` if this deployment signed it
    there, with its lifetime clamped to JWT_AT_JWKS_MAX_TTL from now at the latest; None when
    there is none, or a refused one (logged once, see :func:`shared_cache.open_entry`)."""
    if not _signing_available():
        return None
    key = cache_key(kind, subject)
    raw = _shared_get(config, key)
    if raw is None:
        return None
    return shared_cache.open_entry(raw, key, subject, **_bounds(config, now), what=what, issuer=issuer)


def _bounds(config: Config, now: float) -> dict[str, float]:
    """The time bounds of :func:`shared_cache.unseal` under ``config``."""
    # A fetch time up to the token leeway ahead is another host's clock running ahead of
    # ours: the clock difference this deployment tolerates anyway. The floor keeps a zero
    # leeway from refusing entries over milliseconds of drift; since the fetch time counts
    # as now at the latest, a tolerance never lengthens a lifetime.
    return {"now": now, "max_lifetime": config.jwks_max_ttl, "skew": max(config.leeway, MIN_CLOCK_SKEW)}


def _shared_store(
    config: Config, kind: str, subject: str, document: Document, fetched_at: float, expires_at: float
) -> None:
    """Sign ``document`` and store it under ``cache_key(kind, subject)`` for its lifetime
    plus JWT_AT_JWKS_MAX_STALE (the stale copy serves during an outage)."""
    if not _signing_available():
        return
    key = cache_key(kind, subject)
    entry = shared_cache.seal(key, subject, document.url, document.text, fetched_at, expires_at)
    _shared_set(config, key, entry, expires_at - fetched_at + config.jwks_max_stale)


def _single_flight(
    config: Config,
    key: str,
    cached: Callable[[], _T | None],
    fetch: Callable[[], _T],
    *,
    fetches: int = 1,
) -> _T:
    """The document under ``key``: from the shared cache, else fetched by one process only.

    The fetching process holds ``<key>:lock``
    (``cache.add``, so exactly one wins); the others poll ``cached`` until the document
    appears, the lock goes away, or ``fetches`` x JWT_AT_HTTP_TIMEOUT have passed, then
    fetch themselves: a dead lock holder or a cache outage delays a cold process by at most
    that, never blocks it. ``fetch`` stores what it fetched; FetchError propagates.
    """
    found = cached()
    if found is not None:
        return found
    lock = key + ":lock"
    budget = fetches * config.http_timeout
    if _shared(config, lambda cache: cache.add(lock, 1, timeout=math.ceil(budget) + 1), True):
        try:
            found = cached()  # stored by a process that released the lock since we looked
            return found if found is not None else fetch()
        finally:
            _shared(config, lambda cache: cache.delete(lock), None)
    deadline = time.monotonic() + budget
    while True:
        held = _shared_get(config, lock) is not None  # read before the document: no gap
        found = cached()
        if found is not None:
            return found
        if not held or time.monotonic() >= deadline:
            return fetch()
        time.sleep(POLL_INTERVAL)


# --- one issuer ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Metadata:
    jwks_uri: str
    expires_at: float


@dataclass
class IssuerKeys:
    """The key-set state of one issuer in this process."""

    issuer: IssuerConfig
    key_set: KeySet | None = None
    metadata: _Metadata | None = None
    last_forced_refresh: float = -math.inf
    retry_at: float = -math.inf
    failures: int = 0  # consecutive failed attempts: the current failure burst
    metadata_failing: bool = False
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
        # The thread holding the lock is bounded by the fetch timeouts (two metadata
        # locations and the JWKS, each possibly after a wait for another process); this
        # bound only matters when something outside them hangs, such as a DNS lookup.
        if not self.lock.acquire(timeout=2 * (len(metadata_urls(self.issuer.issuer)) + 1) * config.http_timeout):
            return self._unavailable(config, now, self.key_set, forced=forced)
        try:
            current = self.key_set
            if current is not seen and current is not None and now < current.expires_at:
                return current  # another thread refreshed while we waited
            if forced:
                if now < self.last_forced_refresh + config.jwks_refresh_cooldown:
                    assert current is not None
                    return current
                self.last_forced_refresh = now
            if now < self.retry_at:
                return self._unavailable(config, now, current, forced=forced)
            try:
                key_set = self._load(config, now, forced=forced)
            except FetchError as exc:
                self._failed(config, now, exc)
                return self._unavailable(config, now, current, forced=forced)
            if self.failures:
                logger.info(
                    "Key set of issuer %s refreshed after %d failed %s",
                    self.issuer.issuer,
                    self.failures,
                    "attempt" if self.failures == 1 else "attempts",
                )
            self.failures, self.retry_at = 0, -math.inf
            self.key_set = key_set
            return key_set
        finally:
            self.lock.release()

    def _failed(self, config: Config, now: float, exc: FetchError) -> None:
        """Start or extend a failure burst: back off, doubling, up to the cooldown."""
        self.failures += 1
        cap = max(FAILURE_BACKOFF, config.jwks_refresh_cooldown)
        self.retry_at = now + min(FAILURE_BACKOFF * 2 ** min(self.failures - 1, 30), cap)
        if self.failures > 1:
            logger.debug("Key set of issuer %s still cannot be refreshed: %s", self.issuer.issuer, exc)
        elif isinstance(exc, MetadataError):
            logger.error("Metadata of issuer %s is unusable: %s", self.issuer.issuer, exc)
        else:
            logger.warning("Key set of issuer %s could not be refreshed: %s", self.issuer.issuer, exc)

    def _unavailable(self, config: Config, now: float, current: KeySet | None, *, forced: bool) -> KeySet:
        """Stale-if-error: the last good set (ours, or another process's from the shared
        cache) serves up to max-stale past its lifetime. A refresh for an unknown kid that
        fails is a 503, not a 401: the key may exist (Design decisions: keys unavailable)."""
        if current is None:
            uri = self.issuer.jwks_uri or (self.metadata.jwks_uri if self.metadata else None)
            current = self._shared_key_set(config, uri, now, stale=True) if uri else None
            if current is not None:
                self.key_set = current
        if not forced and current is not None and now < current.expires_at + config.jwks_max_stale:
            return current
        wait = math.ceil(self.retry_at - now) if self.retry_at > now else 1
        raise KeySetUnavailable(retry_after=max(1, wait))

    def _shared_key_set(self, config: Config, uri: str, now: float, *, stale: bool) -> KeySet | None:
        """The key set stored in the shared cache, if signed by this deployment and usable
        (fresh, or within max-stale), expiring at the entry's clamped expiry."""
        entry = self._shared_entry(config, "jwks", uri, now)
        if entry is None or now >= entry.expires_at + (config.jwks_max_stale if stale else 0):
            return None
        try:
            document = parse_document(uri, entry.text, None)
            return build_key_set(self.issuer, document, entry.fetched_at, entry.expires_at)
        except FetchError:
            return None  # a damaged shared entry is replaced by a fresh fetch

    def _shared_entry(self, config: Config, kind: str, subject: str, now: float) -> shared_cache._Entry | None:
        issuer = self.issuer.issuer
        what = f"the JWK Set {subject} of issuer {issuer}" if kind == "jwks" else f"the metadata of issuer {issuer}"
        return _shared_document(config, kind, subject, now, what=what, issuer=issuer)

    def _load(self, config: Config, now: float, *, forced: bool) -> KeySet:
        """A fresh key set. A forced refresh (unknown kid) skips the shared cache: its copy
        may be the one that lacks the kid."""
        uri = self._jwks_uri(config, now)
        if forced:
            return self._fetch(config, uri, now)[0]
        return _single_flight(
            config,
            cache_key("jwks", uri),
            lambda: self._shared_key_set(config, uri, now, stale=False),
            lambda: self._fetch(config, uri, now)[0],
        )

    def _fetch(self, config: Config, uri: str, now: float) -> tuple[KeySet, Document]:
        """Fetch the JWKS, check it, and store it in the shared cache for lifetime + max-stale."""
        document = fetch_json(uri, timeout=config.http_timeout)
        expires_at = now + _lifetime(config, document.max_age)
        key_set = build_key_set(self.issuer, document, now, expires_at)
        _shared_store(config, "jwks", uri, document, now, expires_at)
        return key_set, document

    def _jwks_uri(self, config: Config, now: float) -> str:
        """JWKS_URI, or the ``jwks_uri`` of the issuer's metadata, cached like a key set:
        shared, single-flight, and stale-if-error up to max-stale."""
        if self.issuer.jwks_uri is not None:
            return self.issuer.jwks_uri
        if self.metadata is not None and now < self.metadata.expires_at:
            return self.metadata.jwks_uri
        key = cache_key("metadata", self.issuer.issuer)
        try:
            metadata = _single_flight(
                config,
                key,
                lambda: self._shared_metadata(config, now, stale=False),
                lambda: self._discover(config, now),
                fetches=len(metadata_urls(self.issuer.issuer)),
            )
        except FetchError as exc:
            stale = self.metadata
            if stale is None or now >= stale.expires_at + config.jwks_max_stale:
                stale = self._shared_metadata(config, now, stale=True)
            if stale is None:
                raise MetadataError(str(exc)) from None
            if not self.metadata_failing:
                logger.warning(
                    "Metadata of issuer %s could not be refreshed, using the previous jwks_uri: %s",
                    self.issuer.issuer,
                    exc,
                )
            self.metadata_failing = True
            self.metadata = stale
            return stale.jwks_uri
        self.metadata, self.metadata_failing = metadata, False
        return metadata.jwks_uri

    def _shared_metadata(self, config: Config, now: float, *, stale: bool) -> _Metadata | None:
        """The metadata stored in the shared cache, if signed by this deployment and usable
        (fresh, or within max-stale), expiring at the entry's clamped expiry."""
        entry = self._shared_entry(config, "metadata", self.issuer.issuer, now)
        if entry is None or now >= entry.expires_at + (config.jwks_max_stale if stale else 0):
            return None
        try:
            uri = check_metadata(self.issuer, parse_document(entry.url, entry.text, None))
        except FetchError:
            return None
        return _Metadata(uri, entry.expires_at)

    def _discover(self, config: Config, now: float) -> _Metadata:
        uri, document = discover(self.issuer, timeout=config.http_timeout)
        lifetime = _lifetime(config, document.max_age)
        _shared_store(config, "metadata", self.issuer.issuer, document, now, now + lifetime)
        return _Metadata(uri, now + lifetime)

    def cached(self, config: Config) -> KeySet | None:
        """The key set :meth:`find` would use now without network I/O, or None.

        This process's set when fresh, else the shared cache's when fresh (found through
        the cached metadata for an issuer without JWKS_URI). Nothing is fetched or stored.
        """
        now = clock.now()
        key_set = self.key_set
        if key_set is not None and now < key_set.expires_at:
            return key_set
        uri = self.issuer.jwks_uri
        if uri is None:
            metadata = self.metadata
            if metadata is None or now >= metadata.expires_at:
                metadata = self._shared_metadata(config, now, stale=False)
            uri = metadata.jwks_uri if metadata is not None else None
        return self._shared_key_set(config, uri, now, stale=False) if uri is not None else None

    def status(self, config: Config, *, refresh: bool) -> KeySetStatus:
        """What the shared cache holds for this issuer; with ``refresh``, fetch first.

        ``refresh`` forces a fetch of the JWKS (and of the metadata when it is not cached)
        and stores it in the shared cache and in this process. Never raises FetchError: a
        failure is reported in :attr:`KeySetStatus.error`.
        """
        now = clock.now()
        error: str | None = None
        entry: dict[str, Any] | None = None
        uri: str | None = self.issuer.jwks_uri
        with self.lock:
            try:
                if refresh:
                    uri = self._jwks_uri(config, now)
                    key_set, document = self._fetch(config, uri, now)
                    self.key_set, self.failures, self.retry_at = key_set, 0, -math.inf
                    entry = {"text": document.text, "fetched_at": now, "expires_at": key_set.expires_at}
                elif uri is None:
                    metadata = self._shared_metadata(config, now, stale=True)
                    uri = metadata.jwks_uri if metadata else None
            except FetchError as exc:
                error = str(exc)
        if entry is None and uri is not None and _signing_available():
            key = cache_key("jwks", uri)
            raw = _shared_get(config, key)
            try:
                shared = None if raw is None else shared_cache.unseal(raw, key, uri, **_bounds(config, now))
            except shared_cache._Refused as exc:  # reported to the operator, not logged
                error = error or f"the shared cache entry is ignored: {exc.why}"
            else:
                if shared is not None:
                    entry = {"text": shared.text, "fetched_at": shared.fetched_at, "expires_at": shared.expires_at}
        return KeySetStatus.from_entry(self.issuer, config, uri, entry, error)


@dataclass(frozen=True)
class KeySetStatus:
    """A description of one issuer's cached key set, for operators (never key material).

    ``keys`` holds ``(kid, alg, kty)`` for each usable key and algorithm, ``dropped``
    ``(kid, reason)`` for each refused JWK. Times are seconds since the epoch; the set is
    ``stale`` past ``expires_at`` and unusable from ``usable_until`` on.
    """

    issuer: str
    jwks_uri: str | None
    keys: tuple[tuple[str | None, str, str], ...] = ()
    dropped: tuple[tuple[str | None, str], ...] = ()
    fetched_at: float | None = None
    expires_at: float | None = None
    usable_until: float | None = None
    error: str | None = None

    @classmethod
    def from_entry(
        cls, issuer: IssuerConfig, config: Config, uri: str | None, entry: dict[str, Any] | None, error: str | None
    ) -> KeySetStatus:
        if entry is None:
            return cls(issuer.issuer, uri, error=error)
        keys: list[tuple[str | None, str, str]] = []
        dropped: list[tuple[str | None, str]] = []
        try:
            jwks = parse_document(uri or "", entry["text"], None).data.get("keys")
            jwks = jwks if isinstance(jwks, list) else []
            if len(jwks) > MAX_KEYS:
                dropped.append((None, f"the {len(jwks) - MAX_KEYS} keys past the first {MAX_KEYS} are not used"))
            for jwk in jwks[:MAX_KEYS]:
                kid = jwk.get("kid") if isinstance(jwk, dict) else None
                kid = kid if isinstance(kid, str) else None
                try:
                    prepared = load_jwk(jwk, issuer.algorithms, max_rsa_bits=issuer.max_rsa_bits)
                    keys += [(kid, key.alg, str(jwk["kty"])) for key in prepared]
                except UnusableKey as exc:
                    dropped.append((kid, str(exc)))
            fetched_at, expires_at = float(entry["fetched_at"]), float(entry["expires_at"])
        except (FetchError, KeyError, TypeError, ValueError):
            return cls(issuer.issuer, uri, error=error or "the shared cache entry is damaged")
        return cls(
            issuer.issuer,
            uri,
            tuple(keys),
            tuple(dropped),
            fetched_at,
            expires_at,
            expires_at + config.jwks_max_stale,
            error,
        )


@dataclass
class _InstalledKeys(IssuerKeys):
    """A key set given by :meth:`KeySetRegistry.install`: never fetched, never expires."""

    text: str = ""

    def find(self, kid: str | None, alg: str, config: Config) -> tuple[VerificationKey, ...]:
        assert self.key_set is not None
        return self.key_set.find(kid, alg)

    def status(self, config: Config, *, refresh: bool) -> KeySetStatus:
        assert self.key_set is not None
        entry = {"text": self.text, "fetched_at": self.key_set.fetched_at, "expires_at": self.key_set.expires_at}
        return KeySetStatus.from_entry(self.issuer, config, None, entry, None)


class KeySetRegistry:
    """Key-set state of every configured issuer in this process.

    The issuers trusted at run time (issuer templates and ``JWT_AT_ISSUER_RESOLVER``, see
    :mod:`django_jwt_at.tenants`) are bounded: at most ``JWT_AT_MAX_DYNAMIC_ISSUERS`` of
    them keep a key set (the least recently used leave, those that never obtained one
    first), and one whose keys are in neither this process nor the shared cache is fetched
    only within ``JWT_AT_NEW_ISSUERS_PER_MINUTE``; past it, KeySetUnavailable (503). So a
    flood of tokens naming random tenants costs at most that many fetches a minute, and the
    tenants already known are served as before.
    """

    def __init__(self) -> None:
        self._issuers: dict[str, IssuerKeys] = {}
        self._dynamic: OrderedDict[str, IssuerKeys] = OrderedDict()  # least recently used first
        self._admission = AdmissionWindow()
        self._installed: dict[str, str] = {}
        self._lock = threading.Lock()

    def _state(self, issuer: IssuerConfig) -> IssuerKeys:
        # Keyed by the issuer identifier: hashing the whole IssuerConfig on every request
        # costs more than the lookup. A changed configuration for it starts a new state.
        state = self._issuers.get(issuer.issuer)
        if state is None or (state.issuer is not issuer and state.issuer != issuer):
            with self._lock:
                state = self._issuers.get(issuer.issuer)
                if state is None or state.issuer != issuer:
                    state = self._issuers[issuer.issuer] = self._new_state(issuer)
        return state

    def current(self, issuer: IssuerConfig) -> KeySet | None:
        """The key set of ``issuer`` held in this process now, if any; never fetches."""
        if issuer.dynamic:
            state = self._dynamic.get(issuer.issuer)
            return state.key_set if state is not None and (state.issuer is issuer or state.issuer == issuer) else None
        return self._state(issuer).key_set

    def _dynamic_state(self, issuer: IssuerConfig, config: Config) -> IssuerKeys:
        """The state of an issuer trusted at run time, created within the bounds (see the
        class docstring). Raises InvalidToken when the issuer is no longer trusted (RFC
        8725 §3.8: nothing is fetched for it) and KeySetUnavailable past the admissions."""
        now = clock.now()
        dynamic_issuers.check(issuer, config, now)
        name = issuer.issuer
        state = self._dynamic.get(name)
        if state is not None and (state.issuer is issuer or state.issuer == issuer):
            with self._lock:  # _evict iterates: no reordering meanwhile
                if name in self._dynamic:  # else evicted meanwhile: it still serves this request
                    self._dynamic.move_to_end(name)
            return state
        state = self._new_state(issuer)
        if state.key_set is None:
            # A set another process fetched (or one this process had before it was evicted)
            # costs no fetch, hence no admission.
            state.key_set = state.cached(config)
        with self._lock:
            current = self._dynamic.get(name)
            if current is not None and current.issuer == issuer:
                return current  # created by another thread meanwhile: one admission for all
            if state.key_set is None:
                wait = self._admission.admit(config.new_issuers_per_minute, now)
                if wait:
                    raise KeySetUnavailable(retry_after=wait)
            self._dynamic.pop(name, None)
            while len(self._dynamic) >= config.max_dynamic_issuers:
                self._evict()
            self._dynamic[name] = state
        return state

    def _evict(self) -> None:
        # States that never obtained a key set (tokens naming unknown tenants) leave first,
        # so that such a flood does not push out the key sets of tenants in use.
        for name, state in self._dynamic.items():
            if state.key_set is None:
                del self._dynamic[name]
                return
        self._dynamic.popitem(last=False)

    def _peek(self, issuer: IssuerConfig) -> IssuerKeys:
        """The state of ``issuer`` without creating a kept one for a dynamic issuer."""
        if not issuer.dynamic:
            return self._state(issuer)
        state = self._dynamic.get(issuer.issuer)
        return state if state is not None and state.issuer == issuer else self._new_state(issuer)

    def _new_state(self, issuer: IssuerConfig) -> IssuerKeys:
        text = self._installed.get(issuer.issuer)
        if text is None:
            return IssuerKeys(issuer)
        now = clock.now()
        try:
            key_set = build_key_set(
                issuer, parse_document(f"the installed key set of {issuer.issuer}", text, None), now, math.inf
            )
        except FetchError as exc:
            logger.warning("%s", exc)
            key_set = KeySet(by_kid={}, by_alg={}, fetched_at=now, expires_at=math.inf)
        return _InstalledKeys(issuer, key_set=key_set, text=text)

    def install(self, issuer: str, jwks: Any) -> None:
        """Use the JWK Set ``jwks`` (a dict) as the key set of the issuer identified by
        ``issuer`` in this process, instead of fetching one, until :meth:`uninstall`.

        For tests (:mod:`django_jwt_at.testing`): the keys are checked as fetched ones are
        (unusable keys are dropped with a log record), never expire, are never refreshed (a
        token with an unknown kid finds no key, without network), and stay installed
        across settings changes.
        """
        text = json.dumps(jwks)
        with self._lock:
            self._installed[issuer] = text
            self._issuers.pop(issuer, None)
            self._dynamic.pop(issuer, None)

    def uninstall(self, issuer: str) -> None:
        """Undo :meth:`install`: the issuer's key set is fetched again from then on."""
        with self._lock:
            self._installed.pop(issuer, None)
            self._issuers.pop(issuer, None)
            self._dynamic.pop(issuer, None)

    def find(self, issuer: IssuerConfig, kid: str | None, alg: str, config: Config) -> Sequence[VerificationKey]:
        """Keys of ``issuer`` for (kid, alg), fetching as needed; see :class:`IssuerKeys`.

        For an issuer trusted at run time, also raises InvalidToken when it is no longer
        trusted and KeySetUnavailable when it is new and past ``JWT_AT_NEW_ISSUERS_PER_MINUTE``.
        """
        state = self._dynamic_state(issuer, config) if issuer.dynamic else self._state(issuer)
        return state.find(kid, alg, config)

    def cached(self, issuer: IssuerConfig, config: Config) -> KeySet | None:
        """The fresh key set of ``issuer`` held in this process or the shared cache, without
        any network I/O (for ``manage.py jwt_at_inspect``); see :meth:`IssuerKeys.cached`."""
        return self._peek(issuer).cached(config)

    def status(self, issuer: IssuerConfig, config: Config, *, refresh: bool = False) -> KeySetStatus:
        """Describe the shared-cache key set of ``issuer``; see :meth:`IssuerKeys.status`."""
        return self._peek(issuer).status(config, refresh=refresh)

    def dynamic_issuers(self) -> list[str]:
        """The issuers trusted at run time whose key-set state this process keeps, least
        recently used first."""
        return list(self._dynamic)

    def clear(self) -> None:
        """Forget every key set held in this process (the Django cache is left alone)."""
        global _unsigned_warned
        with self._lock:
            self._issuers.clear()
            self._dynamic.clear()
            self._admission.clear()
            _cache_down_until.clear()
            shared_cache.forget()
            _unsigned_warned = False


#: The registry used by the authentication class.
key_sets = KeySetRegistry()


on_config_change(key_sets.clear)
