"""The example API. Authentication (django-jwt-at) and the default permission
(``IsAuthenticated``) come from ``REST_FRAMEWORK`` in settings; each view states what else
it needs, and django-jwt-at answers every refusal with the RFC 6750 / RFC 9470 challenge.
"""

from __future__ import annotations

from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_jwt_at.permissions import HasScope, HasScopeForMethod, StepUpRequired
from django_jwt_at.tokens import AccessToken

ORDERS = [
    {"id": 1, "item": "coffee beans", "quantity": 2},
    {"id": 2, "item": "milk", "quantity": 1},
]


class PublicView(APIView):
    """``GET /api/public``: no token needed."""

    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response({"message": "Anyone can read this."})


class MeView(APIView):
    """``GET /api/me``: any valid access token; echoes who and what it is for."""

    def get(self, request: Request) -> Response:
        token = request.auth
        assert isinstance(token, AccessToken)  # guaranteed by the permissions
        return Response({"subject": token.subject, "client_id": token.client_id, "scopes": sorted(token.scopes)})


class OrdersView(APIView):
    """``GET /api/orders`` needs ``orders:read``; ``POST /api/orders`` needs ``orders:write``."""

    permission_classes = [HasScopeForMethod({"GET": ["orders:read"], "POST": ["orders:write"]})]

    def get(self, request: Request) -> Response:
        return Response({"orders": ORDERS})

    def post(self, request: Request) -> Response:
        return Response({"id": len(ORDERS) + 1, "status": "created"}, status=status.HTTP_201_CREATED)


class PaymentsView(APIView):
    """``POST /api/payments`` needs ``payments:write`` and a recent multi-factor login
    (RFC 9470 step-up: ``acr`` = ``urn:example:acr:mfa``, ``auth_time`` at most 300 s ago)."""

    permission_classes = [HasScope("payments:write") & StepUpRequired(acr_values=["urn:example:acr:mfa"], max_age=300)]

    def post(self, request: Request) -> Response:
        token = request.auth
        assert isinstance(token, AccessToken)  # guaranteed by the permissions
        return Response({"payment": "accepted", "authorized_by": token.subject})
