"""``JWTAccessTokenAuthentication``: the DRF adapter around the framework-free core."""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from . import clock
from .bearer import bearer_token_from_header, select_token
from .challenges import bearer_challenge
from .conf import get_config
from .errors import ProtocolError
from .exceptions import AccessTokenError
from .jwks import key_sets
from .middleware import mark_query_token
from .tokens import AccessToken
from .users import AccessTokenUser
from .validation import validate_access_token

logger = logging.getLogger(__name__)

_FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def _query_tokens(request: Request) -> list[str]:
    if "access_token" not in request._request.META.get("QUERY_STRING", ""):
        return []  # the common case costs no query-string parsing
    return request._request.GET.getlist("access_token")


def _body_tokens(request: Request) -> list[str]:
    # RFC 6750 §2.2: single-part application/x-www-form-urlencoded only, never with GET.
    django_request = request._request
    if django_request.method == "GET":
        return []
    content_type = django_request.META.get("CONTENT_TYPE", "")
    if content_type.split(";", 1)[0].strip().lower() != _FORM_CONTENT_TYPE:
        return []
    return django_request.POST.getlist("access_token")


class JWTAccessTokenAuthentication(BaseAuthentication):
    """Authenticate requests that carry an RFC 9068 JWT access token.

    ``authenticate`` returns None when the request carries no token this class accepts
    (no ``Authorization``, another scheme, or a disabled token method used alone), so the
    next authentication class can try; ``(user, AccessToken)`` for a valid token; and
    raises :class:`~django_jwt_at.exceptions.AccessTokenError` otherwise, which DRF
    answers with the RFC 6750 status, challenge and JSON body.

    Hooks for subclasses: :meth:`get_user` maps a validated token to ``request.user``.
    """

    def authenticate(self, request: Request) -> tuple[Any, AccessToken] | None:
        config = get_config()
        try:
            selected = select_token(
                bearer_token_from_header(request._request.META.get("HTTP_AUTHORIZATION")),
                _query_tokens(request),
                _body_tokens(request),
                config.token_methods,
            )
            if selected is None:
                return None
            method, raw = selected
            if method == "query":
                mark_query_token(request._request)
            token = validate_access_token(raw, config=config, key_sets=key_sets, now=clock.now())
            user = self.get_user(token)
        except ProtocolError as error:
            # The description is a fixed text: it never contains the token (RFC 6750 §5.3).
            logger.info("Access token rejected: %s (%s)", error.code, error.description.value)
            raise AccessTokenError(error, config) from None
        return user, token

    def get_user(self, token: AccessToken) -> Any:
        """Return ``request.user`` for a validated token.

        The default is a stateless :class:`~django_jwt_at.users.AccessTokenUser` (no
        database query). Override to map tokens to local users; raise
        ``django_jwt_at.errors.InvalidToken(Description.CLAIMS)`` when the token names no
        acceptable user, so the client gets a 401 ``invalid_token`` (RFC 8725 §3.8).
        """
        return AccessTokenUser(token)

    def authenticate_header(self, request: Request) -> str:
        """The error-free challenge DRF sends with 401s for missing credentials."""
        return bearer_challenge(get_config())
