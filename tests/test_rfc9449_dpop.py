"""Conformance spec section 5: DPoP (RFC 9449) at the resource server.

Default mode here is ``optional`` (spec §5), with the external origin
``https://rs.example.com`` (JWT_AT_RESOURCE_URL) and no resource metadata, so the
expected challenges are exactly those of the spec. Proofs are signed by tests/dpop_proofs.py
(``cryptography`` directly); thumbprints are computed there too, not by the library.
"""

from __future__ import annotations

import multiprocessing
import re

import pytest
from django.core.cache import caches

from . import signing
from .conftest import NOW
from .dpop_proofs import ABSENT, RS, ath, make_proof, public_jwk, thumbprint
from .dpop_worker import authenticate_worker
from .helpers import DPOP_ALGS, FX_AUD, FX_ISS, NO_CREDENTIALS, D, bearer, dpop, json_body, our_messages
from .redis_server import needs_redis

ORDERS = RS + "/orders"

#: The error-free Bearer part before a DPoP challenge carrying the error.
PROOF_ERROR = f"{NO_CREDENTIALS}, " + dpop("invalid_dpop_proof", D["dpop-proof"])
BOTH = f"{NO_CREDENTIALS}, " + dpop()


@pytest.fixture(autouse=True)
def dpop_settings(settings):
    settings.JWT_AT_DPOP = "optional"
    settings.JWT_AT_RESOURCE_URL = RS
    return settings


@pytest.fixture(scope="module")
def client_keys():
    return {
        "KD": signing.ec_key("KD", "P-256"),
        "KD2": signing.ec_key("KD2", "P-256"),
        "KD-RSA": signing.rsa_key("KD-RSA", alg="PS256"),
        "KD-P521": signing.ec_key("KD-P521", "P-521"),
        "KD-RS256": signing.rsa_key("KD-RS256", alg="RS256"),
    }


@pytest.fixture
def kd(client_keys):
    return client_keys["KD"]


@pytest.fixture
def bound(make_token):
    """``bound(key)``: TB, a T0 bound to ``key`` (``cnf.jkt``), with claim overrides."""

    def factory(key, **claims):
        return make_token(claims={"cnf": {"jkt": thumbprint(public_jwk(key))}, **claims})

    return factory


@pytest.fixture
def tb(bound, kd):
    return bound(kd)


@pytest.fixture
def proof(clock, kd):
    """``proof(token, **kwargs)``: D0 for ``token`` at the current fake time."""

    def factory(token, key=None, **kwargs):
        kwargs.setdefault("now", clock.t)
        return make_proof(key or kd, token=token, **kwargs)

    return factory


def dpop_get(api, token, proof_value, path="/orders", *, scheme="DPoP", method="GET", **extra):
    if proof_value is not None:
        extra["HTTP_DPOP"] = proof_value
    return api.request(method, path, authorization=f"{scheme} {token}", **extra)


def assert_proof_error(response, expected=PROOF_ERROR):
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == expected
    assert json_body(response)["error"] == "invalid_dpop_proof"


# --- challenges without credentials ---------------------------------------------------------------


def test_C_9449_01_optional_no_credentials(api):
    response = api.get("/orders")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api", DPoP algs="ES256 PS256"'
    assert "error" not in response["WWW-Authenticate"]


def test_C_9449_02_required_no_credentials(api, settings):
    settings.JWT_AT_DPOP = "required"
    response = api.get("/orders")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'DPoP algs="ES256 PS256"'


@pytest.mark.parametrize(
    "path, expected",
    [("/dpop-required", dpop()), ("/dpop-off", NO_CREDENTIALS), ("/plain/dpop-required", dpop())],
    ids=["C-9449-02-view-attribute", "C-9449-02-view-attribute-off", "C-9449-02-decorator-argument"],
)
def test_C_9449_02_per_view_mode(api, path, expected):
    response = api.get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == expected


# --- accepted proofs ------------------------------------------------------------------------------


def test_C_9449_03_bound_token_with_valid_proof(api, tb, proof):
    response = dpop_get(api, tb, proof(tb))
    assert response.status_code == 200, response.content
    assert response.json()["user"] == "user-123"


def test_C_9449_03_request_auth_exposes_the_binding(api, tb, proof, kd):
    response = dpop_get(api, tb, proof(tb, htu=RS + "/plain/orders"), "/plain/orders")
    assert response.status_code == 200, response.content
    assert response.json() == {"sub": "user-123", "dpop_bound": True}
    response = dpop_get(api, tb, proof(tb, htu=RS + "/plain/dpop-required"), "/plain/dpop-required")
    assert response.status_code == 200, response.content
    assert response.json() == {"sub": "user-123", "jkt": thumbprint(public_jwk(kd))}


def test_C_9449_03_unbound_token_reports_no_binding(api, t0):
    response = api.get("/plain/orders", t0)
    assert response.status_code == 200
    assert response.json() == {"sub": "user-123", "dpop_bound": False}


def test_C_9449_04_scheme_and_header_name_are_case_insensitive(api, tb, proof):
    response = api.get("/orders", authorization=f"dpop {tb}", headers={"dpop": proof(tb)})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("path", ["/dpop-required", "/plain/dpop-required", "/drf-fn/dpop-required"])
def test_C_9449_03_required_views_accept_dpop(api, tb, proof, path):
    response = dpop_get(api, tb, proof(tb, htu=RS + path), path)
    assert response.status_code == 200, response.content


# --- missing, malformed and failing proofs ---------------------------------------------------------


def test_C_9449_05_dpop_scheme_without_proof(api, tb):
    response = dpop_get(api, tb, None)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", DPoP error="invalid_dpop_proof", error_description="DPoP proof is missing", '
        'algs="ES256 PS256"'
    )


@pytest.mark.parametrize("joiner", [",", ", "], ids=["C-9449-06-comma", "C-9449-06-comma-space"])
def test_C_9449_06_two_proofs(api, tb, proof, joiner):
    assert_proof_error(dpop_get(api, tb, proof(tb) + joiner + proof(tb)))


@pytest.mark.parametrize(
    "value",
    ["not-a-jwt", "JWE", "TWO-SEGMENTS", ""],
    ids=["C-9449-07-not-a-jwt", "C-9449-07-jwe", "C-9449-07-two-segments", "C-9449-07-empty"],
)
def test_C_9449_07_not_a_single_jws(api, tb, proof, value):
    d0 = proof(tb)
    if value == "JWE":  # five segments (RFC 7516 compact serialization)
        value = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a2V5.aXY.Y2lwaGVy.dGFn"
    elif value == "TWO-SEGMENTS":
        value = d0.rsplit(".", 1)[0]
    assert_proof_error(dpop_get(api, tb, value))


