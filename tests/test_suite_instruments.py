"""Checks of the suite's own instruments, so that a passing conformance test means something:
the challenge parser and rule checker flag bad headers, the leak detector finds leaks, the
signer produces what independent verifiers accept, the live server counts requests, the
test authorization server refuses what a real one would."""

from __future__ import annotations

import hashlib
import time
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from . import signing
from .dpop_proofs import make_proof, public_jwk, thumbprint
from .helpers import (
    ChallengeSyntaxError,
    SecretIndex,
    bearer,
    challenge_problems,
    leaked_substrings,
    parse_challenges,
)
from .oauth_server import AuthorizationServer


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


@pytest.fixture
def oauth_server():
    server = AuthorizationServer(default_resource="https://rs.example.com", scopes_supported=["a:x"])
    server.add_client("c", "s3cret")
    yield server
    server.close()


def test_oauth_server_refuses_what_it_must(oauth_server):
    """The test authorization server is strict where the client tests rely on it: client
    authentication, PKCE, and DPoP proofs at the token endpoint."""
    token = oauth_server.token_endpoint

    def post(data, **kwargs):
        return requests.post(token, data=data, timeout=5, **kwargs)

    assert post({"grant_type": "client_credentials"}, auth=("c", "wrong")).json()["error"] == "invalid_client"
    issued = post({"grant_type": "client_credentials", "scope": "a:x"}, auth=("c", "s3cret")).json()
    header, claims = (signing.decode_part(part) for part in issued["access_token"].split(".")[:2])
    assert header == {"typ": "at+jwt", "alg": "RS256", "kid": "as-1"}
    assert (claims["aud"], claims["sub"], claims["client_id"], claims["scope"]) == (
        "https://rs.example.com",
        "c",
        "c",
        "a:x",
    )
    assert issued["token_type"] == "Bearer"

    key = signing.ec_key("proof", "P-256")
    now = time.time()
    good = make_proof(key, token=None, now=now, method="POST", htu=token)
    form = {"grant_type": "client_credentials", "resource": "https://api.example"}
    bound = post(form, auth=("c", "s3cret"), headers={"DPoP": good}).json()
    claims = signing.decode_part(bound["access_token"].split(".")[1])
    assert (bound["token_type"], claims["cnf"], claims["aud"]) == (
        "DPoP",
        {"jkt": thumbprint(public_jwk(key))},
        "https://api.example",
    )
    for bad in (
        make_proof(key, token=None, now=now, method="POST", htu=token + "x"),
        make_proof(key, token=None, now=now - 3600, method="POST", htu=token),
        make_proof(key, token=None, now=now, method="GET", htu=token),
        make_proof(
            signing.ec_key("other", "P-256"), token=None, now=now, method="POST", htu=token, jwk=public_jwk(key)
        ),
    ):
        assert post(form, auth=("c", "s3cret"), headers={"DPoP": bad}).json()["error"] == "invalid_dpop_proof"

    # Authorization code with PKCE: a wrong verifier is refused, the right one works once.
    oauth_server.add_client("public", None, ["http://127.0.0.1:9/cb"])
    verifier = "v" * 43
    challenge = signing.b64url(hashlib.sha256(verifier.encode()).digest())
    query = {
        "response_type": "code",
        "client_id": "public",
        "redirect_uri": "http://127.0.0.1:9/cb",
        "state": "st",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }

    def authorize():
        answer = requests.get(oauth_server.url("/authorize"), params=query, timeout=5, allow_redirects=False)
        assert answer.status_code == 302
        params = dict(parse_qsl(urlsplit(answer.headers["Location"]).query))
        assert (params["state"], params["iss"]) == ("st", oauth_server.issuer)
        return params["code"]

    exchange = {"grant_type": "authorization_code", "client_id": "public", "redirect_uri": "http://127.0.0.1:9/cb"}
    assert post({**exchange, "code": authorize(), "code_verifier": "w" * 43}).json()["error"] == "invalid_grant"
    code = authorize()
    assert post({**exchange, "code": code, "code_verifier": verifier}).json()["token_type"] == "Bearer"
    assert post({**exchange, "code": code, "code_verifier": verifier}).json()["error"] == "invalid_grant"
    assert post({"grant_type": "client_credentials", "client_id": "public"}).json()["error"] == "unauthorized_client"
