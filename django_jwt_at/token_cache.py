"""The verified-token cache: a repeated access token costs one dictionary lookup.

Entries are keyed by the token string itself, inserted only after full validation, and
hold the resulting AccessToken with the key that verified it. A hit is used only if the
token is still within exp/nbf (with leeway) and that very key object is still in the
issuer's current key set, so a key removed by a refresh (or any refresh at all, since key
objects are rebuilt) sends the token through full validation again. The cache is bounded
(oldest entries leave first) and emptied when settings change.

Why the token itself and not a digest of it: the dictionary compares the whole key on a
hit, so a hit means "this exact string passed validation", which a digest only implies
up to collisions, and the lookup skips hashing every token with SHA-256. The token is a
credential: the cache lives in this process's memory only, is never logged, and is never
written to a shared cache. Its memory is bounded by ``JWT_AT_TOKEN_CACHE_SIZE`` entries
of at most ``JWT_AT_MAX_TOKEN_SIZE`` characters each.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from .conf import Config, IssuerConfig, on_config_change
from .jwks import KeySet, KeySetRegistry
from .keys import VerificationKey
from .tokens import AccessToken


class _Entry:
    __slots__ = ("alg", "issuer", "key", "key_set", "kid", "token")

    def __init__(
        self,
        token: AccessToken,
        issuer: IssuerConfig,
        kid: str | None,
        alg: str,
        key: VerificationKey,
        key_set: KeySet | None,
    ) -> None:
        self.token = token
        self.issuer = issuer
        self.kid = kid
        self.alg = alg
        self.key = key
        self.key_set = key_set  # the key set ``key`` was found in, when it still was current


class VerifiedTokenCache:
    """A bounded map from a token string to its validated AccessToken (thread-safe).

    Keys are compared whole (``==`` on the string), never by a digest: one character
    of difference anywhere in the token is a miss.
    """

    def __init__(self) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        #: ``holds(raw)`` is ``raw in cache`` without a Python-level call, for the request
        #: path (the map is emptied in place, never replaced, so the bound method stays its own).
        self.holds = self._entries.__contains__

    def __contains__(self, raw: object) -> bool:
        """True when ``raw`` is, right now, a token that passed full validation (whether
        it is still valid is :meth:`get`'s question). Every such string is a well-formed
        compact JWS: base64url segments and two dots, at most the size limit."""
        return raw in self._entries

    def get(self, raw: str, *, config: Config, key_sets: KeySetRegistry, now: float) -> AccessToken | None:
        """The cached token for ``raw`` if it is still valid at ``now``, else None.

        Consults ``key_sets`` only when the key set the entry was verified against is no
        longer this process's current one, or has expired.
        """
        entry = self._entries.get(raw)
        if entry is None:
            return None
        token = entry.token
        leeway = config.leeway
        not_before = token.not_before
        if now >= token.expires_at + leeway or (not_before is not None and now + leeway < not_before):
            self._entries.pop(raw, None)
            return None
        key_set = entry.key_set
        # Fast path: the very key set that held the key is still current and fresh. Else
        # ask the registry, which refreshes an expired set: the key must still be in it.
        if key_set is None or key_set is not key_sets.current(entry.issuer) or now >= key_set.expires_at:
            if entry.key not in key_sets.find(entry.issuer, entry.kid, entry.alg, config):
                self._entries.pop(raw, None)
                return None
        return token

    def put(
        self,
        raw: str,
        token: AccessToken,
        *,
        issuer: IssuerConfig,
        kid: str | None,
        alg: str,
        key: VerificationKey,
        key_sets: KeySetRegistry,
        max_size: int,
    ) -> None:
        """Remember ``raw``, a token that passed full validation as ``token``, verified by ``key``."""
        key_set = key_sets.current(issuer)
        if key_set is not None and key not in key_set.find(kid, alg):
            key_set = None  # refreshed meanwhile: hits take the registry path
        entry = _Entry(token, issuer, kid, alg, key, key_set)
        with self._lock:
            entries = self._entries
            while len(entries) >= max_size:
                entries.popitem(last=False)  # oldest first
            entries[raw] = entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


#: The cache used by the authentication class (size: JWT_AT_TOKEN_CACHE_SIZE).
verified_tokens = VerifiedTokenCache()


on_config_change(verified_tokens.clear)
