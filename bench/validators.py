"""Validator micro-benchmark: one access token validated, µs per token, per algorithm.

Contenders (identical tokens and keys; each prepares its keys once, outside the clock):

- raw verify: ``cryptography`` checking the signature alone, the floor;
- ours authenticate() first-seen: ``JWTAccessTokenAuthentication().authenticate(request)``,
  what DRF calls, on a DRF request carrying a token never seen (every call gets a fresh
  pre-minted token, differing in jti), so no verified-token cache can answer; the
  request is built before the clock starts, as DRF builds it before authenticating;
- ours authenticate() repeated: the same on requests carrying the same token again (a
  verified-token cache hit);
- ours validate_access_token first-seen and repeated: the framework-free validator
  alone, on the same tokens;
- python-jose ``jwt.decode`` with a JWK dict, and with a 3-key JWK Set (python-jose tries
  the keys in order, it does not select by kid: the matching key is the second);
- PyJWT ``jwt.decode`` with a prepared ``PyJWK``; joserfc ``jwt.decode`` with an imported
  key plus a ``JWTClaimsRegistry``; Authlib ``JsonWebToken.decode`` with an imported key
  plus ``claims.validate``.

Every contender checks the signature, iss, aud and exp (the peers are told to require
iat, sub and jti as well); ours also does all of RFC 9068 §4 (typ, client_id, ...).

Run: ``.venv/bin/python bench/validators.py`` (BENCH_BATCH, BENCH_REPEATS, BENCH_WARMUP).
"""

from __future__ import annotations

import warnings
from typing import Any

from _common import (
    AUDIENCE,
    ISSUER,
    LEEWAY,
    Contender,
    JWKSServer,
    check_accepts,
    configure_django,
    drf_authenticator,
    env_int,
    fmt_ratio,
    fresh,
    measure,
    median,
    mint_pool,
    new_signer,
    new_token_cache,
    our_validator,
    pool_size,
    print_versions,
    raw_verifier,
    record,
    record_settings,
    requests_of,
    same,
    spread,
    table,
    target,
    write_results,
)

BATCH = env_int("BENCH_BATCH", 150)
ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
REQUIRED = ["exp", "iat", "iss", "aud", "sub", "jti"]
PEERS = ("python-jose", "PyJWT", "joserfc", "Authlib")
RAW = "raw cryptography verify"
AUTH_FIRST = "ours authenticate() first-seen"
AUTH_REPEATED = "ours authenticate() repeated"
VALIDATE_FIRST = "ours validate_access_token first-seen"
VALIDATE_REPEATED = "ours validate_access_token repeated"
OURS = (AUTH_FIRST, AUTH_REPEATED, VALIDATE_FIRST, VALIDATE_REPEATED)


def peers(alg: str, jwk: dict[str, str], jwks3: dict[str, Any], inputs: Any) -> list[Contender]:
    """The other libraries, used as their documentation shows, keys prepared once."""
    import authlib.deprecate  # noqa: F401  (it installs an "always" filter on import)
    import jwt as pyjwt
    from jose import jwt as jose_jwt
    from jose.constants import ALGORITHMS as JOSE_ALGORITHMS
    from joserfc import jwk as jrfc_jwk
    from joserfc import jwt as jrfc_jwt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # authlib.jose announces its move to joserfc
        from authlib.jose import JsonWebKey, JsonWebToken

    contenders: list[Contender] = []

    jose_na = None if alg in JOSE_ALGORITHMS.SUPPORTED else f"python-jose has no {alg}"
    jose_options = {"leeway": LEEWAY, **{f"require_{c}": True for c in REQUIRED}}

    def jose_decode(raw: str) -> Any:
        return jose_jwt.decode(raw, jwk, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER, options=jose_options)

    def jose_decode_set(raw: str) -> Any:
        return jose_jwt.decode(raw, jwks3, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER, options=jose_options)

    contenders.append(Contender("python-jose (JWK dict)", jose_decode, inputs, lambda c: c["sub"], na=jose_na))
    contenders.append(Contender("python-jose (3-key JWKS)", jose_decode_set, inputs, lambda c: c["sub"], na=jose_na))

    pyjwk = pyjwt.PyJWK(jwk)

    def pyjwt_decode(raw: str) -> Any:
        return pyjwt.decode(
            raw,
            pyjwk,
            algorithms=[alg],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=LEEWAY,
            options={"require": REQUIRED},
        )

    contenders.append(Contender("PyJWT (PyJWK)", pyjwt_decode, inputs, lambda c: c["sub"]))

    jrfc_key = jrfc_jwk.import_key(jwk)
    jrfc_claims = jrfc_jwt.JWTClaimsRegistry(
        leeway=LEEWAY,
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": AUDIENCE},
        **{c: {"essential": True} for c in ("exp", "iat", "sub", "jti")},
    )

    def joserfc_decode(raw: str) -> Any:
        token = jrfc_jwt.decode(raw, jrfc_key, algorithms=[alg])
        jrfc_claims.validate(token.claims)
        return token

    contenders.append(Contender("joserfc", joserfc_decode, inputs, lambda t: t.claims["sub"]))

    authlib_jwt = JsonWebToken([alg])
    authlib_key = JsonWebKey.import_key(jwk)
    authlib_options = {
        "iss": {"essential": True, "value": ISSUER},
        "aud": {"essential": True, "value": AUDIENCE},
        **{c: {"essential": True} for c in ("exp", "iat", "sub", "jti")},
    }

    def authlib_decode(raw: str) -> Any:
        token_claims = authlib_jwt.decode(raw, authlib_key, claims_options=authlib_options)
        token_claims.validate(leeway=LEEWAY)
        return token_claims

    contenders.append(Contender("Authlib", authlib_decode, inputs, lambda c: c["sub"]))
    return contenders


