"""Spec section 1: RFC 6750 (Bearer) with the RFC 9110 authentication framework."""

from __future__ import annotations

import logging
import re
from urllib.parse import quote

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_jwt_at.permissions import HasAnyScope, HasScope

from .conftest import exchange_problems
from .helpers import (
    MFA,
    NO_CREDENTIALS,
    D,
    bearer,
    challenge_params,
    insufficient_scope,
    invalid_request,
    invalid_token,
    json_body,
    leaked_substrings,
    parse_challenges,
)

FORM = "application/x-www-form-urlencoded"


def assert_no_error_info(response):
    value = response["WWW-Authenticate"]
    params = challenge_params(value)
    for name in ("error", "error_description", "error_uri", "scope", "acr_values", "max_age"):
        assert name not in params, value


# --- credentials and scheme --------------------------------------------------------------


def test_C_6750_01_no_credentials(api):
    response = api.get("/orders")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == NO_CREDENTIALS
    assert_no_error_info(response)


def test_C_6750_02_unsupported_scheme_basic(api):
    response = api.get("/orders", authorization="Basic dXNlcjpwYXNz")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == NO_CREDENTIALS
    assert_no_error_info(response)


def test_C_9449_30_dpop_scheme_is_unsupported_without_dpop(api, make_token):
    # DPoP is not implemented: "Authorization: DPoP ..." is an unsupported method.
    response = api.get("/orders", authorization=f"DPoP {make_token()}", HTTP_DPOP="e30.e30.e30")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == NO_CREDENTIALS


@pytest.mark.parametrize(
    "scheme", ["bearer", "BEARER", "BeArEr"], ids=["C-6750-03-lower", "C-6750-03-upper", "C-6750-03-mixed"]
)
def test_C_6750_03_scheme_case_insensitive(api, t0, scheme):
    response = api.get("/orders", authorization=f"{scheme} {t0}", secrets=[t0])
    assert response.status_code == 200
    assert "WWW-Authenticate" not in response


def test_C_6750_04_two_spaces(api, t0):
    response = api.get("/orders", authorization=f"Bearer  {t0}", secrets=[t0])
    assert response.status_code == 200


@pytest.mark.parametrize(
    "value",
    ["Bearer", "Bearer ", "Bearer   "],
    ids=["C-6750-05-bare", "C-6750-05-trailing-sp", "C-6750-05-only-spaces"],
)
def test_C_6750_05_bearer_without_token(api, value):
    response = api.get("/orders", authorization=value)
    assert response.status_code == 400
    assert response["WWW-Authenticate"] == invalid_request("malformed-header")


def test_C_6750_06_extra_part(api, t0):
    response = api.get("/orders", authorization=f"Bearer {t0} extra", secrets=[t0])
    assert response.status_code == 400
    assert response["WWW-Authenticate"] == invalid_request("malformed-header")


@pytest.mark.parametrize(
    "credentials",
    ["abc$def", "a,b", '{"alg":"none"}', "tök", "abc=def", "=abc", "a\\b", 'a"b'],
    ids=[
        "C-6750-07-dollar",
        "C-6750-07-comma",
        "C-6750-07-json",
        "C-6750-07-non-ascii",
        "C-6750-07-inner-equals",
        "C-6750-07-leading-equals",
        "C-6750-07-backslash",
        "C-6750-07-quote",
    ],
)
def test_C_6750_07_outside_b64token(api, credentials):
    response = api.get("/orders", authorization=f"Bearer {credentials}")
    assert response.status_code == 400
    assert response["WWW-Authenticate"] == invalid_request("malformed-header")


@pytest.mark.parametrize("sep", ["\t", " \t", "\t "], ids=["C-6750-08-tab", "C-6750-08-sp-tab", "C-6750-08-tab-sp"])
def test_C_6750_08_tab_separator(api, t0, sep):
    response = api.get("/orders", authorization=f"Bearer{sep}{t0}", secrets=[t0])
    assert response.status_code == 400
    assert response["WWW-Authenticate"] == invalid_request("malformed-header")


