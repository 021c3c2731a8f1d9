"""``JWTAccessTokenAuthentication``: the DRF adapter around the framework-free core."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from .challenges import www_authenticate
from .conf import get_config
from .errors import AuthenticationRequired, ProtocolError
from .exceptions import AccessTokenError
from .permissions import view_required_scopes
from .request_auth import authenticate_request, challenge_context, remembered_authentication, view_dpop_mode
from .signals import token_rejected, token_validated
from .tokens import AccessToken
from .users import ModelUserMapping, StatelessUserMapping, UserMapping, stateless_principal


class JWTAccessTokenAuthentication(BaseAuthentication):
    """Authenticate requests that carry an RFC 9068 JWT access token.

    ``authenticate`` returns None when the request carries no token this class accepts
    (no ``Authorization``, another scheme, or a disabled token method used alone), so the
    next authentication class can try; ``(user, AccessToken)`` for a valid token; and
    raises :class:`~django_jwt_at.exceptions.AccessTokenError` otherwise, which DRF
    answers with the RFC 6750 status, challenge and JSON body. Each outcome is logged and
    sent as :data:`~django_jwt_at.signals.access_token_validated` or
    :data:`~django_jwt_at.signals.access_token_rejected`.

    The DPoP mode (RFC 9449) is the view's ``dpop`` attribute (``"off"``, ``"optional"``,
    ``"required"``), else ``JWT_AT_DPOP``.

    Hooks for subclasses: :attr:`user_mapping_class` (or, for full control,
    :meth:`get_user`) maps a validated token to ``request.user``.
    """

    #: The :class:`~django_jwt_at.users.UserMapping` subclass that maps tokens to users;
    #: None means the ``JWT_AT_USER_MAPPING`` setting.
    user_mapping_class: type[UserMapping] | None = None

    def authenticate(self, request: Request) -> tuple[Any, AccessToken] | None:
        config = get_config()
        token: AccessToken | None = None
        try:
            parser_context = request.parser_context  # DRF sets it, the view in it
            view = parser_context.get("view") if parser_context else None
            mode = view_dpop_mode(view, config)
            remembered = remembered_authentication(request._request, type(self), mode)
            if remembered is not None:  # a decorator above @api_view did it already
                return remembered
            token = authenticate_request(request._request, config, mode=mode)
            if token is None:
                return None
            user = self.get_user(token)
        except ProtocolError as error:
            token_rejected(type(self), request, error, token.issuer if token is not None else None)
            raise AccessTokenError(error, config, challenge_context(request)) from None
        token_validated(type(self), request, token)
        return user, token

    def get_user(self, token: AccessToken) -> Any:
        """Return ``request.user`` for a validated token, from :attr:`user_mapping_class`.

        The default mapping gives a stateless :class:`~django_jwt_at.users.AccessTokenUser`
        (or an :class:`~django_jwt_at.users.AccessTokenClient` for a client-credentials
        token), with no database query. An override that finds no acceptable user raises
        ``django_jwt_at.errors.InvalidToken``, so the client gets a 401 ``invalid_token``
        (RFC 8725 §3.8).
        """
        mapping = self.user_mapping_class or get_config().user_mapping_class
        if mapping is StatelessUserMapping:
            return stateless_principal(token)  # its answer, without an instance per request
        return mapping().get_user(token)

    @classmethod
    def maps_without_io(cls) -> bool:
        """True when :meth:`get_user` is this class's own and the mapping is exactly
        :class:`~django_jwt_at.users.StatelessUserMapping`: no database, no I/O, so it may
        run on an event loop. Any override or other mapping (a subclass included) is
        treated as sync code that may block."""
        if cls.get_user is not JWTAccessTokenAuthentication.get_user:
            return False
        return (cls.user_mapping_class or get_config().user_mapping_class) is StatelessUserMapping

    def authenticate_header(self, request: Request) -> str:
        """The error-free challenges DRF sends with 401s for missing credentials; with
        ``JWT_AT_CHALLENGE_SCOPE``, each names the scopes the view's permissions require."""
        config = get_config()
        view = _view(request)
        scope = view_required_scopes(request, view) if config.challenge_scope else ()
        return www_authenticate(config, AuthenticationRequired(scope), challenge_context(request, view))


def _view(request: Request) -> Any:
    return (getattr(request, "parser_context", None) or {}).get("view")


class ModelBackedJWTAccessTokenAuthentication(JWTAccessTokenAuthentication):
    """:class:`JWTAccessTokenAuthentication` with ``request.user`` the Django user linked
    to the token's issuer and subject (:class:`~django_jwt_at.users.ModelUserMapping`).
    Users are created on first sight when ``JWT_AT_CREATE_USERS`` is True."""

    user_mapping_class = ModelUserMapping
