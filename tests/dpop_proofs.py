"""DPoP proofs (RFC 9449 §4.2) made independently of the library, with ``cryptography``
through tests/signing.py, and the RFC 7638 thumbprints they bind to."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any

from . import signing

ABSENT = object()  # an override value removing the member
RS = "https://rs.example.com"


def thumbprint(jwk: dict) -> str:
    """RFC 7638 §3: required members, lexicographic order, no whitespace, SHA-256, base64url."""
    required = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}[jwk["kty"]]
    canonical = "{" + ",".join(f'"{name}":"{jwk[name]}"' for name in sorted(required)) + "}"
    return signing.b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def ath(token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def public_jwk(key: signing.SigningKey) -> dict:
    """The bare public JWK of a proof key (no kid, use or alg)."""
    return key.public_jwk(alg=None, use=None, kid=None)


def _apply(base: dict, overrides: dict | None) -> dict:
    result = dict(base)
    for name, value in (overrides or {}).items():
        if value is ABSENT:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def make_proof(
    key: signing.SigningKey | bytes,
    *,
    token: str | None,
    now: float,
    method: str = "GET",
    htu: str = RS + "/orders",
    header: dict | None = None,
    claims: dict | None = None,
    alg: str | None = None,
    jwk: Any = None,
) -> str:
    """A DPoP proof for ``method`` ``htu`` and ``token`` (D0 of spec §0.2), with overrides.

    ``alg`` is the signing algorithm (default: the key's); ``jwk`` replaces the public key
    in the header (default: ``key``'s).
    """
    if isinstance(key, signing.SigningKey):
        sign_alg = alg or key.default_alg
        default_jwk = public_jwk(key)
    else:
        sign_alg = alg or "HS256"
        default_jwk = {"kty": "oct", "k": signing.b64url(key)}
    h = _apply({"typ": "dpop+jwt", "alg": sign_alg, "jwk": default_jwk if jwk is None else jwk}, header)
    body = {"jti": str(uuid.uuid4()), "htm": method, "htu": htu, "iat": int(now)}
    if token is not None:
        body["ath"] = ath(token)
    body = _apply(body, claims)
    announced = h.get("alg")
    if sign_alg == "none" or announced == "none":
        return signing.sign_compact(h, body, None)
    return signing.sign_compact(h, body, key, alg=sign_alg)


def decode(proof: str) -> tuple[dict, dict]:
    header, payload, _ = proof.split(".")
    return json.loads(signing.b64url_decode(header)), json.loads(signing.b64url_decode(payload))
