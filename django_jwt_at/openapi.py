"""OpenAPI 3 for drf-spectacular: the security scheme of
:class:`~django_jwt_at.authentication.JWTAccessTokenAuthentication` and, per operation, the
scopes this package's permissions require.

Loaded by the app when ``drf_spectacular`` is in ``INSTALLED_APPS`` (install the
``openapi`` extra). The scheme is ``JWT_AT_OPENAPI_SECURITY_SCHEME``: by default
``{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}``.

The permissions of a view are read as a boolean formula over scopes, written in
disjunctive normal form: each OpenAPI Security Requirement Object (OpenAPI 3.0.3 §4.7.30)
lists the scopes that together suffice, and an operation's ``security`` lists the
alternatives. ``HasScope("a", "b")`` and ``&`` put scopes into one requirement;
``HasAnyScope`` and ``|`` make alternatives. Requirements that are not scopes (step-up,
roles, ``~``, DRF's own permissions) need a token but add no scope. The scopes of
``access_token_required``/``step_up_required`` on a DRF function view (either side of
``@api_view``) are required together with the permissions'.

OpenAPI 3.0 allows scopes in a requirement only for ``oauth2`` and ``openIdConnect``
schemes: with the default ``http`` scheme they are listed when ``OAS_VERSION`` is 3.1 or
later (which allows role names there), and left out (``[]``) under 3.0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.settings import spectacular_settings
from rest_framework import permissions as drf

from .conf import openapi_security_scheme
from .permissions import AllOf, AnyOf, HasScope, HasScopeForMethod, _instance
from .requirements import ScopeRequirement

#: A formula in disjunctive normal form: alternatives, each the scopes it needs together.
#: ``[()]`` is "any token", ``[]`` is "never granted".
Alternatives = list[tuple[str, ...]]

_ANY_TOKEN: Alternatives = [()]


def _minimal(alternatives: Iterable[tuple[str, ...]]) -> Alternatives:
    """Drop repeated alternatives and those that need more than another one (A | A&B = A)."""
    unique = list(dict.fromkeys(alternatives))
    return [a for a in unique if not any(set(b) < set(a) for b in unique)]


def _all_of(operands: Iterable[Alternatives]) -> Alternatives:
    result: Alternatives = [()]
    for alternatives in operands:
        result = [tuple(dict.fromkeys(a + b)) for a in result for b in alternatives]
    return _minimal(result)


def _any_of(operands: Iterable[Alternatives]) -> Alternatives:
    return _minimal(a for alternatives in operands for a in alternatives)


def required_scopes(permission: Any, request: Any, view: Any) -> Alternatives:
    """The scope alternatives under which ``permission`` (an instance or class) can grant
    ``request`` on ``view``."""
    permission = _instance(permission) if isinstance(permission, type) else permission
    if isinstance(permission, HasScope):
        return _alternatives(permission.requirement)
    if isinstance(permission, HasScopeForMethod):
        found = permission._requirement(request, view)
        return [found.scopes] if found is not None else []
    if isinstance(permission, AllOf):
        return _all_of(required_scopes(op, request, view) for op in permission.operands)
    if isinstance(permission, AnyOf):
        return _any_of(required_scopes(op, request, view) for op in permission.operands)
    # DRF's own composition (a DRF permission class written first: IsAuthenticated & HasScope(...)).
    if isinstance(permission, (drf.AND, drf.OR)):
        operands = (required_scopes(getattr(permission, op), request, view) for op in ("op1", "op2"))
        return _all_of(operands) if isinstance(permission, drf.AND) else _any_of(operands)
    return list(_ANY_TOKEN)


def _alternatives(requirement: ScopeRequirement) -> Alternatives:
    return [(s,) for s in requirement.scopes] if requirement.any_of else [requirement.scopes]


def decorator_scopes(view: Any) -> Alternatives:
    """The scope alternatives that :func:`~django_jwt_at.decorators.access_token_required`
    (or :func:`~django_jwt_at.decorators.step_up_required`) adds to ``view`` for the
    method of ``view.request``: ``scopes`` all together, one of ``any_scopes``.

    Found on a DRF function view whichever order the decorators are in: below
    ``@api_view`` the decorated function is what the view's handler calls, above it the
    view was built with the requirements (``initkwargs``). Also on a handler decorated
    with ``method_decorator``. ``[()]`` when there is no such decorator."""
    requirements = getattr(view, "jwt_at_scope_requirements", None)
    if requirements is None:
        handler = getattr(type(view), str(getattr(view.request, "method", "")).lower(), None)
        requirements = _decorator_requirements(handler)
    return _all_of(_alternatives(r) for r in requirements or ())


def _decorator_requirements(handler: Any) -> tuple[ScopeRequirement, ...] | None:
    """The requirements of the decorated function ``handler`` is or calls: DRF's
    ``@api_view`` handler holds the function in its closure (``handler`` calls
    ``func``), ``functools.wraps`` wrappers name theirs in ``__wrapped__``."""
    todo, seen = [(handler, 0)], set()
    while todo:
        function, depth = todo.pop()
        if function is None or id(function) in seen or depth > 3:
            continue
        seen.add(id(function))
        found = getattr(function, "jwt_at_scope_requirements", None)
        if found is not None:
            return tuple(found)
        todo.append((getattr(function, "__wrapped__", None), depth + 1))
        for cell in getattr(function, "__closure__", None) or ():
            try:
                contents = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if callable(contents) and not isinstance(contents, type):
                todo.append((contents, depth + 1))
    return None


def view_scopes(view: Any) -> Alternatives:
    """The scope alternatives of every permission of ``view`` together (DRF requires all),
    and of the :func:`decorator_scopes`."""
    permissions = [required_scopes(p, view.request, view) for p in view.get_permissions()]
    return _all_of([*permissions, decorator_scopes(view)])


class JWTAccessTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """drf-spectacular extension for :class:`~django_jwt_at.authentication.JWTAccessTokenAuthentication`
    and its subclasses. ``name`` is the key of the scheme in ``components.securitySchemes``;
    to change it, subclass with ``priority = 1``."""

    target_class = "django_jwt_at.authentication.JWTAccessTokenAuthentication"
    match_subclasses = True
    name = "jwtAccessToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return dict(openapi_security_scheme())

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[str]]]:
        assert isinstance(self.name, str)
        scheme_type = openapi_security_scheme()["type"]
        if scheme_type == "http" and not _scopes_allowed_for_http():
            return [{self.name: []}]
        alternatives = view_scopes(auto_schema.view) or [()]
        return [{self.name: list(scopes)} for scopes in alternatives]


def _scopes_allowed_for_http() -> bool:
    # OpenAPI 3.0.3 §4.7.30: "For other security scheme types, the array MUST be empty";
    # 3.1 (§4.8.30) allows "a list of role names which are required for the execution".
    version: Sequence[str] = str(spectacular_settings.OAS_VERSION).split(".")
    return (int(version[0]), int(version[1])) >= (3, 1)
