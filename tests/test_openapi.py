"""The drf-spectacular extension (django_jwt_at.openapi): the security scheme it declares
and the per-operation security requirements it derives from the permissions, checked on
the exact schema of a small URLconf. Skipped only where drf-spectacular is not installed
(it is a test requirement).
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("drf_spectacular")

from django.core.exceptions import ImproperlyConfigured
from django.urls import path
from django.utils.decorators import method_decorator
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import patched_settings
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSet

from django_jwt_at.checks import check_settings
from django_jwt_at.decorators import access_token_required, step_up_required
from django_jwt_at.openapi import JWTAccessTokenScheme  # noqa: F401  (registers the extension)
from django_jwt_at.permissions import HasAnyScope, HasRole, HasScope, HasScopeForMethod, StepUpRequired

NAME = "jwtAccessToken"
BEARER = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
OIDC = {"type": "openIdConnect", "openIdConnectUrl": "https://as.example.com/.well-known/openid-configuration"}
OAUTH2 = {
    "type": "oauth2",
    "description": "Tokens of the example authorization server",
    "flows": {
        "authorizationCode": {
            "authorizationUrl": "https://as.example.com/authorize",
            "tokenUrl": "https://as.example.com/token",
            "scopes": {"orders:read": "Read orders", "orders:write": "Place orders"},
        },
        "clientCredentials": {"tokenUrl": "https://as.example.com/token", "scopes": {}},
    },
}


class ReadAdmin(HasScope):
    scopes = ["admin:read"]


def view(*permissions: Any, methods: tuple[str, ...] = ("get",), **attrs: Any) -> Any:
    def handler(self: Any, request: Any) -> Response:
        return Response({})

    members = {"permission_classes": list(permissions), **{m: handler for m in methods}, **attrs}
    return type("V", (APIView,), members).as_view()


class RouteScoped(APIView):
    """Each as_view(required_scopes=...) is documented with its own scopes."""

    permission_classes = [HasScopeForMethod]
    required_scopes: dict[str, list[str]] | None = None

    def get(self, request: Any) -> Response:
        return Response({})


class Refunds(ViewSet):
    """Each @action(required_scopes=...) is documented with its own scopes."""

    permission_classes = [HasScopeForMethod]
    required_scopes = {"read": ["orders:read"]}

    def list(self, request: Any) -> Response:
        return Response([])

    @action(detail=True, methods=["post"], required_scopes={"POST": ["orders:write"]})
    def ship(self, request: Any, pk: str | None = None) -> Response:
        return Response({})

    @action(detail=True, methods=["post"], required_scopes={"POST": ["orders:refund"]})
    def refund(self, request: Any, pk: str | None = None) -> Response:
        return Response({})


router = SimpleRouter(trailing_slash=False)
router.register("refunds", Refunds, basename="refunds")

urlpatterns = [
    path("public", view(AllowAny)),
    path("any-token", view(IsAuthenticated)),
    path("two", view(HasScope("a:x", "b:y"))),
    path("any", view(HasAnyScope("a:x", "b:y"))),
    path("and-or", view((HasScope("a") | HasScope("b")) & HasScope("c"))),
    path("two-entries", view(HasScope("a"), HasAnyScope("b", "c"))),
    path("absorbed", view(HasScope("a") | (HasScope("a") & HasScope("b")))),
    path("drf-first", view(IsAuthenticated & HasScope("a"))),
    path("subclass", view(ReadAdmin)),
    path("step-up", view(HasScope("pay") & StepUpRequired(acr_values=["urn:example:acr:mfa"], max_age=300))),
    path("role-or-scope", view(HasRole("admin") | HasScope("admin"))),
    path("not", view(~HasScope("admin"))),
    path(
        "orders",
        view(
            HasScopeForMethod({"read": ["orders:read"], "write": ["orders:write"], "DELETE": ["orders:admin"]}),
            methods=("get", "post", "delete"),
        ),
    ),
    path(
        "view-mapping",
        view(HasScopeForMethod, methods=("get", "put"), required_scopes={"GET": ["r"]}),
    ),
    path("route-a", RouteScoped.as_view(required_scopes={"GET": ["route:a"]})),
    path("route-b", RouteScoped.as_view(required_scopes={"GET": ["route:b"]})),
    *router.urls,
]


def function_views() -> list[Any]:
    """DRF function views with the decorators, on either side of @api_view. Built when the
    schema is: @api_view fixes the view's schema class (DEFAULT_SCHEMA_CLASS) when it runs."""

    def handler(request: Any) -> Response:
        return Response({})

    def method_decorated() -> Any:
        decorated = method_decorator(access_token_required(scopes=["m"]))(lambda self, request: Response({}))
        return type("V", (APIView,), {"get": decorated}).as_view()

    mfa = ["urn:example:acr:mfa"]
    return [
        path("fn-scopes", api_view(["GET"])(access_token_required(scopes=["a", "b"])(handler))),
        path("fn-any", api_view(["GET"])(access_token_required(scopes=["a"], any_scopes=["b", "c"])(handler))),
        path(
            "fn-step-up",
            api_view(["POST"])(step_up_required(acr_values=mfa, max_age=300, scopes=["payments:write"])(handler)),
        ),
        path("fn-step-up-only", api_view(["POST"])(step_up_required(max_age=300)(handler))),
        path("fn-bare", api_view(["GET"])(access_token_required(handler))),
        path(
            "fn-permission",
            api_view(["GET"])(permission_classes([HasScope("p")])(access_token_required(scopes=["d"])(handler))),
        ),
        path("fn-outer", access_token_required(scopes=["a"])(api_view(["GET"])(handler))),
        path("fn-outer-step-up", step_up_required(acr_values=mfa, scopes=["pay"])(api_view(["POST"])(handler))),
        path("method-decorator", method_decorated()),
    ]


