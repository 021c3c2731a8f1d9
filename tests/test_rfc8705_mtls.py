"""Certificate-bound access tokens (RFC 8705 §3) forwarded by a TLS-terminating proxy, and
the requirement of sender-constrained tokens.

The proxy is simulated by setting the configured header (``Client-Cert``) on the request,
in either format; tests/test_mtls_nginx.py runs the same checks through a real nginx.
Certificates and thumbprints come from tests/certs.py (``cryptography`` directly).
"""

from __future__ import annotations

import base64
import logging
from urllib.parse import quote

import pytest

from django_jwt_at.conf import get_config
from django_jwt_at.errors import InvalidToken
from django_jwt_at.mtls import MAX_CERT_HEADER_SIZE, certificate_from_header, certificate_thumbprint

from . import signing
from .certs import make_cert
from .dpop_proofs import RS, make_proof, public_jwk, thumbprint
from .helpers import NO_CREDENTIALS, bearer, dpop, json_body, our_messages
from .helpers import D as D_BASE

D = {
    **D_BASE,
    "mtls-missing": "Certificate-bound access token requires a client certificate",
    "mtls-certificate": "The client certificate cannot be read",
    "mtls-binding": "The client certificate does not match the access token",
    "sender-constrained": "The resource server requires a sender-constrained access token",
}
HEADER = "HTTP_CLIENT_CERT"  # WSGI name of the configured "Client-Cert"
FORMATS = ["rfc9440", "pem-urlencoded"]


@pytest.fixture(scope="module")
def cert_a():
    return make_cert("client-a")


@pytest.fixture(scope="module")
def cert_b():
    return make_cert("client-b")


@pytest.fixture(scope="module")
def client_keys():
    return {"KD": signing.ec_key("KD", "P-256"), "KD2": signing.ec_key("KD2", "P-256")}


@pytest.fixture(params=FORMATS)
def cert_format(request, settings):
    """Certificate binding on, with the proxy forwarding in each format in turn."""
    settings.JWT_AT_MTLS_CERT_HEADER = "Client-Cert"
    settings.JWT_AT_MTLS_CERT_FORMAT = request.param
    return request.param


@pytest.fixture
def bound_to(make_token):
    """``bound_to(cert, **cnf)``: T0 bound to ``cert`` (``cnf`` ``x5t#S256``), plus ``cnf`` members."""

    def factory(cert, **cnf):
        return make_token(claims={"cnf": {"x5t#S256": cert.thumbprint, **cnf}})

    return factory


def get(api, token, cert_header=None, path="/orders", **extra):
    if cert_header is not None:
        extra[HEADER] = cert_header
    return api.get(path, token, **extra)


def dpop_get(api, token, proof_value, path="/orders", **extra):
    return api.request("GET", path, authorization=f"DPoP {token}", HTTP_DPOP=proof_value, **extra)


def invalid(key):
    return bearer("invalid_token", D[key])


# --- accepted ------------------------------------------------------------------------------------


def test_bound_token_with_its_certificate(api, cert_format, bound_to, cert_a):
    token = bound_to(cert_a)
    response = get(api, token, cert_a.header(cert_format))
    assert response.status_code == 200, response.content
    response = get(api, token, cert_a.header(cert_format), "/plain/certificate")
    assert response.status_code == 200, response.content
    assert json_body(response) == {"sub": "user-123", "x5t#S256": cert_a.thumbprint}


def test_the_header_name_is_case_insensitive_and_whitespace_is_trimmed(api, settings, bound_to, cert_a):
    settings.JWT_AT_MTLS_CERT_HEADER = "client-cert"
    settings.JWT_AT_MTLS_CERT_FORMAT = "rfc9440"
    response = api.get("/orders", bound_to(cert_a), headers={"CLIENT-CERT": f"  {cert_a.rfc9440()} "})
    assert response.status_code == 200, response.content


def test_rfc9440_without_padding(api, settings, bound_to):
    """RFC 8941 §4.2.7: parsers SHOULD NOT fail when "=" padding is absent."""
    settings.JWT_AT_MTLS_CERT_HEADER = "Client-Cert"
    cert = make_cert("padded")
    while len(cert.der) % 3 == 0:  # a DER whose base64 has no padding proves nothing here
        cert = make_cert("padded")
    value = cert.rfc9440().replace("=", "")
    assert value != cert.rfc9440()
    assert get(api, bound_to(cert), value).status_code == 200