@pytest.mark.parametrize("claim", ["jti", "htm", "htu", "iat", "ath"], ids=lambda c: f"C-9449-08-no-{c}")
def test_C_9449_08_missing_claim(api, tb, proof, claim):
    assert_proof_error(dpop_get(api, tb, proof(tb, claims={claim: ABSENT})))


@pytest.mark.parametrize(
    "typ",
    ["JWT", "at+jwt", ABSENT, "dpop+jwt; charset=utf-8"],
    ids=["C-9449-09-JWT", "C-9449-09-at+jwt", "C-9449-09-missing", "C-9449-09-parameter"],
)
def test_C_9449_09_wrong_typ(api, tb, proof, typ):
    assert_proof_error(dpop_get(api, tb, proof(tb, header={"typ": typ})))


@pytest.mark.parametrize(
    "typ", ["DPOP+JWT", "application/dpop+jwt"], ids=["C-9449-09-upper-case", "C-9449-09-application-prefix"]
)
def test_C_9449_09_typ_is_a_media_type(api, tb, proof, typ):
    assert dpop_get(api, tb, proof(tb, header={"typ": typ})).status_code == 200


def test_C_9449_10_alg_none(api, tb, proof, kd):
    assert_proof_error(dpop_get(api, tb, proof(tb, header={"alg": "none"}, alg="none")))


def test_C_9449_10_alg_hs256(api, tb, clock):
    secret = b"k" * 32
    # MACed with the very bytes the jwk announces, and with a P-256 jwk: both refused.
    hs = make_proof(secret, token=tb, now=clock.t, alg="HS256")
    assert_proof_error(dpop_get(api, tb, hs))


def test_C_9449_10_alg_hs256_with_asymmetric_jwk(api, tb, clock, kd):
    x = public_jwk(kd)["x"].encode("ascii")
    hs = make_proof(x, token=tb, now=clock.t, alg="HS256", jwk=public_jwk(kd))
    assert_proof_error(dpop_get(api, tb, hs))


@pytest.mark.parametrize("which", ["KD-P521", "KD-RS256"], ids=["C-9449-10-ES512", "C-9449-10-RS256"])
def test_C_9449_10_alg_not_in_algs(api, client_keys, bound, proof, which):
    key = client_keys[which]
    token = bound(key)
    assert_proof_error(dpop_get(api, token, proof(token, key=key)))


def test_C_9449_10_alg_unknown(api, tb, proof):
    assert_proof_error(dpop_get(api, tb, proof(tb, header={"alg": "foo"}, alg="ES256")))


def test_C_9449_10_algorithms_setting(api, settings, client_keys, bound, proof):
    settings.JWT_AT_DPOP_ALGORITHMS = ["ES512"]
    key = client_keys["KD-P521"]
    token = bound(key)
    assert dpop_get(api, token, proof(token, key=key)).status_code == 200
    response = api.get("/orders")
    assert response["WWW-Authenticate"] == f'{NO_CREDENTIALS}, DPoP algs="ES512"'


def test_C_9449_11_signed_by_another_key(api, tb, proof, client_keys, kd):
    assert_proof_error(dpop_get(api, tb, proof(tb, key=client_keys["KD2"], jwk=public_jwk(kd))))


@pytest.mark.parametrize("variant", ["private", "oct", "missing", "not-an-object"], ids=lambda v: f"C-9449-12-{v}")
def test_C_9449_12_unusable_jwk(api, tb, proof, kd, variant):
    jwk = {
        "private": kd.private_jwk(),
        "oct": {"kty": "oct", "k": signing.b64url(b"k" * 32)},
        "missing": ABSENT,
        "not-an-object": "jwk",
    }[variant]
    if jwk is ABSENT:
        value = proof(tb, header={"jwk": ABSENT})
    else:
        value = proof(tb, jwk=jwk)
    assert_proof_error(dpop_get(api, tb, value))


# --- proof keys of hostile size: refused before any signature work --------------------------------

#: An odd public exponent of 3,071 bits: each verification with it costs ~150 ordinary ones.
BIG_EXPONENT = (1 << 3070) | 0x1235


@pytest.fixture(scope="module")
def sized_keys():
    return {
        "KD-E3071": signing.rsa_key_with_exponent("KD-E3071", BIG_EXPONENT, bits=3072, alg="PS256"),
        "KD-3072": signing.rsa_key("KD-3072", bits=3072, alg="PS256"),
    }


@pytest.fixture
def key_work(monkeypatch):
    """``key_work()``: counts of RSA key objects built and signatures checked by the library
    from then on, the issuer's key set being loaded first (with the current settings)."""
    from django_jwt_at import keys
    from django_jwt_at.conf import get_config
    from django_jwt_at.jwks import key_sets

    counts = {"rsa_numbers": 0, "verify": 0}

    def start():
        config = get_config()
        assert key_sets.find(config.issuers[FX_ISS], "rsa-1", "RS256", config)
        counts.update(rsa_numbers=0, verify=0)
        return counts

    numbers, verify = keys.rsa.RSAPublicNumbers, keys.VerificationKey.verify

    def counting_numbers(*args):
        counts["rsa_numbers"] += 1
        return numbers(*args)

    def counting_verify(self, *args):
        counts["verify"] += 1
        return verify(self, *args)

    monkeypatch.setattr(keys.rsa, "RSAPublicNumbers", counting_numbers)
    monkeypatch.setattr(keys.VerificationKey, "verify", counting_verify)
    return start


def test_proof_key_with_a_3071_bit_exponent(api, bound, proof, sized_keys, key_work):
    # A real key and a valid proof: the exponent alone makes it refused, before any
    # signature check (the token's own check runs before the proof's: one verify).
    key = sized_keys["KD-E3071"]
    token = bound(key)
    value = proof(token, key=key)
    counts = key_work()
    assert_proof_error(dpop_get(api, token, value))
    assert counts == {"rsa_numbers": 0, "verify": 1}


@pytest.mark.parametrize(
    "bits, exponent",
    [(2048, 2**32 + 1), (2048, 2**64 + 1), (2048, 1), (2048, 65536), (8200, 65537), (16384, 65537)],
    ids=["exponent-2**32+1", "exponent-2**64+1", "exponent-1", "exponent-even", "modulus-8200", "modulus-16384"],
)
def test_proof_key_out_of_bounds(api, make_token, proof, client_keys, key_work, bits, exponent):
    jwk = signing.rsa_jwk(signing.odd_modulus(bits), exponent)
    token = make_token(claims={"cnf": {"jkt": thumbprint(jwk)}})
    value = proof(token, key=client_keys["KD-RSA"], jwk=jwk)
    counts = key_work()
    assert_proof_error(dpop_get(api, token, value))
    assert counts == {"rsa_numbers": 0, "verify": 1}