def main() -> None:
    print("== bench/validators.py: one token validated, µs/op (lower is better) ==")
    print_versions(["python-jose", "PyJWT", "joserfc", "Authlib"])
    record_settings(batch=BATCH, algorithms=list(ALGORITHMS))
    print(
        f"batch {BATCH} tokens; ratios: 'x raw' = µs / raw verify µs, "
        f"'x ours' = µs / ours authenticate() first-seen µs"
    )
    warnings.filterwarnings("ignore", message=".*EdDSA is deprecated.*")  # joserfc warns on every EdDSA call

    signers = {alg: new_signer(alg, f"{alg.lower()}-1") for alg in ALGORITHMS}
    # python-jose's 3-key set: two more keys of the same type, the signing key in the middle.
    others = {alg: [new_signer(alg, f"{alg.lower()}-{n}") for n in (0, 2)] for alg in ("RS256", "ES256")}
    server = JWKSServer()
    try:
        jwks_uri = server.publish("/jwks", [s.public_jwk() for s in signers.values()])
        configure_django(
            JWT_AT_ISSUERS={ISSUER: {"AUDIENCE": AUDIENCE, "JWKS_URI": jwks_uri, "ALGORITHMS": list(ALGORITHMS)}}
        )
        from django_jwt_at.conf import get_config
        from django_jwt_at.jwks import KeySetRegistry

        config = get_config()
        registry = KeySetRegistry()
        cache = new_token_cache()
        ours = our_validator(config, registry, cache)
        authenticate, drf_request = drf_authenticator()
        if cache is None:
            print("(this version of the library has no verified-token cache: 'repeated' validates in full)")

        results: dict[str, list[Contender]] = {}
        for alg in ALGORITHMS:
            signer = signers[alg]
            pool = mint_pool(signer, pool_size(BATCH) + 2)
            repeated_token, check_token = pool.pop(), pool.pop()
            prepare, verify = raw_verifier(signer)
            raw_pool = [prepare(t) for t in pool]
            jwk = signer.public_jwk()
            extra = [o.public_jwk() for o in others.get(alg, [])]
            jwks3 = {"keys": [*extra[:1], jwk, *extra[1:]]}

            contenders = [
                Contender(RAW, verify, fresh(raw_pool, BATCH)),
                Contender(
                    AUTH_FIRST,
                    authenticate,
                    requests_of(pool, drf_request, BATCH),
                    lambda result: result[1].subject,
                    check_input=drf_request,
                ),
                Contender(
                    AUTH_REPEATED,
                    authenticate,
                    requests_of([repeated_token] * len(pool), drf_request, BATCH),
                    lambda result: result[1].subject,
                    # seen before: in the cache
                    before=lambda tok=repeated_token: authenticate(drf_request(tok)),
                    check_input=drf_request,
                ),
                Contender(VALIDATE_FIRST, ours, fresh(pool, BATCH), lambda t: t.subject),
                Contender(
                    VALIDATE_REPEATED,
                    ours,
                    same(repeated_token, BATCH),
                    lambda t: t.subject,
                    before=lambda tok=repeated_token: ours(tok),  # seen before: in the cache
                ),
                *peers(alg, jwk, jwks3, fresh(pool, BATCH)),
            ]
            verify(prepare(check_token))
            check_accepts(contenders, check_token)  # also warms our key set from the JWKS server
            measure(contenders)
            results[alg] = contenders

            raw_us = median(contenders[0])
            ours_us = median(contenders[1])  # authenticate() first-seen
            rows = []
            for c in contenders:
                if c.na:
                    rows.append([c.name, "n/a", "", "", "", c.na])
                    record(alg, {"name": c.name, "us": None, "spread": None, "x_raw": None, "x_ours": None, "na": c.na})
                    continue
                us = median(c)
                record(
                    alg,
                    {
                        "name": c.name,
                        "us": us,
                        "spread": spread(c),
                        "x_raw": us / raw_us,
                        "x_ours": us / ours_us,
                        "na": None,
                    },
                )
                rows.append(
                    [c.name, f"{us:.1f}", f"{spread(c):.0f}%", fmt_ratio(us / raw_us), fmt_ratio(us / ours_us), ""]
                )
            table(f"{alg}", ["contender", "µs/op", "spread", "x raw", "x ours", "note"], rows)

        print()
        print("Targets (through authenticate(), what DRF calls):")
        rs = {c.name: c for c in results["RS256"]}
        es = {c.name: c for c in results["ES256"]}
        raw_rs, ours_rs = median(rs[RAW]), median(rs[AUTH_FIRST])
        target("authenticate() first-seen RS256 / raw verify", ours_rs / raw_rs, 1.5, at_most=True)
        target(
            "authenticate() first-seen ES256 / raw verify",
            median(es[AUTH_FIRST]) / median(es[RAW]),
            1.25,
            at_most=True,
        )
        target("authenticate() repeated / raw RS256 verify", median(rs[AUTH_REPEATED]) / raw_rs, 0.1, at_most=True)
        peer_rows = [c for c in results["RS256"] if c.name != RAW and c.name not in OURS and not c.na]
        fastest = min(peer_rows, key=median)
        target(
            f"fastest RS256 peer ({fastest.name}) / authenticate() first-seen",
            median(fastest) / ours_rs,
            1.25,
            at_most=False,
        )
    finally:
        server.close()
    write_results("validators")


if __name__ == "__main__":
    main()
