"""Verification keys built from JWKs (RFC 7517), once per key-set fetch.

Every key is a python-jose ``Key``: RSA PKCS#1 v1.5 and ECDSA keys are its
``cryptography``-backed classes, imported directly so that a missing ``cryptography`` fails
loudly instead of falling back to python-jose's pure-Python backends. Their ``verify`` is
overridden to do per call only the signature check: python-jose builds padding, hash and
ECDSA objects on every call, which is a tenth of the cost of a token. python-jose has no
RSASSA-PSS or EdDSA, so :class:`RSAPSSKey` and :class:`EdDSAKey` add them as Key
subclasses of our own; nothing is registered inside python-jose.

Every JWK is checked before use (RFC 8725 §3.1, RFC 7518 §3.3, RFC 7517 §4.2/§4.3); a
JWK that fails is refused with an :class:`UnusableKey` naming the reason. Key sizes are
bounded before any key object (or any big integer) is built: an RSA modulus from 2048 to
``max_rsa_bits`` bits, an odd RSA exponent of at most 32 bits, EC and OKP coordinates of
exactly their curve's length. A DPoP proof brings its own key (RFC 9449 §4.2), so without
these bounds a client could make every signature check as costly as it likes: an RSA
verification costs in proportion to the exponent's bits and to the square of the
modulus's.
"""

from __future__ import annotations

import base64
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jose.backends.base import Key
from jose.backends.cryptography_backend import CryptographyECKey, CryptographyRSAKey