def test_proof_key_bound_is_8192_bits_whatever_the_setting(api, make_token, proof, client_keys, key_work, settings):
    # Raising JWT_AT_MAX_RSA_KEY_BITS for an issuer's keys lets no client choose longer ones.
    settings.JWT_AT_MAX_RSA_KEY_BITS = 16384
    jwk = signing.rsa_jwk(signing.odd_modulus(8200))
    token = make_token(claims={"cnf": {"jkt": thumbprint(jwk)}})
    value = proof(token, key=client_keys["KD-RSA"], jwk=jwk)
    counts = key_work()
    assert_proof_error(dpop_get(api, token, value))
    assert counts == {"rsa_numbers": 0, "verify": 1}


def test_proof_key_bound_follows_a_lower_setting(api, bound, proof, sized_keys, settings):
    key = sized_keys["KD-3072"]
    token = bound(key)
    assert dpop_get(api, token, proof(token, key=key)).status_code == 200
    settings.JWT_AT_MAX_RSA_KEY_BITS = 2048
    assert_proof_error(dpop_get(api, token, proof(token, key=key)))


def test_proof_key_of_8192_bits_reaches_the_signature_check(api, make_token, proof, client_keys, key_work):
    jwk = signing.rsa_jwk(signing.odd_modulus(8192))
    token = make_token(claims={"cnf": {"jkt": thumbprint(jwk)}})
    value = proof(token, key=client_keys["KD-RSA"], jwk=jwk)
    counts = key_work()
    assert_proof_error(dpop_get(api, token, value))
    assert counts == {"rsa_numbers": 1, "verify": 2}  # loaded, then its signature refused


@pytest.mark.parametrize("member", ["x", "y"])
def test_proof_key_ec_coordinate_with_a_leading_zero(api, make_token, proof, kd, member):
    # RFC 7518 §6.2.1.2: a coordinate is exactly the curve's size (32 octets for P-256).
    jwk = public_jwk(kd)
    jwk[member] = signing.b64url(b"\0" + signing.b64url_decode(jwk[member]))
    token = make_token(claims={"cnf": {"jkt": thumbprint(jwk)}})
    assert_proof_error(dpop_get(api, token, proof(token, jwk=jwk)))


@pytest.mark.parametrize("htm", ["POST", "get", "GET "], ids=["C-9449-13-POST", "C-9449-13-lower", "C-9449-13-space"])
def test_C_9449_13_htm_exact(api, tb, proof, htm):
    assert_proof_error(dpop_get(api, tb, proof(tb, method=htm)))


@pytest.mark.parametrize(
    "htu",
    [
        "https://rs.example.com/payments",
        "http://rs.example.com/orders",
        "https://rs2.example.com/orders",
        "https://rs.example.com:8443/orders",
        "https://user@rs.example.com/orders",
        "/orders",
        "https://rs.example.com/ord%ers",
        "https://rs.example.com/ord\ters",
        " https://rs.example.com/orders",
        "https://rs.example.com/ord\ners",
    ],
    ids=[
        "C-9449-14-path",
        "C-9449-14-scheme",
        "C-9449-14-host",
        "C-9449-14-port",
        "C-9449-14-userinfo",
        "C-9449-14-relative",
        "C-9449-14-bad-percent",
        "C-9449-14-tab",
        "C-9449-14-leading-space",
        "C-9449-14-newline",
    ],
)
def test_C_9449_14_htu_mismatch(api, tb, proof, htu):
    assert_proof_error(dpop_get(api, tb, proof(tb, htu=htu)))


@pytest.mark.parametrize(
    "path, htu",
    [
        ("/orders?page=2", "https://RS.example.com:443/orders"),
        ("/orders?page=2", "https://rs.example.com/orders?page=3#frag"),
        ("/%7Euser/x", "https://rs.example.com/~user/x"),
        ("/~user/x", "https://rs.example.com/%7euser/x"),
        ("/a%2fb", "https://rs.example.com/a%2Fb"),
        ("/orders", "HTTPS://rs.example.com/%6Frders"),
    ],
    ids=[
        "C-9449-15-case-and-default-port",
        "C-9449-15-query-and-fragment-ignored",
        "C-9449-15-unreserved-in-request",
        "C-9449-15-unreserved-in-htu",
        "C-9449-15-percent-case",
        "C-9449-15-scheme-case-and-encoded-letter",
    ],
)
def test_C_9449_15_htu_normalisation(api, tb, proof, path, htu):
    assert dpop_get(api, tb, proof(tb, htu=htu), path).status_code == 200


def test_C_9449_16_trailing_slash_is_not_normalised(api, tb, proof):
    assert_proof_error(dpop_get(api, tb, proof(tb, htu=RS + "/orders/")))


def test_C_9449_17_external_origin_behind_a_proxy(api, tb, proof, settings):
    settings.ALLOWED_HOSTS = ["testserver", "10.0.0.5"]
    extra = {"HTTP_HOST": "10.0.0.5:8000", "wsgi.url_scheme": "http"}
    assert dpop_get(api, tb, proof(tb), **extra).status_code == 200


def test_C_9449_17_origin_from_the_resource_identifier(api, tb, proof, settings):
    settings.JWT_AT_RESOURCE_URL = None
    settings.JWT_AT_RESOURCE = "https://rs.example.com/api"
    response = dpop_get(api, tb, proof(tb))
    assert response.status_code == 200


def test_C_9449_17_no_origin_configured_rejects(api, tb, proof, settings):
    settings.JWT_AT_RESOURCE_URL = None
    extra = {"HTTP_HOST": "rs.example.com", "wsgi.url_scheme": "https", "SERVER_PORT": "443"}
    settings.ALLOWED_HOSTS = ["rs.example.com", "testserver"]
    assert_proof_error(dpop_get(api, tb, proof(tb), **extra))


@pytest.mark.parametrize(
    "extra",
    [{"HTTP_X_FORWARDED_HOST": "evil.example"}, {"HTTP_HOST": "evil.example"}],
    ids=["C-9449-17-x-forwarded-host", "C-9449-17-host"],
)
def test_C_9449_17_host_headers_are_never_the_origin(api, tb, proof, settings, extra):
    settings.ALLOWED_HOSTS = ["testserver", "evil.example"]
    settings.USE_X_FORWARDED_HOST = True
    assert_proof_error(dpop_get(api, tb, proof(tb, htu="https://evil.example/orders"), **extra))
    assert dpop_get(api, tb, proof(tb), **extra).status_code == 200