def test_pem_with_unescaped_base64_characters(api, settings, bound_to, cert_a):
    """Some proxies leave "+", "/" and "=" of the base64 body unescaped."""
    settings.JWT_AT_MTLS_CERT_HEADER = "Client-Cert"
    settings.JWT_AT_MTLS_CERT_FORMAT = "pem-urlencoded"
    value = quote(cert_a.pem, safe="-._~+/=")
    assert get(api, bound_to(cert_a), value).status_code == 200


def test_unbound_token_with_a_certificate_is_a_bearer_token(api, cert_format, t0, cert_a):
    assert get(api, t0, cert_a.header(cert_format)).status_code == 200
    assert get(api, t0, "not a certificate").status_code == 200  # not even read
    assert get(api, t0).status_code == 200


# --- refused -------------------------------------------------------------------------------------


def test_another_certificate(api, cert_format, bound_to, cert_a, cert_b):
    response = get(api, bound_to(cert_a), cert_b.header(cert_format))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid("mtls-binding")
    assert json_body(response) == {"detail": D["mtls-binding"], "error": "invalid_token"}


@pytest.mark.parametrize("value", [None, ""], ids=["absent", "empty"])
def test_no_certificate(api, cert_format, bound_to, cert_a, value):
    response = get(api, bound_to(cert_a), value)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid("mtls-missing")


def test_refusals_go_on_the_bearer_challenge_before_dpop(api, settings, cert_format, bound_to, cert_a, cert_b):
    settings.JWT_AT_DPOP = "optional"
    settings.JWT_AT_RESOURCE_URL = RS
    response = get(api, bound_to(cert_a), cert_b.header(cert_format))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid("mtls-binding") + ", " + dpop()


def test_a_malformed_thumbprint_in_the_token_matches_nothing(api, cert_format, make_token, cert_a):
    for x5t in (cert_a.thumbprint + "=", cert_a.thumbprint.upper(), "", "é" + cert_a.thumbprint[1:]):
        response = get(api, make_token(claims={"cnf": {"x5t#S256": x5t}}), cert_a.header(cert_format))
        assert response.status_code == 401, x5t
        assert response["WWW-Authenticate"] == invalid("mtls-binding")


@pytest.mark.parametrize("cnf", [{"x5t#S256": 42}, {"x5t#S256": None}, {"x5t#S256": ["a"]}])
def test_a_thumbprint_that_is_not_a_string_is_refused_by_validation(api, cert_format, make_token, cert_a, cnf):
    response = get(api, make_token(claims={"cnf": cnf}), cert_a.header(cert_format))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid("confirmation")


def _rfc9440_malformed(cert, other):
    b64 = cert.rfc9440()[1:-1]
    return {
        "bare-base64": b64,
        "one-colon": ":" + b64,
        "base64url-alphabet": ":" + b64[:8] + "-_" + b64[10:] + ":",
        "parameter": cert.rfc9440() + ";a=1",
        "two-items": cert.rfc9440() + ", " + other.rfc9440(),
        "space-inside": ":" + b64[:40] + " " + b64[40:] + ":",
        "tab-outside": "\t" + cert.rfc9440(),
        "padding-inside": ":" + b64[:40] + "=" + b64[40:] + ":",
        "length-mod-4-is-1": ":" + b64.rstrip("=") + "A" * ((1 - len(b64.rstrip("="))) % 4 or 4) + ":",
        "empty": "::",
        "not-a-certificate": ":" + "QUFBQQ==" + ":",
        "truncated-der": ":" + cert.rfc9440()[1:-20].rstrip("=") + ":",
        "der-with-trailing-byte": ":" + base64.b64encode(cert.der + b"\0").decode() + ":",
        "pem-instead": cert.pem_urlencoded(),
        "non-ascii": ":" + b64[:10] + "é" + b64[11:] + ":",
        "oversized": ":" + "A" * MAX_CERT_HEADER_SIZE + ":",
    }


