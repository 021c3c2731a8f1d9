"""RFC 9068 §4 validation of one access token, free of any web framework.

Order (choice A-33): parse, typ, alg, trusted issuer (read unverified, only to pick the key
set), key lookup, signature, then claims: iss, aud, exp/nbf/iat, required claims. Cheap
checks come first, so a hostile token never costs a network call or a signature check.
"""

from __future__ import annotations

from types import MappingProxyType

from .conf import Config, IssuerConfig
from .errors import Description, InvalidToken, ProtocolError
from .jwks import KeySetRegistry
from .jws import CompactJWS, parse_compact
from .keys import VerificationKey
from .token_cache import VerifiedTokenCache
from .tokens import AccessToken

# NumericDate (RFC 7519 §2) values outside this range are not dates anyone issues.
_MAX_NUMERIC_DATE = 1e13


def _numeric_date(value: object) -> float:
    # type() rather than isinstance(): bool is an int subclass, and true/false are not
    # numbers here (C-9068-19); json gives no other subclasses.
    if (type(value) is int or type(value) is float) and -_MAX_NUMERIC_DATE < value < _MAX_NUMERIC_DATE:
        return float(value)
    raise InvalidToken(Description.CLAIMS)


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
    if len(raw) > config.limits.max_token_size:  # before hashing it (C-8725-25)
        raise InvalidToken(Description.MALFORMED_TOKEN)
    digest = b""
    if cache is not None and config.token_cache_size:
        digest = cache.digest(raw)
        cached = cache.get(digest, config=config, key_sets=key_sets, now=now)
        if cached is not None:
            return cached
    jws = parse_compact(raw, config.limits, config.token_types)
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
    try:
        token, verified_by = _check_trusted(jws, issuer, config, key_sets, now)
    except ProtocolError as exc:
        exc.issuer = issuer.issuer  # a configured identifier: safe to report (signals, logs)
        raise
    if digest:
        cache.put(  # type: ignore[union-attr]  # digest is set only with a cache
            digest,
            token,
            issuer=issuer,
            kid=jws.header.kid,
            alg=jws.header.alg,
            key=verified_by,
            key_sets=key_sets,
            max_size=config.token_cache_size,
        )
    return token


def _check_trusted(
    jws: CompactJWS, issuer: IssuerConfig, config: Config, key_sets: KeySetRegistry, now: float
) -> tuple[AccessToken, VerificationKey]:
    """The checks that come once the issuer is trusted; returns the token and its key."""
    header = jws.header
    claims = jws.claims
    if header.typ not in issuer.token_types:  # the issuer's profile (docs/providers.rst)
        raise InvalidToken(Description.TYP)
    if header.alg not in issuer.algorithms:
        raise InvalidToken(Description.ALG)
    keys = key_sets.find(issuer, header.kid, header.alg, config)
    for verified_by in keys:
        if verified_by.verify(jws.signing_input, jws.signature):
            break
    else:
        raise InvalidToken(Description.SIGNATURE)

    # RFC 9068 §4 step 4 and RFC 7519 §4.1.3: aud is a string or an array of strings,
    # compared exactly; one of them must be ours. (A profile may name another claim.)
    aud = claims.get(issuer.audience_claim)
    if type(aud) is str:
        if aud not in issuer.audiences:
            raise InvalidToken(Description.AUD)
    elif type(aud) is not list or not all(type(a) is str for a in aud) or issuer.audiences.isdisjoint(aud):
        raise InvalidToken(Description.AUD)

    leeway = config.leeway
    expires_at = _numeric_date(claims.get("exp"))
    if now >= expires_at + leeway:  # RFC 7519 §4.1.4 "on or after" (choice A-09)
        raise InvalidToken(Description.EXPIRED)
    not_before = None
    if "nbf" in claims:
        not_before = _numeric_date(claims["nbf"])
        if now + leeway < not_before:
            raise InvalidToken(Description.NBF)
    if _numeric_date(claims.get("iat")) > now + leeway:  # choice A-10
        raise InvalidToken(Description.IAT)

    # RFC 9068 §2.2 REQUIRED claims (choice A-08) and the types of the optional ones we use,
    # as the issuer's profile names them.
    for name in issuer.required_strings:
        if type(claims.get(name)) is not str:
            raise InvalidToken(Description.CLAIMS)
    for name in issuer.optional_strings:
        if name in claims and type(claims[name]) is not str:
            raise InvalidToken(Description.CLAIMS)
    for name in issuer.required_other:
        if name not in claims:
            raise InvalidToken(Description.CLAIMS)
    for name, value in issuer.required_claim_values:
        if claims.get(name) != value:
            raise InvalidToken(Description.CLAIMS)
    if issuer.scope_format == "array" and issuer.scope_claim in claims:
        scopes = claims[issuer.scope_claim]
        if type(scopes) is not list or not all(type(s) is str for s in scopes):
            raise InvalidToken(Description.CLAIMS)
    if "auth_time" in claims:
        _numeric_date(claims["auth_time"])
    if "amr" in claims:
        amr = claims["amr"]
        if type(amr) is not list or not all(type(m) is str for m in amr):
            raise InvalidToken(Description.CLAIMS)

    token = AccessToken(
        header.fields,
        MappingProxyType(claims),
        issuer=issuer,
        expires_at=expires_at,
        not_before=not_before,
    )
    return token, verified_by
