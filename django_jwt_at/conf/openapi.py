"""``JWT_AT_OPENAPI_SECURITY_SCHEME``, read only by :mod:`django_jwt_at.openapi` while a
schema is generated (check E040)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import Problem

#: The default ``JWT_AT_OPENAPI_SECURITY_SCHEME``: RFC 6750 bearer tokens in JWT format.
OPENAPI_BEARER_SCHEME: Mapping[str, Any] = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
_OAUTH2_FLOW_URLS = {
    "implicit": ("authorizationUrl",),
    "password": ("tokenUrl",),
    "clientCredentials": ("tokenUrl",),
    "authorizationCode": ("authorizationUrl", "tokenUrl"),
}


def _openapi_scheme_problem(scheme: object) -> str | None:
    """Why ``scheme`` is not a Security Scheme Object this package can describe itself by
    (OpenAPI 3.0.3 §4.7.33), or None."""
    if not isinstance(scheme, Mapping):
        return "it must be None or a dict (an OpenAPI Security Scheme Object)"
    kind = scheme.get("type")
    allowed = {"type", "description"} | {
        "http": {"scheme", "bearerFormat"},
        "oauth2": {"flows"},
        "openIdConnect": {"openIdConnectUrl"},
    }.get(kind if isinstance(kind, str) else "", set())
    unknown = sorted(str(k) for k in scheme if k not in allowed and not str(k).startswith("x-"))
    if kind not in ("http", "oauth2", "openIdConnect"):
        return "its type must be 'http', 'oauth2' or 'openIdConnect'"
    if unknown:
        return f"it has members that a {kind} scheme does not have: {unknown}"
    if not all(isinstance(scheme.get(k, ""), str) for k in ("description", "bearerFormat", "openIdConnectUrl")):
        return "description, bearerFormat and openIdConnectUrl must be strings"
    if kind == "http" and str(scheme.get("scheme", "")).lower() != "bearer":
        return "an http scheme must have scheme 'bearer' (RFC 6750)"
    if kind == "openIdConnect" and not scheme.get("openIdConnectUrl"):
        return "an openIdConnect scheme needs openIdConnectUrl"
    if kind == "oauth2":
        flows = scheme.get("flows")
        if not isinstance(flows, Mapping) or not flows:
            return "an oauth2 scheme needs a non-empty dict of flows"
        for name, flow in flows.items():
            if name not in _OAUTH2_FLOW_URLS:
                return f"{name!r} is not an OAuth 2.0 flow of OpenAPI ({sorted(_OAUTH2_FLOW_URLS)})"
            urls = (*_OAUTH2_FLOW_URLS[name], "refreshUrl")
            if not isinstance(flow, Mapping) or not all(
                isinstance(flow.get(u), str) and flow.get(u) for u in urls if u != "refreshUrl" or u in flow
            ):
                return f"the {name} flow needs the string members {list(_OAUTH2_FLOW_URLS[name])}"
            scopes = flow.get("scopes")
            if not isinstance(scopes, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in scopes.items()
            ):
                return f"the {name} flow needs scopes: a dict of scope to description"
    return None


def read_openapi_security_scheme() -> tuple[Mapping[str, Any], list[Problem]]:
    """``JWT_AT_OPENAPI_SECURITY_SCHEME`` (default :data:`OPENAPI_BEARER_SCHEME`) and the
    problems found in it (check E040)."""
    scheme = getattr(settings, "JWT_AT_OPENAPI_SECURITY_SCHEME", None)
    if scheme is None:
        return OPENAPI_BEARER_SCHEME, []
    why = _openapi_scheme_problem(scheme)
    if why:
        hint = (
            'For example {"type": "openIdConnect", "openIdConnectUrl": '
            '"https://as.example.com/.well-known/openid-configuration"}, or None for an http bearer scheme.'
        )
        return OPENAPI_BEARER_SCHEME, [Problem("E040", f"JWT_AT_OPENAPI_SECURITY_SCHEME is not valid: {why}.", hint)]
    assert isinstance(scheme, Mapping)
    return scheme, []


def openapi_security_scheme() -> Mapping[str, Any]:
    """The valid ``JWT_AT_OPENAPI_SECURITY_SCHEME``; ImproperlyConfigured when it is not."""
    scheme, problems = read_openapi_security_scheme()
    if problems:
        raise ImproperlyConfigured(f"django_jwt_at.E040: {problems[0].msg}")
    return scheme
