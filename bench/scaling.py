"""Scaling: ours first-seen RS256 as the key set, the configured issuers and the token's
scopes grow. Every row should cost what the base row costs: key lookup by (kid, alg) and
issuer lookup by identifier do not depend on how many there are.

Rows: the base (1 key, 1 issuer, 1 scope), 10 and 100 keys in the issuer's JWK Set,
50 configured issuers, 200 scopes in the token, and all three at once. The signing key is
the last one of its set and the token's issuer the last configured one (the worst place
for anything that scans). The other keys are decoys (well-formed RSA public keys with
random moduli: only looked up, never used). Each row has its own configuration, key-set
registry and verified-token cache, and every call gets a token its row has never seen;
rows whose tokens are alike draw them from one pool.

Run: ``.venv/bin/python bench/scaling.py`` (BENCH_BATCH, BENCH_REPEATS, BENCH_WARMUP).
"""

from __future__ import annotations

from typing import Any

from _common import (
    AUDIENCE,
    ISSUER,
    Contender,
    JWKSServer,
    check_accepts,
    configure_django,
    decoy_rsa_jwk,
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
    spread,
    table,
    target,
    write_results,
)

BATCH = env_int("BENCH_BATCH", 150)
#: (label, keys in the JWK Set, configured issuers, scopes in the token)
ROWS = (
    ("base: 1 key, 1 issuer, 1 scope", 1, 1, 1),
    ("10 keys", 10, 1, 1),
    ("100 keys", 100, 1, 1),
    ("50 issuers", 1, 50, 1),
    ("200 scopes", 1, 1, 200),
    ("100 keys, 50 issuers, 200 scopes", 100, 50, 200),
)


def main() -> None:
    print("== bench/scaling.py: ours first-seen RS256, µs/op (lower is better) ==")
    print_versions()
    print(f"batch {BATCH} tokens; 'x base' = µs / base-row µs")
    record_settings(batch=BATCH)

    signer = new_signer("RS256", "rs256-signer")
    decoys = [decoy_rsa_jwk(f"rs256-decoy-{i:03d}") for i in range(max(n for _, n, _, _ in ROWS) - 1)]
    scopes = {n: " ".join(f"api:resource-{i:03d}:read" for i in range(n)) if n > 1 else "read" for _, _, _, n in ROWS}
    pools = {n: mint_pool(signer, pool_size(BATCH) + 1, scope=scope) for n, scope in scopes.items()}
    check_tokens = {n: pool.pop() for n, pool in pools.items()}

    server = JWKSServer()
    try:
        uris = {n: server.publish(f"/jwks/{n}", [*decoys[: n - 1], signer.public_jwk()]) for _, n, _, _ in ROWS}
        configure_django(JWT_AT_ISSUERS={ISSUER: {"AUDIENCE": AUDIENCE, "JWKS_URI": uris[1]}})
        from django.test import override_settings

        from django_jwt_at.conf import get_config
        from django_jwt_at.jwks import KeySetRegistry

        contenders: list[Contender] = []
        checks: list[tuple[Contender, Any, Any, int, str]] = []
        for label, n_keys, n_issuers, n_scopes in ROWS:
            options = {"AUDIENCE": AUDIENCE, "JWKS_URI": uris[n_keys], "ALGORITHMS": ["RS256"]}
            issuers = {f"https://issuer-{i:03d}.bench.example": options for i in range(n_issuers - 1)}
            issuers[ISSUER] = options
            with override_settings(JWT_AT_ISSUERS=issuers):
                config = get_config()
            assert len(config.issuers) == n_issuers
            registry = KeySetRegistry()
            validate = our_validator(config, registry, new_token_cache())
            contender = Contender(label, validate, fresh(pools[n_scopes], BATCH), lambda t: t.subject)
            check_accepts([contender], check_tokens[n_scopes])  # also fetches the row's key set
            token = validate(check_tokens[n_scopes])
            if len(token.scopes) != n_scopes:
                raise SystemExit(f"setup error: {label}: {len(token.scopes)} scopes")
            contenders.append(contender)
            checks.append((contender, registry, config, n_keys, label))

        for _contender, registry, config, n_keys, label in checks:
            status = registry.status(config.issuers[ISSUER], config)
            if len(status.keys) != n_keys:
                raise SystemExit(f"setup error: {label}: the key set has {len(status.keys)} usable keys")

        # Reference, measured with the rows: the raw signature check of the same tokens, which
        # grows with the token too (SHA-256 of the signing input).
        prepare, verify = raw_verifier(signer)
        references = [
            Contender(f"raw verify, {n}-scope token", verify, fresh([prepare(t) for t in pool], BATCH))
            for n, pool in pools.items()
        ]
        measure(contenders + references)
        base = median(contenders[0])
        rows = [[c.name, f"{median(c):.1f}", f"{spread(c):.0f}%", fmt_ratio(median(c) / base)] for c in contenders]
        table("RS256 first-seen", ["row", "µs/op", "spread", "x base"], rows)
        for c in contenders:
            record("rows", {"name": c.name, "us": median(c), "spread": spread(c), "x_base": median(c) / base})
        raw_base = median(references[0])
        rows = [[c.name, f"{median(c):.1f}", f"{spread(c):.0f}%", fmt_ratio(median(c) / raw_base)] for c in references]
        table("Reference: cryptography verify alone, same tokens", ["row", "µs/op", "spread", "x first"], rows)
        for c in references:
            record("reference", {"name": c.name, "us": median(c), "spread": spread(c), "x_first": median(c) / raw_base})
        print()
        print("Targets:")
        for c in contenders[1:]:
            target(f"{c.name} / base", median(c) / base, 1.10, at_most=True)
    finally:
        server.close()
    write_results("scaling")


if __name__ == "__main__":
    main()
