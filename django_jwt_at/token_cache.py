"""The verified-token cache: a repeated access token costs a hash and a dict lookup.

Entries are keyed by the SHA-256 of the token (never the token itself), inserted only
after full validation, and hold the resulting AccessToken with the key that verified it.
A hit is used only if the token is still within exp/nbf (with leeway) and that very key
object is still in the issuer's current key set, so a key removed by a refresh (or any
refresh at all, since key objects are rebuilt) sends the token through full validation
again. The cache is bounded (oldest entries leave first) and emptied when settings change.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from .conf import Config, IssuerConfig, on_config_change
from .jwks import KeySetRegistry
from .keys import VerificationKey
from .tokens import AccessToken


@dataclass(frozen=True)
class _Entry:
    token: AccessToken
    issuer: IssuerConfig
    kid: str | None
    alg: str
    key: VerificationKey


class VerifiedTokenCache:
    """A bounded map from token digest to a validated AccessToken (thread-safe)."""

    def __init__(self) -> None:
        self._entries: dict[bytes, _Entry] = {}
        self._lock = threading.Lock()

    @staticmethod
    def digest(raw: str) -> bytes:
        return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).digest()

    def get(self, digest: bytes, *, config: Config, key_sets: KeySetRegistry, now: float) -> AccessToken | None:
        """The cached token for ``digest`` if it is still valid at ``now``, else None."""
        entry = self._entries.get(digest)
        if entry is None:
            return None
        token = entry.token
        if now >= token.expires_at + config.leeway or (
            token.not_before is not None and now + config.leeway < token.not_before
        ):
            self._entries.pop(digest, None)
            return None
        if entry.key not in key_sets.find(entry.issuer, entry.kid, entry.alg, config):
            self._entries.pop(digest, None)
            return None
        return token

    def put(
        self,
        digest: bytes,
        token: AccessToken,
        *,
        issuer: IssuerConfig,
        kid: str | None,
        alg: str,
        key: VerificationKey,
        max_size: int,
    ) -> None:
        """Remember a token that passed full validation, verified by ``key``."""
        entry = _Entry(token, issuer, kid, alg, key)
        with self._lock:
            while len(self._entries) >= max_size:
                del self._entries[next(iter(self._entries))]  # insertion order: oldest first
            self._entries[digest] = entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


#: The cache used by the authentication class (size: JWT_AT_TOKEN_CACHE_SIZE).
verified_tokens = VerifiedTokenCache()


on_config_change(verified_tokens.clear)