@pytest.mark.parametrize(
    "offset, status",
    [(-61, 401), (11, 401), (-30, 200), (5, 200), (-60, 200), (10, 200)],
    ids=[
        "C-9449-18-61s-old",
        "C-9449-18-11s-ahead",
        "C-9449-18-30s-old",
        "C-9449-18-5s-ahead",
        "C-9449-18-60s-old",
        "C-9449-18-10s-ahead",
    ],
)
def test_C_9449_18_iat_window(api, tb, proof, clock, offset, status):
    response = dpop_get(api, tb, proof(tb, now=clock.t + offset))
    if status == 401:
        assert_proof_error(response)
    else:
        assert response.status_code == 200


@pytest.mark.parametrize(
    "iat", ['"1900000000"', "true", "null", "1e400"], ids=lambda v: f"C-9449-18-iat-{v.strip(chr(34))}"
)
def test_C_9449_18_iat_not_a_number(api, tb, kd, iat):
    # JSON text written here, so that 1e400 reaches the parser as such; signed with KD.
    body = f'{{"jti":"j-{iat}","htm":"GET","htu":"{ORDERS}","iat":{iat},"ath":"{ath(tb)}"}}'
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": public_jwk(kd)}
    assert_proof_error(dpop_get(api, tb, signing.sign_compact(header, body, kd, alg="ES256")))


def test_C_9449_18_window_setting(api, tb, proof, clock, settings):
    settings.JWT_AT_DPOP_IAT_WINDOW = (5, 0)
    assert_proof_error(dpop_get(api, tb, proof(tb, now=clock.t - 6)))
    assert_proof_error(dpop_get(api, tb, proof(tb, now=clock.t + 1)))
    assert dpop_get(api, tb, proof(tb, now=clock.t - 5)).status_code == 200


def test_C_9449_19_replayed_proof(api, tb, proof):
    d0 = proof(tb)
    assert dpop_get(api, tb, d0).status_code == 200
    assert_proof_error(dpop_get(api, tb, d0))


def test_C_9449_19_same_jti_from_another_key_is_not_a_replay(api, tb, bound, proof, client_keys):
    other = client_keys["KD2"]
    tb2 = bound(other)
    assert dpop_get(api, tb, proof(tb, claims={"jti": "shared"})).status_code == 200
    assert dpop_get(api, tb2, proof(tb2, key=other, claims={"jti": "shared"})).status_code == 200


def test_C_9449_19_replay_record_expires_with_the_window(api, tb, proof, clock):
    d0 = proof(tb)
    assert dpop_get(api, tb, d0).status_code == 200
    clock.advance(30)
    assert_proof_error(dpop_get(api, tb, d0))  # still replayed within the window


@needs_redis
def test_C_9449_19_replay_across_two_processes_on_one_redis(tb, proof, redis_server, server):
    redis_server.flush()
    django_settings = {
        "SECRET_KEY": "worker",
        "INSTALLED_APPS": ["django_jwt_at"],
        "USE_TZ": True,
        "ALLOWED_HOSTS": ["testserver"],
        "CACHES": {"default": redis_server.cache_settings()},
        "JWT_AT_ISSUERS": {
            FX_ISS: {"AUDIENCE": FX_AUD, "JWKS_URI": server.url("/jwks"), "ALGORITHMS": ["RS256", "PS256", "ES256"]}
        },
        "JWT_AT_RESOURCE_URL": RS,
        "JWT_AT_HTTP_TIMEOUT": 5,
    }
    d0 = proof(tb)
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    outcomes = []
    for _ in range(2):  # one after the other: the second process sees the first one's record
        process = ctx.Process(target=authenticate_worker, args=(django_settings, tb, d0, NOW, results))
        process.start()
        try:
            outcomes.append(results.get(timeout=90))
        finally:
            process.join(30)
            if process.is_alive():
                process.kill()
    assert outcomes[0][0] != outcomes[1][0]
    assert [outcome for _, outcome in outcomes] == ["ok", "InvalidDPoPProof"]


def _replay_keys():
    return [k for k in caches["default"]._cache if "dpop-jti" in k]


@pytest.mark.parametrize("length", [10_000, 257], ids=["C-9449-20-10000", "C-9449-20-257"])
def test_C_9449_20_large_jti(api, tb, proof, length):
    assert_proof_error(dpop_get(api, tb, proof(tb, claims={"jti": "j" * length})))
    assert _replay_keys() == []


def test_C_9449_20_jti_of_256_is_accepted_and_stored_hashed(api, tb, proof):
    assert dpop_get(api, tb, proof(tb, claims={"jti": "j" * 256})).status_code == 200
    keys = _replay_keys()
    assert len(keys) == 1 and "j" * 20 not in keys[0] and len(keys[0]) < 120


@pytest.mark.parametrize("variant", ["other-token", "hex", "padded", "utf-16"], ids=lambda v: f"C-9449-21-{v}")
def test_C_9449_21_wrong_ath(api, tb, t0, proof, variant):
    import hashlib

    digest = hashlib.sha256(tb.encode("ascii")).digest()
    value = {
        "other-token": ath(t0),
        "hex": digest.hex(),
        "padded": ath(tb) + "=",
        "utf-16": signing.b64url(hashlib.sha256(tb.encode("utf-16-le")).digest()),
    }[variant]
    assert_proof_error(dpop_get(api, tb, proof(tb, claims={"ath": value})))


def test_C_9449_22_key_binding_mismatch(api, tb, proof, client_keys):
    response = dpop_get(api, tb, proof(tb, key=client_keys["KD2"]))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", DPoP error="invalid_token", error_description="Invalid DPoP key binding", '
        'algs="ES256 PS256"'
    )


@pytest.mark.parametrize("cnf", [{"jkt": 42}, "jkt", {"jkt": None}, {}], ids=lambda v: f"C-9449-22-cnf-{v!r}")
def test_C_9449_22_malformed_cnf_never_binds(api, make_token, proof, cnf):
    token = make_token(claims={"cnf": cnf})
    response = dpop_get(api, token, proof(token))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == f"{NO_CREDENTIALS}, " + dpop("invalid_token", D["confirmation"])


@pytest.mark.parametrize(
    "which, extra",
    [
        ("KD", {}),
        ("KD-RSA", {}),
        ("KD", {"kid": "client-key", "alg": "ES256", "use": "sig"}),
        ("KD-RSA", {"kid": "client-key", "alg": "PS256", "use": "sig"}),
    ],
    ids=["C-9449-23-ec", "C-9449-23-rsa-ps256", "C-9449-23-ec-extra-members", "C-9449-23-rsa-extra-members"],
)
def test_C_9449_23_thumbprint(api, client_keys, proof, make_token, which, extra):
    key = client_keys[which]
    jwk = public_jwk(key)
    token = make_token(claims={"cnf": {"jkt": thumbprint(jwk)}})
    shuffled = dict(reversed(list({**extra, **jwk}.items())))
    assert dpop_get(api, token, proof(token, key=key, jwk=shuffled)).status_code == 200


