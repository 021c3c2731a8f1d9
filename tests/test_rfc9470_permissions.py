"""Spec section 3 (RFC 9470 step-up) as far as the permission classes are concerned."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_jwt_at.permissions import StepUpRequired

from . import dpop_proofs, signing
from .conftest import ABSENT
from .helpers import HWK, MFA, NO_CREDENTIALS, PWD, D, bearer, challenge_params, invalid_token

STEP_UP_ACR = (
    'Bearer realm="api", error="insufficient_user_authentication", '
    'error_description="A different authentication level is required", acr_values="urn:example:acr:mfa"'
)
STEP_UP_MAX_AGE = (
    'Bearer realm="api", error="insufficient_user_authentication", '
    'error_description="More recent authentication is required", max_age="300"'
)
STEP_UP_BOTH = bearer("insufficient_user_authentication", D["acr-max-age"], acr_values=MFA, max_age="300")

PAYMENT_VIEWS = ["/payments", "/payments-subclass"]
view_ids = ["instance", "subclass"]


@pytest.mark.parametrize("path", PAYMENT_VIEWS, ids=view_ids)
def test_C_9470_01_wrong_acr(api, make_token, path):
    response = api.post(path, make_token(claims={"acr": PWD}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == STEP_UP_ACR
    assert "insufficient_scope" not in response["WWW-Authenticate"]


def test_C_9470_01_subclass_listed_as_class(api, make_token):
    response = api.post("/payments-subclass-only", make_token(claims={"acr": PWD}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == STEP_UP_ACR
    assert api.post("/payments-subclass-only", make_token()).status_code == 200


@pytest.mark.parametrize("path", PAYMENT_VIEWS, ids=view_ids)
def test_C_9470_02_acr_missing_fails_closed(api, make_token, path):
    response = api.post(path, make_token(remove=["acr"]))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == STEP_UP_ACR


@pytest.mark.parametrize("path", PAYMENT_VIEWS, ids=view_ids)
def test_C_9470_03_satisfied(api, make_token, path):
    assert api.post(path, make_token()).status_code == 200


@pytest.mark.parametrize(
    "acr",
    ["URN:EXAMPLE:ACR:MFA", "urn:example:acr:mfa ", " urn:example:acr:mfa", "urn:example:acr:mf", ""],
    ids=[
        "C-9470-04-upper",
        "C-9470-04-trailing-space",
        "C-9470-04-leading-space",
        "C-9470-04-prefix",
        "C-9470-04-empty",
    ],
)
def test_C_9470_04_acr_compared_as_string(api, make_token, acr):
    response = api.post("/payments", make_token(claims={"acr": acr}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == STEP_UP_ACR


@pytest.mark.parametrize(
    "acr",
    [[MFA], 1, {"v": MFA}, True],
    ids=["C-9470-04-array", "C-9470-04-number", "C-9470-04-object", "C-9470-04-bool"],
)
def test_C_9470_04_acr_wrong_type_is_invalid_token(api, make_token, acr):
    response = api.post("/payments", make_token(claims={"acr": acr}))
    assert response.status_code == 401
    params = challenge_params(response["WWW-Authenticate"])
    assert params["error"] == "invalid_token"
    assert "acr_values" not in params


def test_C_9470_05_acr_values_in_configured_order(api, make_token):
    response = api.get("/acr-list", make_token(claims={"acr": PWD}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == bearer(
        "insufficient_user_authentication", D["acr"], acr_values="urn:example:acr:hwk urn:example:acr:mfa"
    )
    # one of the values is enough (not "all required")
    assert api.get("/acr-list", make_token(claims={"acr": HWK})).status_code == 200
    assert api.get("/acr-list", make_token(claims={"acr": MFA})).status_code == 200


def test_C_9470_06_no_implicit_hierarchy(api, make_token):
    response = api.post("/payments", make_token(claims={"acr": HWK}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == STEP_UP_ACR


@pytest.mark.parametrize("path", PAYMENT_VIEWS, ids=view_ids)
def test_C_9470_07_max_age(api, make_token, clock, path):
    response = api.post(path, make_token(claims={"auth_time": int(clock.t) - 600}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == STEP_UP_MAX_AGE


def test_C_9470_08_auth_time_missing_no_iat_fallback(api, make_token, clock):
    response = api.post("/payments", make_token(claims={"iat": int(clock.t)}, remove=["auth_time"]))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == STEP_UP_MAX_AGE


@pytest.mark.parametrize(
    ("age", "expected"),
    [(360, 200), (361, 401), (300, 200), (0, 200), (-30, 200)],
    ids=[
        "C-9470-09-360-ok",
        "C-9470-09-361-challenged",
        "C-9470-09-300",
        "C-9470-09-now",
        "C-9470-09-future-within-leeway",
    ],
)
def test_C_9470_09_max_age_with_leeway(api, make_token, clock, age, expected):
    response = api.post("/payments", make_token(claims={"auth_time": int(clock.t) - age}))
    assert response.status_code == expected
    if expected == 401:
        assert response["WWW-Authenticate"] == STEP_UP_MAX_AGE


def test_C_9470_09_elapsed_follows_the_clock(api, make_token, clock):
    token = make_token(claims={"auth_time": int(clock.t) - 300, "exp": int(clock.t) + 3600})
    assert api.post("/payments", token).status_code == 200
    clock.advance(60)
    assert api.post("/payments", token).status_code == 200
    clock.advance(1)
    assert api.post("/payments", token)["WWW-Authenticate"] == STEP_UP_MAX_AGE


def test_C_9470_09_leeway_zero(api, make_token, clock, settings):
    settings.JWT_AT_LEEWAY = 0
    assert api.post("/payments", make_token(claims={"auth_time": int(clock.t) - 300})).status_code == 200
    response = api.post("/payments", make_token(claims={"auth_time": int(clock.t) - 301}))
    assert response["WWW-Authenticate"] == STEP_UP_MAX_AGE


def test_C_9470_09_max_age_zero(api, make_token, clock):
    # max_age=0 with leeway 60: authenticated within the last minute.
    assert api.get("/max-age-only", make_token(claims={"auth_time": int(clock.t) - 60})).status_code == 200
    response = api.get("/max-age-only", make_token(claims={"auth_time": int(clock.t) - 61}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == bearer("insufficient_user_authentication", D["max-age"], max_age="0")


@pytest.mark.parametrize("path", PAYMENT_VIEWS, ids=view_ids)
def test_C_9470_10_acr_and_max_age(api, make_token, clock, path):
    response = api.post(path, make_token(claims={"acr": PWD, "auth_time": int(clock.t) - 600}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_user_authentication", error_description="A different '
        'authentication level and more recent authentication are required", acr_values="urn:example:acr:mfa", '
        'max_age="300"'
    )
    assert response["WWW-Authenticate"] == STEP_UP_BOTH
    assert response["WWW-Authenticate"].count("Bearer") == 1


@pytest.mark.parametrize("path", PAYMENT_VIEWS, ids=view_ids)
def test_C_9470_11_scope_with_step_up(api, make_token, path):
    response = api.post(path, make_token(claims={"acr": PWD, "scope": "orders:read"}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_user_authentication", error_description="A different '
        'authentication level is required", scope="payments:write", acr_values="urn:example:acr:mfa"'
    )


def test_C_9470_11_scope_only_missing_is_403(api, make_token):
    response = api.post("/payments", make_token(claims={"scope": "orders:read"}))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == bearer("insufficient_scope", D["scope"], scope="payments:write")


def test_C_9470_11_scope_and_max_age(api, make_token, clock):
    response = api.post("/payments", make_token(claims={"scope": "orders:read", "auth_time": int(clock.t) - 600}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == bearer(
        "insufficient_user_authentication", D["max-age"], scope="payments:write", max_age="300"
    )


@pytest.mark.parametrize("path", PAYMENT_VIEWS, ids=view_ids)
def test_C_9470_12_invalid_token_first(api, make_token, clock, path):
    response = api.post(path, make_token(claims={"exp": int(clock.t) - 120, "acr": PWD, "auth_time": 1}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid_token("expired")
    assert "acr_values" not in response["WWW-Authenticate"]
    assert "max_age" not in response["WWW-Authenticate"]


@pytest.mark.parametrize("path", [*PAYMENT_VIEWS, "/payments-subclass-only", "/acr-list", "/max-age-only"])
def test_C_9470_13_no_credentials_no_leak(api, path):
    response = api.request("GET" if path in ("/acr-list", "/max-age-only") else "POST", path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == NO_CREDENTIALS
    assert "acr_values" not in response["WWW-Authenticate"]
    assert "max_age" not in response["WWW-Authenticate"]
    assert b"urn:example" not in response.content


@pytest.mark.parametrize("path", PAYMENT_VIEWS)
def test_C_9470_14_step_up_on_dpop_challenge(api, settings, make_token, clock, path):
    settings.JWT_AT_DPOP = "optional"
    settings.JWT_AT_RESOURCE_URL = "https://rs.example.com"
    client_key = signing.ec_key("KD", "P-256")
    jwk = dpop_proofs.public_jwk(client_key)
    token = make_token(claims={"acr": PWD, "cnf": {"jkt": dpop_proofs.thumbprint(jwk)}})
    proof = dpop_proofs.make_proof(
        client_key, token=token, now=clock.t, method="POST", htu="https://rs.example.com" + path
    )
    response = api.post(path, authorization=f"DPoP {token}", HTTP_DPOP=proof)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", DPoP error="insufficient_user_authentication", error_description="'
        + D["acr"]
        + f'", acr_values="{MFA}", algs="ES256 PS256"'
    )


@pytest.mark.parametrize(
    "max_age",
    [-1, 1.5, "5m", True, float("nan")],
    ids=[
        "C-9470-15-negative",
        "C-9470-15-float",
        "C-9470-15-string",
        "C-9470-15-bool",
        "C-9470-15-nan",
    ],
)
def test_C_9470_15_bad_max_age(max_age):
    with pytest.raises(ImproperlyConfigured):
        StepUpRequired(acr_values=[MFA], max_age=max_age)
    with pytest.raises(ImproperlyConfigured):
        StepUpRequired(max_age=max_age)


@pytest.mark.parametrize(
    "max_age",
    [-1, 1.5, "5m"],
    ids=["C-9470-15-subclass-negative", "C-9470-15-subclass-float", "C-9470-15-subclass-string"],
)
def test_C_9470_15_bad_max_age_subclass_form(max_age):
    with pytest.raises(ImproperlyConfigured):

        class Bad(StepUpRequired):
            acr_values = [MFA]

        Bad.max_age = max_age
        Bad()


def test_C_9470_15_good_max_age():
    StepUpRequired(max_age=0)
    StepUpRequired(max_age=86400, acr_values=[MFA])


@pytest.mark.parametrize(
    "acr",
    ['urn:example:acr:"mfa"', "urn:example:acr\\mfa", "urn:example:acr mfa", "", "urn:example:acr:m\u00e4"],
    ids=["C-9470-16-quote", "C-9470-16-backslash", "C-9470-16-space", "C-9470-16-empty", "C-9470-16-non-ascii"],
)
def test_C_9470_16_bad_acr_value(acr):
    with pytest.raises(ImproperlyConfigured):
        StepUpRequired(acr_values=[MFA, acr], max_age=300)


def test_C_9470_16_bad_acr_value_subclass_form():
    with pytest.raises(ImproperlyConfigured):

        class Bad(StepUpRequired):
            acr_values = ["urn:example:acr mfa"]
            max_age = 300

        Bad()


@pytest.mark.parametrize(
    "auth_time",
    ["yesterday", True, [1], None, "1700000000"],
    ids=["C-9470-17-string", "C-9470-17-bool", "C-9470-17-array", "C-9470-17-null", "C-9470-17-numeric-string"],
)
def test_C_9470_17_malformed_auth_time(api, make_token, auth_time):
    response = api.post("/payments", make_token(claims={"auth_time": auth_time}))
    assert response.status_code == 401
    params = challenge_params(response["WWW-Authenticate"])
    assert params["error"] == "invalid_token"
    assert "max_age" not in params


def test_C_9470_17_malformed_auth_time_on_any_view(api, make_token):
    # A malformed claim is a malformed token everywhere, not only where a rule reads it.
    response = api.get("/orders", make_token(claims={"auth_time": "yesterday"}))
    assert response.status_code == 401
    assert challenge_params(response["WWW-Authenticate"])["error"] == "invalid_token"


def test_C_9470_02_missing_claims_removed_via_absent(api, make_token):
    response = api.post("/payments", make_token(claims={"acr": ABSENT, "auth_time": ABSENT}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == STEP_UP_BOTH
