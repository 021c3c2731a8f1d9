"""DRF permission classes: scopes, roles and step-up (RFC 6750 §3.1, RFC 9470 §3).

Each permission is a configured instance that can stand in ``permission_classes``
directly (DRF calls it, and it returns itself), or a subclass that sets the class
attributes instead::

    permission_classes = [HasScope("payments:write") & StepUpRequired(acr_values=["urn:example:acr:mfa"], max_age=300)]

    class PaymentsStepUp(StepUpRequired):
        acr_values = ["urn:example:acr:mfa"]
        max_age = 300

A failing permission raises its own :class:`~django_jwt_at.exceptions.AccessTokenError`,
so the response carries the right status and challenge (DRF's ``PermissionDenied`` has
no ``WWW-Authenticate``). A request that nothing authenticated gets a 401 with the
error-free Bearer challenge, whatever authenticator DRF lists first (naming the scopes
of the whole view with ``JWT_AT_CHALLENGE_SCOPE``, :func:`view_required_scopes`); one
that another authenticator accepted (a session) but that has no access token gets DRF's
usual 403.

``&``, ``|`` and ``~`` between these permissions build :class:`AllOf`, :class:`AnyOf` and
:class:`Not`, which combine the challenges (one challenge listing every missing scope; a
step-up challenge that also names missing scopes), between instances and between
subclasses used as classes alike. They accept DRF permission classes as operands too,
and grant exactly what DRF's ``AND``, ``OR`` and ``NOT`` grant, object level included:
``HasScope("orders:admin") | IsOwner`` lets a token without the scope reach its owner's
objects only. A DRF permission class written first next to an *instance*
(``IsAuthenticated & HasScope("a")``) makes DRF's own operator the outer one; that works
for ``&``, but inside a DRF ``|`` place our permissions last, since they raise instead of
returning False (which never grants more than DRF would, only less).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import AND, OR, BasePermission, BasePermissionMetaclass
from rest_framework.request import Request

from . import clock
from .conf import get_config
from .errors import AuthenticationRequired, InsufficientScope, InsufficientUserAuthentication, ProtocolError
from .exceptions import AccessTokenError
from .request_auth import challenge_context
from .requirements import (
    ClaimValuesRequirement,
    ScopeRequirement,
    StepUpRequirement,
    checked_max_age,
    checked_values,
    combine,
)
from .signals import token_rejected
from .tokens import AccessToken

#: Outcome of a DRF permission operand that said no: DRF's own denial applies.
_DENIED = object()


def _evaluate(permission: Any, request: Request, view: Any) -> Any:
    """None when ``permission`` grants the request; a ProtocolError or _DENIED when it
    does not. Ours never raise here (a DRF operator with one of ours inside may)."""
    if isinstance(permission, AccessTokenPermission):
        return permission.evaluate(request, view)
    return None if permission.has_permission(request, view) else _DENIED


def _evaluate_object(permission: Any, request: Request, view: Any, obj: Any) -> Any:
    """None when ``permission`` grants ``obj``; a ProtocolError or _DENIED when it does
    not. Only the object-level check: the caller decides whether the request-level one
    matters, as DRF's operators do."""
    if isinstance(permission, AccessTokenPermission):
        return permission.evaluate_object(request, view, obj)
    return None if permission.has_object_permission(request, view, obj) else _DENIED


def _without_token(request: Request) -> Any:
    """The denial for a request that carries no access token of ours.

    Nobody authenticated it: 401 with the Bearer challenge, whatever DRF lists first.
    Another authenticator did (a session, say): DRF's usual 403 applies.
    """
    if getattr(request, "successful_authenticator", None) is not None:
        return _DENIED
    return AuthenticationRequired()


def _instance(permission: Any) -> Any:
    return permission if isinstance(permission, AccessTokenPermission) else permission()


