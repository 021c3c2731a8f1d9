"""Hostile versus benign rejections: what a refused request costs, µs per rejection.

A hostile input must not cost much more to refuse than an ordinary bad token, or it is a
cheap way to burn the server's CPU (RFC 8725 §3: bounded inputs). The benign rejections
are the two a resource server sees every day, each after one full signature check: an
expired token (corpus case ``time-exp-past``) and a token whose signature belongs to
another payload (``seg-foreign-signature``). ``x benign`` is a row's µs divided by the
cheaper of the two; a row over 20x is flagged.

Hostile inputs:

- every request of the hostile corpus (``tests/hostile/corpus.py``) that reaches the
  library through the ``Authorization`` header with the default settings and is refused
  with an error (its token built by the corpus's own recipe builder); the table shows the
  named ones (the largest, deepest, most segmented) and the costliest of the rest, the
  results file has them all;
- a few made here that the corpus has only in small: an unterminated JSON string, a
  string of ``\\u0041`` escapes, thousands of members, and arrays nested to the allowed
  depth over and over, each grown to just under JWT_AT_MAX_TOKEN_SIZE (so no size check
  stops it early) and signed with the right key, so that all the parsing happens;
- DPoP proofs whose ``jwk`` is out of bounds, sent with a valid DPoP-bound token: an RSA
  key with a 3,071-bit public exponent (a real key: the proof verifies without the
  bound, at about 150 times the cost of an ordinary verification) and one with a
  16,384-bit modulus;
- a hostile JWK Set response, loaded as a fetched one is (``parse_max_age``,
  ``parse_document``, ``build_key_set``) without the network: the issuer's three keys
  and sixteen out of bounds (3,071-bit exponents, 16,384- and 8,200-bit moduli,
  4,000-character EC coordinates), with ``Cache-Control: max-age`` of 5,000 digits
  (more than ``int()`` converts: it counts as 2^31 without being converted). A load
  happens at most once per expiry or refresh cooldown, not per request; it is compared
  with a rejection all the same.

Each row times ``authenticate_request`` (the adapter's entry point: the Authorization
value is checked, the token parsed and validated, with the library's own key sets and
verified-token cache) on a prepared request; the exception it raises is caught (the JWK
Set row times the load instead). Before timing, every row must be refused with exactly the
corpus's expected status, error code and description, T0 and an ordinary DPoP proof must be
accepted, and the JWK Set row must keep the three good keys only. The clock is the
corpus's NOW.

Run: ``.venv/bin/python bench/hostile.py`` (BENCH_HOSTILE_BATCH, BENCH_REPEATS, BENCH_WARMUP).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import (
    Contender,
    JWKSServer,
    configure_django,
    env_int,
    fmt_ratio,
    measure,
    median,
    print_versions,
    record,
    record_settings,
    same,
    spread,
    table,
    write_results,
)

ROOT = Path(__file__).resolve().parent.parent
BATCH = env_int("BENCH_HOSTILE_BATCH", 50)
FLAG_RATIO = 20.0
BENIGN = ("time-exp-past", "seg-foreign-signature")
#: Corpus cases always shown: the largest, deepest and most segmented inputs.
NAMED = (
    "limit-token-1mib",
    "limit-token-64k",
    "limit-token-64k-dots",
    "limit-token-64k-signed",
    "limit-token-over-8192",
    "limit-segments-bomb",
    "limit-header-8000",
    "json-depth-2000",
    "json-bracket-bomb",
    "json-5000-digit-exp",
    "json-5000-digit-float",
)
#: How many more corpus rows the table shows, the costliest first.
COSTLIEST = 8
#: The survey of every row: the fastest of SURVEY_ROUNDS batches of SURVEY_BATCH requests.
SURVEY_ROUNDS = 3
SURVEY_BATCH = 5
#: Keys the corpus recipes may sign with here (the published FX key set plus the attacker's).
KEYS = ("rsa-1", "ec-1", "ps-1", "KX")
#: The external origin and path the DPoP rows' proofs are made for.
DPOP_ORIGIN = "https://rs.example.com"
DPOP_PATH = "/orders"
#: An odd RSA public exponent of 3,071 bits (with a 3,072-bit modulus, so that e < n).
BIG_EXPONENT = (1 << 3070) | 0x1235
JWKS_ROW = "made: JWK Set response, 16 keys out of bounds, 5,000-digit max-age"


def hostile_jwk(signing: Any, i: int) -> dict[str, Any]:
    """The ``i``-th key out of bounds of the hostile JWK Set: in turn a 3,071-bit exponent,
    a 16,384-bit modulus, an 8,200-bit modulus with a 33-bit exponent, and an EC key whose
    ``x`` is 4,000 characters long."""
    kid = f"hostile-{i}"
    kind = i % 4
    if kind == 0:
        return signing.rsa_jwk(signing.odd_modulus(3072, i + 1), BIG_EXPONENT, kid=kid, alg="RS256")
    if kind == 1:
        return signing.rsa_jwk(signing.odd_modulus(16384, i + 1), kid=kid, alg="RS256")
    if kind == 2:
        return signing.rsa_jwk(signing.odd_modulus(8200, i + 1), 2**32 + 1, kid=kid, alg="PS256")
    jwk: dict[str, Any] = signing.ec_key(kid, "P-256").public_jwk(alg="ES256")
    jwk["x"] = "A" * 4000
    return jwk


def eligible(case: Any, dyn: type) -> bool:
    """A corpus request this script can replay with the default settings: a refused
    Authorization-header request to the FX issuer, no extra keys or settings."""
    tok = case.token
    return (
        case.expect[1] is not None
        and case.authorization is not None
        and "?" not in case.path
        and case.method == "GET"
        and case.body is None
        and not case.publish
        and not case.settings
        and not case.iss2
        and tok.key in (*KEYS, "none")
        and not any(isinstance(v, dyn) for v in tok.header.values())
    )


def grown(make: Callable[[int], str], limit: int) -> str:
    """``make(n)`` for the largest ``n`` whose token is at most ``limit`` characters
    (``make`` grows with ``n``)."""
    low, high = 0, 1
    while len(make(high)) <= limit:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if len(make(middle)) <= limit:
            low = middle
        else:
            high = middle
    token = make(low)
    assert len(token) <= limit
    return token


def survey_us(fn: Callable[[Any], Any], item: Any) -> float:
    """A quick look at one row's cost (µs/op): the fastest of a few short batches."""
    best = float("inf")
    for _ in range(SURVEY_ROUNDS):
        start = time.perf_counter_ns()
        for _ in range(SURVEY_BATCH):
            fn(item)
        best = min(best, (time.perf_counter_ns() - start) / SURVEY_BATCH / 1000)
    return best


