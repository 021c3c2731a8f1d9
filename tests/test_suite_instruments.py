"""Checks of the suite's own instruments, so that a passing conformance test means something:
the challenge parser and rule checker flag bad headers, the leak detector finds leaks, the
signer produces what independent verifiers accept, the live server counts requests."""

from __future__ import annotations

import pytest
import requests

from . import signing
from .helpers import (
    ChallengeSyntaxError,
    SecretIndex,
    bearer,
    challenge_problems,
    leaked_substrings,
    parse_challenges,
)


def test_parser_round_trip():
    value = bearer("insufficient_scope", "x y", scope="a:x b:y")
    assert parse_challenges(value) == [
        (
            "Bearer",
            [("realm", "api"), ("error", "insufficient_scope"), ("error_description", "x y"), ("scope", "a:x b:y")],
        )
    ]
    assert parse_challenges('Bearer realm="api", DPoP algs="ES256 PS256"') == [
        ("Bearer", [("realm", "api")]),
        ("DPoP", [("algs", "ES256 PS256")]),
    ]
    assert parse_challenges("Bearer, DPoP algs=ES256") == [("Bearer", []), ("DPoP", [("algs", "ES256")])]
    assert parse_challenges('Basic realm="a\\"b"') == [("Basic", [("realm", 'a"b')])]


@pytest.mark.parametrize(
    "value,rule",
    [
        ("Bearer", "C-6750-18"),
        ('Bearer realm="api", realm="api"', "C-6750-17"),
        ('Bearer realm="api", error="invalid_token", ERROR="invalid_token"', "C-6750-17"),
        ('Bearer realm="api", error_description="caf\u00e9"', "C-6750-15"),
        ('Bearer realm="api", error_description="a\\"b"', "C-6750-15"),
        ("Bearer realm=api", "C-6750-19"),
        ('Bearer realm="api", max_age="5m"', "C-9470-15"),
        ('Bearer realm="api", scope="a  b"', "C-6750-15"),
        ('Bearer realm="api" error="x"', "C-6750-17"),
    ],
)
def test_rule_checker_flags(value, rule):
    problems = challenge_problems(value, 401)
    assert any(p.startswith(rule) for p in problems), problems


def test_rule_checker_flags_missing_header():
    assert challenge_problems(None, 401) == ["C-DRF-03: 401 without WWW-Authenticate"]
    assert challenge_problems(None, 200) == []


def test_parser_rejects_garbage():
    with pytest.raises(ChallengeSyntaxError):
        parse_challenges('Bearer realm="unterminated')


def test_leak_detection():
    secret = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    assert leaked_substrings(secret, "x" + secret[5:25] + "y")
    assert not leaked_substrings(secret, secret[5:24])
    index = SecretIndex([secret, "short-secret"])
    assert index.leaks("...." + secret[10:30])
    assert index.leaks("log: short-secret")
    assert not index.leaks("nothing here")


def test_signer_ec_signature_is_raw_r_s(keys):
    token = signing.sign_compact({"alg": "ES256"}, {"a": 1}, keys["ec-1"])
    assert len(signing.b64url_decode(token.split(".")[2])) == 64
    token = signing.sign_compact({"alg": "ES512"}, {"a": 1}, keys["ec-521"])
    assert len(signing.b64url_decode(token.split(".")[2])) == 132


def test_signer_pss_verifies_with_joserfc(keys):
    from joserfc import jws
    from joserfc.jwk import RSAKey

    token = signing.sign_compact({"alg": "PS256"}, {"a": 1}, keys["ps-1"])
    key = RSAKey.import_key(keys["ps-1"].public_jwk(alg=None, use=None))
    assert jws.deserialize_compact(token, key, algorithms=["PS256"]).payload == b'{"a":1}'


def test_signer_hs256_verifies_with_pyjwt():
    import jwt

    token = signing.sign_compact({"alg": "HS256", "typ": "JWT"}, {"a": 1}, b"k" * 32)
    assert jwt.decode(token, b"k" * 32, algorithms=["HS256"]) == {"a": 1}


def test_live_server_counts_and_routes(server):
    server.route("/x", {"a": 1}, headers={"Cache-Control": "max-age=5"})
    response = requests.get(server.url("/x?q=1"), timeout=2)
    assert response.json() == {"a": 1}
    assert response.headers["Cache-Control"] == "max-age=5"
    assert requests.get(server.url("/missing"), timeout=2).status_code == 404
    server.redirect("/r", server.url("/x"))
    assert requests.get(server.url("/r"), timeout=2, allow_redirects=False).status_code == 302
    assert server.count("/x") == 1 and server.count("/missing") == 1 and server.count("/r") == 1
    assert server.paths() == ["/x", "/missing", "/r"]
