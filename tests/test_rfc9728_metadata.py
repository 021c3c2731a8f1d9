"""Conformance spec section 4: RFC 9728 protected resource metadata.

The metadata URL, the ``resource`` value and every ``resource_metadata`` challenge
parameter come from settings only (C-9728-12); the expected values here are written out
from the fixture profile, not computed by the library.
"""

from __future__ import annotations

import json

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from django_jwt_at.metadata import collect_scopes

from .helpers import FX_AUD, FX_ISS, FX_ISS2, D, bearer

RESOURCE = FX_AUD  # https://rs.example.com
WELL_KNOWN = "/.well-known/oauth-protected-resource"
METADATA_URL = "https://rs.example.com/.well-known/oauth-protected-resource"
#: Every scope the views of tests/urls.py enforce through this package, in URLconf order.
TEST_URLCONF_SCOPES = ["orders:read", "orders:write", "payments:write", "a:x", "b:y"]


@pytest.fixture
def resource(settings):
    settings.JWT_AT_RESOURCE = RESOURCE
    settings.JWT_AT_DPOP = "off"
    return settings


def document(response):
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


def test_C_9728_01_metadata_at_the_well_known_uri(api, resource):
    response = api.get(WELL_KNOWN)
    assert response.status_code == 200
    assert document(response)["resource"] == "https://rs.example.com"


def test_C_9728_02_path_suffixed_form(api, resource):
    resource.JWT_AT_RESOURCE = "https://rs.example.com/api/v1"
    response = api.get(WELL_KNOWN + "/api/v1")
    assert response.status_code == 200
    assert document(response)["resource"] == "https://rs.example.com/api/v1"
    # Not the OIDC-style appended form, and not the host-level document either.
    assert api.get("/api/v1" + WELL_KNOWN).status_code == 404
    assert api.get(WELL_KNOWN).status_code == 404
    assert api.get(WELL_KNOWN + "/api/v2").status_code == 404


def test_C_9728_02_root_resource_with_terminating_slash(api, resource):
    resource.JWT_AT_RESOURCE = "https://rs.example.com/"
    response = api.get(WELL_KNOWN)
    assert response.status_code == 200
    assert document(response)["resource"] == "https://rs.example.com/"
    assert api.get(WELL_KNOWN + "/").status_code == 404


def test_C_9728_03_authorization_servers_scopes_and_methods(api, resource, fx):
    resource.JWT_AT_RESOURCE_METADATA = {"resource_name": "Orders API"}
    fx.add_iss2()
    response = api.get(WELL_KNOWN)
    assert response.status_code == 200
    assert document(response) == {
        "resource": "https://rs.example.com",
        "authorization_servers": [FX_ISS, FX_ISS2],
        "scopes_supported": TEST_URLCONF_SCOPES,
        "bearer_methods_supported": ["header"],
        "resource_name": "Orders API",
    }
    assert "jwks_uri" not in document(response)  # never the AS key set (RFC 9728 §2)


def test_C_9728_03_scopes_collected_from_the_urlconf():
    # HasScope, HasAnyScope, & and |, scopes picked in get_permissions; ~HasScope is not a
    # supported scope; HasRole and StepUpRequired add none.
    assert list(collect_scopes("tests.urls")) == TEST_URLCONF_SCOPES


def test_C_9728_03_scopes_from_decorators_and_per_method_mappings():
    assert list(collect_scopes("tests.metadata_urls")) == ["d:read", "d:any1", "d:any2", "m:read", "m:write"]


