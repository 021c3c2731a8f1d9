"""View decorators: the same authentication and authorization for function views.

``access_token_required`` works on plain Django views (sync and async) and on DRF
function views. On a plain view it authenticates the request itself and answers failures
with exactly the status, ``WWW-Authenticate`` and JSON body a DRF view would give; on a
DRF view (placed below ``@api_view``) it checks ``request.auth`` that DRF already set::

    @access_token_required(scopes=["orders:read"])
    def orders(request): ...

    @api_view(["POST"])
    @step_up_required(acr_values=["urn:example:acr:mfa"], max_age=300)
    def payments(request): ...

Plain views get ``request.auth`` (the AccessToken) and ``request.user`` (from the
authentication class's ``get_user``). They are exempt from CSRF checks, as DRF views are:
they accept no cookie-based credentials, only the access token.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from inspect import iscoroutinefunction
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request

from . import clock
from .authentication import JWTAccessTokenAuthentication
from .challenges import ChallengeContext, error_body, error_headers
from .conf import Config, dpop_mode, get_config
from .errors import AuthenticationRequired, ProtocolError
from .exceptions import AccessTokenError
from .permissions import view_required_scopes
from .request_auth import WouldBlock, authenticate_request, challenge_context, remember_authentication
from .requirements import (
    ClaimValuesRequirement,
    ScopeRequirement,
    StepUpRequirement,
    checked_max_age,
    checked_values,
    combine,
)
from .signals import atoken_rejected, atoken_validated, token_rejected, token_validated
from .tokens import AccessToken

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., Any])


class _Requirements:
    """What a decorated view requires of the token, validated when the view is decorated."""

    def __init__(
        self,
        scopes: Iterable[str],
        any_scopes: Iterable[str],
        roles: Iterable[str],
        acr_values: Iterable[str],
        max_age: int | None,
    ) -> None:
        all_scopes = checked_values("scope", scopes)
        alternatives = checked_values("scope", any_scopes)
        required_roles = checked_values("role", roles)
        acr = checked_values("acr", acr_values)
        age = checked_max_age(max_age)
        self.scopes = ScopeRequirement(all_scopes) if all_scopes else None
        self.any_scopes = ScopeRequirement(alternatives, any_of=True) if alternatives else None
        self.roles = ClaimValuesRequirement(None, required_roles) if required_roles else None
        self.step_up = StepUpRequirement(acr, age) if acr or age is not None else None
        #: The scopes listed in RFC 9728 metadata (``scopes_supported``).
        self.advertised_scopes = tuple(dict.fromkeys((*all_scopes, *alternatives)))
        #: The scope requirements, each to be met: read by django_jwt_at.openapi.
        self.scope_requirements = tuple(r for r in (self.scopes, self.any_scopes) if r is not None)
        #: The scopes a challenge without credentials names (JWT_AT_CHALLENGE_SCOPE): those
        #: an insufficient_scope answer would name, the first alternative for any_scopes.
        self.challenge_scopes = tuple(dict.fromkeys((*all_scopes, *alternatives[:1])))
        # Built once: a view that requires nothing but a valid token checks nothing.
        self._claim_checks = tuple(r for r in (self.scopes, self.any_scopes, self.roles) if r is not None)

    def check(self, token: AccessToken, config: Config) -> ProtocolError | None:
        if not self._claim_checks and self.step_up is None:
            return None
        errors: list[ProtocolError] = [
            error for requirement in self._claim_checks if (error := requirement.check(token)) is not None
        ]
        if self.step_up is not None:
            step_up_error = self.step_up.check(token, now=clock.now(), leeway=config.leeway)
            if step_up_error is not None:
                errors.append(step_up_error)
        return combine(errors) if errors else None


def _error_response(config: Config, error: ProtocolError, context: ChallengeContext) -> HttpResponse:
    return JsonResponse(error_body(config, error), status=error.status, headers=error_headers(config, error, context))


def access_token_required(
    view: Callable[..., Any] | None = None,
    *,
    scopes: Iterable[str] = (),
    any_scopes: Iterable[str] = (),
    roles: Iterable[str] = (),
    acr_values: Iterable[str] = (),
    max_age: int | None = None,
    authentication_class: type[JWTAccessTokenAuthentication] = JWTAccessTokenAuthentication,
    dpop: str | None = None,
) -> Any:
    """Require a valid access token, and optionally: every one of ``scopes``, one of
    ``any_scopes``, every one of ``roles`` (``roles`` claim), an ``acr`` among
    ``acr_values`` and an ``auth_time`` within ``max_age`` seconds (RFC 9470).

    ``dpop`` (``"off"``, ``"optional"``, ``"required"``) is the view's DPoP mode instead of
    ``JWT_AT_DPOP``. On a DRF function view, DRF has authenticated the request under the
    global mode before the view runs, so there it can only make the mode stricter: with
    ``"required"`` a Bearer request is answered as unauthenticated, with ``"off"`` a DPoP
    one (set ``dpop`` on an APIView class for a mode that also loosens).

    Usable bare (``@access_token_required``) or with arguments. Invalid scope, role or acr
    strings, a bad ``max_age`` or ``dpop`` raise ImproperlyConfigured at decoration time.
    """
    requirements = _Requirements(scopes, any_scopes, roles, acr_values, max_age)
    mode = dpop_mode(dpop) if dpop is not None else None

    def required(request: Request, config: Config) -> AuthenticationRequired:
        """The 401 without credentials; with JWT_AT_CHALLENGE_SCOPE, naming the scopes of
        the view's permissions and of this decorator."""
        if not config.challenge_scope:
            return AuthenticationRequired()
        view = (getattr(request, "parser_context", None) or {}).get("view")
        return AuthenticationRequired(
            tuple(dict.fromkeys((*view_required_scopes(request, view), *requirements.challenge_scopes)))
        )

    def check_drf(request: Request) -> None:
        token = request.auth
        context = challenge_context(request)
        if mode is not None:
            context = ChallengeContext(mode, context.scheme)
            if isinstance(token, AccessToken) and (
                (mode == "required" and context.scheme != "DPoP") or (mode == "off" and context.scheme == "DPoP")
            ):
                # A scheme this view does not support: no credentials (RFC 6750 §3.1).
                raise AccessTokenError(required(request, get_config()), context=ChallengeContext(mode))
        if not isinstance(token, AccessToken):
            if request.successful_authenticator is not None:
                raise PermissionDenied()  # authenticated otherwise (a session): DRF's usual 403
            raise AccessTokenError(required(request, get_config()), context=context)
        error = requirements.check(token, get_config())
        if error is not None:
            token_rejected(authentication_class, request, error, token.issuer)
            raise AccessTokenError(error, context=context)

    def authenticate_and_authorize(request: HttpRequest, config: Config) -> ProtocolError | None:
        token: AccessToken | None = None
        try:
            token = authenticate_request(request, config, mode=mode)
            if token is None:
                return AuthenticationRequired(requirements.challenge_scopes if config.challenge_scope else ())
            user = authentication_class().get_user(token)
        except ProtocolError as exc:
            token_rejected(authentication_class, request, exc, token.issuer if token is not None else None)
            return exc
        token_validated(authentication_class, request, token)
        request.user = user
        request.auth = token  # type: ignore[attr-defined]
        remember_authentication(request, authentication_class, mode or config.dpop_mode, token, user)
        error = requirements.check(token, config)
        if error is not None:
            token_rejected(authentication_class, request, error, token.issuer)
        return error

    async def aauthenticate_and_authorize(request: HttpRequest, config: Config) -> ProtocolError | None:
        """``authenticate_and_authorize`` on the event loop: validation is inline (CPU
        work of microseconds) while the key set is in memory; only what may block goes to
        a thread: a key-set fetch, DPoP or a form body (a thread of its own, not the one
        shared by sync code), and a user mapping other than the stateless default (the
        thread Django runs sync code in, as the ORM needs). Signal receivers are sent
        through ``Signal.asend``, which runs sync receivers in that thread too."""
        token: AccessToken | None = None
        try:
            try:
                token = authenticate_request(request, config, mode=mode, blocking=False)
            except WouldBlock:
                token = await sync_to_async(authenticate_request, thread_sensitive=False)(request, config, mode=mode)
            if token is None:
                return AuthenticationRequired(requirements.challenge_scopes if config.challenge_scope else ())
            if authentication_class.maps_without_io():
                user = authentication_class().get_user(token)
            else:
                user = await sync_to_async(authentication_class().get_user)(token)
        except ProtocolError as exc:
            await atoken_rejected(authentication_class, request, exc, token.issuer if token is not None else None)
            return exc
        await atoken_validated(authentication_class, request, token)
        request.user = user
        request.auth = token  # type: ignore[attr-defined]
        remember_authentication(request, authentication_class, mode or config.dpop_mode, token, user)
        error = requirements.check(token, config)
        if error is not None:
            await atoken_rejected(authentication_class, request, error, token.issuer)
        return error

    def decorate(view_func: ViewFunc) -> ViewFunc:
        if iscoroutinefunction(view_func):

            @functools.wraps(view_func)
            async def async_view(request: Any, *args: Any, **kwargs: Any) -> Any:
                if isinstance(request, Request):
                    check_drf(request)
                    return await view_func(request, *args, **kwargs)
                config = get_config()
                error = await aauthenticate_and_authorize(request, config)
                if error is not None:
                    return _error_response(config, error, challenge_context(request))
                return await view_func(request, *args, **kwargs)

            _describe(async_view, view_func, requirements, mode)
            return async_view  # type: ignore[return-value]

        @functools.wraps(view_func)
        def sync_view(request: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(request, Request):
                check_drf(request)
                return view_func(request, *args, **kwargs)
            config = get_config()
            error = authenticate_and_authorize(request, config)
            if error is not None:
                return _error_response(config, error, challenge_context(request))
            return view_func(request, *args, **kwargs)

        _describe(sync_view, view_func, requirements, mode)
        return sync_view  # type: ignore[return-value]

    return decorate(view) if view is not None else decorate


def _describe(wrapper: Any, view_func: Any, requirements: _Requirements, mode: str | None) -> None:
    """What the rest of the package reads off a decorated view: exempt from CSRF (a token
    is not a cookie), the scopes for RFC 9728 metadata and for 401 challenges, the DPoP
    mode for the system checks, and the scope requirements where django_jwt_at.openapi
    finds them: on the wrapper (below @api_view, DRF's handler calls it) and, around an
    as_view() result (above @api_view), in its ``initkwargs``: schema generators build
    the view they inspect as ``cls(**initkwargs)``, so that instance carries them."""
    wrapper.csrf_exempt = True
    wrapper.jwt_at_scopes = requirements.advertised_scopes
    wrapper.jwt_at_challenge_scopes = requirements.challenge_scopes
    wrapper.jwt_at_dpop = mode
    wrapper.jwt_at_scope_requirements = requirements.scope_requirements
    initkwargs = getattr(view_func, "initkwargs", None)
    if getattr(view_func, "cls", None) is not None and isinstance(initkwargs, dict):
        wrapper.initkwargs = {**initkwargs, "jwt_at_scope_requirements": requirements.scope_requirements}


def step_up_required(
    view: Callable[..., Any] | None = None,
    *,
    acr_values: Iterable[str] = (),
    max_age: int | None = None,
    **kwargs: Any,
) -> Any:
    """:func:`access_token_required` that needs ``acr_values``, ``max_age`` or both (RFC 9470)."""
    acr_values = tuple(acr_values)
    if not acr_values and max_age is None:
        raise ImproperlyConfigured("step_up_required needs acr_values, max_age or both")
    return access_token_required(view, acr_values=acr_values, max_age=max_age, **kwargs)