def _pem_malformed(cert, other):
    pem = cert.pem
    lines = pem.splitlines()
    return {
        "der-base64": cert.rfc9440()[1:-1],
        "rfc9440-instead": cert.rfc9440(),
        "bad-escape": quote(pem, safe="") + "%ZZ",
        "truncated-escape": quote(pem, safe="")[:-1],
        "plus-for-space": quote(pem, safe="").replace("%20", "+"),
        "two-certificates": quote(pem + other.pem, safe=""),
        "chain-after": quote(pem + pem, safe=""),
        "text-before": quote("subject=CN=client-a\n" + pem, safe=""),
        "text-after": quote(pem + "trailer\n", safe=""),
        "private-key-label": quote(pem.replace("CERTIFICATE", "PRIVATE KEY"), safe=""),
        "x509-certificate-label": quote(pem.replace("CERTIFICATE", "X509 CERTIFICATE"), safe=""),
        "long-line": quote("\n".join([lines[0], lines[1] + lines[2], *lines[3:]]) + "\n", safe=""),
        "space-in-body": quote(pem.replace(lines[1], lines[1][:10] + " " + lines[1][10:]), safe=""),
        "not-base64": quote(pem.replace(lines[1], "*" * len(lines[1])), safe=""),
        "not-a-certificate": quote("-----BEGIN CERTIFICATE-----\nQUFBQQ==\n-----END CERTIFICATE-----\n", safe=""),
        "empty-block": quote("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", safe=""),
        "raw-pem": pem.replace("\n", " "),
        "non-ascii": quote(pem, safe="") + "é",
        "oversized": quote(pem, safe="") + "A" * MAX_CERT_HEADER_SIZE,
    }


MALFORMED = {"rfc9440": _rfc9440_malformed, "pem-urlencoded": _pem_malformed}
MALFORMED_CASES = [
    (fmt, name) for fmt, builder in MALFORMED.items() for name in builder(make_cert("x"), make_cert("y"))
]


@pytest.mark.parametrize("cert_format, case", MALFORMED_CASES, ids=[f"{f}-{n}" for f, n in MALFORMED_CASES])
def test_malformed_certificate_header(api, settings, bound_to, cert_a, cert_b, cert_format, case):
    settings.JWT_AT_MTLS_CERT_HEADER = "Client-Cert"
    settings.JWT_AT_MTLS_CERT_FORMAT = cert_format
    value = MALFORMED[cert_format](cert_a, cert_b)[case]
    response = get(api, bound_to(cert_a), value)
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == invalid("mtls-certificate")
    assert "BEGIN" not in response.content.decode() and cert_a.thumbprint not in response.content.decode()


def test_parser_and_thumbprint_agree_with_cryptography(cert_a):
    for fmt in FORMATS:
        der = certificate_from_header(cert_a.header(fmt), fmt)
        assert der == cert_a.der
        assert certificate_thumbprint(der) == cert_a.thumbprint
    with pytest.raises(InvalidToken):
        certificate_from_header(cert_a.rfc9440(), "pem")


# --- binding off ---------------------------------------------------------------------------------


def test_binding_off_refuses_certificate_bound_tokens(api, bound_to, cert_a):
    """Without JWT_AT_MTLS_CERT_HEADER the binding cannot be verified (RFC 8705 §3)."""
    assert get_config().mtls_cert_meta_key is None
    for value in (None, cert_a.rfc9440()):
        response = get(api, bound_to(cert_a), value)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == invalid("confirmation")


def test_binding_off_ignores_a_forwarded_certificate(api, t0, cert_a):
    assert get(api, t0, cert_a.rfc9440()).status_code == 200


def test_a_token_validated_before_binding_was_turned_off_is_refused(api, settings, bound_to, cert_a):
    settings.JWT_AT_MTLS_CERT_HEADER = "Client-Cert"
    token = bound_to(cert_a)
    assert get(api, token, cert_a.rfc9440()).status_code == 200  # now in the verified-token cache
    settings.JWT_AT_MTLS_CERT_HEADER = None
    response = get(api, token, cert_a.rfc9440())
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid("confirmation")


# --- DPoP and certificate binding together --------------------------------------------------------


@pytest.fixture
def both(settings, make_token, client_keys, cert_a):
    """Certificate binding on (RFC 9440), DPoP optional; a token bound to KD and cert_a."""
    settings.JWT_AT_MTLS_CERT_HEADER = "Client-Cert"
    settings.JWT_AT_DPOP = "optional"
    settings.JWT_AT_RESOURCE_URL = RS
    kd = client_keys["KD"]
    token = make_token(claims={"cnf": {"jkt": thumbprint(public_jwk(kd)), "x5t#S256": cert_a.thumbprint}})
    return token, kd