def _permission_scopes(permission: Any, request: Request, view: Any) -> Iterator[str]:
    """The scopes one permission instance requires: ours say so; DRF's ``AND`` requires
    those of both operands and ``OR`` those of its first (as :class:`AnyOf`); DRF's
    other permissions require none."""
    if isinstance(permission, AccessTokenPermission):
        yield from permission.required_scopes(request, view)
    elif isinstance(permission, (AND, OR)):
        # DRF's operators keep their operand instances in op1 and op2 (not in its stubs).
        yield from _permission_scopes(permission.op1, request, view)  # type: ignore[union-attr]
        if isinstance(permission, AND):
            yield from _permission_scopes(permission.op2, request, view)  # type: ignore[attr-defined]


def _function_view_scopes(request: Request, view: Any) -> tuple[str, ...]:
    """The scopes of an :func:`~django_jwt_at.decorators.access_token_required` function
    below ``@api_view``: DRF keeps that function only in the closure of the handler it
    makes for each method, and runs it after the permission checks."""
    handler = getattr(type(view), (request.method or "").lower(), None)
    if not inspect.isfunction(handler):
        return ()
    for cell in handler.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:  # a cell not yet assigned
            continue
        scopes = getattr(value, "jwt_at_challenge_scopes", None)
        if isinstance(scopes, tuple):
            return scopes
    return ()


def view_required_scopes(request: Request, view: Any) -> tuple[str, ...]:
    """Every scope the permissions of ``view`` require for ``request``, in
    ``permission_classes`` order without repetition, composed as ``&`` composes them
    (DRF requires every entry); then those of a decorated function view.

    For the ``scope`` of the challenge a request without credentials gets
    (``JWT_AT_CHALLENGE_SCOPE``). Empty for a view without DRF permissions.
    """
    if view is None:
        return ()
    get_permissions = getattr(view, "get_permissions", None)
    permissions = get_permissions() if callable(get_permissions) else ()
    scopes = (scope for permission in permissions for scope in _permission_scopes(permission, request, view))
    return tuple(dict.fromkeys((*scopes, *_function_view_scopes(request, view))))


class _CompositionOperators:
    """``&``, ``|``, ``~`` building :class:`AllOf`, :class:`AnyOf`, :class:`Not`; mixed
    into the permissions (for instances) and into their metaclass (for classes), as DRF
    does with its ``OperationHolderMixin``."""

    def __and__(self, other: Any) -> Any:
        return AllOf(self, other)

    def __rand__(self, other: Any) -> Any:
        return AllOf(other, self)

    def __or__(self, other: Any) -> Any:
        return AnyOf(self, other)

    def __ror__(self, other: Any) -> Any:
        return AnyOf(other, self)

    def __invert__(self) -> Any:
        return Not(self)


class AccessTokenPermissionMetaclass(_CompositionOperators, BasePermissionMetaclass):
    """Gives permission *classes* this package's operators instead of DRF's (which would
    let our raised challenges cut ``|`` short). As this metaclass derives from DRF's,
    Python also prefers it for a DRF class on the left: ``IsAuthenticated & ReadOrders``."""


class AccessTokenPermission(_CompositionOperators, BasePermission, metaclass=AccessTokenPermissionMetaclass):
    """Base of this package's permissions; subclasses implement :meth:`evaluate`."""

    def __call__(self) -> AccessTokenPermission:
        # DRF instantiates each entry of permission_classes; a configured instance is
        # already the permission.
        return self

    def evaluate(self, request: Request, view: Any) -> Any:
        """Return None when the request is allowed, else the ProtocolError to answer with
        (or an opaque denial of a wrapped DRF permission)."""
        raise NotImplementedError

    def evaluate_object(self, request: Request, view: Any, obj: Any) -> Any:
        """Like :meth:`evaluate`, for ``obj``: None when allowed, else the ProtocolError or
        the opaque denial; never raises a refusal. By default :meth:`has_object_permission`
        decides (DRF's: True), so a subclass that overrides that keeps working inside
        ``&``, ``|`` and ``~``."""
        return None if self.has_object_permission(request, view, obj) else _DENIED

    def required_scopes(self, request: Request, view: Any) -> tuple[str, ...]:
        """The scopes this permission requires for the request, for challenges that name
        every scope an endpoint requires (Design decisions: scope parameter)."""
        return ()

    def has_permission(self, request: Request, view: Any) -> bool:
        return self._answer(request, view, self.evaluate(request, view))

    def _answer(self, request: Request, view: Any, outcome: Any) -> bool:
        """True for None; raise a ProtocolError as its challenge (DRF's PermissionDenied
        has none); False for an opaque denial, so that DRF answers as it does."""
        if outcome is None:
            return True
        if isinstance(outcome, ProtocolError):
            if isinstance(outcome, AuthenticationRequired) and get_config().challenge_scope:
                # The scopes of the whole view, not only of this permission, so that the
                # client asks once for a token every permission of the view accepts.
                outcome = AuthenticationRequired(view_required_scopes(request, view))
            token = request.auth
            if isinstance(token, AccessToken):  # a request without a token rejected no token
                token_rejected(type(self), request, outcome, token.issuer)
            raise AccessTokenError(outcome, context=challenge_context(request, view))
        return False


