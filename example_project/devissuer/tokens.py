"""Minting RFC 9068 access tokens: a compact-JWS RS256 signer on ``cryptography``.

Deliberately independent of django-jwt-at (and of python-jose, which it uses), so that
the demo shows the library accepting tokens it did not produce.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings

from .keys import b64url, public_jwk, signing_key


def sign_rs256(header: dict[str, Any], claims: dict[str, Any], key: rsa.RSAPrivateKey) -> str:
    """Return the JWS compact serialization (RFC 7515 §7.1) of ``claims`` under ``header``,
    signed with RSASSA-PKCS1-v1_5 SHA-256 (RS256, RFC 7518 §3.3)."""
    if header.get("alg") != "RS256":
        raise ValueError("this signer only produces RS256 signatures")

    def segment(value: dict[str, Any]) -> str:
        return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))

    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def mint_access_token(
    *,
    sub: str = "user-123",
    client_id: str = "demo-client",
    scope: str = "orders:read",
    audience: str | None = None,
    lifetime: int = 600,
    acr: str | None = None,
    auth_time_ago: int | None = None,
    roles: Sequence[str] | None = None,
    now: float | None = None,
    jkt: str | None = None,
) -> str:
    """Return an RFC 9068 access token of the development issuer (``settings.DEV_ISSUER``).

    ``iat`` is ``now`` and ``exp`` is ``now + lifetime``. A negative lifetime gives a token
    that expired that many seconds ago; its ``iat`` is then 600 s before ``exp``, as if it
    had been issued with the default lifetime. ``auth_time`` is ``now - auth_time_ago``.
    ``acr``, ``auth_time`` and ``roles`` are included only when given, ``scope`` only when
    not empty. ``jkt`` binds the token to a client's DPoP key: ``cnf`` = ``{"jkt": jkt}``,
    the RFC 7638 thumbprint of its public key (RFC 9449 §6.1).
    """
    current = int(time.time() if now is None else now)
    expires = current + lifetime
    issued = current if lifetime >= 0 else expires - 600
    claims: dict[str, Any] = {
        "iss": settings.DEV_ISSUER,
        "sub": sub,
        "aud": audience or settings.API_AUDIENCE,
        "client_id": client_id,
        "iat": issued,
        "exp": expires,
        "jti": str(uuid.uuid4()),
    }
    if scope:
        claims["scope"] = scope
    if acr is not None:
        claims["acr"] = acr
    if auth_time_ago is not None:
        claims["auth_time"] = current - auth_time_ago
    if roles is not None:
        claims["roles"] = list(roles)
    if jkt is not None:
        claims["cnf"] = {"jkt": jkt}
    header = {"typ": "at+jwt", "alg": "RS256", "kid": public_jwk()["kid"]}
    return sign_rs256(header, claims, signing_key())