def _proof(clock, kd, token):
    return make_proof(kd, token=token, now=clock.t)


def test_both_bindings_verified(api, clock, both, cert_a):
    token, kd = both
    response = dpop_get(api, token, _proof(clock, kd, token), **{HEADER: cert_a.rfc9440()})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("which", ["missing", "another"])
def test_both_bindings_certificate_fails(api, clock, both, cert_b, which):
    token, kd = both
    extra = {HEADER: cert_b.rfc9440()} if which == "another" else {}
    response = dpop_get(api, token, _proof(clock, kd, token), **extra)
    assert response.status_code == 401
    key = "mtls-binding" if which == "another" else "mtls-missing"
    assert response["WWW-Authenticate"] == f"{NO_CREDENTIALS}, " + dpop("invalid_token", D[key])


def test_both_bindings_proof_fails(api, clock, both, cert_a, client_keys):
    token, _ = both
    proof = make_proof(client_keys["KD2"], token=token, now=clock.t)
    response = dpop_get(api, token, proof, **{HEADER: cert_a.rfc9440()})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == f"{NO_CREDENTIALS}, " + dpop("invalid_token", D["dpop-binding"])


def test_both_bindings_as_bearer_is_refused(api, both, cert_a):
    token, _ = both
    response = get(api, token, cert_a.rfc9440())
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid("dpop-bearer") + ", " + dpop()


def test_a_proof_refused_for_its_certificate_is_not_recorded(api, clock, both, cert_a, cert_b):
    token, kd = both
    proof = _proof(clock, kd, token)
    assert dpop_get(api, token, proof, **{HEADER: cert_b.rfc9440()}).status_code == 401
    assert dpop_get(api, token, proof, **{HEADER: cert_a.rfc9440()}).status_code == 200
    assert dpop_get(api, token, proof, **{HEADER: cert_a.rfc9440()}).status_code == 401  # now a replay


def test_certificate_bound_token_with_the_dpop_scheme_is_not_dpop_bound(api, clock, both, bound_to, cert_a):
    token = bound_to(cert_a)
    response = dpop_get(api, token, _proof(clock, both[1], token), **{HEADER: cert_a.rfc9440()})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == f"{NO_CREDENTIALS}, " + dpop("invalid_token", D["dpop-unbound"])


# --- sender-constrained tokens required -----------------------------------------------------------


@pytest.fixture
def required(settings):
    settings.JWT_AT_REQUIRE_SENDER_CONSTRAINED = True
    settings.JWT_AT_MTLS_CERT_HEADER = "Client-Cert"
    settings.JWT_AT_DPOP = "optional"
    settings.JWT_AT_RESOURCE_URL = RS
    return settings


def test_required_refuses_a_bearer_token(api, required, t0, cert_a):
    for value in (None, cert_a.rfc9440()):
        response = get(api, t0, value)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == invalid("sender-constrained") + ", " + dpop()
        assert json_body(response) == {"detail": D["sender-constrained"], "error": "invalid_token"}


def test_required_with_dpop_off_has_the_bearer_challenge_only(api, required, t0):
    required.JWT_AT_DPOP = "off"
    response = get(api, t0)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid("sender-constrained")


def test_required_accepts_a_certificate_bound_token(api, required, bound_to, cert_a, cert_b):
    assert get(api, bound_to(cert_a), cert_a.rfc9440()).status_code == 200
    response = get(api, bound_to(cert_a), cert_b.rfc9440())
    assert response["WWW-Authenticate"] == invalid("mtls-binding") + ", " + dpop()


def test_required_accepts_a_dpop_bound_token_with_its_proof(api, required, clock, make_token, client_keys):
    kd = client_keys["KD"]
    token = make_token(claims={"cnf": {"jkt": thumbprint(public_jwk(kd))}})
    assert dpop_get(api, token, _proof(clock, kd, token)).status_code == 200


def test_required_without_credentials_is_an_ordinary_challenge(api, required):
    response = api.get("/orders")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == f"{NO_CREDENTIALS}, " + dpop()


