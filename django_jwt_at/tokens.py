"""The validated access token: what a view sees as ``request.auth``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AccessToken:
    """A JWT access token that passed every RFC 9068 §4 check.

    Claims are exposed as decoded; the raw token is not kept (RFC 6750 §5.3), so an
    AccessToken can be logged or stored without leaking a credential.
    """

    header: Mapping[str, Any]
    claims: Mapping[str, Any]  # read-only: the same token may serve many requests
    issuer: str
    subject: str
    client_id: str
    audience: tuple[str, ...]
    scopes: frozenset[str]
    jti: str
    issued_at: float
    expires_at: float
    not_before: float | None
    auth_time: float | None
    acr: str | None
    amr: tuple[str, ...]

    def __repr__(self) -> str:
        return f"<AccessToken iss={self.issuer!r} sub={self.subject!r} jti={self.jti!r}>"

    def claim_values(self, name: str) -> frozenset[str] | None:
        """The strings of a list-valued claim such as ``roles``, ``groups`` or
        ``entitlements`` (RFC 9068 §2.2.3.1); None when it is absent or not a list of
        strings, so that a check depending on it fails closed."""
        value = self.claims.get(name)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return frozenset(value)
        return None

    @property
    def dpop_bound(self) -> bool:
        """True when the token is bound to a DPoP key (``cnf`` with ``jkt``, RFC 9449 §6.1).

        A ``cnf`` that is not an object counts as bound (fail closed): such a token is
        refused as a Bearer token and matches no proof key.
        """
        cnf = self.claims.get("cnf")
        return cnf is not None and (not isinstance(cnf, dict) or "jkt" in cnf)

    @property
    def jkt(self) -> str | None:
        """The JWK SHA-256 thumbprint the token is bound to (``cnf.jkt``), or None."""
        cnf = self.claims.get("cnf")
        jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
        return jkt if isinstance(jkt, str) else None