def test_C_9728_03_extra_fields_and_configured_scopes(api, resource):
    resource.JWT_AT_TOKEN_METHODS = ["header", "query", "body"]
    resource.JWT_AT_RESOURCE_METADATA = {
        "resource_name": "Orders API",
        "resource_documentation": "https://rs.example.com/docs",
        "resource_policy_uri": "https://rs.example.com/policy",
        "resource_tos_uri": "https://rs.example.com/tos",
        "scopes_supported": ["orders:read"],
        "authorization_servers": ["https://login.example.com"],
    }
    body = document(api.get(WELL_KNOWN))
    assert body == {
        "resource": "https://rs.example.com",
        "authorization_servers": ["https://login.example.com"],
        "scopes_supported": ["orders:read"],
        "bearer_methods_supported": ["header", "body", "query"],
        "resource_name": "Orders API",
        "resource_documentation": "https://rs.example.com/docs",
        "resource_policy_uri": "https://rs.example.com/policy",
        "resource_tos_uri": "https://rs.example.com/tos",
    }


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("off", {}),
        ("optional", {"dpop_signing_alg_values_supported": ["ES256", "PS256"]}),
        (
            "required",
            {"dpop_signing_alg_values_supported": ["ES256", "PS256"], "dpop_bound_access_tokens_required": True},
        ),
    ],
    ids=["C-9728-04-off", "C-9728-04-optional", "C-9728-04-required"],
)
def test_C_9728_04_dpop_parameters_follow_the_mode(api, resource, mode, expected):
    resource.JWT_AT_DPOP = mode
    body = document(api.get(WELL_KNOWN))
    assert {k: v for k, v in body.items() if k.startswith("dpop_")} == expected
    if mode != "off":
        # The same list as the algs of the DPoP challenge.
        challenge = api.get("/orders")["WWW-Authenticate"]
        assert f'algs="{" ".join(body["dpop_signing_alg_values_supported"])}"' in challenge


def test_C_9728_04_algorithms_setting(api, resource):
    resource.JWT_AT_DPOP = "optional"
    resource.JWT_AT_DPOP_ALGORITHMS = ["PS256", "ES384"]
    assert document(api.get(WELL_KNOWN))["dpop_signing_alg_values_supported"] == ["PS256", "ES384"]
    assert 'DPoP algs="PS256 ES384"' in api.get("/orders")["WWW-Authenticate"]


def test_C_9728_05_required_mode_has_no_bearer_methods(api, resource):
    resource.JWT_AT_DPOP = "required"
    body = document(api.get(WELL_KNOWN))
    assert body["bearer_methods_supported"] == []


@override_settings(ROOT_URLCONF="tests.metadata_only_urls")
def test_C_9728_05_no_scopes_means_no_scopes_supported(api, resource):
    body = document(api.get(WELL_KNOWN))
    assert "scopes_supported" not in body
    assert body == {
        "resource": "https://rs.example.com",
        "authorization_servers": [FX_ISS],
        "bearer_methods_supported": ["header"],
    }


def test_C_9728_06_no_none_and_https_only(api, resource):
    resource.JWT_AT_RESOURCE_METADATA = {"resource_signing_alg_values_supported": ["ES256"]}
    body = document(api.get(WELL_KNOWN))
    assert "none" not in body["resource_signing_alg_values_supported"]
    urls = [body["resource"], *body["authorization_servers"]]
    assert all(u.startswith("https://") for u in urls)


@pytest.mark.parametrize(
    "setting, value",
    [
        ("JWT_AT_RESOURCE_METADATA", {"resource_signing_alg_values_supported": ["none"]}),
        ("JWT_AT_RESOURCE_METADATA", {"resource_documentation": "http://docs.example.com"}),
        ("JWT_AT_RESOURCE_METADATA", {"resource_tos_uri": "ftp://rs.example.com/tos"}),
        ("JWT_AT_RESOURCE_METADATA", {"dpop_bound_access_tokens_required": True}),
        ("JWT_AT_RESOURCE_METADATA", {"tls_client_certificate_bound_access_tokens": True}),
        ("JWT_AT_RESOURCE_METADATA", {"scopes_supported": []}),
        ("JWT_AT_RESOURCE_METADATA", ["resource_name"]),
        ("JWT_AT_RESOURCE", "http://rs.example.com"),
        ("JWT_AT_RESOURCE", "https://rs.example.com/#frag"),
        ("JWT_AT_RESOURCE", "https://rs.example.com/?q=1"),
        ("JWT_AT_RESOURCE", "https://rs.example.com/api/"),
        ("JWT_AT_RESOURCE", 42),
    ],
    ids=[
        "C-9728-06-none",
        "C-9728-06-http-documentation",
        "C-9728-06-ftp",
        "C-9728-06-derived-field",
        "certificate-binding-not-enforced",
        "C-9728-06-empty-scopes",
        "C-9728-06-not-a-dict",
        "C-9728-06-http-resource",
        "C-9728-06-fragment",
        "C-9728-06-query",
        "C-9728-06-trailing-slash-path",
        "C-9728-06-not-a-string",
    ],
)
def test_C_9728_06_invalid_settings_are_system_check_errors(settings, setting, value):
    setattr(settings, setting, value)
    ids = {m.id for m in run_checks() if m.id.startswith("django_jwt_at.")}
    assert ids == {"django_jwt_at.E031" if setting == "JWT_AT_RESOURCE_METADATA" else "django_jwt_at.E030"}