#: path -> method -> scope alternatives (one security requirement each).
SCOPES = {
    "/any-token": {"get": [[]]},
    "/two": {"get": [["a:x", "b:y"]]},
    "/any": {"get": [["a:x"], ["b:y"]]},
    "/and-or": {"get": [["a", "c"], ["b", "c"]]},
    "/two-entries": {"get": [["a", "b"], ["a", "c"]]},
    "/absorbed": {"get": [["a"]]},
    "/drf-first": {"get": [["a"]]},
    "/subclass": {"get": [["admin:read"]]},
    "/step-up": {"get": [["pay"]]},
    "/role-or-scope": {"get": [[]]},
    "/not": {"get": [[]]},
    "/orders": {"get": [["orders:read"]], "post": [["orders:write"]], "delete": [["orders:admin"]]},
    # PUT has no entry: never granted, so no scope would help.
    "/view-mapping": {"get": [["r"]], "put": [[]]},
    "/route-a": {"get": [["route:a"]]},
    "/route-b": {"get": [["route:b"]]},
    "/refunds": {"get": [["orders:read"]]},
    "/refunds/{id}/ship": {"post": [["orders:write"]]},
    "/refunds/{id}/refund": {"post": [["orders:refund"]]},
    "/fn-scopes": {"get": [["a", "b"]]},
    "/fn-any": {"get": [["a", "b"], ["a", "c"]]},
    "/fn-step-up": {"post": [["payments:write"]]},
    "/fn-step-up-only": {"post": [[]]},
    "/fn-bare": {"get": [[]]},
    "/fn-permission": {"get": [["p", "d"]]},
    "/fn-outer": {"get": [["a"]]},
    "/fn-outer-step-up": {"post": [["pay"]]},
    "/method-decorator": {"get": [["m"]]},
}


@pytest.fixture(autouse=True)
def schema_settings(settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    }


def schema(oas_version: str = "3.0.3") -> dict[str, Any]:
    with patched_settings({"OAS_VERSION": oas_version}):
        return SchemaGenerator(patterns=[*urlpatterns, *function_views()]).get_schema(request=None, public=True)


def security(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        route: {method: operation.get("security") for method, operation in operations.items()}
        for route, operations in document["paths"].items()
    }


def expected(with_scopes: bool) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {"/public": {"get": [{NAME: []}, {}]}}
    for route, methods in SCOPES.items():
        result[route] = {
            method: [{NAME: scopes} for scopes in alternatives] if with_scopes else [{NAME: []}]
            for method, alternatives in methods.items()
        }
    return result


