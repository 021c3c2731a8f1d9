"""Views and URLconf of tests/test_challenge_scope.py: every way a view can require scopes,
for the ``scope`` of the 401 without credentials (``JWT_AT_CHALLENGE_SCOPE``).

A URLconf of its own, so that the ``scopes_supported`` the metadata tests collect from
tests/urls.py stay as they are.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.urls import include, path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from django_jwt_at.decorators import access_token_required
from django_jwt_at.permissions import HasAnyScope, HasRole, HasScope, HasScopeForMethod, StepUpRequired

MFA = "urn:example:acr:mfa"


class _Ok(APIView):
    def get(self, request):
        return Response({"ok": True})

    def post(self, request):
        return Response({"ok": True})


class ScopedView(_Ok):
    """Refused by this package's permission (no token)."""

    permission_classes = [HasScope("orders:read")]


class IsAuthenticatedFirstView(_Ok):
    """Refused by DRF's IsAuthenticated first (NotAuthenticated, authenticate_header)."""

    permission_classes = [IsAuthenticated, HasScope("orders:read"), HasScope("orders:write")]


class DRFAndView(_Ok):
    """DRF's own ``&`` (an AND instance) around one of ours."""

    permission_classes = [IsAuthenticated & HasScope("a:x")]


class ComposedView(_Ok):
    permission_classes = [
        HasScope("a:x") & StepUpRequired(acr_values=[MFA], max_age=300),
        HasAnyScope("b:y", "c:z"),
        HasScope("a:x"),  # named once
    ]


class AnyOfView(_Ok):
    permission_classes = [HasScope("a:x") | HasScope("b:y")]


class AndOfOrView(_Ok):
    permission_classes = [HasScope("x:1") & (HasScope("a:x") | HasScope("b:y"))]


class ForMethodView(_Ok):
    permission_classes = [HasScopeForMethod({"read": ["r:read"], "write": ["w:write", "r:read"]})]


class NotView(_Ok):
    permission_classes = [~HasScope("a:x")]


class RoleView(_Ok):
    permission_classes = [HasRole("admin")]


class DPoPRequiredScopedView(ScopedView):
    dpop = "required"


@access_token_required(scopes=["orders:read"], any_scopes=["x:one", "x:two"])
def plain_sync(request):
    return JsonResponse({"ok": True})


@access_token_required(scopes=["orders:read"], roles=["admin"], acr_values=[MFA])
async def plain_async(request):
    return JsonResponse({"ok": True})


@api_view(["GET"])
@access_token_required(scopes=["orders:read"])
def drf_fn_default_permissions(request):
    """DRF's DEFAULT_PERMISSION_CLASSES (IsAuthenticated) refuses first."""
    return Response({"ok": True})


@api_view(["GET"])
@permission_classes([])
@access_token_required(scopes=["orders:read"])
def drf_fn_decorator_decides(request):
    return Response({"ok": True})


@api_view(["GET"])
@permission_classes([HasScope("a:x")])
@access_token_required(scopes=["orders:read"])
def drf_fn_both(request):
    return Response({"ok": True})


@api_view(["GET"])
@permission_classes([])
@access_token_required(scopes=["orders:read"], dpop="required")
def drf_fn_dpop_required(request):
    return Response({"ok": True})


urlpatterns = [
    path("scoped", ScopedView.as_view()),
    path("is-authenticated-first", IsAuthenticatedFirstView.as_view()),
    path("drf-and", DRFAndView.as_view()),
    path("composed", ComposedView.as_view()),
    path("any-of", AnyOfView.as_view()),
    path("and-of-or", AndOfOrView.as_view()),
    path("for-method", ForMethodView.as_view()),
    path("not", NotView.as_view()),
    path("role", RoleView.as_view()),
    path("dpop-required", DPoPRequiredScopedView.as_view()),
    path("plain/sync", plain_sync),
    path("plain/async", plain_async),
    path("drf-fn/default", drf_fn_default_permissions),
    path("drf-fn/decorator", drf_fn_decorator_decides),
    path("drf-fn/both", drf_fn_both),
    path("drf-fn/dpop-required", drf_fn_dpop_required),
    path("", include("django_jwt_at.urls")),
]
