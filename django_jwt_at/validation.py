"""RFC 9068 §4 validation of one access token, free of any web framework.

Order (Design decisions: validation order): parse, typ, alg, trusted issuer (read unverified, only to pick the key
set), key lookup, signature, then claims: iss, aud, exp/nbf/iat, required claims. Cheap
checks come first, so a hostile token never costs a network call or a signature check.

Every InvalidToken raised here names its step (:data:`STEPS`) in ``step``, so that
``manage.py jwt_at_inspect`` reports the library's own verdict per step; the name is set
only on the failure path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .conf import Config, IssuerConfig
from .errors import Description, InvalidToken, ProtocolError
from .jwks import KeySetRegistry
from .jws import CompactJWS, frozen_object, parse_compact
from .keys import VerificationKey
from .tenants import dynamic_issuers
from .token_cache import VerifiedTokenCache
from .tokens import AccessToken

# NumericDate (RFC 7519 §2) values outside this range are not dates anyone issues.
_MAX_NUMERIC_DATE = 1e13

#: The steps of validation after :func:`~django_jwt_at.jws.parse_compact`, in the order
#: they run. ``CLAIM_STEPS`` are the ones :func:`check_claims` makes.
STEPS = (
    "alg-allowed",  # alg in the ALGORITHMS of some issuer
    "issuer",  # iss in JWT_AT_ISSUERS
    "issuer-typ",  # typ in the issuer's TOKEN_TYPES
    "issuer-alg",  # alg in the issuer's ALGORITHMS
    "key",  # a key of the issuer's key set for (kid, alg)
    "signature",
    "aud",
    "exp",
    "nbf",
    "iat",
    "claims",  # required claims and the types of the claims the package reads
    "claim-values",  # REQUIRED_CLAIM_VALUES
    "cnf",  # a key binding (RFC 7800) by a method the package verifies
)
CLAIM_STEPS = STEPS[STEPS.index("aud") :]


def _invalid(description: Description, step: str) -> InvalidToken:
    error = InvalidToken(description)
    error.step = step
    return error


def _numeric_date(value: object, step: str) -> float:
    # type() rather than isinstance(): bool is an int subclass, and true/false are not
    # numbers here; json gives no other subclasses.
    if (type(value) is int or type(value) is float) and -_MAX_NUMERIC_DATE < value < _MAX_NUMERIC_DATE:
        return float(value)
    raise _invalid(Description.CLAIMS, step)


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
    Design decisions: keys unavailable).
    """
    if len(raw) > config.limits.max_token_size:  # before anything looks at it (RFC 8725 §3)
        raise InvalidToken(Description.MALFORMED_TOKEN)
    if not config.token_cache_size:
        cache = None
    if cache is not None:
        cached = cache.get(raw, config=config, key_sets=key_sets, now=now)
        # A tenant the TENANTS callable (or the resolver) stopped trusting is refused
        # within JWT_AT_DYNAMIC_ISSUER_TTL, remembered tokens included.
        if cached is not None and (
            not cached._issuer.dynamic or dynamic_issuers.still_trusted(cached._issuer, config, now)
        ):
            return cached
    jws = parse_compact(raw, config.limits, config.token_types)
    header = jws.header
    claims = jws.claims
    if header.alg not in config.algorithms:  # no issuer accepts it (Design decisions: validation order)
        raise _invalid(Description.ALG, "alg-allowed")

    # RFC 9068 §4 step 3 and RFC 8725 §3.8: the issuer picks the keys, so it must be trusted
    # before anything is fetched: no discovery from an untrusted iss.
    issuer_value = claims.get("iss")
    issuer = config.issuers.get(issuer_value) if isinstance(issuer_value, str) else None
    if issuer is None and isinstance(issuer_value, str) and (config.issuer_templates or config.issuer_resolver):
        # An issuer template or the resolver (docs/multi-tenant.rst), still before any fetch.
        issuer = dynamic_issuers.resolve(issuer_value, config, now)
    if issuer is None:
        raise _invalid(Description.ISS, "issuer")
    try:
        token, verified_by = _check_trusted(jws, issuer, config, key_sets, now)
    except ProtocolError as exc:
        exc.issuer = issuer.issuer  # a configured identifier: safe to report (signals, logs)
        raise
    if cache is not None:
        cache.put(
            raw,
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
    if header.typ not in issuer.token_types:  # the issuer's profile (docs/providers.rst)
        raise _invalid(Description.TYP, "issuer-typ")
    if header.alg not in issuer.algorithms:
        raise _invalid(Description.ALG, "issuer-alg")
    keys = key_sets.find(issuer, header.kid, header.alg, config)
    for verified_by in keys:
        if verified_by.verify(jws.signing_input, jws.signature):
            break
    else:
        # An unknown kid reads as a bad signature to the client (Design decisions: error descriptions).
        raise _invalid(Description.SIGNATURE, "signature" if keys else "key")
    token = check_claims(
        header.fields, jws.claims, issuer, config.leeway, now, confirmation_methods=config.confirmation_methods
    )
    return token, verified_by


def _verifiable_confirmation(cnf: object, methods: frozenset[str]) -> bool:
    """True for a ``cnf`` object naming only ``methods``, with string values."""
    return (
        type(cnf) is dict and bool(cnf) and cnf.keys() <= methods and all(type(value) is str for value in cnf.values())
    )


def check_claims(
    header: Mapping[str, Any],
    claims: dict[str, Any],
    issuer: IssuerConfig,
    leeway: int,
    now: float,
    *,
    confirmation_methods: frozenset[str],
) -> AccessToken:
    """The claim steps (:data:`CLAIM_STEPS`, in that order) for a token of ``issuer``.

    A ``cnf`` claim may name only ``confirmation_methods`` (``Config.confirmation_methods``,
    the methods whose binding is verified); the binding itself is checked per request.

    Pure: no key, no I/O. Validation calls it after the signature check; ``manage.py
    jwt_at_inspect`` also calls it on the unverified claims when no key set is at hand.
    Raises InvalidToken whose ``step`` names the failing step.
    """
    # RFC 9068 §4 step 4 and RFC 7519 §4.1.3: aud is a string or an array of strings,
    # compared exactly; one of them must be ours. (A profile may name another claim.)
    aud = claims.get(issuer.audience_claim)
    if type(aud) is str:
        if aud not in issuer.audiences:
            raise _invalid(Description.AUD, "aud")
    elif type(aud) is not list or not all(type(a) is str for a in aud) or issuer.audiences.isdisjoint(aud):
        raise _invalid(Description.AUD, "aud")

    expires_at = _numeric_date(claims.get("exp"), "exp")
    if now >= expires_at + leeway:  # RFC 7519 §4.1.4 "on or after" (Design decisions: leeway)
        raise _invalid(Description.EXPIRED, "exp")
    not_before = None
    if "nbf" in claims:
        not_before = _numeric_date(claims["nbf"], "nbf")
        if now + leeway < not_before:
            raise _invalid(Description.NBF, "nbf")
    if _numeric_date(claims.get("iat"), "iat") > now + leeway:  # Design decisions: future iat
        raise _invalid(Description.IAT, "iat")

    # RFC 9068 §2.2 REQUIRED claims (Design decisions: required claims) and the types of the optional ones we use,
    # as the issuer's profile names them.
    for name in issuer.required_strings:
        if type(claims.get(name)) is not str:
            raise _invalid(Description.CLAIMS, "claims")
    for name in issuer.optional_strings:
        if name in claims and type(claims[name]) is not str:
            raise _invalid(Description.CLAIMS, "claims")
    for name in issuer.required_other:
        if name not in claims:
            raise _invalid(Description.CLAIMS, "claims")
    if issuer.scope_format == "array" and issuer.scope_claim in claims:
        scopes = claims[issuer.scope_claim]
        if type(scopes) is not list or not all(type(s) is str for s in scopes):
            raise _invalid(Description.CLAIMS, "claims")
    if "auth_time" in claims:
        _numeric_date(claims["auth_time"], "claims")
    if "amr" in claims:
        amr = claims["amr"]
        if type(amr) is not list or not all(type(m) is str for m in amr):
            raise _invalid(Description.CLAIMS, "claims")
    for name, value in issuer.required_claim_values:
        if claims.get(name) != value:
            raise _invalid(Description.CLAIMS, "claim-values")
    if "cnf" in claims and not _verifiable_confirmation(claims["cnf"], confirmation_methods):
        # A token bound by a method whose binding is not verified MUST be refused (RFC 8705
        # §3, RFC 9449 §7.2): accepting it as a bearer token would drop the sender
        # constraint the authorization server asked for.
        raise _invalid(Description.CONFIRMATION, "cnf")

    return AccessToken(
        header,
        frozen_object(claims),
        issuer=issuer,
        expires_at=expires_at,
        not_before=not_before,
    )