def test_metadata_never_advertises_certificate_binding(api, resource):
    """The package refuses certificate-bound tokens, so the document must not promise them
    (RFC 9728 §2, RFC 8705 §3); False may be stated."""
    from django.core.exceptions import ImproperlyConfigured

    from django_jwt_at.conf import get_config

    resource.JWT_AT_RESOURCE_METADATA = {"tls_client_certificate_bound_access_tokens": True}
    with pytest.raises(ImproperlyConfigured, match="E031"):
        get_config()
    resource.JWT_AT_RESOURCE_METADATA = {"tls_client_certificate_bound_access_tokens": False}
    assert document(api.get(WELL_KNOWN))["tls_client_certificate_bound_access_tokens"] is False


def test_metadata_advertises_certificate_binding_when_it_is_enforced(api, resource):
    """RFC 9728 §2, RFC 8705 §3: true exactly when JWT_AT_MTLS_CERT_HEADER makes the
    package verify certificate-bound tokens; derived, and stating the opposite is E031."""
    from django.core.exceptions import ImproperlyConfigured

    from django_jwt_at.conf import get_config

    resource.JWT_AT_MTLS_CERT_HEADER = "Client-Cert"
    body = document(api.get(WELL_KNOWN))
    assert body == {
        "resource": "https://rs.example.com",
        "authorization_servers": [FX_ISS],
        "scopes_supported": TEST_URLCONF_SCOPES,
        "bearer_methods_supported": ["header"],
        "tls_client_certificate_bound_access_tokens": True,
    }
    resource.JWT_AT_RESOURCE_METADATA = {"tls_client_certificate_bound_access_tokens": True}
    assert document(api.get(WELL_KNOWN))["tls_client_certificate_bound_access_tokens"] is True
    resource.JWT_AT_RESOURCE_METADATA = {"tls_client_certificate_bound_access_tokens": False}
    with pytest.raises(ImproperlyConfigured, match="E031"):
        get_config()
    resource.JWT_AT_RESOURCE_METADATA = {}
    resource.JWT_AT_MTLS_CERT_HEADER = None
    assert "tls_client_certificate_bound_access_tokens" not in document(api.get(WELL_KNOWN))


def test_C_9728_07_credentials_are_ignored(api, resource):
    response = api.get(WELL_KNOWN, authorization="Bearer garbage")
    assert response.status_code == 200
    assert document(response)["resource"] == RESOURCE
    assert "WWW-Authenticate" not in response


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"], ids=lambda m: f"C-9728-08-{m}")
def test_C_9728_08_only_get(api, resource, method):
    assert api.request(method, WELL_KNOWN).status_code == 405


def test_C_9728_08_head_is_get(api, resource):
    assert api.request("HEAD", WELL_KNOWN).status_code == 200


def _cases(make_token, clock):
    return {
        "C-6750-01": ("GET", "/orders", None, None),
        "C-6750-10": ("GET", "/orders", make_token(claims={"exp": int(clock.t) - 120}), None),
        "C-6750-11": ("POST", "/orders", make_token(claims={"scope": "orders:read"}), None),
        "C-6750-05": ("GET", "/orders", None, "Bearer"),
    }


