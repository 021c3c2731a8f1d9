"""Signing keys of a test issuer, and compact JWS signing, on ``cryptography`` directly.

The tokens a :class:`~django_jwt_at.testing.TestIssuer` mints are produced here and never
by python-jose (which the package verifies with), so a quirk of one cannot hide in the other.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
_CURVES: dict[str, tuple[str, type[ec.EllipticCurve]]] = {
    "ES256": ("P-256", ec.SECP256R1),
    "ES384": ("P-384", ec.SECP384R1),
    "ES512": ("P-521", ec.SECP521R1),
}
#: The algorithms a test key can sign with (RFC 7518 §3, RFC 8037 §3.1).
SIGNING_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


def b64url(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint(value: int, length: int | None = None) -> str:
    """A JWK Base64urlUInt (RFC 7518 §6.2.1.2, §6.3.1.1): big-endian, minimal or fixed length."""
    return b64url(value.to_bytes(length or max(1, (value.bit_length() + 7) // 8), "big"))


def _segment(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


class TestKey:
    """A private signing key for one algorithm, its ``kid`` and its public JWK.

    ``kid`` defaults to the RFC 7638 thumbprint of the public key.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, alg: str, *, kid: str | None = None, private_key: PrivateKey | None = None) -> None:
        if alg not in SIGNING_ALGORITHMS:
            raise ValueError(f"cannot sign with {alg!r}; supported: {sorted(SIGNING_ALGORITHMS)}")
        self.alg = alg
        if private_key is not None and not _fits(private_key, alg):
            raise ValueError(f"{type(private_key).__name__} cannot sign {alg}")
        self.private_key: PrivateKey = private_key or _generate(alg)
        self.kid = kid or self.thumbprint()

    def _public_members(self) -> dict[str, str]:
        public = self.private_key.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            numbers = public.public_numbers()
            return {"kty": "RSA", "n": _uint(numbers.n), "e": _uint(numbers.e)}
        if isinstance(public, ec.EllipticCurvePublicKey):
            crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[public.curve.name]
            size = (public.curve.key_size + 7) // 8
            point = public.public_numbers()
            return {"kty": "EC", "crv": crv, "x": _uint(point.x, size), "y": _uint(point.y, size)}
        assert isinstance(public, ed25519.Ed25519PublicKey)
        raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}

    def thumbprint(self) -> str:
        """The RFC 7638 JWK thumbprint (SHA-256) of the public key."""
        canonical = json.dumps(self._public_members(), separators=(",", ":"), sort_keys=True)
        return b64url(hashlib.sha256(canonical.encode("ascii")).digest())

    def public_jwk(self) -> dict[str, str]:
        """The public JWK with ``kid``, ``use`` = ``sig`` and ``alg`` (RFC 7517 §4)."""
        return {**self._public_members(), "kid": self.kid, "use": "sig", "alg": self.alg}

    def sign(self, header: Mapping[str, Any], claims: Mapping[str, Any] | bytes) -> str:
        """The compact JWS (RFC 7515 §7.1) of ``claims`` (a dict, or bytes taken as the
        payload verbatim) under ``header``, signed with this key's algorithm whatever the
        header's ``alg`` says (so that tests can announce another one)."""
        payload = b64url(claims) if isinstance(claims, bytes) else _segment(dict(claims))
        signing_input = f"{_segment(dict(header))}.{payload}"
        return f"{signing_input}.{b64url(self._signature(signing_input.encode('ascii')))}"

    def _signature(self, data: bytes) -> bytes:
        key, alg = self.private_key, self.alg
        if isinstance(key, rsa.RSAPrivateKey):
            digest = _HASHES[alg[2:]]()
            if alg.startswith("PS"):
                # RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash output.
                return key.sign(data, padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size), digest)
            return key.sign(data, padding.PKCS1v15(), digest)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(_HASHES[alg[2:]]())))
            size = (key.curve.key_size + 7) // 8  # RFC 7518 §3.4: R || S, fixed length, not DER
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
        return key.sign(data)

    def __repr__(self) -> str:
        return f"<TestKey {self.alg} kid={self.kid}>"


def _generate(alg: str) -> PrivateKey:
    if alg.startswith(("RS", "PS")):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg in _CURVES:
        return ec.generate_private_key(_CURVES[alg][1]())
    return ed25519.Ed25519PrivateKey.generate()


def _fits(key: PrivateKey, alg: str) -> bool:
    if isinstance(key, rsa.RSAPrivateKey):
        return alg.startswith(("RS", "PS"))
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return alg in _CURVES and isinstance(key.curve, _CURVES[alg][1])
    return alg == "EdDSA"
