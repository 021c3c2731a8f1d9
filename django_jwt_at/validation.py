"""RFC 9068 §4 validation of one access token, free of any web framework.

Order (choice A-33): parse, typ, alg, trusted issuer (read unverified, only to pick the key
set), key lookup, signature, then claims: iss, aud, exp/nbf/iat, required claims. Cheap
checks come first, so a hostile token never costs a network call or a signature check.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from .conf import Config
from .errors import Description, InvalidToken
from .jwks import KeySetRegistry
from .jws import parse_compact
from .token_cache import VerifiedTokenCache
from .tokens import AccessToken

# NumericDate (RFC 7519 §2) values outside this range are not dates anyone issues.
_MAX_NUMERIC_DATE = 1e13


def _numeric_date(claims: dict[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None and name not in claims and not required:
        return None
    # bool is an int subclass: true/false are not numbers here (C-9068-19).
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not -_MAX_NUMERIC_DATE < value < _MAX_NUMERIC_DATE
    ):
        raise InvalidToken(Description.CLAIMS)
    return float(value)


def _string(claims: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = claims.get(name)
    if value is None and name not in claims and not required:
        return None
    if not isinstance(value, str):
        raise InvalidToken(Description.CLAIMS)
    return value


def validate_access_token(
    raw: str,
    *,
    config: Config,
    key_sets: KeySetRegistry,
    now: float,
    cache: VerifiedTokenCache | None = None,
) -> AccessToken:
    """Validate ``raw`` as an RFC 9068 JWT access token at time ``now``.

    With ``cache`` (and JWT_AT_TOKEN_CACHE_SIZE > 0), a token that passed before is
    answered from it while still within exp/nbf and verified by a key still published
    (see :mod:`django_jwt_at.token_cache`). Raises InvalidToken (every failure, RFC 9068
    §4 last paragraph) or KeySetUnavailable (the issuer's keys cannot be obtained,
    choice A-11).
    """
    digest = b""
    if cache is not None and config.token_cache_size:
        digest = cache.digest(raw)
        cached = cache.get(digest, config=config, key_sets=key_sets, now=now)
        if cached is not None:
            return cached
    jws = parse_compact(raw, config.limits)
    header = jws.header
    claims = jws.claims
    if header.alg not in config.algorithms:  # no issuer accepts it (choice A-33)
        raise InvalidToken(Description.ALG)

    # RFC 9068 §4 step 3 and RFC 8725 §3.8: the issuer picks the keys, so it must be trusted
    # before anything is fetched (C-8414-04: no discovery from an untrusted iss).
    issuer_value = claims.get("iss")
    issuer = config.issuers.get(issuer_value) if isinstance(issuer_value, str) else None
    if issuer is None:
        raise InvalidToken(Description.ISS)
    if header.alg not in issuer.algorithms:
        raise InvalidToken(Description.ALG)
    keys = key_sets.find(issuer, header.kid, header.alg, config)
    verified_by = next((k for k in keys if k.verify(jws.signing_input, jws.signature)), None)
    if verified_by is None:
        raise InvalidToken(Description.SIGNATURE)

    # RFC 9068 §4 step 4 and RFC 7519 §4.1.3: aud is a string or an array of strings,
    # compared exactly; one of them must be ours.
    aud = claims.get("aud")
    audience = (aud,) if isinstance(aud, str) else aud
    if (
        not isinstance(audience, (list, tuple))
        or not all(isinstance(a, str) for a in audience)
        or issuer.audiences.isdisjoint(audience)
    ):
        raise InvalidToken(Description.AUD)

    leeway = config.leeway
    expires_at = _numeric_date(claims, "exp", required=True)
    assert expires_at is not None
    if now >= expires_at + leeway:  # RFC 7519 §4.1.4 "on or after" (choice A-09)
        raise InvalidToken(Description.EXPIRED)
    not_before = _numeric_date(claims, "nbf", required=False)
    if not_before is not None and now + leeway < not_before:
        raise InvalidToken(Description.NBF)
    issued_at = _numeric_date(claims, "iat", required=True)
    assert issued_at is not None
    if issued_at > now + leeway:  # choice A-10
        raise InvalidToken(Description.IAT)

    # RFC 9068 §2.2 REQUIRED claims (choice A-08) and the types of the optional ones we use.
    subject = _string(claims, "sub", required=True)
    client_id = _string(claims, "client_id", required=True)
    jti = _string(claims, "jti", required=True)
    scope = _string(claims, "scope", required=False)  # RFC 8693 §4.2 (choice A-15)
    acr = _string(claims, "acr", required=False)
    auth_time = _numeric_date(claims, "auth_time", required=False)
    amr = claims.get("amr", [])
    if not isinstance(amr, list) or not all(isinstance(m, str) for m in amr):
        raise InvalidToken(Description.CLAIMS)
    assert subject is not None and client_id is not None and jti is not None

    token = AccessToken(
        header=header.fields,
        claims=MappingProxyType(claims),
        issuer=issuer.issuer,
        subject=subject,
        client_id=client_id,
        audience=tuple(audience),
        scopes=frozenset(s for s in scope.split(" ") if s) if scope else frozenset(),
        jti=jti,
        issued_at=issued_at,
        expires_at=expires_at,
        not_before=not_before,
        auth_time=auth_time,
        acr=acr,
        amr=tuple(amr),
    )
    if digest:
        cache.put(  # type: ignore[union-attr]  # digest is set only with a cache
            digest,
            token,
            issuer=issuer,
            kid=header.kid,
            alg=header.alg,
            key=verified_by,
            max_size=config.token_cache_size,
        )
    return token
