"""An independent JWS signer for the test suite, built on ``cryptography`` directly.

Tokens under test must not be produced by the library that verifies them (python-jose is
never used here), so a quirk of one implementation cannot cancel out in the other. The
helpers let a test control every byte: a segment may be a dict (serialized as compact
JSON), raw bytes (base64url-encoded as they are) or a :class:`Raw` segment used verbatim.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import random
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

_HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
_HMAC = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
_CURVES = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1}
_CURVE_ALG = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}


def b64url(data: bytes) -> str:
    """Canonical unpadded base64url (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def json_bytes(obj: Any) -> bytes:
    """Compact JSON, UTF-8, no ASCII escaping of non-ASCII text."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _int_b64(value: int, length: int | None = None) -> str:
    length = length or max(1, (value.bit_length() + 7) // 8)
    return b64url(value.to_bytes(length, "big"))


@dataclass(frozen=True)
class Raw:
    """A segment used exactly as given (already encoded, possibly deliberately wrong)."""

    segment: str


def encode_segment(part: Any) -> str:
    if isinstance(part, Raw):
        return part.segment
    if isinstance(part, (bytes, bytearray)):
        return b64url(bytes(part))
    if isinstance(part, str):
        return b64url(part.encode("utf-8"))  # JSON text written by the test
    return b64url(json_bytes(part))


class SigningKey:
    """A private key with its kid and its public JWK."""

    def __init__(self, kid: str, private: Any, default_alg: str) -> None:
        self.kid = kid
        self.private = private
        self.default_alg = default_alg

    @property
    def kty(self) -> str:
        if isinstance(self.private, rsa.RSAPrivateKey):
            return "RSA"
        if isinstance(self.private, ec.EllipticCurvePrivateKey):
            return "EC"
        if isinstance(self.private, ed25519.Ed25519PrivateKey):
            return "OKP"
        return "oct"

    def public_key(self) -> Any:
        return self.private.public_key()

    def public_jwk(self, *, alg: Any = "default", use: Any = "sig", kid: Any = "default", **extra: Any) -> dict:
        """The public JWK. ``alg``/``use``/``kid`` may be None to leave the member out."""
        pub = self.public_key()
        if self.kty == "RSA":
            numbers = pub.public_numbers()
            jwk: dict[str, Any] = {"kty": "RSA", "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}
        elif self.kty == "EC":
            numbers = pub.public_numbers()
            crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[pub.curve.name]
            size = (pub.curve.key_size + 7) // 8
            jwk = {"kty": "EC", "crv": crv, "x": _int_b64(numbers.x, size), "y": _int_b64(numbers.y, size)}
        else:
            raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
        kid = self.kid if kid == "default" else kid
        alg = self.default_alg if alg == "default" else alg
        if kid is not None:
            jwk["kid"] = kid
        if use is not None:
            jwk["use"] = use
        if alg is not None:
            jwk["alg"] = alg
        jwk.update(extra)
        return jwk

    def private_jwk(self) -> dict:
        """The JWK including private members (only for 'published private key' tests)."""
        jwk = self.public_jwk()
        if self.kty == "RSA":
            n = self.private.private_numbers()
            jwk.update(
                d=_int_b64(n.d),
                p=_int_b64(n.p),
                q=_int_b64(n.q),
                dp=_int_b64(n.dmp1),
                dq=_int_b64(n.dmq1),
                qi=_int_b64(n.iqmp),
            )
        elif self.kty == "EC":
            jwk["d"] = _int_b64(self.private.private_numbers().private_value)
        return jwk

    def public_pem(self) -> bytes:
        return self.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def public_der(self) -> bytes:
        return self.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def private_pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def __repr__(self) -> str:
        return f"<SigningKey {self.kid} {self.kty}>"


def rsa_key(kid: str, bits: int = 2048, alg: str = "RS256") -> SigningKey:
    return SigningKey(kid, rsa.generate_private_key(public_exponent=65537, key_size=bits), alg)


def rsa_key_with_exponent(kid: str, exponent: int, bits: int = 2048, alg: str = "RS256") -> SigningKey:
    """An RSA key with public exponent ``exponent`` (``cryptography`` generates only 3 and
    65537): the primes of a generated key, with the private exponent recomputed."""
    while True:
        numbers = rsa.generate_private_key(public_exponent=65537, key_size=bits).private_numbers()
        p, q = numbers.p, numbers.q
        phi = (p - 1) * (q - 1)
        if math.gcd(exponent, phi) == 1 and exponent < p * q:
            break
    d = pow(exponent, -1, phi)
    public = rsa.RSAPublicNumbers(exponent, p * q)
    private = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), public).private_key()
    return SigningKey(kid, private, alg)


def odd_modulus(bits: int, seed: int = 0) -> int:
    """A fixed odd number of exactly ``bits`` bits: an RSA modulus for tests that load a
    key without verifying anything with it (no primes, so no key generation)."""
    return random.Random(seed or bits).getrandbits(bits) | 1 << (bits - 1) | 1


def rsa_jwk(n: int, e: int = 65537, **members: Any) -> dict:
    """A public RSA JWK of ``n`` and ``e``, minimally encoded (RFC 7518 §6.3.1), plus ``members``."""
    return {"kty": "RSA", "n": _int_b64(n), "e": _int_b64(e), **members}


def ec_key(kid: str, crv: str = "P-256") -> SigningKey:
    return SigningKey(kid, ec.generate_private_key(_CURVES[crv]()), _CURVE_ALG[crv])


def ed25519_key(kid: str) -> SigningKey:
    return SigningKey(kid, ed25519.Ed25519PrivateKey.generate(), "EdDSA")


def sign(alg: str, key: SigningKey | bytes, signing_input: bytes, *, ec_hash: str | None = None) -> bytes:
    """The JWS signature of ``signing_input`` for ``alg`` (RFC 7518 §3).

    ``key`` is a SigningKey, or bytes for HS*. ``alg`` is what the math uses, independent
    of what a header claims, so tests can sign with one algorithm and announce another.
    """
    if alg in _HMAC:
        assert isinstance(key, (bytes, bytearray))
        return hmac.new(bytes(key), signing_input, _HMAC[alg]).digest()
    assert isinstance(key, SigningKey)
    private = key.private
    if alg.startswith("RS"):
        return private.sign(signing_input, padding.PKCS1v15(), _HASHES[alg[2:]]())
    if alg.startswith("PS"):
        h = _HASHES[alg[2:]]()
        return private.sign(signing_input, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h)
    if alg.startswith("ES"):
        h = _HASHES[ec_hash or alg[2:]]()
        der = private.sign(signing_input, ec.ECDSA(h))
        r, s = decode_dss_signature(der)
        size = (private.curve.key_size + 7) // 8  # raw r || s (RFC 7518 §3.4), not DER
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if alg == "EdDSA":
        return private.sign(signing_input)
    raise ValueError(f"cannot sign with {alg}")


def sign_compact(
    header: Any,
    payload: Any,
    key: SigningKey | bytes | None,
    *,
    alg: str | None = None,
    signature: bytes | Raw | None = None,
) -> str:
    """Build ``header.payload.signature``.

    ``alg`` defaults to the header's ``alg`` (when the header is a dict). With
    ``signature`` given, no signing happens (bytes are encoded, a Raw is used verbatim).
    ``key=None`` yields an empty signature (``h.p.``).
    """
    h = encode_segment(header)
    p = encode_segment(payload)
    signing_input = f"{h}.{p}".encode("ascii")
    if signature is not None:
        s = signature.segment if isinstance(signature, Raw) else b64url(signature)
    elif key is None:
        s = ""
    else:
        s = b64url(sign(alg or header["alg"], key, signing_input))
    return f"{h}.{p}.{s}"


def split(token: str) -> list[str]:
    return token.split(".")


def decode_part(segment: str) -> dict:
    return json.loads(b64url_decode(segment))
