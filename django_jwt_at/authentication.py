"""``JWTAccessTokenAuthentication``: the DRF adapter around the framework-free core."""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from .challenges import www_authenticate
from .conf import get_config
from .errors import ProtocolError
from .exceptions import AccessTokenError
from .request_auth import authenticate_request, challenge_context, view_dpop_mode
from .tokens import AccessToken
from .users import AccessTokenUser

logger = logging.getLogger(__name__)


class JWTAccessTokenAuthentication(BaseAuthentication):
    """Authenticate requests that carry an RFC 9068 JWT access token.

    ``authenticate`` returns None when the request carries no token this class accepts
    (no ``Authorization``, another scheme, or a disabled token method used alone), so the
    next authentication class can try; ``(user, AccessToken)`` for a valid token; and
    raises :class:`~django_jwt_at.exceptions.AccessTokenError` otherwise, which DRF
    answers with the RFC 6750 status, challenge and JSON body.

    The DPoP mode (RFC 9449) is the view's ``dpop`` attribute (``"off"``, ``"optional"``,
    ``"required"``), else ``JWT_AT_DPOP``.

    Hooks for subclasses: :meth:`get_user` maps a validated token to ``request.user``.
    """

    def authenticate(self, request: Request) -> tuple[Any, AccessToken] | None:
        config = get_config()
        try:
            mode = view_dpop_mode(_view(request), config)
            token = authenticate_request(request._request, config, mode=mode)
            if token is None:
                return None
            user = self.get_user(token)
        except ProtocolError as error:
            # The description is a fixed text: it never contains the token (RFC 6750 §5.3).
            logger.debug("Access token rejected: %s (%s)", error.code, error.description.value)
            raise AccessTokenError(error, config, challenge_context(request)) from None
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
        """The error-free challenges DRF sends with 401s for missing credentials."""
        return www_authenticate(get_config(), None, challenge_context(request, _view(request)))


def _view(request: Request) -> Any:
    return (getattr(request, "parser_context", None) or {}).get("view")
