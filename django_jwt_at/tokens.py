"""The validated access token: what a view sees as ``request.auth``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .conf import IssuerConfig


class AccessToken:
    """A JWT access token that passed every RFC 9068 §4 check; read-only.

    Claims are exposed as decoded; the raw token is not kept (RFC 6750 §5.3), so an
    AccessToken can be logged or stored without leaking a credential. Only the validator
    creates instances: the typed attributes below read claims whose presence and types it
    checked, and the scope set is built on first use (most requests never need all of it).
    """

    __slots__ = ("_claims", "_expires_at", "_header", "_issuer", "_not_before", "_scopes")

    def __init__(
        self,
        header: Mapping[str, Any],
        claims: Mapping[str, Any],
        *,
        issuer: IssuerConfig,
        expires_at: float,
        not_before: float | None,
    ) -> None:
        self._header = header
        self._claims = claims
        self._issuer = issuer
        self._expires_at = expires_at
        self._not_before = not_before
        self._scopes: frozenset[str] | None = None

    @property
    def header(self) -> Mapping[str, Any]:
        """The JOSE header, read-only all the way down as :attr:`claims`."""
        return self._header

    @property
    def claims(self) -> Mapping[str, Any]:
        """Every claim as decoded, read-only all the way down (the same token may serve many
        requests): JSON objects are read-only mappings and arrays are tuples."""
        return self._claims

    @property
    def issuer(self) -> str:
        """``iss``: the configured issuer identifier it matched exactly, or the issuer of a
        tenant of an issuer template, or one the issuer resolver trusts."""
        return self._issuer.issuer

    @property
    def tenant(self) -> str | None:
        """The tenant of the issuer: the value of the ``{tenant}`` placeholder of the issuer
        template ``iss`` matched (:doc:`/multi-tenant`); None for an issuer configured by its
        exact identifier or trusted by ``JWT_AT_ISSUER_RESOLVER``."""
        return self._issuer.tenant

    @property
    def subject(self) -> str:
        """``sub``: the resource owner, or the client itself without one (RFC 9068 §2.2)."""
        return self._claims["sub"]  # type: ignore[no-any-return]

    @property
    def client_id(self) -> str | None:
        """``client_id`` (RFC 8693 §4.3; the issuer profile may name another claim, such as
        ``azp``): the OAuth client the token was issued to. None only when the profile
        does not require it and the token has none."""
        return self._claims.get(self._issuer.client_id_claim)

    @property
    def audience(self) -> tuple[str, ...]:
        """``aud`` (or the profile's audience claim) as a tuple, one of which is this
        resource server."""
        aud = self._claims[self._issuer.audience_claim]
        return (aud,) if isinstance(aud, str) else tuple(aud)

    @property
    def scopes(self) -> frozenset[str]:
        """The ``scope`` claim as a set (RFC 9068 §2.2.3, RFC 6749 §3.3); empty without
        one. The issuer profile may name another claim (``scp``) and an array shape."""
        scopes = self._scopes
        if scopes is None:
            scope = self._claims.get(self._issuer.scope_claim)
            if not scope:
                scopes = frozenset()
            elif isinstance(scope, str):
                # Delimited by the space character only (RFC 6749 §3.3), not by other whitespace.
                scopes = frozenset(s for s in scope.split(" ") if s)
            else:
                scopes = frozenset(scope)
            self._scopes = scopes
        return scopes

    @property
    def roles(self) -> frozenset[str] | None:
        """The roles claim of the issuer profile (``roles`` by default, RFC 9068
        §2.2.3.1; or a path such as ``realm_access.roles``), as :meth:`claim_values`."""
        return self.claim_values(self._issuer.roles_claim)

    @property
    def jti(self) -> str | None:
        """``jti``: the token's unique identifier. None only when the issuer profile does
        not require it and the token has none."""
        return self._claims.get("jti")

    @property
    def issued_at(self) -> float:
        """``iat`` in seconds since the epoch."""
        return float(self._claims["iat"])

    @property
    def expires_at(self) -> float:
        """``exp`` in seconds since the epoch."""
        return self._expires_at

    @property
    def not_before(self) -> float | None:
        """``nbf`` in seconds since the epoch, or None."""
        return self._not_before

    @property
    def auth_time(self) -> float | None:
        """``auth_time``: when the user last authenticated (RFC 9068 §2.2.1), or None."""
        value = self._claims.get("auth_time")
        return None if value is None else float(value)

    @property
    def acr(self) -> str | None:
        """``acr``: the authentication context class satisfied (RFC 9068 §2.2.1), or None."""
        return self._claims.get("acr")

    @property
    def amr(self) -> tuple[str, ...]:
        """``amr``: the authentication methods used (RFC 8176), empty without one."""
        return tuple(self._claims.get("amr", ()))

    def __repr__(self) -> str:
        return f"<AccessToken iss={self.issuer!r} sub={self.subject!r} jti={self.jti!r}>"

    def claim_values(self, name: str) -> frozenset[str] | None:
        """The strings of a list-valued claim such as ``roles``, ``groups`` or
        ``entitlements`` (RFC 9068 §2.2.3.1); None when it is absent or not a list of
        strings, so that a check depending on it fails closed.

        ``name`` is a claim name or, when no claim has that exact name, a dotted path
        through objects (``realm_access.roles``). Exact names come first so that
        namespaced claims such as ``https://example.com/roles`` work.
        """
        value: Any = self._claims.get(name)
        if value is None and name not in self._claims and "." in name:
            value = self._claims
            for part in name.split("."):
                value = value.get(part) if isinstance(value, Mapping) else None
        if isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value):
            return frozenset(value)
        return None

    @property
    def dpop_bound(self) -> bool:
        """True when the token is bound to a DPoP key (``cnf`` with ``jkt``, RFC 9449 §6.1).

        A ``cnf`` that validation did not check (it refuses every ``cnf`` but ``jkt`` and,
        with certificate binding on, ``x5t#S256``) counts as bound (fail closed): such a
        token is refused as a Bearer token and matches no proof key.
        """
        cnf = self._claims.get("cnf")
        return cnf is not None and (not isinstance(cnf, Mapping) or "jkt" in cnf)

    @property
    def jkt(self) -> str | None:
        """The JWK SHA-256 thumbprint the token is bound to (``cnf.jkt``), or None."""
        cnf = self._claims.get("cnf")
        jkt = cnf.get("jkt") if isinstance(cnf, Mapping) else None
        return jkt if isinstance(jkt, str) else None

    @property
    def x5t_s256(self) -> str | None:
        """The SHA-256 thumbprint of the client certificate the token is bound to
        (``cnf`` member ``x5t#S256``, RFC 8705 §3.1), or None."""
        cnf = self._claims.get("cnf")
        x5t = cnf.get("x5t#S256") if isinstance(cnf, Mapping) else None
        return x5t if isinstance(x5t, str) else None