class TokenRequirementPermission(AccessTokenPermission):
    """A permission that needs an access token and checks it against one requirement."""

    def evaluate(self, request: Request, view: Any) -> Any:
        token = request.auth
        if not isinstance(token, AccessToken):
            return _without_token(request)
        return self.check(token)

    def check(self, token: AccessToken) -> ProtocolError | None:
        """Return None when ``token`` meets the requirement, else the error."""
        raise NotImplementedError


class HasScope(TokenRequirementPermission):
    """Every one of ``scopes`` must be granted; failure: 403 ``insufficient_scope`` with
    ``scope`` naming all of them in the order given (Design decisions: scope parameter)."""

    scopes: ClassVar[Iterable[str]] = ()
    _any_of: ClassVar[bool] = False

    def __init__(self, *scopes: str) -> None:
        values = checked_values("scope", scopes or self.scopes)
        if not values:
            raise ImproperlyConfigured(f"{type(self).__name__} needs at least one scope")
        self.requirement = ScopeRequirement(values, any_of=self._any_of)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "scopes" in cls.__dict__:
            checked_values("scope", cls.scopes)

    def check(self, token: AccessToken) -> ProtocolError | None:
        return self.requirement.check(token)

    def required_scopes(self, request: Request, view: Any) -> tuple[str, ...]:
        return self.requirement.scopes[:1] if self.requirement.any_of else self.requirement.scopes


class HasAnyScope(HasScope):
    """At least one of ``scopes`` must be granted; failure names the first (Design decisions: scope parameter)."""

    _any_of = True


class HasRole(TokenRequirementPermission):
    """The roles claim must contain every one of ``roles``: ``roles`` (RFC 9068 §2.2.3.1)
    or the issuer profile's ``ROLES_CLAIM``, unless ``claim`` names another (e.g.
    ``"groups"``, ``"entitlements"`` or a dotted path). Failure: 403
    ``insufficient_scope`` without a ``scope`` parameter (Design decisions: roles)."""

    roles: ClassVar[Iterable[str]] = ()
    claim: str | None = None

    def __init__(self, *roles: str, claim: str | None = None) -> None:
        values = checked_values("role", roles or self.roles)
        if not values:
            raise ImproperlyConfigured(f"{type(self).__name__} needs at least one role")
        self.requirement = ClaimValuesRequirement(claim or self.claim, values)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "roles" in cls.__dict__:
            checked_values("role", cls.roles)

    def check(self, token: AccessToken) -> ProtocolError | None:
        return self.requirement.check(token)


class StepUpRequired(TokenRequirementPermission):
    """RFC 9470 step-up: ``acr`` must be one of ``acr_values`` and/or the user must have
    authenticated within ``max_age`` seconds. Failure: 401
    ``insufficient_user_authentication`` with ``acr_values`` and/or ``max_age``, so the
    client can send the user back to the authorization server and retry (Design decisions: step up status)."""

    acr_values: ClassVar[Iterable[str]] = ()
    max_age: ClassVar[int | None] = None

    def __init__(self, acr_values: Iterable[str] | None = None, max_age: int | None = None) -> None:
        values = checked_values("acr", self.acr_values if acr_values is None else acr_values)
        age = checked_max_age(self.max_age if max_age is None else max_age)
        if not values and age is None:
            raise ImproperlyConfigured(f"{type(self).__name__} needs acr_values, max_age or both")
        self.requirement = StepUpRequirement(values, age)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "acr_values" in cls.__dict__:
            checked_values("acr", cls.acr_values)
        if "max_age" in cls.__dict__:
            checked_max_age(cls.max_age)

    def check(self, token: AccessToken) -> ProtocolError | None:
        return self.requirement.check(token, now=clock.now(), leeway=get_config().leeway)


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_HTTP_METHODS = _SAFE_METHODS | {"POST", "PUT", "PATCH", "DELETE", "TRACE", "CONNECT"}
_METHOD_GROUPS = ("read", "write")


