"""Views of the fixture profile (spec §0.2) and the extra endpoints some items need."""

from __future__ import annotations

from django.http import JsonResponse
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.decorators import api_view
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from django_jwt_at.authentication import JWTAccessTokenAuthentication
from django_jwt_at.decorators import access_token_required
from django_jwt_at.errors import Description, InvalidToken
from django_jwt_at.permissions import HasAnyScope, HasRole, HasScope, StepUpRequired

MFA = "urn:example:acr:mfa"
HWK = "urn:example:acr:hwk"


class OrdersView(APIView):
    """GET /orders needs orders:read; POST /orders needs orders:write (two checks)."""

    read = HasScope("orders:read")
    write = HasScope("orders:write")

    def get_permissions(self):
        return [self.write if self.request.method == "POST" else self.read]

    def get(self, request):
        return Response({"orders": [], "user": request.user.username})

    def post(self, request):
        return Response({"created": True})


class AdminView(APIView):
    permission_classes = [HasRole("admin")]

    def get(self, request):
        return Response({"admin": True})


class PaymentsView(APIView):
    permission_classes = [HasScope("payments:write") & StepUpRequired(acr_values=[MFA], max_age=300)]

    def post(self, request):
        return Response({"paid": True})


class PaymentsStepUp(StepUpRequired):
    acr_values = [MFA]
    max_age = 300


class PaymentsSubclassView(APIView):
    """The subclass form of the step-up permission, with the FX payments rule."""

    permission_classes = [HasScope("payments:write") & PaymentsStepUp()]

    def post(self, request):
        return Response({"paid": True})


class PaymentsSubclassOnlyView(APIView):
    """The subclass form listed as a class (DRF instantiates it)."""

    permission_classes = [PaymentsStepUp]

    def post(self, request):
        return Response({"paid": True})


class PublicView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"public": True, "authenticated": bool(request.user and request.user.is_authenticated)})


class TwoScopesView(APIView):
    permission_classes = [HasScope("a:x", "b:y")]

    def get(self, request):
        return Response({"ok": True})


class AnyScopeView(APIView):
    permission_classes = [HasAnyScope("a:x", "b:y")]

    def get(self, request):
        return Response({"ok": True})


class ComposedScopesView(APIView):
    """(a:x AND b:y) via & of two HasScope, for combined challenges."""

    permission_classes = [HasScope("a:x") & HasScope("b:y")]

    def get(self, request):
        return Response({"ok": True})


class OrScopesView(APIView):
    permission_classes = [HasScope("a:x") | HasScope("b:y")]

    def get(self, request):
        return Response({"ok": True})


class NotScopeView(APIView):
    permission_classes = [~HasScope("a:x")]

    def get(self, request):
        return Response({"ok": True})


class AcrListView(APIView):
    permission_classes = [StepUpRequired(acr_values=[HWK, MFA])]

    def get(self, request):
        return Response({"ok": True})


class MaxAgeOnlyView(APIView):
    permission_classes = [StepUpRequired(max_age=0)]

    def get(self, request):
        return Response({"ok": True})


def _plain(value):
    if isinstance(value, (frozenset, set)):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "items"):
        return dict(value.items())
    return value


class WhoAmIView(APIView):
    """Any valid token (default IsAuthenticated); echoes request.user and request.auth."""

    def get(self, request):
        token = request.auth
        user = request.user
        fields = [
            "claims",
            "issuer",
            "tenant",
            "subject",
            "client_id",
            "audience",
            "scopes",
            "jti",
            "issued_at",
            "expires_at",
            "auth_time",
            "acr",
            "amr",
            "header",
        ]
        return Response(
            {
                "auth_class": f"{type(token).__module__}.{type(token).__qualname__}",
                "auth": {name: _plain(getattr(token, name)) for name in fields},
                "user": {
                    "class": f"{type(user).__module__}.{type(user).__qualname__}",
                    "username": user.username,
                    "is_authenticated": user.is_authenticated,
                    "is_staff": user.is_staff,
                    "is_superuser": user.is_superuser,
                },
            }
        )


class SessionFirstOrdersView(OrdersView):
    """C-DRF-02: SessionAuthentication listed before the package's class."""

    authentication_classes = [SessionAuthentication, JWTAccessTokenAuthentication]


class SessionFirstWhoAmIView(WhoAmIView):
    authentication_classes = [SessionAuthentication, JWTAccessTokenAuthentication]


class BasicAfterUsView(APIView):
    """C-DRF-01: Basic authentication listed after the package's class."""

    authentication_classes = [JWTAccessTokenAuthentication, BasicAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"user": request.user.get_username(), "auth": type(request.auth).__name__})


class LocalUserAuthentication(JWTAccessTokenAuthentication):
    """C-DRF-08: maps ``sub`` to a local Django user, refusing unknown subjects."""

    def get_user(self, token):
        from django.contrib.auth import get_user_model

        try:
            return get_user_model().objects.get(username=token.subject)
        except get_user_model().DoesNotExist:
            raise InvalidToken(Description.CLAIMS) from None


class LocalUserView(APIView):
    authentication_classes = [LocalUserAuthentication]

    def get(self, request):
        return Response({"username": request.user.get_username(), "local": True})


class DPoPRequiredView(WhoAmIView):
    """A view whose own DPoP mode is "required" (class attribute)."""

    dpop = "required"


class DPoPOffView(WhoAmIView):
    dpop = "off"


class DPoPOptionalView(WhoAmIView):
    dpop = "optional"


@access_token_required(dpop="required")
def plain_dpop_required(request):
    return JsonResponse({"sub": request.auth.subject, "jkt": request.auth.jkt})


@access_token_required(scopes=["orders:read"])
def plain_orders(request):
    return JsonResponse({"sub": request.auth.subject, "dpop_bound": request.auth.dpop_bound})


@api_view(["GET"])
@access_token_required(dpop="required")
def drf_fn_dpop_required(request):
    return Response({"sub": request.auth.subject})


@access_token_required()
def plain_certificate(request):
    """Echoes the certificate binding of the token (RFC 8705 §3.1)."""
    return JsonResponse({"sub": request.auth.subject, "x5t#S256": request.auth.x5t_s256})


@access_token_required(scopes=["orders:read"])
@api_view(["GET"])
def drf_fn_decorator_above(request):
    """The decorator above @api_view: the request is authenticated once."""
    return Response({"sub": request.auth.subject, "dpop_bound": request.auth.dpop_bound})