def main() -> None:
    print("== bench/hostile.py: hostile vs benign rejections, µs per rejected request (lower is better) ==")
    print_versions()
    print(f"batch {BATCH} requests; 'x benign' = µs / the cheaper benign rejection's µs; flag: over {FLAG_RATIO:g}x")
    record_settings(batch=BATCH, flag_ratio=FLAG_RATIO, benign=list(BENIGN))

    sys.path.insert(0, str(ROOT))
    server = JWKSServer()
    try:
        from tests import signing

        keys = {
            "rsa-1": signing.rsa_key("rsa-1", alg="RS256"),
            "ec-1": signing.ec_key("ec-1", "P-256"),
            "ps-1": signing.rsa_key("ps-1", alg="PS256"),
            "KX": signing.rsa_key("KX", alg="RS256"),
        }
        jwks = [keys["rsa-1"].public_jwk(alg="RS256"), keys["ec-1"].public_jwk(alg="ES256")]
        jwks.append(keys["ps-1"].public_jwk(alg="PS256"))
        jwks_uri = server.publish("/jwks", jwks)
        from tests.helpers import FX_AUD, FX_ISS

        configure_django(
            JWT_AT_ISSUERS={
                FX_ISS: {"AUDIENCE": FX_AUD, "JWKS_URI": jwks_uri, "ALGORITHMS": ["RS256", "PS256", "ES256"]}
            },
            JWT_AT_RESOURCE_URL=DPOP_ORIGIN,  # DPoP proofs are checked against it (htu)
        )
        # Only now: the corpus imports the suite's fixture modules, which import DRF's test
        # client, which needs configured settings.
        from django.http import HttpRequest

        import django_jwt_at.clock
        from django_jwt_at.conf import get_config
        from django_jwt_at.errors import ProtocolError
        from django_jwt_at.fetch import FetchError, parse_document, parse_max_age
        from django_jwt_at.jwks import KeySet, _lifetime, build_key_set
        from django_jwt_at.request_auth import authenticate_request
        from tests import dpop_proofs
        from tests.conftest import NOW, t0_claims
        from tests.hostile.corpus import CASES, Dyn, Tok, description
        from tests.hostile.test_corpus import Env, build_token

        django_jwt_at.clock.now = lambda: NOW  # the corpus's tokens are minted for its NOW
        config = get_config()
        limits = config.limits
        env = Env(keys, None, None, {})

        def request_for(authorization: str, dpop: str | None = None) -> Any:
            request = HttpRequest()
            request.method = "GET"
            request.path = DPOP_PATH
            request.META = {"HTTP_AUTHORIZATION": authorization, "QUERY_STRING": ""}
            if dpop is not None:
                request.META["HTTP_DPOP"] = dpop
            return request

        def refuse(request: Any) -> Any:
            try:
                return authenticate_request(request, config)
            except ProtocolError as error:
                return error

        # Made here: grown to just under the token size limit, signed with rsa-1.
        rsa1 = keys["rsa-1"]
        header = signing.b64url(signing.json_bytes({"typ": "at+jwt", "alg": "RS256", "kid": "rsa-1"}))
        members = signing.json_bytes(t0_claims(NOW)).decode()[1:-1]

        def signed(payload: str) -> str:
            body = signing.b64url(payload.encode())
            return f"{header}.{body}.{signing.b64url(signing.sign('RS256', rsa1, f'{header}.{body}'.encode()))}"

        depth = limits.max_json_depth - 1  # nested in the claims object: at the limit, not over it
        made = {
            "made: unterminated string": (
                lambda n: signed("{" + members + ',"x":"' + "a" * n),
                ("invalid_token", "malformed-token"),
            ),
            "made: \\u0041 escapes": (
                lambda n: signed("{" + members + ',"x":"' + "\\u0041" * n + '"}'),
                None,  # valid JSON, accepted: given the signature of another payload below
            ),
            "made: many members": (
                lambda n: signed("{" + members + "".join(f',"m{i}":0' for i in range(n)) + "}"),
                None,
            ),
            "made: max-depth arrays, repeated": (
                lambda n: signed(
                    "{" + members + ',"d":[' + ",".join(["[" * (depth - 1) + "]" * (depth - 1)] * n) + "]}"
                ),
                None,
            ),
        }
        tokens: dict[str, tuple[str, tuple[int, str, str]]] = {}
        for label, (make, expect) in made.items():
            token = grown(make, limits.max_token_size)
            if expect is None:  # a well-formed token: refuse it by its signature (of another payload)
                head, payload, _ = token.split(".")
                token = f"{head}.{payload}.{signed('{' + members + '}').split('.')[2]}"
                tokens[label] = (token, (401, "invalid_token", "signature"))
            else:
                tokens[label] = (token, (401, *expect))

        # Made here: DPoP proofs whose key is out of bounds, with a valid token bound to it.
        def dpop_request(proof_key: Any, jwk: dict[str, Any] | None = None) -> Any:
            bound_to = jwk or dpop_proofs.public_jwk(proof_key)
            claims = {**t0_claims(NOW), "cnf": {"jkt": dpop_proofs.thumbprint(bound_to)}}
            token = signing.sign_compact({"typ": "at+jwt", "alg": "RS256", "kid": "rsa-1"}, claims, rsa1)
            proof = dpop_proofs.make_proof(proof_key, token=token, now=NOW, htu=DPOP_ORIGIN + DPOP_PATH, jwk=jwk)
            return request_for(f"DPoP {token}", proof)

        ordinary_proof_key = signing.rsa_key("KD", alg="PS256")
        dpop_rows = {
            "made: DPoP proof, RSA key with a 3,071-bit exponent": dpop_request(
                signing.rsa_key_with_exponent("KD-E3071", BIG_EXPONENT, bits=3072, alg="PS256")
            ),
            "made: DPoP proof, RSA key with a 16,384-bit modulus": dpop_request(
                ordinary_proof_key, signing.rsa_jwk(signing.odd_modulus(16384))
            ),
        }

        # Made here: a hostile JWK Set response, loaded as a fetched one is (IssuerKeys._fetch).
        issuer = config.issuers[FX_ISS]
        hostile_keys = [hostile_jwk(signing, i) for i in range(16)]
        jwks_response = (json.dumps({"keys": [*jwks, *hostile_keys]}), "max-age=" + "9" * 5000)

        def load_key_set(response: tuple[str, str]) -> Any:
            text, cache_control = response
            try:
                document = parse_document(jwks_uri, text, parse_max_age(cache_control))
                return build_key_set(issuer, document, NOW, NOW + _lifetime(config, document.max_age))
            except FetchError as error:
                return error

        # label, source, item, expect (None: checked below)
        rows: list[tuple[str, str, Any, tuple[int, str | None, str | None] | None]] = []
        for case in CASES:
            if not eligible(case, Dyn):
                continue
            token = build_token(case.token, env) if "<T>" in case.authorization else ""
            rows.append((case.id, "corpus", request_for(case.authorization.replace("<T>", token)), case.expect))
        for label, (token, expect) in tokens.items():
            rows.append((label, "made here", request_for(f"Bearer {token}"), expect))
        for label, request in dpop_rows.items():
            rows.append((label, "made here", request, (401, "invalid_dpop_proof", "dpop-proof")))
        rows.append((JWKS_ROW, "made here", jwks_response, None))

        valid = request_for(f"Bearer {build_token(Tok(), env)}")
        accepted = refuse(valid)  # also fetches the key set, before any timing
        if isinstance(accepted, ProtocolError) or accepted is None or accepted.subject != t0_claims(NOW)["sub"]:
            raise SystemExit(f"setup error: T0 was not accepted: {accepted!r}")
        accepted = refuse(dpop_request(ordinary_proof_key))  # the DPoP rows' path, with a key in bounds
        if isinstance(accepted, ProtocolError) or accepted is None or not accepted.dpop_bound:
            raise SystemExit(f"setup error: an ordinary DPoP proof was not accepted: {accepted!r}")
        requests: dict[str, Any] = {}
        sources: dict[str, str] = {}
        functions: dict[str, Callable[[Any], Any]] = {}
        for label, source, request, expect in rows:
            if expect is None:
                key_set = load_key_set(request)
                if not isinstance(key_set, KeySet) or sorted(
                    key.kid or "" for prepared in key_set.by_alg.values() for key in prepared
                ) != ["ec-1", "ps-1", "rsa-1"]:
                    raise SystemExit(f"setup error: {label} loaded {key_set!r}, not the three good keys")
                if key_set.expires_at != NOW + config.jwks_max_ttl:
                    raise SystemExit(f"setup error: {label} lives {key_set.expires_at - NOW} s, not the maximum")
                functions[label] = load_key_set
            else:
                status, code, key = expect
                error = refuse(request)
                got = (error.status, error.code, error.description.value) if isinstance(error, ProtocolError) else error
                if got != (status, code, description(key) if key else None):
                    raise SystemExit(f"setup error: {label} answered {got!r}, the corpus expects {status} {code} {key}")
                functions[label] = refuse
            requests[label] = request
            sources[label] = source
        missing = [name for name in (*BENIGN, *NAMED) if name not in requests]
        if missing:
            raise SystemExit(f"setup error: corpus cases not found or not eligible: {missing}")

        # The survey: every row, briefly; the costliest of the corpus rows not named are then
        # measured with the others, interleaved.
        survey = {label: survey_us(functions[label], request) for label, request in requests.items()}
        survey_reference = min(survey[name] for name in BENIGN)
        others = [label for label, source in sources.items() if source == "corpus" and label not in (*BENIGN, *NAMED)]
        costliest = sorted(others, key=survey.__getitem__, reverse=True)[:COSTLIEST]
        made_rows = [label for label, source in sources.items() if source == "made here"]
        shown = [*BENIGN, *NAMED, *made_rows, *costliest]
        contenders = [Contender(label, functions[label], same(requests[label], BATCH)) for label in shown]
        measure(contenders)
    finally:
        server.close()

    def chars(label: str) -> int:
        """The size of a row's input: the Authorization value (and the DPoP proof), or the
        JWK Set response's body and Cache-Control value."""
        item = requests[label]
        if isinstance(item, tuple):
            return sum(map(len, item))
        return len(item.META["HTTP_AUTHORIZATION"]) + len(item.META.get("HTTP_DPOP", ""))

    for label in requests:
        record(
            "survey",
            {
                "name": label,
                "source": sources[label],
                "chars": chars(label),
                "us": survey[label],
                "x_benign": survey[label] / survey_reference,
            },
        )
    by_name = {c.name: c for c in contenders}
    reference = min(median(by_name[name]) for name in BENIGN)
    lines = []
    flagged = []
    for c in contenders:
        ratio = median(c) / reference
        kind = "benign" if c.name in BENIGN else sources[c.name]
        if ratio > FLAG_RATIO:
            flagged.append(c.name)
        record(
            "rows",
            {
                "name": c.name,
                "kind": kind,
                "chars": chars(c.name),
                "us": median(c),
                "spread": spread(c),
                "x_benign": ratio,
                "flagged": ratio > FLAG_RATIO,
            },
        )
        flag = f"OVER {FLAG_RATIO:g}x" if ratio > FLAG_RATIO else ""
        lines.append(
            [c.name, kind, f"{chars(c.name):,}", f"{median(c):.1f}", f"{spread(c):.0f}%", fmt_ratio(ratio), flag]
        )
    table(
        f"Rejections: the benign two, the named corpus rows, the rows made here, and the {COSTLIEST} costliest "
        f"of the other {len(others)} corpus rows in the survey",
        ["request", "kind", "chars", "µs/op", "spread", "x benign", "flag"],
        lines,
    )
    worst_survey = max((label for label in requests if label not in BENIGN), key=survey.__getitem__)
    print()
    print(
        f"survey of all {len(requests) - len(BENIGN)} hostile rows (min of {SURVEY_ROUNDS} batches of {SURVEY_BATCH}, "
        f"not interleaved): costliest {worst_survey}, {fmt_ratio(survey[worst_survey] / survey_reference)} benign"
    )
    if flagged:
        print(f"over {FLAG_RATIO:g}x: {', '.join(flagged)}")
    else:
        print(f"no hostile row over {FLAG_RATIO:g}x")
    write_results("hostile")


if __name__ == "__main__":
    main()
