"""Issue 3: permission composition (&, |, ~), both call forms and the subclass form,
per-method scopes, and the view decorators on DRF function views and plain sync/async
Django views. Views live in this module (``pytest.mark.urls``)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import JsonResponse
from django.urls import path
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSet

from django_jwt_at.authentication import JWTAccessTokenAuthentication
from django_jwt_at.decorators import access_token_required, step_up_required
from django_jwt_at.metadata import collect_scopes
from django_jwt_at.permissions import (
    AllOf,
    AnyOf,
    HasAnyScope,
    HasRole,
    HasScope,
    HasScopeForMethod,
    StepUpRequired,
)

from .helpers import HWK, MFA, NO_CREDENTIALS, PWD, D, bearer, insufficient_scope, invalid_token, json_body

pytestmark = pytest.mark.urls(__name__)

STEP_UP_ACR = bearer("insufficient_user_authentication", D["acr"], acr_values=MFA)


def _view(*permissions, authentication=None):
    class View(APIView):
        permission_classes = list(permissions)
        if authentication is not None:
            authentication_classes = authentication

        def get(self, request):
            return Response({"sub": request.auth.subject})

        post = put = delete = get

    return View.as_view()


class ReadOrders(HasScope):
    scopes = ["orders:read"]


class MfaStepUp(StepUpRequired):
    acr_values = [MFA]
    max_age = 300


class WriteOrders(HasScope):
    scopes = ["orders:write"]


class ScopeA(HasScope):
    scopes = ["a:x"]


class LoopSensitiveAuthentication(JWTAccessTokenAuthentication):
    """Records whether get_user ran on an event loop (where a database query would fail)."""

    calls: list[bool] = []

    def get_user(self, token):
        import asyncio

        try:
            asyncio.get_running_loop()
            self.calls.append(True)
        except RuntimeError:
            self.calls.append(False)
        return super().get_user(token)


@access_token_required(authentication_class=LoopSensitiveAuthentication)
async def plain_async_user(request):
    return JsonResponse({"user": request.user.username})


class OrdersView(APIView):
    permission_classes = [HasScopeForMethod]
    required_scopes = {"GET": ["orders:read"], "write": ["orders:write"], "DELETE": ["orders:admin"]}

    def get(self, request):
        return Response({"ok": True})

    post = put = delete = get


class RouteScopedView(APIView):
    """One view class behind two routes, each with its own ``as_view(required_scopes=...)``."""

    permission_classes = [HasScopeForMethod]
    required_scopes: dict[str, list[str]] | None = None

    def get(self, request):
        return Response({"ok": True})


class OrderActions(ViewSet):
    """Two ``@action`` routes of one ViewSet, each with its own ``required_scopes``."""

    permission_classes = [HasScopeForMethod]
    required_scopes = {"read": ["orders:read"], "write": ["orders:write"]}

    def list(self, request):
        return Response({"ok": True})

    @action(detail=True, methods=["post"], required_scopes={"POST": ["orders:write"]})
    def ship(self, request, pk=None):
        return Response({"shipped": pk})

    @action(detail=True, methods=["post"], required_scopes={"POST": ["orders:refund"]})
    def refund(self, request, pk=None):
        return Response({"refunded": pk})


actions_router = SimpleRouter(trailing_slash=False)
actions_router.register("order-actions", OrderActions, basename="order-actions")


@access_token_required(scopes=["orders:read"])
def plain_sync(request):
    return JsonResponse({"sub": request.auth.subject, "user": request.user.username})


@access_token_required(scopes=["orders:read"])
async def plain_async(request):
    return JsonResponse({"sub": request.auth.subject, "user": request.user.username})


@access_token_required
def plain_bare(request):
    return JsonResponse({"sub": request.auth.subject})


@step_up_required(acr_values=[MFA], max_age=300)
def plain_step_up(request):
    return JsonResponse({"ok": True})


@api_view(["GET"])
@permission_classes([])
@access_token_required(scopes=["orders:read"], roles=["admin"])
def drf_function(request):
    return Response({"sub": request.auth.subject})


@api_view(["GET"])
@permission_classes([HasScope("orders:read")])
def drf_equivalent(request):
    return Response({"sub": request.auth.subject})


urlpatterns = [
    path("or", _view(HasScope("a:x") | HasScope("b:y"))),
    path("and", _view(HasScope("a:x") & HasScope("b:y"))),
    path("not", _view(~HasScope("orders:write"))),
    path("drf-and", _view(IsAuthenticated & HasScope("a:x"))),
    path("or-drf", _view(HasScope("a:x") | IsAdminUser)),
    path("any", _view(HasAnyScope("a:x", "orders:read"))),
    path("any-none", _view(HasAnyScope("a:x", "b:y"))),
    path("groups", _view(HasRole("ops", claim="groups"))),
    path("subclass", _view(ReadOrders)),
    path("subclass-and", _view(ReadOrders & MfaStepUp)),
    path("class-or", _view(ScopeA | WriteOrders)),
    path("class-not", _view(~WriteOrders)),
    path("drf-class-and", _view(IsAuthenticated & ScopeA)),
    path("and-partial", _view(HasScope("orders:read") & HasScope("a:x"))),
    path("plain-async-user", plain_async_user),
    path("stepup-scope", _view(HasScope("payments:write") & MfaStepUp)),
    path("methods", OrdersView.as_view()),
    path(
        "session-scope",
        _view(HasScope("orders:read"), authentication=[SessionAuthentication, JWTAccessTokenAuthentication]),
    ),
    path(
        "session-not",
        _view(~HasScope("orders:write"), authentication=[SessionAuthentication, JWTAccessTokenAuthentication]),
    ),
    path("route-read", RouteScopedView.as_view(required_scopes={"GET": ["reports:read"]})),
    path("route-admin", RouteScopedView.as_view(required_scopes={"GET": ["reports:admin"]})),
    path("route-unset", RouteScopedView.as_view()),
    *actions_router.urls,
    path("methods-arg", _view(HasScopeForMethod({"read": ["orders:read"], "POST": ["orders:write"]}))),
    path("plain-sync", plain_sync),
    path("plain-async", plain_async),
    path("plain-bare", plain_bare),
    path("plain-step-up", plain_step_up),
    path("drf-function", drf_function),
    path("drf-equivalent", drf_equivalent),
]


# --- | & ~ -------------------------------------------------------------------------------


def test_or_admits_either_alternative(api, make_token):
    assert api.get("/or", make_token(claims={"scope": "b:y"})).status_code == 200
    assert api.get("/or", make_token(claims={"scope": "a:x"})).status_code == 200


def test_or_failing_answers_with_first_alternative(api, make_token):
    response = api.get("/or", make_token(claims={"scope": "orders:read"}))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == insufficient_scope("a:x")


def test_and_lists_every_missing_scope_in_one_challenge(api, make_token):
    response = api.get("/and", make_token(claims={"scope": "orders:read"}))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == insufficient_scope("a:x b:y")
    assert api.get("/and", make_token(claims={"scope": "a:x b:y"})).status_code == 200


def test_not_grants_a_token_without_the_scope(api, make_token):
    assert api.get("/not", make_token(claims={"scope": "orders:read"})).status_code == 200


def test_not_refuses_a_token_with_the_scope(api, make_token):
    response = api.get("/not", make_token())
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == insufficient_scope()


def test_not_never_grants_a_request_without_token(api):
    response = api.get("/not")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == NO_CREDENTIALS


def test_drf_permission_first_in_and(api, make_token):
    response = api.get("/drf-and", make_token())
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == insufficient_scope("a:x")
    assert api.get("/drf-and", make_token(claims={"scope": "a:x"})).status_code == 200
    no_token = api.get("/drf-and")
    assert (no_token.status_code, no_token["WWW-Authenticate"]) == (401, NO_CREDENTIALS)


def test_drf_permission_as_second_alternative(api, make_token):
    # The token user is never staff: IsAdminUser refuses, so the first alternative's challenge stands.
    response = api.get("/or-drf", make_token())
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == insufficient_scope("a:x")
    assert api.get("/or-drf", make_token(claims={"scope": "a:x"})).status_code == 200


def test_has_any_scope(api, make_token):
    assert api.get("/any", make_token()).status_code == 200
    response = api.get("/any-none", make_token())
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == insufficient_scope("a:x")


def test_has_role_on_groups_claim(api, make_token):
    assert api.get("/groups", make_token(claims={"groups": ["ops", "dev"]})).status_code == 200
    for groups in (["dev"], "ops", [1]):
        response = api.get("/groups", make_token(claims={"groups": groups}))
        assert response.status_code == 403
        assert response["WWW-Authenticate"] == insufficient_scope()


@pytest.mark.parametrize("url", ["/session-scope", "/session-not"], ids=["scope", "not"])
def test_request_authenticated_by_another_class_gets_drfs_usual_403(api, url, django_user_model):
    api.client.force_login(django_user_model.objects.create_user("alice"))
    response = api.get(url)
    assert response.status_code == 403
    assert "WWW-Authenticate" not in response


@pytest.mark.parametrize("url", ["/session-scope", "/session-not"], ids=["scope", "not"])
def test_request_authenticated_by_nobody_gets_the_bearer_challenge_whatever_comes_first(api, url):
    response = api.get(url)
    assert (response.status_code, response["WWW-Authenticate"]) == (401, NO_CREDENTIALS)


def test_and_names_every_required_scope_even_those_the_token_has(api, make_token):
    response = api.get("/and-partial", make_token(claims={"scope": "orders:read"}))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == insufficient_scope("orders:read a:x")


def test_class_level_or_admits_the_second_alternative(api, make_token):
    assert api.get("/class-or", make_token(claims={"scope": "orders:write"})).status_code == 200
    response = api.get("/class-or", make_token(claims={"scope": "orders:read"}))
    assert (response.status_code, response["WWW-Authenticate"]) == (403, insufficient_scope("a:x"))


def test_class_level_not(api, make_token):
    assert api.get("/class-not", make_token(claims={"scope": "orders:read"})).status_code == 200
    response = api.get("/class-not", make_token())
    assert (response.status_code, response["WWW-Authenticate"]) == (403, insufficient_scope())
    response = api.get("/class-not")
    assert (response.status_code, response["WWW-Authenticate"]) == (401, NO_CREDENTIALS)


def test_drf_class_and_our_class_use_our_operator(api, make_token):
    response = api.get("/drf-class-and", make_token())
    assert (response.status_code, response["WWW-Authenticate"]) == (403, insufficient_scope("a:x"))
    assert api.get("/drf-class-and", make_token(claims={"scope": "a:x"})).status_code == 200


def test_step_up_auth_time_in_the_future_is_not_recent_authentication(api, clock, make_token):
    response = api.get("/subclass-and", make_token(claims={"auth_time": int(clock.t) + 3600}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == bearer("insufficient_user_authentication", D["max-age"], max_age="300")


def test_async_view_runs_get_user_off_the_event_loop(api, make_token):
    LoopSensitiveAuthentication.calls.clear()
    response = api.get("/plain-async-user", make_token())
    assert response.status_code == 200
    assert LoopSensitiveAuthentication.calls == [False]


# --- call forms -------------------------------------------------------------------------


def test_subclass_form(api, make_token):
    assert api.get("/subclass", make_token()).status_code == 200
    response = api.get("/subclass", make_token(claims={"scope": "orders:write"}))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == insufficient_scope("orders:read")


def test_subclasses_combined_at_class_level(api, make_token):
    assert api.get("/subclass-and", make_token()).status_code == 200
    response = api.get("/subclass-and", make_token(claims={"acr": PWD}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == STEP_UP_ACR


def test_step_up_subclass_with_missing_scope_gives_one_challenge(api, make_token):
    response = api.get("/stepup-scope", make_token(claims={"scope": "orders:read", "acr": PWD}))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == bearer(
        "insufficient_user_authentication", D["acr"], scope="payments:write", acr_values=MFA
    )


@pytest.mark.parametrize(
    "build",
    [
        lambda: HasScope("a b"),
        lambda: HasScope('a"b'),
        lambda: HasScope(),
        lambda: HasAnyScope("a\\b"),
        lambda: HasRole("admin role"),
        lambda: StepUpRequired(),
        lambda: StepUpRequired(acr_values=[]),
        lambda: StepUpRequired(max_age=-1),
        lambda: StepUpRequired(max_age=True),
        lambda: StepUpRequired(acr_values="urn:example:acr:mfa"),
        lambda: HasScopeForMethod({"GET": ["a b"]}),
        lambda: HasScopeForMethod({"GET": []}),
        lambda: HasScopeForMethod({}),
        lambda: HasScopeForMethod({"READ": ["orders:read"]}),
        lambda: HasScopeForMethod({"FETCH": ["orders:read"]}),
        lambda: AllOf(HasScope("a:x")),
        lambda: AnyOf(),
        lambda: access_token_required(scopes=["a b"]),
        lambda: access_token_required(max_age=1.5),
        lambda: step_up_required(),
    ],
    ids=[
        "scope-space",
        "scope-quote",
        "scope-none",
        "any-backslash",
        "role-space",
        "stepup-empty",
        "stepup-empty-acr",
        "max-age-negative",
        "max-age-bool",
        "acr-string",
        "method-space",
        "method-empty",
        "method-no-entries",
        "method-group-upper-case",
        "method-unknown",
        "all-of-one",
        "any-of-none",
        "decorator-scope",
        "decorator-max-age",
        "step-up-decorator-empty",
    ],
)
def test_configuration_errors_at_definition(build):
    with pytest.raises(ImproperlyConfigured):
        build()


def test_subclass_attributes_are_checked_at_class_definition():
    with pytest.raises(ImproperlyConfigured):

        class Bad(HasScope):
            scopes = ["orders read"]

    with pytest.raises(ImproperlyConfigured):

        class BadAge(StepUpRequired):
            max_age = -5


# --- per-method scopes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "scope", "required"),
    [
        ("GET", "orders:read", "orders:write"),
        ("POST", "orders:write", "orders:read"),
        ("PUT", "orders:write", "orders:read"),
        ("DELETE", "orders:admin", "orders:write"),
    ],
    ids=["get-read", "post-write", "put-write-group", "delete-exact-wins"],
)
def test_view_required_scopes(api, make_token, method, scope, required):
    assert api.request(method, "/methods", make_token(claims={"scope": scope})).status_code == 200
    response = api.request(method, "/methods", make_token(claims={"scope": required}))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == insufficient_scope(scope)


def test_scopes_by_method_argument_fails_closed_for_unlisted_methods(api, make_token):
    assert api.get("/methods-arg", make_token()).status_code == 200
    assert api.post("/methods-arg", make_token()).status_code == 200
    response = api.request("DELETE", "/methods-arg", make_token())
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == insufficient_scope()


def test_view_required_scopes_per_route(api, make_token):
    # One view class, two as_view(required_scopes=...): each route enforces its own mapping,
    # whichever route is requested first.
    reader = make_token(claims={"scope": "reports:read"})
    assert api.get("/route-read", reader).status_code == 200
    response = api.get("/route-admin", reader)
    assert (response.status_code, response["WWW-Authenticate"]) == (403, insufficient_scope("reports:admin"))
    assert api.get("/route-admin", make_token(claims={"scope": "reports:admin"})).status_code == 200
    response = api.get("/route-read", make_token(claims={"scope": "reports:admin"}))
    assert (response.status_code, response["WWW-Authenticate"]) == (403, insufficient_scope("reports:read"))


def test_view_required_scopes_per_action(api, make_token):
    writer = make_token(claims={"scope": "orders:write"})
    assert api.post("/order-actions/7/ship", writer).status_code == 200
    response = api.post("/order-actions/7/refund", writer)
    assert (response.status_code, response["WWW-Authenticate"]) == (403, insufficient_scope("orders:refund"))
    refunder = make_token(claims={"scope": "orders:refund"})
    assert api.post("/order-actions/7/refund", refunder).status_code == 200
    response = api.post("/order-actions/7/ship", refunder)
    assert (response.status_code, response["WWW-Authenticate"]) == (403, insufficient_scope("orders:write"))
    # The routes without @action kwargs keep the class's mapping.
    assert api.get("/order-actions", make_token(claims={"scope": "orders:read"})).status_code == 200
    response = api.get("/order-actions", writer)
    assert (response.status_code, response["WWW-Authenticate"]) == (403, insufficient_scope("orders:read"))


def test_view_without_required_scopes_is_a_configuration_error(api, make_token):
    with pytest.raises(
        ImproperlyConfigured,
        match=r"^RouteScopedView\.required_scopes must be a non-empty dict of HTTP method to scopes, not None$",
    ):
        api.get("/route-unset", make_token())


def test_metadata_collects_the_scopes_of_routes_and_actions():
    scopes = collect_scopes(__name__)
    assert [s for s in scopes if s.startswith(("reports:", "orders:refund"))] == [
        "reports:read",
        "reports:admin",
        "orders:refund",
    ]


# --- decorators -------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/plain-sync", "/plain-async"], ids=["sync", "async"])
def test_plain_view_with_valid_token(api, make_token, url):
    response = api.get(url, make_token())
    assert response.status_code == 200
    assert json_body(response) == {"sub": "user-123", "user": "user-123"}


@pytest.mark.parametrize("url", ["/plain-sync", "/plain-async", "/drf-function"], ids=["sync", "async", "drf"])
def test_decorated_view_answers_like_a_drf_view(api, make_token, url):
    cases = {
        "no token": None,
        "missing scope": make_token(claims={"scope": "orders:write"}),
        "expired": make_token(claims={"exp": 1}),
        "malformed": "Bearer a,b",
    }
    for what, token in cases.items():
        kwargs = {"authorization": token} if token and token.startswith("Bearer ") else {}
        raw = None if kwargs else token
        ours = api.get(url, raw, **kwargs)
        reference = api.get("/drf-equivalent", raw, **kwargs)
        assert ours.status_code == reference.status_code, what
        assert ours["WWW-Authenticate"] == reference["WWW-Authenticate"], what
        assert json_body(ours) == json_body(reference), what


def test_plain_view_exact_answers(api, make_token):
    response = api.get("/plain-sync")
    assert (response.status_code, response["WWW-Authenticate"]) == (401, NO_CREDENTIALS)
    response = api.get("/plain-sync", make_token(claims={"exp": 1}))
    assert (response.status_code, response["WWW-Authenticate"]) == (401, invalid_token("expired"))
    assert json_body(response) == {"detail": D["expired"], "error": "invalid_token"}
    response = api.get("/plain-sync", make_token(claims={"scope": "a:x"}))
    assert (response.status_code, response["WWW-Authenticate"]) == (403, insufficient_scope("orders:read"))


def test_plain_view_is_csrf_exempt(make_token):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post("/plain-bare", HTTP_AUTHORIZATION=f"Bearer {make_token()}")
    assert response.status_code == 200


def test_plain_step_up_view(api, make_token):
    assert api.get("/plain-step-up", make_token()).status_code == 200
    response = api.get("/plain-step-up", make_token(claims={"acr": HWK}))
    assert (response.status_code, response["WWW-Authenticate"]) == (401, STEP_UP_ACR)


def test_drf_function_view_roles(api, make_token):
    assert api.get("/drf-function", make_token()).status_code == 200
    response = api.get("/drf-function", make_token(claims={"roles": ["user"]}))
    assert (response.status_code, response["WWW-Authenticate"]) == (403, insufficient_scope())


def test_plain_view_key_set_unavailable(api, make_token, server):
    server.route("/jwks", {"error": "down"}, status=500)
    response = api.get("/plain-sync", make_token())
    assert response.status_code == 503
    assert "WWW-Authenticate" not in response
    assert int(response["Retry-After"]) >= 1
    assert json_body(response)["error"] == "temporarily_unavailable"