def test_C_6750_09_b64token_not_a_jwt(api):
    response = api.get("/orders", authorization="Bearer mF_9.B5f-4.1JqM")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid_token("malformed-token")


def test_C_6750_10_expired(api, make_token, clock):
    response = api.get("/orders", make_token(claims={"exp": int(clock.t) - 120}))
    assert response.status_code == 401
    assert (
        response["WWW-Authenticate"]
        == 'Bearer realm="api", error="invalid_token", error_description="The access token expired"'
    )


def test_C_6750_11_insufficient_scope(api, make_token):
    response = api.post("/orders", make_token(claims={"scope": "orders:read"}))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", error_description="The request requires higher '
        'privileges than provided by the access token", scope="orders:write"'
    )


def test_C_6750_11_get_orders_needs_read(api, make_token):
    assert api.get("/orders", make_token(claims={"scope": "orders:read"})).status_code == 200
    response = api.get("/orders", make_token(claims={"scope": "orders:write"}))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == insufficient_scope("orders:read")


@pytest.mark.parametrize(
    "scope",
    ["Orders:Write orders:read", "ORDERS:WRITE", "orders:write2", "orders:writ", " orders:read"],
    ids=["C-6750-12-capitalised", "C-6750-12-upper", "C-6750-12-suffix", "C-6750-12-prefix", "C-6750-12-leading-sp"],
)
def test_C_6750_12_scope_case_sensitive(api, make_token, scope):
    response = api.post("/orders", make_token(claims={"scope": scope}))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == insufficient_scope("orders:write")


@pytest.mark.parametrize(
    "bad",
    ['orders"write', "orders\\write", "orders write", "", "orders:wr\u00efte", "a\tb"],
    ids=[
        "C-6750-13-quote",
        "C-6750-13-backslash",
        "C-6750-13-space",
        "C-6750-13-empty",
        "C-6750-13-non-ascii",
        "C-6750-13-tab",
    ],
)
@pytest.mark.parametrize("cls", [HasScope, HasAnyScope], ids=["HasScope", "HasAnyScope"])
def test_C_6750_13_bad_scope_configuration(cls, bad):
    with pytest.raises(ImproperlyConfigured):
        cls("orders:read", bad)


@pytest.mark.parametrize(
    "bad",
    ['orders"write', "orders\\write", "orders write"],
    ids=["C-6750-13-subclass-quote", "C-6750-13-subclass-backslash", "C-6750-13-subclass-space"],
)
def test_C_6750_13_bad_scope_configuration_subclass_form(bad):
    with pytest.raises(ImproperlyConfigured):

        class Bad(HasScope):
            scopes = ["orders:read", bad]

        Bad()


def test_C_6750_14_two_scopes(api, make_token):
    response = api.get("/two-scopes", make_token(claims={"scope": "orders:read"}))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == insufficient_scope("a:x b:y")
    assert challenge_params(response["WWW-Authenticate"])["scope"] == "a:x b:y"


def test_C_6750_14_two_scopes_one_missing_lists_all_required(api, make_token):
    # choice A-13: all scopes the endpoint requires, in configuration order.
    response = api.get("/two-scopes", make_token(claims={"scope": "b:y"}))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == insufficient_scope("a:x b:y")
    assert api.get("/two-scopes", make_token(claims={"scope": "b:y a:x"})).status_code == 200


def test_C_6750_14_any_scope_lists_first_alternative(api, make_token):
    response = api.get("/any-scope", make_token(claims={"scope": "orders:read"}))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == insufficient_scope("a:x")
    assert api.get("/any-scope", make_token(claims={"scope": "b:y"})).status_code == 200
    assert api.get("/any-scope", make_token(claims={"scope": "a:x"})).status_code == 200


def test_C_6750_14_composed_and_lists_every_missing_scope(api, make_token):
    response = api.get("/composed-scopes", make_token(claims={"scope": "orders:read"}))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == insufficient_scope("a:x b:y")
    assert api.get("/composed-scopes", make_token(claims={"scope": "a:x b:y"})).status_code == 200


