"""JWT_AT_FAPI2: what the FAPI 2.0 Security Profile forbids a resource server is a settings
error (E045), reported by the checks and refused by the runtime; a compliant configuration
serves sender-constrained tokens only."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from django_jwt_at.conf import get_config
from django_jwt_at.fapi import fapi2_violations
from django_jwt_at.jwks import key_sets

from . import signing
from .certs import make_cert
from .conftest import fx_jwks
from .dpop_proofs import RS, make_proof, public_jwk, thumbprint
from .helpers import FX_AUD, FX_ISS, NO_CREDENTIALS, bearer, dpop, our_messages

JWKS_URI = "https://as.example.com/jwks"
SENDER = "The resource server requires a sender-constrained access token"


@pytest.fixture
def fapi(settings):
    """A FAPI 2.0 resource server: PS256/ES256 issuer over https, DPoP and certificate-bound
    tokens only. The issuer's keys are installed (no fetch from an https test server)."""
    settings.JWT_AT_FAPI2 = True
    settings.JWT_AT_ISSUERS = {FX_ISS: {"AUDIENCE": FX_AUD, "JWKS_URI": JWKS_URI, "ALGORITHMS": ["PS256", "ES256"]}}
    settings.JWT_AT_REQUIRE_SENDER_CONSTRAINED = True
    settings.JWT_AT_DPOP = "optional"
    settings.JWT_AT_RESOURCE_URL = RS
    settings.JWT_AT_MTLS_CERT_HEADER = "Client-Cert"
    return settings


@pytest.fixture
def installed(keys):
    key_sets.install(FX_ISS, fx_jwks(keys))
    yield
    key_sets.uninstall(FX_ISS)


def e045(settings_messages):
    return [m.msg for m in settings_messages if m.id == "django_jwt_at.E045"]


def test_a_compliant_configuration_is_clean(fapi):
    assert our_messages() == []
    assert fapi2_violations(get_config()) == []


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"ALGORITHMS": ["RS256", "PS256"]},
            "FAPI 2.0: JWT_AT_ISSUERS['https://as.example.com']['ALGORITHMS'] allows ['RS256'].",
        ),
        (
            {"ALGORITHMS": ["ES384", "PS512", "ES256"]},
            "FAPI 2.0: JWT_AT_ISSUERS['https://as.example.com']['ALGORITHMS'] allows ['ES384', 'PS512'].",
        ),
        ({"JWT_AT_DPOP_ALGORITHMS": ["ES256", "RS256"]}, "FAPI 2.0: JWT_AT_DPOP_ALGORITHMS allows ['RS256']."),
        (
            {"JWT_AT_REQUIRE_SENDER_CONSTRAINED": False},
            "FAPI 2.0: JWT_AT_REQUIRE_SENDER_CONSTRAINED is False, so access tokens that are not "
            "sender-constrained are accepted as Bearer tokens.",
        ),
        (
            {"JWT_AT_DPOP": "off", "JWT_AT_MTLS_CERT_HEADER": None},
            "FAPI 2.0: neither DPoP (JWT_AT_DPOP is 'off') nor certificate binding "
            "(JWT_AT_MTLS_CERT_HEADER is None) is on, so no sender-constrained token can be verified.",
        ),
        (
            {"JWT_AT_DPOP": "off", "JWT_AT_DPOP_ACCEPT_BOUND_AS_BEARER": True},
            "FAPI 2.0: JWT_AT_DPOP_ACCEPT_BOUND_AS_BEARER is True, so DPoP-bound tokens are accepted without a proof.",
        ),
        (
            {"JWT_AT_TOKEN_METHODS": ["header", "query"]},
            "FAPI 2.0: JWT_AT_TOKEN_METHODS accepts access tokens in the query string.",
        ),
        (
            {"JWT_AT_LEEWAY": 61},
            "FAPI 2.0: JWT_AT_LEEWAY is 61: access tokens issued up to that many seconds in the future "
            "are accepted; it must be from 10 to 60.",
        ),
        (
            {"JWT_AT_LEEWAY": 9},
            "FAPI 2.0: JWT_AT_LEEWAY is 9: access tokens issued up to that many seconds in the future "
            "are accepted; it must be from 10 to 60.",
        ),
        (
            {"JWT_AT_DPOP_IAT_WINDOW": (60, 61)},
            "FAPI 2.0: JWT_AT_DPOP_IAT_WINDOW accepts DPoP proofs issued up to 61 seconds in the future; "
            "it must be from 10 to 60.",
        ),
        (
            {"JWT_AT_DPOP_IAT_WINDOW": (60, 0)},
            "FAPI 2.0: JWT_AT_DPOP_IAT_WINDOW accepts DPoP proofs issued up to 0 seconds in the future; "
            "it must be from 10 to 60.",
        ),
        (
            {"JWKS_URI": "http://127.0.0.1:9/jwks"},
            "FAPI 2.0: the JWKS_URI of issuer 'https://as.example.com' is not an https URL.",
        ),
        ({"JWT_AT_RESOURCE": "http://localhost:8000"}, "FAPI 2.0: JWT_AT_RESOURCE is not an https URL."),
        ({"JWT_AT_RESOURCE_URL": "http://127.0.0.1:8000"}, "FAPI 2.0: JWT_AT_RESOURCE_URL is not an https origin."),
    ],
    ids=[
        "5.4.1-issuer-RS256",
        "5.4.1-issuer-other-algorithms",
        "5.4.1-dpop-RS256",
        "5.3.4-bearer-accepted",
        "5.3.4-no-binding-method",
        "5.3.4-dpop-bound-as-bearer",
        "5.3.4-query",
        "5.3.2.1-leeway-above-60",
        "5.3.2.1-leeway-below-10",
        "5.3.2.1-dpop-future-above-60",
        "5.3.2.1-dpop-future-below-10",
        "5.2.1-http-jwks-uri",
        "5.2.1-http-resource",
        "5.2.1-http-resource-url",
    ],
)
def test_each_violation_is_a_settings_error(fapi, change, message):
    issuer_options = {k: v for k, v in change.items() if not k.startswith("JWT_AT_")}
    if issuer_options:
        fapi.JWT_AT_ISSUERS = {FX_ISS: {**fapi.JWT_AT_ISSUERS[FX_ISS], **issuer_options}}
    for name, value in change.items():
        if name.startswith("JWT_AT_"):
            setattr(fapi, name, value)
    messages = our_messages()
    assert e045(messages) == [message]
    assert [m.id for m in messages if m.id != "django_jwt_at.E045"] in ([], ["django_jwt_at.W032"])
    with pytest.raises(ImproperlyConfigured, match=r"django_jwt_at\.E045: FAPI 2\.0"):
        get_config()
    fapi.JWT_AT_FAPI2 = False  # the same settings without the profile: no error
    assert e045(our_messages()) == []