def test_C_9449_23_rfc7638_example_thumbprint():
    # RFC 7638 §3.1: the example RSA key and its thumbprint, through the library.
    from django_jwt_at.dpop import jwk_thumbprint

    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3"
        "oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZ"
        "Hzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kE"
        "gU8awapJzKnqDKgw"
    )
    jwk = {"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


# --- Bearer and DPoP together ---------------------------------------------------------------------


@pytest.mark.parametrize("with_proof", [False, True], ids=["C-9449-24-no-proof", "C-9449-24-with-proof"])
def test_C_9449_24_bound_token_as_bearer(api, tb, proof, with_proof):
    response = dpop_get(api, tb, proof(tb) if with_proof else None, scheme="Bearer")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="invalid_token", error_description='
        '"DPoP-bound access token requires the DPoP authentication scheme", DPoP algs="ES256 PS256"'
    )


@pytest.mark.parametrize("which", ["T0", "TB"], ids=["C-9449-25-T0", "C-9449-25-TB"])
def test_C_9449_25_required_refuses_bearer(api, settings, t0, tb, which):
    settings.JWT_AT_DPOP = "required"
    response = api.get("/orders", t0 if which == "T0" else tb)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'DPoP algs="ES256 PS256"'


@pytest.mark.parametrize(
    "path", ["/dpop-required", "/plain/dpop-required", "/drf-fn/dpop-required"], ids=lambda p: f"C-9449-25-{p}"
)
def test_C_9449_25_required_views_refuse_bearer(api, t0, path):
    response = api.get(path, t0)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'DPoP algs="ES256 PS256"'


def test_C_9449_25_required_ignores_a_malformed_bearer_header(api, settings):
    settings.JWT_AT_DPOP = "required"
    response = api.get("/orders", authorization="Bearer")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'DPoP algs="ES256 PS256"'


def test_C_9449_26_off_refuses_bound_token_as_bearer(api, settings, tb, t0):
    settings.JWT_AT_DPOP = "off"
    response = api.get("/orders", tb)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == bearer("invalid_token", D["dpop-bearer"])
    assert api.get("/orders", t0).status_code == 200


def test_C_9449_26_off_with_explicit_opt_in_accepts_bound_token_as_bearer(api, settings, tb):
    settings.JWT_AT_DPOP = "off"
    settings.JWT_AT_DPOP_ACCEPT_BOUND_AS_BEARER = True
    assert api.get("/orders", tb).status_code == 200
    # The opt-in never applies where DPoP is supported: a view that turns DPoP on refuses.
    response = api.get("/dpop-optional", tb)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == bearer("invalid_token", D["dpop-bearer"]) + ", " + dpop()


def test_C_9449_27_unbound_token_with_dpop_scheme(api, t0, proof):
    response = dpop_get(api, t0, proof(t0))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", DPoP error="invalid_token", error_description="Access token is not DPoP-bound", '
        'algs="ES256 PS256"'
    )


def test_C_9449_27_invalid_token_with_dpop_scheme_goes_on_the_dpop_challenge(api, bound, kd, proof, clock):
    expired = bound(kd, exp=int(clock.t) - 120)
    response = dpop_get(api, expired, proof(expired))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == f"{NO_CREDENTIALS}, " + dpop("invalid_token", D["expired"])


def test_C_9449_28_bearer_with_a_proof(api, t0, proof):
    response = dpop_get(api, t0, proof(t0), scheme="Bearer")
    assert response.status_code == 400
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="invalid_request", error_description="The Authorization header is malformed", '
        'DPoP algs="ES256 PS256"'
    )


@pytest.mark.parametrize("order", ["bearer-first", "dpop-first"], ids=lambda o: f"C-9449-29-{o}")
def test_C_9449_29_bearer_and_dpop_credentials(api, tb, proof, order):
    fields = [f"Bearer {tb}", f"DPoP {tb}"]
    if order == "dpop-first":
        fields.reverse()
    response = api.get("/orders", authorization=", ".join(fields), HTTP_DPOP=proof(tb), secrets=[tb])
    assert response.status_code == 400
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="invalid_request", error_description="Multiple methods used to include access '
        'token", DPoP error="invalid_request", error_description="Multiple methods used to include access token", '
        'algs="ES256 PS256"'
    )


def test_C_9449_29_dpop_with_a_query_token(api, settings, tb, proof):
    settings.JWT_AT_TOKEN_METHODS = ["header", "query"]
    response = dpop_get(api, tb, proof(tb), f"/orders?access_token={tb}")
    assert response.status_code == 400
    assert response["WWW-Authenticate"] == f"{NO_CREDENTIALS}, " + dpop("invalid_request", D["multiple-methods"])