EXPECTED = {
    "C-6750-01": (401, {}),
    "C-6750-10": (401, {"error": "invalid_token", "description": D["expired"]}),
    "C-6750-11": (403, {"error": "insufficient_scope", "description": D["scope"], "scope": "orders:write"}),
    "C-6750-05": (400, {"error": "invalid_request", "description": D["malformed-header"]}),
}


@pytest.mark.parametrize("case", list(EXPECTED), ids=lambda c: f"C-9728-09-{c}")
def test_C_9728_09_resource_metadata_on_every_challenge(api, resource, make_token, clock, case):
    method, path, token, authorization = _cases(make_token, clock)[case]
    response = api.request(method, path, token, authorization=authorization)
    status, params = EXPECTED[case]
    assert response.status_code == status
    assert response["WWW-Authenticate"] == bearer(**params, resource_metadata=METADATA_URL)


@pytest.mark.parametrize("case", list(EXPECTED), ids=lambda c: f"C-9728-10-{c}")
def test_C_9728_10_same_status_and_params_without_resource_metadata(api, settings, make_token, clock, case):
    settings.JWT_AT_DPOP = "off"
    method, path, token, authorization = _cases(make_token, clock)[case]
    without = api.request(method, path, token, authorization=authorization)
    settings.JWT_AT_RESOURCE = RESOURCE
    with_metadata = api.request(method, path, token, authorization=authorization)
    status, params = EXPECTED[case]
    assert without.status_code == with_metadata.status_code == status
    assert without["WWW-Authenticate"] == bearer(**params)
    assert with_metadata["WWW-Authenticate"] == bearer(**params, resource_metadata=METADATA_URL)


def test_C_9728_11_dpop_optional_both_challenges_carry_it(api, resource):
    resource.JWT_AT_DPOP = "optional"
    response = api.get("/orders")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        f'Bearer realm="api", resource_metadata="{METADATA_URL}", DPoP algs="ES256 PS256", '
        f'resource_metadata="{METADATA_URL}"'
    )


def test_C_9728_11_dpop_required(api, resource):
    resource.JWT_AT_DPOP = "required"
    response = api.get("/orders")
    assert response["WWW-Authenticate"] == f'DPoP algs="ES256 PS256", resource_metadata="{METADATA_URL}"'


@pytest.mark.parametrize(
    "extra",
    [{"HTTP_HOST": "api.internal:8000"}, {"HTTP_X_FORWARDED_HOST": "evil.example"}],
    ids=["C-9728-12-host", "C-9728-12-x-forwarded-host"],
)
def test_C_9728_12_host_headers_are_never_reflected(api, resource, settings, extra):
    settings.ALLOWED_HOSTS = ["testserver", "api.internal"]
    settings.USE_X_FORWARDED_HOST = True
    body = document(api.get(WELL_KNOWN, **extra))
    assert body["resource"] == RESOURCE
    challenge = api.get("/orders", **extra)["WWW-Authenticate"]
    assert challenge == bearer(resource_metadata=METADATA_URL)


def test_C_9728_13_resource_metadata_is_a_quoted_absolute_https_url(api, resource):
    value = api.get("/orders")["WWW-Authenticate"]
    assert f'resource_metadata="{METADATA_URL}"' in value
    assert METADATA_URL.startswith("https://")


def test_C_9728_13_path_resource_metadata_url(api, resource):
    resource.JWT_AT_RESOURCE = "https://rs.example.com/api/v1"
    value = api.get("/orders")["WWW-Authenticate"]
    assert value == bearer(resource_metadata="https://rs.example.com/.well-known/oauth-protected-resource/api/v1")


def test_C_9728_14_cache_control_max_age(api, resource):
    response = api.get(WELL_KNOWN)
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert directives == {"public", "max-age=3600"}


def test_C_9728_14_no_resource_configured_is_404(api, settings):
    assert api.get(WELL_KNOWN).status_code == 404


@pytest.mark.skip(reason="signed_metadata (RFC 9728 §2.2) is not implemented; the document is never signed")
def test_C_9728_15_signed_metadata():
    raise AssertionError("not implemented")