#: The shortest RSA modulus accepted (RFC 7518 §3.3: "2048 bits or larger MUST be used").
MIN_RSA_BITS = 2048
#: The longest RSA modulus accepted by default (``JWT_AT_MAX_RSA_KEY_BITS``), and always
#: for DPoP proof keys.
MAX_RSA_BITS = 8192
#: The RSA public exponent is an odd number of at most this many octets: 3 <= e < 2**32.
#: RFC 8017 §3.1 allows any odd e from 3 to n - 1, but every issuer and client library
#: uses 65537 (or 3), and a longer exponent only makes each verification slower.
MAX_RSA_EXPONENT_OCTETS = 4
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_HASHES: Mapping[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
#: Each EC curve, its algorithm and its coordinate length in octets (RFC 7518 §6.2.1.2).
_EC_CURVES: Mapping[str, tuple[type[ec.EllipticCurve], str, int]] = {
    "P-256": (ec.SECP256R1, "ES256", 32),
    "P-384": (ec.SECP384R1, "ES384", 48),
    "P-521": (ec.SECP521R1, "ES512", 66),
}
#: RFC 8037 §2: the length of the public key ``x`` of each OKP curve, in octets.
_OKP_SIZES: Mapping[str, int] = {"Ed25519": 32, "Ed448": 57}
_RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_B64URL_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


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


def _encoded_length(octets: int) -> int:
    """Characters of the unpadded base64url encoding of ``octets`` octets (RFC 4648 §5)."""
    return (4 * octets + 2) // 3


def _b64_octets(jwk: Mapping[str, Any], member: str, max_chars: int, too_long: str) -> bytes:
    """The octets of a base64url member, refused with ``too_long`` as the reason when the
    encoding has more than ``max_chars`` characters: measured before anything is decoded."""
    value = jwk.get(member)
    if not isinstance(value, str):
        raise UnusableKey(f"member {member!r} is not base64url")
    if len(value) > max_chars:
        raise UnusableKey(too_long)
    # Deleting every alphabet byte leaves nothing only when the member is all alphabet: a
    # C pass over the bytes, where a regular expression costs ~10 ns a character.
    if not value or not value.isascii() or value.encode("ascii").translate(None, _B64URL_ALPHABET):
        raise UnusableKey(f"member {member!r} is not base64url")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _fixed_octets(jwk: Mapping[str, Any], member: str, size: int) -> bytes:
    """The octets of a member that must be exactly ``size`` octets long: an EC coordinate
    (RFC 7518 §6.2.1.2, §6.2.1.3: "the full size of a coordinate for the curve") or an OKP
    public key (RFC 8037 §2)."""
    reason = f"member {member!r} is not {size} octets long"
    octets = _b64_octets(jwk, member, _encoded_length(size), reason)
    if len(octets) != size:
        raise UnusableKey(reason)
    return octets


def rsa_public_numbers(jwk: Mapping[str, Any], max_bits: int) -> rsa.RSAPublicNumbers:
    """``n`` and ``e`` of an RSA JWK, checked for size before any integer is built.

    Raises UnusableKey unless the modulus has ``MIN_RSA_BITS`` to ``max_bits`` bits and the
    exponent is odd, at least 3 and at most ``MAX_RSA_EXPONENT_OCTETS`` octets long. The
    sizes come from the lengths of the encodings (a member longer than its bound is
    refused without being decoded) and then of the decoded octets, so refusing a key of
    any size costs no arithmetic. One leading zero octet is tolerated in each member:
    RFC 7518 §6.3.1.1 notes libraries that add one, and it does not change the value.
    The members are Base64urlUInt values (RFC 7518 §6.3.1.1, §6.3.1.2).
    """
    longer = f"the RSA key is longer than {max_bits} bits"
    n = _b64_octets(jwk, "n", _encoded_length((max_bits + 7) // 8 + 1), longer).lstrip(b"\0")
    bits = 8 * len(n) - 8 + n[0].bit_length() if n else 0
    if bits < MIN_RSA_BITS:
        raise UnusableKey(f"the RSA key is shorter than {MIN_RSA_BITS} bits")
    if bits > max_bits:
        raise UnusableKey(longer)
    exponent = "the RSA public exponent is not an odd number from 3 to 2**32"
    e = _b64_octets(jwk, "e", _encoded_length(MAX_RSA_EXPONENT_OCTETS + 1), exponent).lstrip(b"\0")
    if len(e) > MAX_RSA_EXPONENT_OCTETS:
        raise UnusableKey(exponent)
    e_value = int.from_bytes(e, "big")
    if e_value < 3 or not e_value & 1:
        raise UnusableKey(exponent)
    return rsa.RSAPublicNumbers(e_value, int.from_bytes(n, "big"))


def _algorithms_for(jwk: Mapping[str, Any], family: Collection[str], allowed: Collection[str]) -> list[str]:
    """Design decisions, key algorithms: a key with ``alg`` serves exactly that algorithm; without, every allowed
    algorithm of its family."""
    alg = jwk.get("alg")
    if alg is None:
        return sorted(a for a in family if a in allowed)
    if not isinstance(alg, str) or alg not in family:
        raise UnusableKey("its alg does not match its key type")
    return [alg] if alg in allowed else []


def load_jwk(
    jwk: object, allowed_algorithms: Collection[str], *, max_rsa_bits: int = MAX_RSA_BITS
) -> list[VerificationKey]:
    """Prepare one JWK for every allowed algorithm it may verify.

    Returns an empty list for a sound key none of whose algorithms are allowed. Raises
    UnusableKey for a key that must not be used: private members, ``use`` other than
    ``sig``, ``key_ops`` without ``verify``, symmetric or unknown key types, an RSA
    modulus under 2048 or over ``max_rsa_bits`` bits, an RSA exponent that is even, under
    3 or over 32 bits (:func:`rsa_public_numbers`), an EC or OKP coordinate that is not
    exactly its curve's length, a curve that does not match ``alg``, malformed members.
    Every size is checked before a key object is built.
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
            public = rsa_public_numbers(jwk, max_rsa_bits).public_key()
            return [
                VerificationKey(
                    kid,
                    alg,
                    RSAPSSKey(public, alg) if alg.startswith("PS") else RSAPKCS1Key(public, alg),
                )
                for alg in algorithms
            ]
        if kty == "EC":
            crv = jwk.get("crv")
            if not isinstance(crv, str) or crv not in _EC_CURVES:
                raise UnusableKey("its curve is not supported")
            curve, curve_alg, size = _EC_CURVES[crv]
            algorithms = _algorithms_for(jwk, {curve_alg}, allowed_algorithms)
            x, y = (int.from_bytes(_fixed_octets(jwk, member, size), "big") for member in ("x", "y"))
            public_ec = ec.EllipticCurvePublicNumbers(x, y, curve()).public_key()
            return [VerificationKey(kid, alg, ECDSAKey(public_ec, alg)) for alg in algorithms]
        if kty == "OKP":
            crv = jwk.get("crv")
            if not isinstance(crv, str) or crv not in _OKP_SIZES:
                raise UnusableKey("its curve is not supported")
            raw = _fixed_octets(jwk, "x", _OKP_SIZES[crv])
            public_ed: ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
            if crv == "Ed25519":
                public_ed = ed25519.Ed25519PublicKey.from_public_bytes(raw)
            else:
                public_ed = ed448.Ed448PublicKey.from_public_bytes(raw)
            algorithms = _algorithms_for(jwk, {"EdDSA"}, allowed_algorithms)
            return [VerificationKey(kid, alg, EdDSAKey(public_ed, alg)) for alg in algorithms]
    except UnusableKey:
        raise
    except Exception as exc:  # invalid numbers, point not on the curve, ...
        raise UnusableKey("its key material is invalid") from exc
    raise UnusableKey("its key type is not a supported asymmetric type")