@pytest.mark.parametrize("where", ["setting", "view"], ids=lambda w: f"C-9449-30-{w}")
def test_C_9449_30_off_treats_dpop_as_unsupported(api, settings, tb, proof, where):
    path = "/orders"
    if where == "setting":
        settings.JWT_AT_DPOP = "off"
    else:
        path = "/dpop-off"
    response = dpop_get(api, tb, proof(tb, htu=RS + path), path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


# --- nonces ---------------------------------------------------------------------------------------


@pytest.fixture
def nonces(settings):
    settings.JWT_AT_DPOP_NONCE = True
    settings.JWT_AT_DPOP_NONCE_SECRET = "the-nonce-secret-every-instance-shares"
    return settings


#: The DPoP challenge alone, as in the RFC 9449 §9 example, also in "optional" mode: clients
#: (requests-oauth2client) retry with the nonce only when the field starts with it.
NONCE_CHALLENGE = (
    'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof", algs="ES256 PS256"'
)
NQCHAR = re.compile(r"^[\x21\x23-\x5B\x5D-\x7E]+$")


def assert_nonce_challenge(response):
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == NONCE_CHALLENGE
    assert [k for k in response.headers if k.lower() == "dpop-nonce"] == ["DPoP-Nonce"]
    assert response["Cache-Control"] == "no-store"
    assert json_body(response)["error"] == "use_dpop_nonce"
    return response["DPoP-Nonce"]


@pytest.mark.parametrize("path", ["/orders", "/plain/orders"], ids=["C-9449-31-drf", "C-9449-31-plain-view"])
def test_C_9449_31_nonce_required_then_accepted(api, nonces, tb, proof, path):
    nonce = assert_nonce_challenge(dpop_get(api, tb, proof(tb, htu=RS + path), path))
    response = dpop_get(api, tb, proof(tb, htu=RS + path, claims={"nonce": nonce}), path)
    assert response.status_code == 200, response.content
    assert "DPoP-Nonce" not in response


@pytest.mark.parametrize("mode", ["optional", "required"])
def test_C_9449_31_nonce_challenge_is_the_dpop_challenge_alone(api, nonces, settings, tb, proof, mode):
    settings.JWT_AT_DPOP = mode
    settings.JWT_AT_RESOURCE = RS
    settings.JWT_AT_ERROR_URI = "https://docs.example.com/errors?scope=x"
    response = dpop_get(api, tb, proof(tb))
    assert response.status_code == 401
    metadata = RS + "/.well-known/oauth-protected-resource"
    assert response["WWW-Authenticate"] == dpop(
        "use_dpop_nonce", D["dpop-nonce"], error_uri=settings.JWT_AT_ERROR_URI, resource_metadata=metadata
    )
    assert response["WWW-Authenticate"].startswith("DPoP ")
    assert len(response["DPoP-Nonce"]) > 0
    # Every other DPoP error keeps both challenges in "optional" mode.
    response = dpop_get(api, tb, proof(tb, method="POST"))
    uri = settings.JWT_AT_ERROR_URI
    expected = dpop("invalid_dpop_proof", D["dpop-proof"], error_uri=uri, resource_metadata=metadata)
    if mode == "optional":
        expected = f"{bearer(resource_metadata=metadata)}, {expected}"
    assert response["WWW-Authenticate"] == expected


def test_C_9449_31_unknown_and_expired_nonces(api, nonces, tb, proof, clock):
    nonce = assert_nonce_challenge(dpop_get(api, tb, proof(tb)))
    forged = nonce[:-4] + ("AAAA" if not nonce.endswith("AAAA") else "BBBB")
    fresh = assert_nonce_challenge(dpop_get(api, tb, proof(tb, claims={"nonce": forged})))
    assert fresh != nonce
    assert_nonce_challenge(dpop_get(api, tb, proof(tb, claims={"nonce": "unknown-nonce"})))
    clock.advance(301)  # JWT_AT_DPOP_NONCE_LIFETIME is 300 s
    expired_answer = assert_nonce_challenge(dpop_get(api, tb, proof(tb, claims={"nonce": nonce})))
    assert expired_answer != nonce
    assert dpop_get(api, tb, proof(tb, claims={"nonce": expired_answer})).status_code == 200


def test_C_9449_31_nonce_from_another_secret_is_refused(api, nonces, settings, tb, proof):
    nonce = assert_nonce_challenge(dpop_get(api, tb, proof(tb)))
    settings.JWT_AT_DPOP_NONCE_SECRET = "another-secret-of-at-least-32-characters"
    assert_nonce_challenge(dpop_get(api, tb, proof(tb, claims={"nonce": nonce})))


def test_C_9449_31_invalid_proof_is_not_a_nonce_problem(api, nonces, tb, proof):
    assert_proof_error(dpop_get(api, tb, proof(tb, method="POST")))


def test_C_9449_32_nonce_syntax_and_unpredictability(api, nonces, tb, proof):
    first = assert_nonce_challenge(dpop_get(api, tb, proof(tb)))
    second = assert_nonce_challenge(dpop_get(api, tb, proof(tb)))  # same fake time
    assert NQCHAR.match(first) and NQCHAR.match(second)
    assert first != second
    assert len(signing.b64url_decode(first)) >= 16 + 16  # >= 128 random bits plus the MAC


def test_C_9449_33_cors_exposes_the_headers(api, nonces, tb, proof):
    response = dpop_get(api, tb, proof(tb), HTTP_ORIGIN="https://app.example.com")
    assert_nonce_challenge(response)
    exposed = {h.strip() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert {"WWW-Authenticate", "DPoP-Nonce"} <= exposed


def test_C_9449_33_cors_without_nonce(api):
    response = api.get("/orders", HTTP_ORIGIN="https://app.example.com")
    assert response["Access-Control-Expose-Headers"] == "WWW-Authenticate"
    assert "Access-Control-Expose-Headers" not in api.get("/orders")


def test_C_9449_34_no_proxy_authenticate(api, settings, tb, t0, proof, client_keys):
    # The teardown invariants check every response of the suite; this one collects the
    # failing DPoP fixtures of this module in every mode.
    responses = []
    for mode in ("off", "optional", "required"):
        settings.JWT_AT_DPOP = mode
        responses += [
            api.get("/orders"),
            dpop_get(api, tb, None),
            dpop_get(api, tb, "not-a-jwt"),
            dpop_get(api, tb, proof(tb, key=client_keys["KD2"])),
            dpop_get(api, t0, proof(t0)),
            dpop_get(api, tb, proof(tb), scheme="Bearer"),
        ]
    assert all("Proxy-Authenticate" not in r for r in responses)
    assert all(r.status_code in (400, 401) for r in responses)


@pytest.mark.parametrize(
    "variant", ["missing", "malformed", "typ", "alg", "signature", "htm", "htu", "iat", "ath", "replay"]
)
def test_C_9449_35_invalid_dpop_proof_is_401(api, tb, proof, client_keys, kd, variant):
    d0 = proof(tb)
    value = {
        "missing": None,
        "malformed": "abc",
        "typ": proof(tb, header={"typ": "JWT"}),
        "alg": proof(tb, header={"alg": "ES384"}),
        "signature": proof(tb, key=client_keys["KD2"], jwk=public_jwk(kd)),
        "htm": proof(tb, method="PUT"),
        "htu": proof(tb, htu=RS + "/admin"),
        "iat": proof(tb, now=NOW - 3600),
        "ath": proof(tb, claims={"ath": "x"}),
        "replay": d0,
    }[variant]
    if variant == "replay":
        assert dpop_get(api, tb, d0).status_code == 200
    response = dpop_get(api, tb, value)
    assert response.status_code == 401
    params = response["WWW-Authenticate"]
    assert 'DPoP error="invalid_dpop_proof"' in params


def test_C_9449_36_dpop_credentials_not_token68(api):
    response = api.get("/orders", authorization="DPoP abc$def")
    assert response.status_code == 400
    assert response["WWW-Authenticate"] == f"{NO_CREDENTIALS}, " + dpop("invalid_request", D["malformed-header"])


def test_C_9449_36_proof_not_token68(api, tb):
    assert_proof_error(dpop_get(api, tb, "abc def"))


def test_C_9449_37_crit_rejected(api, tb, proof):
    assert_proof_error(dpop_get(api, tb, proof(tb, header={"crit": ["exp"], "exp": 1})))


@pytest.mark.parametrize(
    "extra",
    [
        {"jku": "https://attacker.example/k", "kid": "attacker"},
        {"x5c": ["MIIBfake"]},
        {"x5u": "https://attacker.example/cert"},
    ],
    ids=["C-9449-37-jku", "C-9449-37-x5c", "C-9449-37-x5u"],
)
def test_C_9449_37_key_from_jwk_only(api, tb, proof, outbound, extra):
    assert dpop_get(api, tb, proof(tb, header=extra)).status_code == 200
    assert [h for h in outbound if "attacker" in h] == []


def test_C_9449_38_unsolicited_nonce(api, tb, proof):
    assert dpop_get(api, tb, proof(tb, claims={"nonce": "whatever"})).status_code == 200


# --- step-up and scopes on the DPoP challenge -----------------------------------------------------


def test_C_9449_03_insufficient_scope_goes_on_the_dpop_challenge(api, bound, kd, proof):
    token = bound(kd, scope="orders:read")
    response = dpop_get(api, token, proof(token, method="POST"), method="POST")
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == f"{NO_CREDENTIALS}, " + dpop(
        "insufficient_scope", D["scope"], scope="orders:write"
    )


def test_C_9449_01_resource_metadata_on_both_challenges(api, settings):
    settings.JWT_AT_RESOURCE = "https://rs.example.com"
    url = "https://rs.example.com/.well-known/oauth-protected-resource"
    response = api.get("/orders")
    assert response["WWW-Authenticate"] == (
        f'Bearer realm="api", resource_metadata="{url}", DPoP algs="{DPOP_ALGS}", resource_metadata="{url}"'
    )


# --- settings and system checks -------------------------------------------------------------------


def _check_ids():

    return sorted({m.id for m in our_messages()})


@pytest.mark.parametrize(
    "name, value, check_id",
    [
        ("JWT_AT_DPOP", "on", "E032"),
        ("JWT_AT_DPOP", "", "E032"),
        ("JWT_AT_DPOP_ALGORITHMS", ["none"], "E033"),
        ("JWT_AT_DPOP_ALGORITHMS", ["HS256"], "E033"),
        ("JWT_AT_DPOP_ALGORITHMS", [], "E033"),
        ("JWT_AT_DPOP_ALGORITHMS", ["ES256", "ES256"], "E033"),
        ("JWT_AT_DPOP_ALGORITHMS", "ES256", "E033"),
        ("JWT_AT_DPOP_IAT_WINDOW", (60,), "E034"),
        ("JWT_AT_DPOP_IAT_WINDOW", (-1, 10), "E034"),
        ("JWT_AT_DPOP_IAT_WINDOW", (60, 3600), "E034"),
        ("JWT_AT_DPOP_IAT_WINDOW", (60.0, 10), "E034"),
        ("JWT_AT_DPOP_NONCE", "yes", "E035"),
        ("JWT_AT_DPOP_NONCE_LIFETIME", 0, "E035"),
        ("JWT_AT_RESOURCE_URL", "https://rs.example.com/api", "E036"),
        ("JWT_AT_RESOURCE_URL", "ftp://rs.example.com", "E036"),
        ("JWT_AT_RESOURCE_URL", "https://rs.example.com?x=1", "E036"),
        ("JWT_AT_DPOP_ACCEPT_BOUND_AS_BEARER", 1, "E038"),
    ],
    ids=lambda v: str(v),
)
def test_C_9449_settings_are_checked(settings, name, value, check_id):
    setattr(settings, name, value)
    assert _check_ids() == [f"django_jwt_at.{check_id}"]


def test_C_9449_31_nonce_secret_is_checked(settings):
    settings.JWT_AT_DPOP_NONCE = True
    settings.JWT_AT_DPOP_NONCE_SECRET = "short"
    assert _check_ids() == ["django_jwt_at.E035"]
    settings.JWT_AT_DPOP_NONCE_SECRET = None  # SECRET_KEY of the suite is 28 characters
    assert _check_ids() == ["django_jwt_at.E035"]
    settings.SECRET_KEY = "x" * 50
    assert _check_ids() == []


def test_C_9449_31_nonces_need_the_middleware(settings):
    settings.JWT_AT_DPOP_NONCE = True
    settings.JWT_AT_DPOP_NONCE_SECRET = "the-nonce-secret-every-instance-shares"
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "django_jwt_at" not in m]
    assert _check_ids() == ["django_jwt_at.E037"]


@pytest.mark.parametrize("mode", ["optional", "required"])
def test_C_9449_17_dpop_without_origin_is_a_warning(settings, mode):
    settings.JWT_AT_DPOP = mode
    settings.JWT_AT_RESOURCE_URL = None
    assert _check_ids() == ["django_jwt_at.W030"]
    settings.JWT_AT_DPOP = "off"
    assert _check_ids() == []


def test_C_9449_02_view_attribute_must_be_a_mode(api, t0):
    from django.core.exceptions import ImproperlyConfigured

    from django_jwt_at.decorators import access_token_required

    with pytest.raises(ImproperlyConfigured):
        access_token_required(dpop="on")


def test_C_9449_19_replay_store_outage_is_503_not_a_pass(api, tb, proof, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    }
    response = dpop_get(api, tb, proof(tb))
    assert response.status_code == 503
    assert "WWW-Authenticate" not in response


# ---------------------------------------------------------------------------------------
# Fail closed: bindings the package does not verify, the Bearer allowance, the replay store
# ---------------------------------------------------------------------------------------

UNVERIFIED_CNF = {
    "x5t#S256": {"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"},  # RFC 8705 §3.1
    "jwk": {"jwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}},  # RFC 7800 §3.2
    "kid": {"kid": "client-key-1"},  # RFC 7800 §3.4
    "jkt+x5t#S256": "jkt+x5t#S256",  # a DPoP binding plus one not verified
}


@pytest.fixture
def unverified_cnf(kd):
    def factory(which):
        cnf = UNVERIFIED_CNF[which]
        if cnf == "jkt+x5t#S256":
            return {"jkt": thumbprint(public_jwk(kd)), **UNVERIFIED_CNF["x5t#S256"]}
        return cnf

    return factory


@pytest.mark.parametrize("which", sorted(UNVERIFIED_CNF))
@pytest.mark.parametrize("accept_bound", [False, True], ids=["strict", "accept-bound-as-bearer"])
def test_unverified_binding_is_refused_with_dpop_off(api, settings, make_token, unverified_cnf, which, accept_bound):
    settings.JWT_AT_DPOP = "off"
    settings.JWT_AT_DPOP_ACCEPT_BOUND_AS_BEARER = accept_bound
    response = api.get("/orders", make_token(claims={"cnf": unverified_cnf(which)}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == bearer("invalid_token", D["confirmation"])


@pytest.mark.parametrize("which", sorted(UNVERIFIED_CNF))
def test_unverified_binding_is_refused_as_bearer_with_dpop_optional(api, make_token, unverified_cnf, which):
    response = api.get("/orders", make_token(claims={"cnf": unverified_cnf(which)}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == bearer("invalid_token", D["confirmation"]) + ", " + dpop()


@pytest.mark.parametrize("mode", ["optional", "required"])
def test_dpop_binding_plus_unverified_binding_is_refused_with_a_valid_proof(
    api, settings, make_token, unverified_cnf, proof, mode
):
    settings.JWT_AT_DPOP = mode
    token = make_token(claims={"cnf": unverified_cnf("jkt+x5t#S256")})
    response = dpop_get(api, token, proof(token))
    assert response.status_code == 401
    expected = dpop("invalid_token", D["confirmation"])
    assert response["WWW-Authenticate"] == (expected if mode == "required" else f"{NO_CREDENTIALS}, {expected}")


def test_accept_bound_as_bearer_with_dpop_on_is_a_configuration_error(api, settings, tb):
    """The setting once applied wherever the view's mode was "off"; with JWT_AT_DPOP on,
    a view with dpop = "off" accepted DPoP-bound tokens as Bearer (RFC 9449 §7.2)."""
    from django.core.exceptions import ImproperlyConfigured
    from django.test import Client

    from django_jwt_at.conf import get_config

    settings.JWT_AT_DPOP_ACCEPT_BOUND_AS_BEARER = True
    with pytest.raises(ImproperlyConfigured, match="E041"):
        get_config()
    assert "django_jwt_at.E041" in _check_ids()
    with pytest.raises(ImproperlyConfigured):
        Client().get("/dpop-off", HTTP_AUTHORIZATION=f"Bearer {tb}")


def test_accept_bound_as_bearer_while_a_view_supports_dpop_is_a_check_error(api, settings, tb):
    settings.JWT_AT_DPOP = "off"
    settings.JWT_AT_DPOP_ACCEPT_BOUND_AS_BEARER = True
    assert _check_ids() == ["django_jwt_at.E041"]  # tests.urls has views with dpop on
    assert api.get("/orders", tb).status_code == 200  # DPoP off here: the allowance holds
    response = api.get("/dpop-optional", tb)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == bearer("invalid_token", D["dpop-bearer"]) + ", " + dpop()
    settings.JWT_AT_DPOP_ACCEPT_BOUND_AS_BEARER = False
    assert _check_ids() == []


@pytest.mark.parametrize(
    "backend, expected",
    [
        ("django.core.cache.backends.dummy.DummyCache", ["django_jwt_at.E039"]),
        ("tests.cache_backends.AlwaysAddsCache", ["django_jwt_at.E039"]),
        ("tests.cache_backends.AddOnceCache", []),
        ("django.core.cache.backends.locmem.LocMemCache", ["django_jwt_at.W031"]),
    ],
    ids=["dummy", "add-never-refuses", "add-refuses", "locmem"],
)
def test_replay_store_must_refuse_a_key_it_holds(settings, backend, expected):
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": "replay-check"}}
    settings.SILENCED_SYSTEM_CHECKS = []
    assert _check_ids() == expected
    settings.JWT_AT_DPOP = "off"
    settings.ROOT_URLCONF = "tests.metadata_only_urls"  # no view turns DPoP on
    assert _check_ids() == []  # no DPoP, no replay store


def test_replay_store_check_sees_a_view_that_turns_dpop_on(settings):
    settings.JWT_AT_DPOP = "off"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    assert _check_ids() == ["django_jwt_at.E039"]  # tests.urls: views with dpop on


@needs_redis
def test_replay_store_on_redis_passes_the_check(settings, redis_server):
    settings.CACHES = {"default": redis_server.cache_settings()}
    settings.SILENCED_SYSTEM_CHECKS = []
    assert _check_ids() == []


def test_proof_is_never_accepted_twice_with_a_dummy_cache(settings, tb, proof):
    """With DummyCache a proof could be replayed without limit; now DPoP refuses to work."""
    from django.core.exceptions import ImproperlyConfigured
    from django.test import Client

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    client = Client()
    value = proof(tb)
    for _ in range(2):
        with pytest.raises(ImproperlyConfigured, match="E039"):
            client.get("/orders", HTTP_AUTHORIZATION=f"DPoP {tb}", HTTP_DPOP=value)


@pytest.mark.parametrize(
    "origin, expected_mode",
    [({}, "off"), ({"JWT_AT_RESOURCE_URL": RS}, "optional"), ({"JWT_AT_RESOURCE": RS + "/api"}, "optional")],
    ids=["no-origin", "resource-url", "resource"],
)
def test_dpop_is_on_by_default_only_with_an_external_origin(api, settings, t0, origin, expected_mode):
    """Unset, JWT_AT_DPOP follows the configuration: without an origin no proof can pass,
    so the API is Bearer-only and says so in its challenges (and no check warns)."""
    from django_jwt_at.conf import get_config

    del settings.JWT_AT_DPOP
    settings.JWT_AT_RESOURCE_URL = None
    for name, value in origin.items():
        setattr(settings, name, value)
    assert get_config().dpop_mode == expected_mode
    assert _check_ids() == []
    response = api.get("/orders")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith(NO_CREDENTIALS)
    assert ("DPoP algs=" in response["WWW-Authenticate"]) is (expected_mode == "optional")
    assert api.get("/orders", t0).status_code == 200


def test_decorator_above_api_view_authenticates_a_dpop_request_once(api, tb, proof, t0):
    """With the decorator outside DRF's @api_view, DRF authenticated the request again and
    refused the DPoP proof as replayed; the first authentication now stands."""
    path = "/drf-fn/decorator-above"
    response = dpop_get(api, tb, proof(tb, htu=RS + path), path=path)
    assert response.status_code == 200, response.content
    assert json_body(response) == {"sub": "user-123", "dpop_bound": True}
    assert api.get(path, t0).status_code == 200  # Bearer, once as well
    replayed = proof(tb, htu=RS + path)
    assert dpop_get(api, tb, replayed, path=path).status_code == 200
    response = dpop_get(api, tb, replayed, path=path)  # the same proof again: a replay
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == PROOF_ERROR