def test_default_bearer_scheme_under_openapi_3_0_lists_no_scopes():
    # OpenAPI 3.0.3 §4.7.30: scopes only for oauth2/openIdConnect; the array MUST be empty otherwise.
    document = schema()
    assert document["openapi"] == "3.0.3"
    assert document["components"]["securitySchemes"] == {NAME: BEARER}
    assert security(document) == expected(with_scopes=False)


def test_default_bearer_scheme_under_openapi_3_1_lists_scopes():
    document = schema("3.1.0")
    assert document["components"]["securitySchemes"] == {NAME: BEARER}
    assert security(document) == expected(with_scopes=True)


@pytest.mark.parametrize("scheme", [OIDC, OAUTH2], ids=["openIdConnect", "oauth2"])
def test_configured_scheme_lists_scopes(settings, scheme):
    settings.JWT_AT_OPENAPI_SECURITY_SCHEME = scheme
    document = schema()
    assert document["components"]["securitySchemes"] == {NAME: scheme}
    assert security(document) == expected(with_scopes=True)


@pytest.mark.parametrize(
    ("scheme", "why"),
    [
        ("bearer", "it must be None or a dict (an OpenAPI Security Scheme Object)"),
        ({"type": "apiKey", "in": "header", "name": "X"}, "its type must be 'http', 'oauth2' or 'openIdConnect'"),
        ({"type": "http", "scheme": "basic"}, "an http scheme must have scheme 'bearer' (RFC 6750)"),
        ({"type": "openIdConnect"}, "an openIdConnect scheme needs openIdConnectUrl"),
        ({"type": "oauth2", "flows": {}}, "an oauth2 scheme needs a non-empty dict of flows"),
        (
            {"type": "oauth2", "flows": {"implicit": {"scopes": {}}}},
            "the implicit flow needs the string members ['authorizationUrl']",
        ),
        (
            {"type": "oauth2", "flows": {"password": {"tokenUrl": "https://as.example.com/token"}}},
            "the password flow needs scopes: a dict of scope to description",
        ),
        (
            {"type": "oauth2", "flows": {"device": {"scopes": {}}}},
            "'device' is not an OAuth 2.0 flow of OpenAPI "
            "(['authorizationCode', 'clientCredentials', 'implicit', 'password'])",
        ),
        ({**OIDC, "flows": {}}, "it has members that a openIdConnect scheme does not have: ['flows']"),
    ],
    ids=[
        "not-a-dict",
        "api-key",
        "basic",
        "oidc-without-url",
        "no-flows",
        "flow-url",
        "flow-scopes",
        "flow-name",
        "extra",
    ],
)
def test_E040_invalid_scheme(settings, scheme, why):
    settings.JWT_AT_OPENAPI_SECURITY_SCHEME = scheme
    errors = [m for m in check_settings() if m.id == "django_jwt_at.E040"]
    assert [e.msg for e in errors] == [f"JWT_AT_OPENAPI_SECURITY_SCHEME is not valid: {why}."]
    with pytest.raises(ImproperlyConfigured, match=r"django_jwt_at\.E040"):
        schema()


def test_valid_schemes_pass_the_checks(settings):
    for scheme in (None, BEARER, {**BEARER, "description": "d", "x-internal": True}, OIDC, OAUTH2):
        settings.JWT_AT_OPENAPI_SECURITY_SCHEME = scheme
        assert [m.id for m in check_settings()] == []


def test_the_app_loads_the_extension_when_drf_spectacular_is_installed():
    import subprocess
    import sys

    program = (
        "import sys, django; from django.conf import settings; "
        "settings.configure(INSTALLED_APPS=[*sys.argv[1:], 'rest_framework', 'django_jwt_at']); django.setup(); "
        "print('django_jwt_at.openapi' in sys.modules)"
    )
    for apps, loaded in (([], "False"), (["drf_spectacular"], "True")):
        result = subprocess.run(
            [sys.executable, "-c", program, *apps], capture_output=True, text=True, check=True, timeout=60
        )
        assert result.stdout.strip() == loaded