def test_C_6750_14_composed_or_and_not(api, make_token):
    assert api.get("/or-scopes", make_token(claims={"scope": "b:y"})).status_code == 200
    response = api.get("/or-scopes", make_token(claims={"scope": "orders:read"}))
    assert response.status_code == 403
    assert challenge_params(response["WWW-Authenticate"])["error"] == "insufficient_scope"
    assert api.get("/not-scope", make_token(claims={"scope": "b:y"})).status_code == 200
    response = api.get("/not-scope", make_token(claims={"scope": "a:x"}))
    assert response.status_code == 403
    assert challenge_params(response["WWW-Authenticate"])["error"] == "insufficient_scope"
    response = api.get("/not-scope")  # ~HasScope never means "no token"
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == NO_CREDENTIALS


# --- C-6750-15: charset of error and error_description -----------------------------------


def _assert_charset(response):
    value = response["WWW-Authenticate"]
    params = challenge_params(value)
    for name in ("error", "error_description"):
        if name in params:
            assert all(c in "\x20\x21" or "\x23" <= c <= "\x5b" or "\x5d" <= c <= "\x7e" for c in params[name]), value
    assert all(0x20 <= ord(c) <= 0x7E for c in value), value


def test_C_6750_15_language_code_de(api, make_token, clock, settings):
    settings.LANGUAGE_CODE = "de"
    response = api.get("/orders", make_token(claims={"exp": int(clock.t) - 120}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid_token("expired")
    _assert_charset(response)
    response = api.get("/orders")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == NO_CREDENTIALS


def test_C_6750_15_accept_language_fr(api, make_token, clock):
    response = api.get("/orders", make_token(claims={"exp": int(clock.t) - 120}), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid_token("expired")
    _assert_charset(response)
    response = api.post("/orders", make_token(claims={"scope": "orders:read"}), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == insufficient_scope("orders:write")


@pytest.mark.parametrize(
    "payload",
    [
        b'{"iss":"https://as.example.com","sub":"a\\"b',  # unterminated string with an escaped quote
        b'{"iss":"https://as.example.com", "x": "\\u12"}',  # invalid \u escape
        b'{"iss":"https://as.example.com", "x": "\\q"}',  # invalid escape
        b'{"iss"  "https://as.example.com"}',  # "Expecting ':' delimiter"
        b'{"a":1,"a":2}',
        b"\xff\xfe{\x00}\x00",
        b'["not", "an", "object"]',
    ],
    ids=[
        "C-6750-15-json-quote",
        "C-6750-15-json-bad-unicode-escape",
        "C-6750-15-json-bad-escape",
        "C-6750-15-json-delimiter",
        "C-6750-15-json-duplicate",
        "C-6750-15-utf16",
        "C-6750-15-array",
    ],
)
def test_C_6750_15_library_messages_never_reach_the_header(api, make_token, payload):
    response = api.get("/orders", make_token(payload=payload))
    assert response.status_code == 401
    params = challenge_params(response["WWW-Authenticate"])
    assert params["error"] == "invalid_token"
    assert params["error_description"] in D.values()
    _assert_charset(response)


# --- C-6750-16: error_uri ------------------------------------------------------------------


def test_C_6750_16_error_uri_configured(api, make_token, clock, settings):
    settings.JWT_AT_ERROR_URI = "https://docs.example.com/errors#token"
    response = api.get("/orders", make_token(claims={"exp": int(clock.t) - 120}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="invalid_token", error_description="The access token expired", '
        'error_uri="https://docs.example.com/errors#token"'
    )
    response = api.post("/orders", make_token(claims={"scope": "orders:read"}))
    assert response["WWW-Authenticate"] == bearer(
        "insufficient_scope", D["scope"], error_uri="https://docs.example.com/errors#token", scope="orders:write"
    )
    # No error -> no error_uri either.
    response = api.get("/orders")
    assert response["WWW-Authenticate"] == NO_CREDENTIALS


#: How the MCP SDKs find a parameter: the first match anywhere in the field.
MCP_SDK_SCOPE = re.compile(r'scope=(?:"([^"]+)"|([^\s,]+))')


def test_C_6750_16_scope_comes_before_error_uri(api, make_token, clock, settings):
    """An error URI that contains ``scope=`` comes after the scope parameter, so a client
    that searches the field for ``scope=`` finds the real one."""
    settings.JWT_AT_ERROR_URI = "https://docs.example.com/errors?scope=none#scope"
    response = api.post("/orders", make_token(claims={"scope": "orders:read"}))
    assert response.status_code == 403
    value = response["WWW-Authenticate"]
    assert value == (
        'Bearer realm="api", error="insufficient_scope", error_description="The request requires higher '
        'privileges than provided by the access token", scope="orders:write", '
        'error_uri="https://docs.example.com/errors?scope=none#scope"'
    )
    assert MCP_SDK_SCOPE.search(value).group(1) == "orders:write"
    # Step-up: scope, acr_values and max_age, then error_uri.
    response = api.post("/payments", make_token(claims={"scope": "orders:read", "acr": "urn:example:acr:pwd"}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == bearer(
        "insufficient_user_authentication",
        D["acr"],
        scope="payments:write",
        acr_values=MFA,
        error_uri="https://docs.example.com/errors?scope=none#scope",
    )
    assert response["WWW-Authenticate"].index('scope="') < response["WWW-Authenticate"].index("acr_values=")
    assert response["WWW-Authenticate"].index("acr_values=") < response["WWW-Authenticate"].index("error_uri=")


def test_C_6750_16_error_uri_default_absent(api, make_token, clock):
    response = api.get("/orders", make_token(claims={"exp": int(clock.t) - 120}))
    assert "error_uri" not in response["WWW-Authenticate"]
    assert response["WWW-Authenticate"] == invalid_token("expired")


# --- C-6750-17/18/19/30/31 over a corpus of failing fixtures -------------------------------

FAILING = {
    # id: (method, path, how) ; how(make_token, clock) -> kwargs for api.request
    "no-credentials": ("GET", "/orders", lambda mk, c: {}),
    "basic": ("GET", "/orders", lambda mk, c: {"authorization": "Basic dXNlcjpwYXNz"}),
    "bare-bearer": ("GET", "/orders", lambda mk, c: {"authorization": "Bearer"}),
    "bad-chars": ("GET", "/orders", lambda mk, c: {"authorization": "Bearer abc$def"}),
    "extra-part": ("GET", "/orders", lambda mk, c: {"authorization": f"Bearer {mk()} extra"}),
    "tab": ("GET", "/orders", lambda mk, c: {"authorization": f"Bearer\t{mk()}"}),
    "folded": ("GET", "/orders", lambda mk, c: {"authorization": f"Bearer {mk()}, Bearer {mk()}"}),
    "not-jwt": ("GET", "/orders", lambda mk, c: {"authorization": "Bearer mF_9.B5f-4.1JqM"}),
    "expired": ("GET", "/orders", lambda mk, c: {"token": mk(claims={"exp": int(c.t) - 120})}),
    "typ": ("GET", "/orders", lambda mk, c: {"token": mk(header={"typ": "JWT"})}),
    "alg": ("GET", "/orders", lambda mk, c: {"token": mk(header={"alg": "RS512"})}),
    "iss": ("GET", "/orders", lambda mk, c: {"token": mk(claims={"iss": "https://attacker.example"})}),
    "aud": ("GET", "/orders", lambda mk, c: {"token": mk(claims={"aud": "https://other.example.com"})}),
    "signature": ("GET", "/orders", lambda mk, c: {"token": mk(header={"kid": "rsa-1"}, key="KX")}),
    "claims": ("GET", "/orders", lambda mk, c: {"token": mk(remove=["sub"])}),
    "nbf": ("GET", "/orders", lambda mk, c: {"token": mk(claims={"nbf": int(c.t) + 600})}),
    "crit": ("GET", "/orders", lambda mk, c: {"token": mk(header={"crit": ["exp"], "exp": 1})}),
    "scope": ("POST", "/orders", lambda mk, c: {"token": mk(claims={"scope": "orders:read"})}),
    "two-scopes": ("GET", "/two-scopes", lambda mk, c: {"token": mk()}),
    "role": ("GET", "/admin", lambda mk, c: {"token": mk(claims={"roles": ["user"]})}),
    "step-up-acr": ("POST", "/payments", lambda mk, c: {"token": mk(claims={"acr": "urn:example:acr:pwd"})}),
    "step-up-both": (
        "POST",
        "/payments",
        lambda mk, c: {"token": mk(claims={"acr": "urn:example:acr:pwd", "auth_time": int(c.t) - 600})},
    ),
    "query-and-header": ("GET", "/orders?access_token={T}", lambda mk, c: {"token": "{T}"}),
    "query-only-disabled": ("GET", "/orders?access_token={T}", lambda mk, c: {}),
}


def _run_failing(api, make_token, clock, case):
    method, path, how = FAILING[case]
    kwargs = how(make_token, clock)
    if "{T}" in path:
        token = make_token()
        path = path.replace("{T}", token)
        kwargs = {k: (token if v == "{T}" else v) for k, v in kwargs.items()}
        kwargs["secrets"] = [token]
    return api.request(method, path, **kwargs)


@pytest.mark.parametrize("case", sorted(FAILING), ids=[f"C-6750-17-{c}" for c in sorted(FAILING)])
def test_C_6750_17_params_at_most_once(api, make_token, clock, case):
    response = _run_failing(api, make_token, clock, case)
    assert response.status_code in (400, 401, 403)
    for _scheme, params in parse_challenges(response["WWW-Authenticate"]):
        names = [name.lower() for name, _ in params]
        assert len(names) == len(set(names)), response["WWW-Authenticate"]


@pytest.mark.parametrize("case", sorted(FAILING), ids=[f"C-6750-18-{c}" for c in sorted(FAILING)])
def test_C_6750_18_never_bare_bearer(api, make_token, clock, case):
    response = _run_failing(api, make_token, clock, case)
    challenges = parse_challenges(response["WWW-Authenticate"])
    assert challenges, response["WWW-Authenticate"]
    for scheme, params in challenges:
        assert scheme == "Bearer"
        assert params and params[0] == ("realm", "api"), response["WWW-Authenticate"]


@pytest.mark.parametrize("case", sorted(FAILING), ids=[f"C-6750-15-{c}" for c in sorted(FAILING)])
def test_C_6750_15_charset_over_failing_fixtures(api, make_token, clock, case):
    response = _run_failing(api, make_token, clock, case)
    _assert_charset(response)
    assert exchange_problems(api.exchanges[-1]) == []


def test_C_6750_19_realm_is_quoted(api, settings):
    response = api.get("/orders")
    assert 'realm="api"' in response["WWW-Authenticate"]
    assert "realm=api" not in response["WWW-Authenticate"]
    settings.JWT_AT_REALM = "orders-api"
    response = api.get("/orders")
    assert response["WWW-Authenticate"] == 'Bearer realm="orders-api"'


# --- token methods ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "methods", [["header"], ["header", "query"]], ids=["C-6750-20-query-off", "C-6750-20-query-on"]
)
def test_C_6750_20_query_and_header(api, t0, settings, methods):
    settings.JWT_AT_TOKEN_METHODS = methods
    response = api.get(f"/orders?access_token={t0}", t0)
    assert response.status_code == 400
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="invalid_request", error_description="Multiple methods used to include access token"'
    )


@pytest.mark.parametrize("methods", [["header"], ["header", "body"]], ids=["C-6750-21-body-off", "C-6750-21-body-on"])
def test_C_6750_21_body_and_header(api, t0, settings, methods):
    settings.JWT_AT_TOKEN_METHODS = methods
    response = api.post("/orders", t0, data=f"access_token={t0}&x=1", content_type=FORM)
    assert response.status_code == 400
    assert response["WWW-Authenticate"] == invalid_request("multiple-methods")


def test_C_6750_22_query_and_body(api, t0, settings):
    settings.JWT_AT_TOKEN_METHODS = ["header", "query", "body"]
    response = api.post(f"/orders?access_token={t0}", data=f"access_token={t0}", content_type=FORM)
    assert response.status_code == 400
    assert response["WWW-Authenticate"] == invalid_request("multiple-methods")


def test_C_6750_23_query_method_off(api, t0):
    response = api.get(f"/orders?access_token={t0}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == NO_CREDENTIALS
    response = api.get(f"/public?access_token={t0}")
    assert response.status_code == 200
    assert json_body(response)["authenticated"] is False  # must not authenticate


def test_C_6750_24_query_method_on_cache_control_private(api, t0, settings):
    settings.JWT_AT_TOKEN_METHODS = ["header", "query"]
    response = api.get(f"/orders?access_token={t0}&p=q")
    assert response.status_code == 200
    assert "private" in [d.strip().split("=")[0] for d in response.get("Cache-Control", "").split(",")]


def test_C_6750_24_percent_encoded_query_token(api, t0, settings):
    settings.JWT_AT_TOKEN_METHODS = ["header", "query"]
    response = api.get(f"/orders?p=q&%61ccess_token={quote(t0)}")
    assert response.status_code == 200
    assert "private" in response.get("Cache-Control", "")


def test_C_6750_24_header_token_not_marked_private(api, t0, settings):
    settings.JWT_AT_TOKEN_METHODS = ["header", "query"]
    response = api.get("/orders?p=q", t0)
    assert response.status_code == 200
    assert "private" not in response.get("Cache-Control", "")


def test_C_6750_25_form_body_method(api, t0, settings):
    settings.JWT_AT_TOKEN_METHODS = ["header", "body"]
    response = api.post("/orders", data=f"item=1&access_token={t0}", content_type=f"{FORM}; charset=UTF-8")
    assert response.status_code == 200


def test_C_6750_25_form_body_method_off(api, t0):
    response = api.post("/orders", data=f"item=1&access_token={t0}", content_type=FORM)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == NO_CREDENTIALS


def test_C_6750_26_multipart_not_accepted(api, t0, settings):
    settings.JWT_AT_TOKEN_METHODS = ["header", "body"]
    boundary = "XyZzY"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="access_token"\r\n\r\n{t0}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="item"\r\n\r\n1\r\n--{boundary}--\r\n'
    ).encode()
    response = api.post("/orders", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == NO_CREDENTIALS


def test_C_6750_26_json_body_not_accepted(api, t0, settings):
    settings.JWT_AT_TOKEN_METHODS = ["header", "body"]
    response = api.post("/orders", data=f'{{"access_token":"{t0}"}}', content_type="application/json", secrets=[t0])
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == NO_CREDENTIALS


def test_C_6750_27_get_with_form_body(api, t0, settings):
    settings.JWT_AT_TOKEN_METHODS = ["header", "body"]
    response = api.get("/orders", data=f"access_token={t0}", content_type=FORM)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == NO_CREDENTIALS


def test_C_6750_28_repeated_query_parameter(api, t0, settings):
    settings.JWT_AT_TOKEN_METHODS = ["header", "query"]
    response = api.get(f"/orders?access_token={t0}&access_token={t0}")
    assert response.status_code == 400
    params = challenge_params(response["WWW-Authenticate"])
    assert params["error"] == "invalid_request"
    assert set(params) <= {"realm", "error", "error_description"}


def test_C_6750_28_repeated_body_parameter(api, t0, settings):
    settings.JWT_AT_TOKEN_METHODS = ["header", "body"]
    response = api.post("/orders", data=f"access_token={t0}&access_token={t0}", content_type=FORM)
    assert response.status_code == 400
    assert challenge_params(response["WWW-Authenticate"])["error"] == "invalid_request"


@pytest.mark.parametrize("sep", [", ", ","], ids=["C-6750-29-comma-space", "C-6750-29-comma"])
def test_C_6750_29_two_credentials_in_one_value(api, t0, sep):
    response = api.get("/orders", authorization=f"Bearer {t0}{sep}Bearer {t0}", secrets=[t0])
    assert response.status_code == 400
    assert challenge_params(response["WWW-Authenticate"])["error"] == "invalid_request"


INVALID_REQUESTS = {
    "bare": lambda t: {"authorization": "Bearer"},
    "extra": lambda t: {"authorization": f"Bearer {t} extra"},
    "dollar": lambda t: {"authorization": "Bearer abc$def"},
    "tab": lambda t: {"authorization": f"Bearer\t{t}"},
    "folded": lambda t: {"authorization": f"Bearer {t}, Bearer {t}"},
    "query-and-header": lambda t: {"path": f"/orders?access_token={t}", "token": t},
}


@pytest.mark.parametrize("case", sorted(INVALID_REQUESTS), ids=[f"C-6750-30-{c}" for c in sorted(INVALID_REQUESTS)])
def test_C_6750_30_invalid_request_carries_challenge(api, t0, case):
    kwargs = INVALID_REQUESTS[case](t0)
    path = kwargs.pop("path", "/orders")
    response = api.get(path, secrets=[t0], **kwargs)
    assert response.status_code == 400
    value = response["WWW-Authenticate"]
    assert value.startswith('Bearer realm="api", error="invalid_request"')
    assert challenge_params(value)["error"] == "invalid_request"


# --- C-6750-31: no token material anywhere --------------------------------------------------


LEAK_CASES = {
    "header-expired": lambda mk, c, s: ("GET", "/orders", {"token": mk(claims={"exp": int(c.t) - 120})}),
    "header-bad-signature": lambda mk, c, s: ("GET", "/orders", {"token": mk(header={"kid": "rsa-1"}, key="KX")}),
    "header-extra-part": lambda mk, c, s: ("GET", "/orders", {"authorization": f"Bearer {mk()} extra"}),
    "header-typ": lambda mk, c, s: ("GET", "/orders", {"token": mk(header={"typ": "JWT"})}),
    "header-unknown-kid": lambda mk, c, s: ("GET", "/orders", {"token": mk(header={"kid": "nope-" + "x" * 40})}),
    "query-expired": lambda mk, c, s: ("GET", f"/orders?access_token={mk(claims={'exp': int(c.t) - 120})}", {}),
    "query-disabled": lambda mk, c, s: ("GET", f"/orders?access_token={mk()}", {}),
    "body-expired": lambda mk, c, s: (
        "POST",
        "/orders",
        {"data": f"access_token={mk(claims={'exp': int(c.t) - 120})}", "content_type": FORM},
    ),
    "scope": lambda mk, c, s: ("POST", "/orders", {"token": mk(claims={"scope": "orders:read"})}),
    "step-up": lambda mk, c, s: ("POST", "/payments", {"token": mk(claims={"acr": "urn:example:acr:pwd"})}),
}


@pytest.mark.parametrize("case", sorted(LEAK_CASES), ids=[f"C-6750-31-{c}" for c in sorted(LEAK_CASES)])
def test_C_6750_31_token_never_leaks(api, make_token, clock, settings, caplog, case):
    settings.JWT_AT_TOKEN_METHODS = ["header"] if case == "query-disabled" else ["header", "query", "body"]
    caplog.set_level(logging.DEBUG)
    method, path, kwargs = LEAK_CASES[case](make_token, clock, settings)
    response = api.request(method, path, **kwargs)
    assert response.status_code >= 400
    exchange = api.exchanges[-1]
    assert exchange.secrets, "the case must send a token"
    text = "\n".join(f"{k}: {v}" for k, v in response.items()) + "\n" + response.content.decode("utf-8", "replace")
    for secret in exchange.secrets:
        assert not leaked_substrings(secret, text)
        for record in caplog.records:
            if record.levelno >= logging.INFO:
                assert not leaked_substrings(secret, record.getMessage() + (record.exc_text or ""))


def test_C_6750_31_key_set_unavailable_does_not_leak(api, make_token, server, caplog):
    caplog.set_level(logging.DEBUG)
    server.route("/jwks", "<html>down</html>", status=500, headers={"Content-Type": "text/html"})
    token = make_token()
    response = api.get("/orders", token)
    assert response.status_code == 503
    text = "\n".join(f"{k}: {v}" for k, v in response.items()) + response.content.decode()
    assert not leaked_substrings(token, text)
    for record in caplog.records:
        if record.levelno >= logging.INFO:
            assert not leaked_substrings(token, record.getMessage())


def test_C_6750_32_sanity(api, t0):
    response = api.get("/orders", t0)
    assert response.status_code == 200
    assert "WWW-Authenticate" not in response