def test_http_issuer(fapi):
    fapi.JWT_AT_ISSUERS = {
        "http://127.0.0.1:8000/as": {"AUDIENCE": FX_AUD, "JWKS_URI": JWKS_URI, "ALGORITHMS": ["ES256"]}
    }
    assert e045(our_messages()) == ["FAPI 2.0: the issuer 'http://127.0.0.1:8000/as' is not an https URL."]


def test_violations_are_all_reported_at_once(fapi):
    fapi.JWT_AT_ISSUERS = {FX_ISS: {"AUDIENCE": FX_AUD, "JWKS_URI": JWKS_URI}}  # RS256 by default
    fapi.JWT_AT_REQUIRE_SENDER_CONSTRAINED = False
    fapi.JWT_AT_LEEWAY = 120
    assert len(e045(our_messages())) == 3


def test_the_runtime_refuses_to_serve_under_a_violation(fapi, installed):
    fapi.JWT_AT_LEEWAY = 300
    with pytest.raises(ImproperlyConfigured, match="E045"):
        Client().get("/orders", HTTP_AUTHORIZATION="Bearer x.y.z")


# --- a compliant resource server at work ----------------------------------------------------------


def test_compliant_server_accepts_dpop_bound_tokens(api, fapi, installed, make_token, clock):
    kd = signing.ec_key("KD", "P-256")
    token = make_token(key="ec-1", claims={"cnf": {"jkt": thumbprint(public_jwk(kd))}})
    proof = make_proof(kd, token=token, now=clock.t)
    response = api.request("GET", "/orders", authorization=f"DPoP {token}", HTTP_DPOP=proof)
    assert response.status_code == 200, response.content


def test_compliant_server_accepts_certificate_bound_tokens(api, fapi, installed, make_token):
    cert = make_cert("fapi-client")
    token = make_token(key="ps-1", claims={"cnf": {"x5t#S256": cert.thumbprint}})
    assert api.get("/orders", token, HTTP_CLIENT_CERT=cert.rfc9440()).status_code == 200


def test_compliant_server_refuses_bearer_tokens(api, fapi, installed, make_token):
    response = api.get("/orders", make_token(key="ec-1"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == bearer("invalid_token", SENDER) + ", " + dpop()


def test_compliant_server_refuses_rs256_tokens(api, fapi, installed, make_token):
    response = api.get("/orders", make_token(key="rsa-1"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        bearer("invalid_token", "The access token signing algorithm is not allowed") + ", " + dpop()
    )


def test_compliant_server_challenge_without_credentials(api, fapi, installed):
    response = api.get("/orders")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == f"{NO_CREDENTIALS}, " + dpop()