def test_required_refuses_dpop_bound_tokens_accepted_as_bearer(settings, make_token, client_keys):
    """The "off"-mode allowance accepts a DPoP-bound token without its proof: that token
    was not sender-constrained on this request."""
    from django.test import RequestFactory

    from django_jwt_at.request_auth import authenticate_request

    settings.JWT_AT_DPOP = "off"
    settings.JWT_AT_DPOP_ACCEPT_BOUND_AS_BEARER = True
    token = make_token(claims={"cnf": {"jkt": thumbprint(public_jwk(client_keys["KD"]))}})
    request = RequestFactory().get("/x", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert authenticate_request(request, get_config(), mode="off") is not None  # the allowance
    settings.JWT_AT_REQUIRE_SENDER_CONSTRAINED = True
    with pytest.raises(InvalidToken) as raised:
        authenticate_request(request, get_config(), mode="off")
    assert raised.value.description.value == D["sender-constrained"]


def test_refusals_are_signalled_with_their_reason(api, required, bound_to, cert_a, cert_b, t0, caplog):
    caplog.set_level(logging.INFO, logger="django_jwt_at")
    get(api, bound_to(cert_a), cert_b.rfc9440())
    get(api, bound_to(cert_a))
    get(api, bound_to(cert_a), ":AAAA:")
    get(api, t0)
    reasons = [r.reason for r in caplog.records if r.name == "django_jwt_at" and hasattr(r, "reason")]
    assert reasons == [
        "bad_certificate_binding",
        "client_certificate_missing",
        "bad_client_certificate",
        "not_sender_constrained",
    ]


# --- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, value, check_id",
    [
        ("JWT_AT_MTLS_CERT_HEADER", "", "E042"),
        ("JWT_AT_MTLS_CERT_HEADER", "Client_Cert", "E042"),
        ("JWT_AT_MTLS_CERT_HEADER", "Client Cert", "E042"),
        ("JWT_AT_MTLS_CERT_HEADER", "Client--Cert", "E042"),
        ("JWT_AT_MTLS_CERT_HEADER", "-Client-Cert", "E042"),
        ("JWT_AT_MTLS_CERT_HEADER", "Authorization", "E042"),
        ("JWT_AT_MTLS_CERT_HEADER", "DPoP", "E042"),
        ("JWT_AT_MTLS_CERT_HEADER", "Content-Type", "E042"),
        ("JWT_AT_MTLS_CERT_HEADER", "HTTP_CLIENT_CERT", "E042"),
        ("JWT_AT_MTLS_CERT_HEADER", "X" * 65, "E042"),
        ("JWT_AT_MTLS_CERT_HEADER", b"Client-Cert", "E042"),
        ("JWT_AT_MTLS_CERT_HEADER", True, "E042"),
        ("JWT_AT_MTLS_CERT_FORMAT", "pem", "E043"),
        ("JWT_AT_MTLS_CERT_FORMAT", "RFC9440", "E043"),
        ("JWT_AT_MTLS_CERT_FORMAT", None, "E043"),
        ("JWT_AT_REQUIRE_SENDER_CONSTRAINED", 1, "E044"),
        ("JWT_AT_REQUIRE_SENDER_CONSTRAINED", "yes", "E044"),
        ("JWT_AT_FAPI2", 1, "E044"),
    ],
)
def test_invalid_settings(settings, name, value, check_id):
    from django.core.exceptions import ImproperlyConfigured

    setattr(settings, name, value)
    assert sorted({m.id for m in our_messages()}) == [f"django_jwt_at.{check_id}"]
    with pytest.raises(ImproperlyConfigured, match=check_id):
        get_config()


@pytest.mark.parametrize("name", ["Client-Cert", "X-SSL-Client-Cert", "X-Amzn-Mtls-Clientcert", "ssl-client-cert"])
def test_valid_header_names(settings, name):
    settings.JWT_AT_MTLS_CERT_HEADER = name
    config = get_config()
    assert config.mtls_cert_meta_key == "HTTP_" + name.upper().replace("-", "_")
    assert config.confirmation_methods == {"jkt", "x5t#S256"}
    assert our_messages() == []


def test_required_without_any_binding_method_is_a_warning(settings):
    settings.JWT_AT_REQUIRE_SENDER_CONSTRAINED = True
    settings.ROOT_URLCONF = "tests.metadata_only_urls"  # no view turns DPoP on
    assert [m.id for m in our_messages()] == ["django_jwt_at.W032"]
    settings.JWT_AT_MTLS_CERT_HEADER = "Client-Cert"
    assert our_messages() == []
    settings.JWT_AT_MTLS_CERT_HEADER = None
    settings.ROOT_URLCONF = "tests.urls"  # views with dpop = "optional" / "required"
    assert our_messages() == []
