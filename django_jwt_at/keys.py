"""Verification keys built from JWKs (RFC 7517), once per key-set fetch.

Every key is a python-jose ``Key``: RSA PKCS#1 v1.5 and ECDSA keys are its
``cryptography``-backed classes, imported directly so that a missing ``cryptography`` fails
loudly instead of falling back to python-jose's pure-Python backends. Their ``verify`` is
overridden to do per call only the signature check: python-jose builds padding, hash and
ECDSA objects on every call, which is a tenth of the cost of a token. python-jose has no
RSASSA-PSS or EdDSA, so :class:`RSAPSSKey` and :class:`EdDSAKey` add them as Key
subclasses of our own; nothing is registered inside python-jose.

Every JWK is checked before use (RFC 8725 §3.1, RFC 7518 §3.3, RFC 7517 §4.2/§4.3); a
JWK that fails is refused with an :class:`UnusableKey` naming the reason.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jose.backends.base import Key
from jose.backends.cryptography_backend import CryptographyECKey, CryptographyRSAKey

MIN_RSA_BITS = 2048
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_HASHES: Mapping[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
_EC_CURVES: Mapping[str, tuple[type[ec.EllipticCurve], str]] = {
    "P-256": (ec.SECP256R1, "ES256"),
    "P-384": (ec.SECP384R1, "ES384"),
    "P-521": (ec.SECP521R1, "ES512"),
}
_RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_B64URL = re.compile(r"[A-Za-z0-9_-]+\Z")


class UnusableKey(Exception):
    """A JWK that must not be used; ``private`` marks a published private key."""

    def __init__(self, reason: str, *, private: bool = False) -> None:
        super().__init__(reason)
        self.private = private


class _RSAVerify:
    """RSA verification with padding and hash objects made once, at key preparation."""

    prepared_key: rsa.RSAPublicKey
    _padding: padding.AsymmetricPadding
    _hash: hashes.HashAlgorithm

    def verify(self, msg: bytes, sig: bytes) -> bool:
        try:
            self.prepared_key.verify(sig, msg, self._padding, self._hash)
        except InvalidSignature:
            return False
        return True


class RSAPKCS1Key(_RSAVerify, CryptographyRSAKey):  # type: ignore[misc]
    """RSASSA-PKCS1-v1_5 verification (RFC 7518 §3.3) of a public key."""

    def __init__(self, key: rsa.RSAPublicKey, algorithm: str) -> None:
        super().__init__(key, algorithm)
        self._padding = padding.PKCS1v15()
        self._hash = self.hash_alg()


class ECDSAKey(CryptographyECKey):  # type: ignore[misc]
    """ECDSA verification (RFC 7518 §3.4) of a public key."""

    def __init__(self, key: ec.EllipticCurvePublicKey, algorithm: str) -> None:
        super().__init__(key, algorithm)
        self._size = (key.curve.key_size + 7) // 8
        self._ecdsa = ec.ECDSA(self.hash_alg())

    def verify(self, msg: bytes, sig: bytes) -> bool:
        # RFC 7518 §3.4: the signature is R || S, each exactly the curve's octet length;
        # cryptography takes the DER form.
        size = self._size
        if len(sig) != 2 * size:
            return False
        der = encode_dss_signature(int.from_bytes(sig[:size], "big"), int.from_bytes(sig[size:], "big"))
        try:
            self.prepared_key.verify(der, msg, self._ecdsa)
        except InvalidSignature:
            return False
        return True


class RSAPSSKey(_RSAVerify, Key):  # type: ignore[misc]
    """RSASSA-PSS verification (RFC 7518 §3.5: MGF1 with the same hash, salt = hash size)."""

    def __init__(self, key: rsa.RSAPublicKey, algorithm: str) -> None:
        self.prepared_key = key
        self._hash = _HASHES[algorithm[2:]]()
        self._padding = padding.PSS(mgf=padding.MGF1(self._hash), salt_length=self._hash.digest_size)


class EdDSAKey(Key):  # type: ignore[misc]
    """EdDSA verification with Ed25519 or Ed448 (RFC 8037 §3.1)."""

    def __init__(self, key: ed25519.Ed25519PublicKey | ed448.Ed448PublicKey, algorithm: str) -> None:
        self.prepared_key = key

    def verify(self, msg: bytes, sig: bytes) -> bool:
        try:
            self.prepared_key.verify(sig, msg)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class VerificationKey:
    """A published key prepared for one algorithm (RFC 8725 §3.1: one algorithm per key)."""

    kid: str | None
    alg: str
    key: Any  # a python-jose Key with verify(msg, sig) -> bool

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        """True when ``signature`` is valid for ``signing_input``; never raises."""
        try:
            return bool(self.key.verify(signing_input, signature))
        except Exception:  # a library error on hostile input is a failed verification
            return False


def _b64_int(jwk: Mapping[str, Any], member: str) -> int:
    value = jwk.get(member)
    if not isinstance(value, str) or not _B64URL.match(value):
        raise UnusableKey(f"member {member!r} is not base64url")
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def _algorithms_for(jwk: Mapping[str, Any], family: Collection[str], allowed: Collection[str]) -> list[str]:
    """Choice A-30: a key with ``alg`` serves exactly that algorithm; without, every allowed
    algorithm of its family."""
    alg = jwk.get("alg")
    if alg is None:
        return sorted(a for a in family if a in allowed)
    if not isinstance(alg, str) or alg not in family:
        raise UnusableKey("its alg does not match its key type")
    return [alg] if alg in allowed else []


def load_jwk(jwk: object, allowed_algorithms: Collection[str]) -> list[VerificationKey]:
    """Prepare one JWK for every allowed algorithm it may verify.

    Returns an empty list for a sound key none of whose algorithms are allowed. Raises
    UnusableKey for a key that must not be used: private members, ``use`` other than
    ``sig``, ``key_ops`` without ``verify``, symmetric or unknown key types, RSA under
    2048 bits, a curve that does not match ``alg``, malformed members.
    """
    if not isinstance(jwk, Mapping):
        raise UnusableKey("it is not a JSON object")
    if PRIVATE_MEMBERS & jwk.keys():
        raise UnusableKey("it contains private key members", private=True)
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise UnusableKey("its kid is not a string")
    if jwk.get("use", "sig") != "sig":
        raise UnusableKey("its use is not sig")
    key_ops = jwk.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        raise UnusableKey("its key_ops do not include verify")
    kty = jwk.get("kty")
    try:
        if kty == "RSA":
            algorithms = _algorithms_for(jwk, _RSA_ALGORITHMS, allowed_algorithms)
            public = rsa.RSAPublicNumbers(_b64_int(jwk, "e"), _b64_int(jwk, "n")).public_key()
            if public.key_size < MIN_RSA_BITS:
                raise UnusableKey(f"the RSA key is shorter than {MIN_RSA_BITS} bits")
            return [
                VerificationKey(
                    kid,
                    alg,
                    RSAPSSKey(public, alg) if alg.startswith("PS") else RSAPKCS1Key(public, alg),
                )
                for alg in algorithms
            ]
        if kty == "EC":
            curve, curve_alg = _EC_CURVES.get(jwk.get("crv"), (None, ""))  # type: ignore[arg-type]
            if curve is None:
                raise UnusableKey("its curve is not supported")
            algorithms = _algorithms_for(jwk, {curve_alg}, allowed_algorithms)
            public_ec = ec.EllipticCurvePublicNumbers(_b64_int(jwk, "x"), _b64_int(jwk, "y"), curve()).public_key()
            return [VerificationKey(kid, alg, ECDSAKey(public_ec, alg)) for alg in algorithms]
        if kty == "OKP":
            crv = jwk.get("crv")
            x = jwk.get("x")
            if not isinstance(x, str) or not _B64URL.match(x):
                raise UnusableKey("member 'x' is not base64url")
            raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
            public_ed: ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
            if crv == "Ed25519":
                public_ed = ed25519.Ed25519PublicKey.from_public_bytes(raw)
            elif crv == "Ed448":
                public_ed = ed448.Ed448PublicKey.from_public_bytes(raw)
            else:
                raise UnusableKey("its curve is not supported")
            algorithms = _algorithms_for(jwk, {"EdDSA"}, allowed_algorithms)
            return [VerificationKey(kid, alg, EdDSAKey(public_ed, alg)) for alg in algorithms]
    except UnusableKey:
        raise
    except Exception as exc:  # invalid numbers, point not on the curve, ...
        raise UnusableKey("its key material is invalid") from exc
    raise UnusableKey("its key type is not a supported asymmetric type")
