"""A DPoP client key for tests: RFC 7638 thumbprints and RFC 9449 §4.2 proofs, signed with
``cryptography`` directly."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from .. import clock
from .issuer import _apply
from .keys import PrivateKey, TestKey, b64url


def _configured_origin() -> str:
    from django.core.exceptions import ImproperlyConfigured

    from ..conf import get_config

    origin = get_config().dpop_origin
    if origin is None:
        raise ImproperlyConfigured(
            "a DPoP proof for a path needs the API's external origin: set JWT_AT_RESOURCE_URL "
            "or JWT_AT_RESOURCE (the package checks htu against it), or pass a full URL"
        )
    return origin


class DPoPKey:
    """A client's DPoP key pair (RFC 9449): :attr:`jkt` to bind tokens to it, and
    :meth:`proof` to sign proofs with it.

    ``alg`` is the signing algorithm (``ES256`` by default, a new P-256 key; any
    algorithm of :class:`TestKey`, which the API must list in
    ``JWT_AT_DPOP_ALGORITHMS``); ``private_key`` a ``cryptography`` private key to use
    instead of a generated one. Every key is new, so two ``DPoPKey()`` never match::

        key = DPoPKey()
        token = issuer.token(dpop_key=key)                    # cnf.jkt = key.jkt
        authenticate(client, token, dpop=key)                 # a fresh proof per request
        client.get("/api/orders", headers=dpop_headers(token, key, "GET", "/api/orders"))
    """

    def __init__(self, alg: str = "ES256", *, private_key: PrivateKey | None = None) -> None:
        self._key = TestKey(alg, private_key=private_key)

    @property
    def alg(self) -> str:
        """The algorithm of the proofs (the header's ``alg``)."""
        return self._key.alg

    @property
    def private_key(self) -> PrivateKey:
        """The ``cryptography`` private key."""
        return self._key.private_key

    @property
    def jwk(self) -> dict[str, str]:
        """The public key as a bare JWK (RFC 7517; only ``kty`` and the key's members),
        as a proof's ``jwk`` header carries it."""
        return self._key._public_members()

    @property
    def jkt(self) -> str:
        """The RFC 7638 SHA-256 thumbprint of the public key: the ``cnf.jkt`` of the
        tokens bound to this key (RFC 9449 §6.1)."""
        return self._key.thumbprint()

    def proof(
        self,
        method: str,
        url: str,
        access_token: str | None = None,
        *,
        nonce: str | None = None,
        iat: float | None = None,
        jti: str | None = None,
        claims: Mapping[str, Any] | None = None,
        header: Mapping[str, Any] | None = None,
    ) -> str:
        """A DPoP proof (RFC 9449 §4.2) for a ``method`` request to ``url`` with
        ``access_token``.

        Header ``{"typ": "dpop+jwt", "alg": ..., "jwk": <public key>}``; claims ``jti``
        (a new UUID unless given), ``htm`` (``method`` as given: the package compares it
        exactly, so ``"GET"``, not ``"get"``), ``htu``, ``iat`` (default
        :func:`django_jwt_at.clock.now`, the time the package checks with), ``ath`` (the
        base64url SHA-256 of ``access_token``, when given) and ``nonce`` (when given).

        ``url`` is a full URL, or a path (starting with ``/``) that is appended to the
        origin the package checks ``htu`` against: ``JWT_AT_RESOURCE_URL``, or the origin
        of ``JWT_AT_RESOURCE`` (ImproperlyConfigured when neither is set). ``claims`` and
        ``header`` are applied last (:data:`~django_jwt_at.testing.OMIT` removes a member),
        to build proofs the package must refuse.
        """
        if url.startswith("/"):
            url = _configured_origin() + url
        head = _apply({"typ": "dpop+jwt", "alg": self.alg, "jwk": self.jwk}, header or {})
        body: dict[str, Any] = {
            "jti": str(uuid.uuid4()) if jti is None else jti,
            "htm": method,
            "htu": url,
            "iat": int(clock.now() if iat is None else iat),
        }
        if access_token is not None:
            body["ath"] = b64url(hashlib.sha256(access_token.encode("ascii")).digest())
        if nonce is not None:
            body["nonce"] = nonce
        return self._key.sign(head, _apply(body, claims or {}))

    def __repr__(self) -> str:
        return f"<DPoPKey {self.alg} jkt={self.jkt}>"
