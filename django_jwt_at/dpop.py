"""DPoP (RFC 9449) at the resource server: proofs, key binding, replay and nonces.

Free of any web framework: the caller passes the proof, the request method, the expected
``htu`` (built from the configured external origin, never from ``Host``), the access
token and the time. Every proof failure is an :class:`~django_jwt_at.errors.InvalidDPoPProof`
with a fixed description; proof content never reaches a response or a log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.exceptions import ImproperlyConfigured

from .conf import Config, normalized_origin
from .errors import Description, InvalidDPoPProof, InvalidToken, KeySetUnavailable, UseDPoPNonce
from .jws import b64url_decode, decode_json_object
from .keys import MAX_RSA_BITS, UnusableKey, load_jwk
from .tokens import AccessToken

logger = logging.getLogger(__name__)

#: RFC 9449 §11.1: "reject unnecessarily large jti" (Design decisions: dpop replay).
MAX_JTI_LENGTH = 256
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\Z")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# RFC 3986 characters only: urlsplit would silently drop tabs, newlines and leading spaces.
_URI = re.compile(r"[\x21-\x7e]+\Z")
# RFC 7638 §3.2: the required members of each key type, in lexicographic order.
_THUMBPRINT_MEMBERS: Mapping[str, tuple[str, ...]] = {
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "OKP": ("crv", "kty", "x"),
}
_NONCE_TS, _NONCE_RANDOM, _NONCE_MAC = 8, 16, 16
_NONCE = re.compile(r"[A-Za-z0-9_-]{54}\Z")  # base64url of the 40 bytes above
_NONCE_FUTURE = 5  # seconds of clock difference between instances tolerated on nonces


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _invalid() -> InvalidDPoPProof:
    return InvalidDPoPProof(Description.DPOP_PROOF)


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 JWK SHA-256 thumbprint, base64url without padding (RFC 9449 §6.1):
    the required members only, in lexicographic order, no whitespace."""
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"), ensure_ascii=False)
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def normalize_htu(url: str) -> str | None:
    """``url`` without query and fragment, normalised for comparison (Design decisions: dpop htu), or
    None when it is not an absolute http(s) URL.

    Scheme and host lower-cased, default port removed, an empty path made ``/``
    (RFC 3986 §6.2.2.1, §6.2.3), and the path percent-decoded: the server routes on the
    decoded path, so that is the form both sides are compared in (``%7E`` = ``~``,
    ``%2F`` = ``/``). No trailing-slash or dot-segment tolerance.
    """
    if not _URI.match(url):
        return None
    try:
        origin = normalized_origin(url)
        path = urlsplit(url).path or "/"
    except ValueError:
        return None
    if _PERCENT.search(path):
        return None
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        return None
    return origin + decoded


def expected_htu(origin: str | None, path: str) -> str | None:
    """The htu a proof for a request to ``path`` (decoded, as Django has it) must carry,
    or None when no external origin is configured (no proof can then match)."""
    return None if origin is None else origin + (path or "/")


def access_token_hash(token: str) -> str:
    """``ath``: base64url of the SHA-256 of the ASCII access token (RFC 9449 §4.2)."""
    return _b64url(hashlib.sha256(token.encode("ascii")).digest())


@dataclass(frozen=True)
class DPoPProof:
    """A proof that passed every RFC 9449 §4.3 check that does not need the token's key."""

    jkt: str  # RFC 7638 thumbprint of the proof key
    jti: str


def _is_dpop_jwt(typ: object) -> bool:
    # RFC 9449 §4.2 and RFC 7515 §4.1.9: a media type, compared case-insensitively, with
    # or without "application/" (Design decisions: dpop htu).
    return isinstance(typ, str) and typ.lower() in ("dpop+jwt", "application/dpop+jwt")


