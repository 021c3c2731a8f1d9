"""The Django project ``bench/servers.py`` serves with gunicorn (WSGI) and uvicorn (ASGI).

Configured from the environment the script sets: ``BENCH_JWKS_URI`` (the loopback JWKS of
the issuer). No middleware: under ASGI, Django runs each ``MiddlewareMixin`` middleware's
hooks in its one thread for sync code, two thread hops per middleware and request, which
would measure Django rather than authentication. Views:

- ``/open``: a DRF view, no authentication, ``AllowAny``;
- ``/ours``: the same view behind ``JWTAccessTokenAuthentication`` + ``IsAuthenticated``;
- ``/async-open``: a plain ``async def`` view, no authentication;
- ``/async-ours``: the same view behind ``@access_token_required``;
- ``/async-threaded``: the same view authenticating with the same calls, all of them run
  through ``sync_to_async`` in Django's one thread for sync code (the way to call sync
  authentication code from an async view, for comparison).

Each answers ``{"hello": "world", "user": ...}`` as JSON.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from _common import AUDIENCE, ISSUER, configure_django

configure_django(
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    REST_FRAMEWORK={
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
        "UNAUTHENTICATED_USER": None,
    },
    JWT_AT_ISSUERS={ISSUER: {"AUDIENCE": AUDIENCE, "JWKS_URI": os.environ["BENCH_JWKS_URI"], "ALGORITHMS": ["RS256"]}},
)

from asgiref.sync import sync_to_async  # noqa: E402  (after settings)
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.permissions import AllowAny, IsAuthenticated  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from django_jwt_at.authentication import JWTAccessTokenAuthentication  # noqa: E402
from django_jwt_at.conf import get_config  # noqa: E402
from django_jwt_at.decorators import access_token_required  # noqa: E402
from django_jwt_at.request_auth import authenticate_request  # noqa: E402
from django_jwt_at.signals import token_validated  # noqa: E402


class Hello(APIView):
    authentication_classes: ClassVar[list[Any]] = []
    permission_classes: ClassVar[list[Any]] = [AllowAny]

    def get(self, request: Any) -> Response:
        return Response({"hello": "world", "user": str(request.user)})


async def async_hello(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"hello": "world", "user": str(getattr(request, "user", None))})


def _authenticate(request: HttpRequest) -> None:
    token = authenticate_request(request, get_config())
    if token is None:
        raise PermissionError("no token")
    request.user = JWTAccessTokenAuthentication().get_user(token)
    request.auth = token  # type: ignore[attr-defined]
    token_validated(JWTAccessTokenAuthentication, request, token)


async def async_threaded(request: HttpRequest) -> JsonResponse:
    try:
        await sync_to_async(_authenticate)(request)
    except Exception:  # a bench: any refusal is a 401
        return JsonResponse({"error": "invalid_token"}, status=401)
    return await async_hello(request)


urlpatterns = [
    path("open", Hello.as_view()),
    path(
        "ours",
        Hello.as_view(authentication_classes=[JWTAccessTokenAuthentication], permission_classes=[IsAuthenticated]),
    ),
    path("async-open", async_hello),
    path("async-ours", access_token_required(async_hello)),
    path("async-threaded", async_threaded),
]

wsgi_application = get_wsgi_application()
asgi_application = get_asgi_application()