def _scopes_by_method(mapping: object, owner: str = "required_scopes") -> dict[str, ScopeRequirement]:
    """Validate a ``required_scopes`` mapping (``owner`` names it in the error message)."""
    if not isinstance(mapping, dict) or not mapping:
        raise ImproperlyConfigured(f"{owner} must be a non-empty dict of HTTP method to scopes, not {mapping!r}")
    result: dict[str, ScopeRequirement] = {}
    for method, scopes in mapping.items():
        if not isinstance(method, str) or (method not in _METHOD_GROUPS and method.upper() not in _HTTP_METHODS):
            raise ImproperlyConfigured(f"{owner} key {method!r} is neither an HTTP method nor 'read' or 'write'")
        values = checked_values("scope", scopes)
        if not values:
            raise ImproperlyConfigured(f"{owner}[{method!r}] lists no scope")
        result[method if method in _METHOD_GROUPS else method.upper()] = ScopeRequirement(values)
    return result


class HasScopeForMethod(AccessTokenPermission):
    """Scopes per HTTP method, for the common REST view with reads and writes::

        permission_classes = [HasScopeForMethod({"read": ["orders:read"], "write": ["orders:write"]})]

        class OrderView(APIView):
            permission_classes = [HasScopeForMethod]
            required_scopes = {"GET": ["orders:read"], "POST": ["orders:write"]}

    Keys are HTTP methods, or ``"read"`` (GET, HEAD, OPTIONS) and ``"write"`` (every
    other method); an exact method wins over its group. Every scope listed for the method
    is required, as with :class:`HasScope`. A method without an entry is refused with 403
    ``insufficient_scope`` (fail closed). Without a mapping here, the ``required_scopes``
    attribute of the view *instance* is used, read and validated on each request: DRF sets
    ``as_view(required_scopes=...)`` and ``@action(required_scopes=...)`` on the instance,
    so each route of one view class gets its own mapping.
    """

    def __init__(self, required_scopes: dict[str, Iterable[str]] | None = None) -> None:
        self.by_method = _scopes_by_method(required_scopes) if required_scopes is not None else None

    def _requirement(self, request: Request, view: Any) -> ScopeRequirement | None:
        by_method = self.by_method
        if by_method is None:
            # Not cached: a cache keyed by the view class gave every route of the class the
            # mapping of whichever route was requested first. Validating costs a few µs.
            owner = f"{type(view).__name__}.required_scopes"
            by_method = _scopes_by_method(getattr(view, "required_scopes", None), owner)
        method = (request.method or "").upper()
        return by_method.get(method) or by_method.get("read" if method in _SAFE_METHODS else "write")

    def required_scopes(self, request: Request, view: Any) -> tuple[str, ...]:
        requirement = self._requirement(request, view)
        return requirement.scopes if requirement is not None else ()

    def evaluate(self, request: Request, view: Any) -> Any:
        requirement = self._requirement(request, view)
        token = request.auth
        if not isinstance(token, AccessToken):
            return _without_token(request)
        if requirement is None:
            return InsufficientScope()
        return requirement.check(token)


class _Composite(AccessTokenPermission):
    """Object-level rules are DRF's own (``AND``, ``OR``, ``NOT`` of DRF 3.14+), so
    ``&``, ``|`` and ``~`` grant an object exactly when DRF's operators would."""

    def __init__(self, *operands: Any) -> None:
        if len(operands) < (1 if isinstance(self, Not) else 2):
            raise ImproperlyConfigured(f"{type(self).__name__} needs operands")
        self.operands = operands

    def evaluate_object(self, request: Request, view: Any, obj: Any) -> Any:
        raise NotImplementedError

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        return self._answer(request, view, self.evaluate_object(request, view, obj))