def _numeric(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def verify_proof(
    proof: str,
    *,
    method: str,
    htu: str | None,
    access_token: str,
    config: Config,
    now: float,
) -> DPoPProof:
    """Check a ``DPoP`` header value as RFC 9449 §4.3 says, for a request with an access
    token; return the proof's key thumbprint and jti.

    Raises InvalidDPoPProof for: anything but one compact JWS (two proofs joined by a
    comma included, §4.3 (1)-(2)); ``typ`` not dpop+jwt; ``alg`` not in
    JWT_AT_DPOP_ALGORITHMS; ``crit``; ``jwk`` absent, private, symmetric or unusable (an
    RSA modulus over JWT_AT_MAX_RSA_KEY_BITS or 8192 bits, whichever is smaller, and an
    exponent over 32 bits included: refused before any signature work); a bad signature;
    missing or mistyped ``jti``/``htm``/``htu``/``iat``/``ath``; ``jti`` over 256
    characters; ``htm`` not exactly ``method``; ``htu`` not ``htu`` after normalisation;
    ``iat`` outside JWT_AT_DPOP_IAT_WINDOW; ``ath`` not the token's hash.
    ``jku``, ``x5c``, ``x5u`` and ``kid`` are ignored: the key is ``jwk`` only. With
    nonces on, a proof that passes all that but has no current nonce raises UseDPoPNonce.
    """
    limits = config.limits
    if len(proof) > limits.max_token_size or not _COMPACT_JWS.match(proof):
        raise _invalid()
    header_segment, payload_segment, signature_segment = proof.split(".")
    try:
        header = decode_json_object(header_segment, limits.max_json_depth)
        claims = decode_json_object(payload_segment, limits.max_json_depth)
        signature = b64url_decode(signature_segment)
    except InvalidToken:
        raise _invalid() from None
    alg = header.get("alg")
    jwk = header.get("jwk")
    if (
        not _is_dpop_jwt(header.get("typ"))
        or not isinstance(alg, str)
        or alg not in config.dpop_algorithms
        or "crit" in header  # RFC 7515 §4.1.11: we understand no extension
        or not isinstance(jwk, dict)
    ):
        raise _invalid()
    try:
        # Refuses private members, "oct", a wrong curve, and (before any key object is built
        # or any signature checked) keys of hostile size: the client chooses this key, so
        # raising JWT_AT_MAX_RSA_KEY_BITS for an issuer never lets it choose a longer one.
        keys = load_jwk(jwk, (alg,), max_rsa_bits=min(config.max_rsa_bits, MAX_RSA_BITS))
    except UnusableKey:
        raise _invalid() from None
    signing_input = proof[: len(header_segment) + 1 + len(payload_segment)].encode("ascii")
    if not any(key.verify(signing_input, signature) for key in keys):
        raise _invalid()

    jti = claims.get("jti")
    iat = claims.get("iat")
    past, future = config.dpop_iat_window
    if (
        not isinstance(jti, str)
        or not 0 < len(jti) <= MAX_JTI_LENGTH
        or claims.get("htm") != method  # RFC 9110 §9.1: methods are case-sensitive
        or htu is None
        or not isinstance(claims.get("htu"), str)
        or normalize_htu(claims["htu"]) != htu
        or not _numeric(iat)
        or not now - past <= iat <= now + future  # type: ignore[operator]
        or claims.get("ath") != access_token_hash(access_token)
    ):
        raise _invalid()
    if config.dpop_nonce:
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not nonce_is_valid(nonce, config, now):
            raise UseDPoPNonce(issue_nonce(config, now))
    return DPoPProof(jkt=jwk_thumbprint(jwk), jti=jti)


def check_binding(token: AccessToken, proof: DPoPProof) -> None:
    """RFC 9449 §6.1, §7.1: the proof key must be the key the token is bound to."""
    jkt = token.jkt
    if jkt is None or not hmac.compare_digest(jkt.encode("utf-8", "surrogatepass"), proof.jkt.encode("ascii")):
        raise InvalidToken(Description.DPOP_BINDING, scheme="DPoP")


def remember_proof(proof: DPoPProof, config: Config) -> None:
    """Record the proof's jti for as long as its ``iat`` could be accepted; raise
    InvalidDPoPProof when it was seen before (RFC 9449 §11.1, Design decisions: dpop replay).

    The record lives in the Django cache ``JWT_AT_CACHE`` under SHA-256(jkt || jti), so
    every process sharing that cache sees it; ``cache.add`` is atomic on Redis and
    Memcached. A cache that fails answers 503: a replay check that cannot be made is not
    skipped.
    """
    past, future = config.dpop_iat_window
    cache = caches[config.cache_alias]
    if isinstance(cache, DummyCache):
        # A replay check that cannot refuse anything is no check (system check E039).
        raise ImproperlyConfigured(f"django_jwt_at.E039: the cache {config.cache_alias!r} cannot store DPoP proofs")
    key = "django_jwt_at:dpop-jti:" + hashlib.sha256((proof.jkt + proof.jti).encode("utf-8")).hexdigest()
    try:
        added = cache.add(key, 1, timeout=past + future + 1)
    except Exception:
        logger.warning("The DPoP replay store (cache %r) is unavailable", config.cache_alias, exc_info=True)
        raise KeySetUnavailable(retry_after=5) from None
    if not added:
        raise _invalid()


def issue_nonce(config: Config, now: float) -> str:
    """A fresh nonce: time, 128 random bits and a MAC over both under the nonce key
    (Design decisions: dpop nonces), so any instance with the same secret can check it statelessly."""
    body = int(now).to_bytes(_NONCE_TS, "big", signed=True) + os.urandom(_NONCE_RANDOM)
    mac = hmac.new(config.dpop_nonce_key, body, hashlib.sha256).digest()[:_NONCE_MAC]
    return _b64url(body + mac)


def nonce_is_valid(nonce: str, config: Config, now: float) -> bool:
    """True for a nonce this deployment issued no longer than JWT_AT_DPOP_NONCE_LIFETIME ago."""
    if not _NONCE.match(nonce):
        return False
    raw = base64.urlsafe_b64decode(nonce + "==")
    body, mac = raw[: _NONCE_TS + _NONCE_RANDOM], raw[_NONCE_TS + _NONCE_RANDOM :]
    if not hmac.compare_digest(mac, hmac.new(config.dpop_nonce_key, body, hashlib.sha256).digest()[:_NONCE_MAC]):
        return False
    issued = int.from_bytes(body[:_NONCE_TS], "big", signed=True)
    return now - config.dpop_nonce_lifetime <= issued <= now + _NONCE_FUTURE
