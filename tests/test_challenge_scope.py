"""``JWT_AT_CHALLENGE_SCOPE``: the 401 without credentials names the scopes the view
requires (RFC 6750 §3 allows ``scope`` on any challenge; the MCP authorization spec says
servers SHOULD send it), so a client asks the authorization server for those only.

Every way a 401 without credentials is produced: this package's permissions, DRF's
``NotAuthenticated`` (its header from ``authenticate_header``), the decorators on plain
Django views (sync and async) and on DRF function views, in each DPoP mode.
"""

from __future__ import annotations

import pytest

from .helpers import D, bearer, dpop, json_body, our_messages

pytestmark = pytest.mark.urls("tests.challenge_scope_urls")

RS = "https://rs.example.com"
METADATA = RS + "/.well-known/oauth-protected-resource"


@pytest.fixture
def on(settings):
    settings.JWT_AT_CHALLENGE_SCOPE = True
    return settings


def assert_401(response, expected):
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == expected
    assert "error" not in json_body(response)


@pytest.mark.parametrize(
    "method, path, scope",
    [
        ("GET", "/scoped", "orders:read"),
        ("GET", "/is-authenticated-first", "orders:read orders:write"),
        ("GET", "/drf-and", "a:x"),
        ("GET", "/composed", "a:x b:y"),
        ("GET", "/any-of", "a:x"),
        ("GET", "/and-of-or", "x:1 a:x"),
        ("GET", "/for-method", "r:read"),
        ("POST", "/for-method", "w:write r:read"),
        ("GET", "/plain/sync", "orders:read x:one"),
        ("GET", "/plain/async", "orders:read"),
        ("GET", "/drf-fn/default", "orders:read"),
        ("GET", "/drf-fn/decorator", "orders:read"),
        ("GET", "/drf-fn/both", "a:x orders:read"),
    ],
    ids=[
        "our-permission",
        "drf-not-authenticated-composes-every-permission",
        "drf-and-operator",
        "and-step-up-and-any-scope-without-repetition",
        "or-names-its-first-operand",
        "and-of-or",
        "for-method-get",
        "for-method-post",
        "plain-sync-decorator-first-alternative",
        "plain-async-decorator",
        "drf-function-view-refused-by-is-authenticated",
        "drf-function-view-refused-by-the-decorator",
        "drf-function-view-permissions-and-decorator",
    ],
)
def test_no_credentials_names_the_view_scopes(api, on, method, path, scope):
    assert_401(api.request(method, path), bearer(scope=scope))


@pytest.mark.parametrize("path", ["/not", "/role"], ids=["negated-scope", "role"])
def test_views_that_require_no_scope_send_none(api, on, path):
    assert_401(api.get(path), bearer())


@pytest.mark.parametrize("path", ["/scoped", "/is-authenticated-first", "/plain/sync", "/drf-fn/default"])
def test_off_by_default(api, path):
    assert_401(api.get(path), bearer())


def test_on_both_challenges_with_dpop_and_metadata(api, on):
    on.JWT_AT_DPOP = "optional"
    on.JWT_AT_RESOURCE = RS
    expected = (
        f"{bearer(scope='orders:read orders:write', resource_metadata=METADATA)}, "
        f"{dpop(scope='orders:read orders:write', resource_metadata=METADATA)}"
    )
    assert_401(api.get("/is-authenticated-first"), expected)
    assert_401(api.get("/scoped"), expected.replace(" orders:write", ""))


@pytest.mark.parametrize(
    "path, scope",
    [("/dpop-required", "orders:read"), ("/drf-fn/dpop-required", "orders:read")],
    ids=["view-attribute", "decorator-argument"],
)
def test_dpop_required_views(api, on, make_token, path, scope):
    assert_401(api.get(path), dpop(scope=scope))
    # A Bearer token where only DPoP is accepted: an unsupported method, answered as
    # without credentials (RFC 6750 §3.1), with the scopes too.
    assert_401(api.get(path, make_token()), dpop(scope=scope))


def test_errors_keep_their_own_scope(api, on, make_token, clock):
    # An invalid token: invalid_token, no scope (the scope is for requests without one).
    response = api.get("/scoped", make_token(claims={"exp": int(clock.t) - 120}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == bearer("invalid_token", D["expired"])
    # A token without the scope: the insufficient_scope answer is unchanged.
    response = api.get("/is-authenticated-first", make_token(claims={"scope": "orders:read"}))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == bearer("insufficient_scope", D["scope"], scope="orders:write")
    assert api.get("/is-authenticated-first", make_token()).status_code == 200


def test_insufficient_scope_of_an_and_of_an_or(api, make_token):
    """``|`` inside ``&`` contributes its first operand's scopes to the combined answer,
    as it does to the challenge without credentials (setting on or off)."""
    response = api.get("/and-of-or", make_token(claims={"scope": "x:1"}))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == bearer("insufficient_scope", D["scope"], scope="x:1 a:x")
    assert api.get("/and-of-or", make_token(claims={"scope": "x:1 b:y"})).status_code == 200


def test_plain_view_with_an_invalid_token_has_no_scope(api, on, make_token):
    response = api.get("/plain/sync", make_token(header={"typ": "JWT"}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == bearer("invalid_token", D["typ"])


@pytest.mark.parametrize("value", [1, "yes", None], ids=["int", "str", "none"])
def test_E053_not_a_bool(settings, value):
    settings.JWT_AT_CHALLENGE_SCOPE = value
    messages = our_messages()
    assert [m.id for m in messages] == ["django_jwt_at.E053"], messages
    assert "JWT_AT_CHALLENGE_SCOPE" in messages[0].msg