class AllOf(_Composite):
    """Every operand must grant; the errors of those that do not are combined into one
    challenge (:func:`~django_jwt_at.requirements.combine`) whose ``scope`` names every
    scope the operands require, met or not (Design decisions: scope parameter)."""

    def evaluate(self, request: Request, view: Any) -> Any:
        operands = [_instance(op) for op in self.operands]
        outcomes = [_evaluate(op, request, view) for op in operands]
        errors = [o for o in outcomes if isinstance(o, ProtocolError)]
        if not errors:
            return _DENIED if any(o is not None for o in outcomes) else None
        error = combine(errors)
        if isinstance(error, (InsufficientScope, InsufficientUserAuthentication)) and error.scope:
            error.scope = self.required_scopes(request, view, operands)
        return error

    def required_scopes(self, request: Request, view: Any, operands: Any = None) -> tuple[str, ...]:
        scopes = (
            scope
            for op in operands or [_instance(op) for op in self.operands]
            for scope in _permission_scopes(op, request, view)
        )
        return tuple(dict.fromkeys(scopes))

    def evaluate_object(self, request: Request, view: Any, obj: Any) -> Any:
        """DRF's ``AND``: every operand grants ``obj``. Every operand is asked, and the
        challenges of those that refuse are combined, as for the request."""
        outcomes = [_evaluate_object(_instance(op), request, view, obj) for op in self.operands]
        errors = [o for o in outcomes if isinstance(o, ProtocolError)]
        if errors:
            return combine(errors)
        return _DENIED if any(o is not None for o in outcomes) else None


class AnyOf(_Composite):
    """One operand must grant; otherwise the first operand's denial stands (Design decisions: scope parameter)."""

    def required_scopes(self, request: Request, view: Any) -> tuple[str, ...]:
        """Those of the first operand, whose denial stands when none grants."""
        return tuple(_permission_scopes(_instance(self.operands[0]), request, view))

    def evaluate(self, request: Request, view: Any) -> Any:
        first = None
        for op in self.operands:
            outcome = _evaluate(_instance(op), request, view)
            if outcome is None:
                return None
            first = outcome if first is None else first
        return first

    def evaluate_object(self, request: Request, view: Any, obj: Any) -> Any:
        """DRF's ``OR``: ``obj`` is granted only by an operand that grants both the request
        and ``obj``; ``HasScope("orders:admin") | IsOwner`` must not let a token without
        the scope reach another user's object because HasScope has no object rule.

        Otherwise the first operand's denial stands, as for the request: its request-level
        refusal (the ``insufficient_scope`` naming ``orders:admin`` tells the client what
        would grant access), or its refusal of ``obj`` when it granted the request.
        """
        first = None
        for op in self.operands:
            operand = _instance(op)
            outcome = _evaluate(operand, request, view)
            if outcome is None:
                outcome = _evaluate_object(operand, request, view, obj)
                if outcome is None:
                    return None
            first = outcome if first is None else first
        return first


class Not(_Composite):
    """Grants exactly when its operand does not; a refusal is a 403 ``insufficient_scope``.

    A request without an access token is refused whatever the operand says:
    ``~HasScope("admin")`` means "a token without the admin scope", never "no token".
    """

    def __init__(self, operand: Any) -> None:
        super().__init__(operand)

    def evaluate(self, request: Request, view: Any) -> Any:
        if not isinstance(request.auth, AccessToken):
            return _without_token(request)
        if _evaluate(_instance(self.operands[0]), request, view) is None:
            return InsufficientScope()
        return None

    def evaluate_object(self, request: Request, view: Any, obj: Any) -> Any:
        """DRF's ``NOT``: grants ``obj`` exactly when the operand's object check refuses it.
        The operand's request-level outcome plays no part, so ``~HasScope("x")`` refuses
        every object (HasScope grants every object). A refusal is DRF's plain 403: no
        scope and no new login would help."""
        if not isinstance(request.auth, AccessToken):
            return _without_token(request)
        if _evaluate_object(_instance(self.operands[0]), request, view, obj) is None:
            return _DENIED
        return None
