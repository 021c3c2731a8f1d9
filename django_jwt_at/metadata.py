"""RFC 9728 protected resource metadata, built from settings only.

The document served at ``/.well-known/oauth-protected-resource`` (with the resource's path
appended, RFC 9728 §3.1) names the resource, the authorization servers whose tokens it
accepts and how to present them. Nothing in it comes from the request: a ``Host`` or
``X-Forwarded-Host`` header never changes ``resource`` (RFC 9728 §3.3, §7.3).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.cache import patch_cache_control
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from .conf import Config, get_config, on_config_change

#: Bearer methods in the order the metadata lists them (RFC 9728 §2).
_METHOD_ORDER = ("header", "body", "query")


def _permission_scopes(permission: Any, view_scopes: object) -> Iterator[str]:
    """The scopes one entry of ``permission_classes`` (or a permission attribute) enforces;
    ``view_scopes`` is the route's ``required_scopes`` (for :class:`HasScopeForMethod`)."""
    from django.core.exceptions import ImproperlyConfigured

    from .permissions import AccessTokenPermission, HasScope, HasScopeForMethod, Not, _Composite, _scopes_by_method

    if isinstance(permission, type):
        if not issubclass(permission, AccessTokenPermission):
            return
        try:
            permission = permission()
        except (ImproperlyConfigured, TypeError):
            return
    if isinstance(permission, HasScope):
        yield from permission.requirement.scopes
    elif isinstance(permission, HasScopeForMethod):
        by_method = permission.by_method
        if by_method is None:
            try:
                by_method = _scopes_by_method(view_scopes)
            except ImproperlyConfigured:
                return
        for requirement in by_method.values():
            yield from requirement.scopes
    elif isinstance(permission, _Composite) and not isinstance(permission, Not):
        # A negated scope is one the resource refuses, not one it supports.
        for operand in permission.operands:
            yield from _permission_scopes(operand, view_scopes)


def _view_scopes(callback: Any) -> Iterator[str]:
    yield from getattr(callback, "jwt_at_scopes", ())  # set by the view decorators
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if not isinstance(view_class, type):
        return
    from .permissions import AccessTokenPermission

    # as_view(**initkwargs), and a router's @action(**kwargs), set attributes on the view
    # instance: they win over the class's (DRF keeps them on the callback).
    initkwargs = getattr(callback, "initkwargs", None) or getattr(callback, "view_initkwargs", None) or {}

    def attribute(name: str) -> Any:
        return initkwargs[name] if name in initkwargs else getattr(view_class, name, None)

    view_scopes = attribute("required_scopes")
    for permission in attribute("permission_classes") or ():
        yield from _permission_scopes(permission, view_scopes)
    # Permissions kept as class attributes and picked in get_permissions().
    for klass in view_class.__mro__:
        for value in vars(klass).values():
            if isinstance(value, AccessTokenPermission):
                yield from _permission_scopes(value, view_scopes)


def _callbacks(patterns: Iterable[Any]) -> Iterator[Any]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _callbacks(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            yield pattern.callback


def collect_scopes(urlconf: str | None = None) -> tuple[str, ...]:
    """Every scope that this package's permissions and decorators enforce on the views of
    ``urlconf`` (default: ROOT_URLCONF), in URLconf order, without repetition.

    Best effort: permissions chosen at run time by custom code are not seen, so set
    ``scopes_supported`` in ``JWT_AT_RESOURCE_METADATA`` to state the list exactly.
    """
    scopes = (scope for callback in _callbacks(get_resolver(urlconf).url_patterns) for scope in _view_scopes(callback))
    return tuple(dict.fromkeys(scopes))


_scopes_cache: dict[str | None, tuple[str, ...]] = {}


def _scopes(urlconf: str | None) -> tuple[str, ...]:
    urlconf = urlconf or settings.ROOT_URLCONF
    scopes = _scopes_cache.get(urlconf)
    if scopes is None:
        scopes = _scopes_cache[urlconf] = collect_scopes(urlconf)
    return scopes


on_config_change(_scopes_cache.clear)


def build_metadata(config: Config, urlconf: str | None = None) -> dict[str, Any]:
    """The metadata document (RFC 9728 §2) of the configured resource.

    Parameters with no value are omitted (RFC 9728 §3.2, Design decisions: resource metadata), except
    ``bearer_methods_supported: []`` when no Bearer method is accepted (DPoP
    ``required``). The DPoP parameters follow ``JWT_AT_DPOP``; a view's own mode is not
    reflected. ``tls_client_certificate_bound_access_tokens`` is true when
    ``JWT_AT_MTLS_CERT_HEADER`` is set (certificate binding is verified), absent otherwise.
    """
    assert config.resource is not None
    extra = dict(config.resource_metadata)
    document: dict[str, Any] = {
        "resource": config.resource,
        "authorization_servers": extra.pop("authorization_servers", None) or list(config.issuers),
    }
    scopes = extra.pop("scopes_supported", None) or list(_scopes(urlconf))
    if scopes:
        document["scopes_supported"] = scopes
    bearer = config.dpop_mode != "required"
    document["bearer_methods_supported"] = [m for m in _METHOD_ORDER if bearer and m in config.token_methods]
    if config.dpop_mode != "off":
        # The same list as the algs of the DPoP challenge (RFC 9449 §7.1).
        document["dpop_signing_alg_values_supported"] = list(config.dpop_algorithms)
    if config.dpop_mode == "required":
        document["dpop_bound_access_tokens_required"] = True
    if config.mtls_cert_meta_key is not None:
        # RFC 9728 §2, RFC 8705 §3: stated only when the certificate binding is verified.
        document["tls_client_certificate_bound_access_tokens"] = True
    document.update(extra)
    result = {name: value for name, value in document.items() if value not in ("", None, [])}
    if not document["bearer_methods_supported"]:
        result["bearer_methods_supported"] = []  # "no bearer methods are supported" (RFC 9728 §2)
    return result


@method_decorator(csrf_exempt, name="dispatch")
class ProtectedResourceMetadataView(View):
    """``GET /.well-known/oauth-protected-resource[/<path>]`` (RFC 9728 §3).

    Public (credentials are ignored), GET and HEAD only (405 otherwise), 404 when
    ``JWT_AT_RESOURCE`` is not set or the path is not the one its identifier implies.
    Cacheable for :attr:`cache_max_age` seconds (RFC 9728 §7.10).
    """

    http_method_names = ["get", "head", "options"]  # noqa: RUF012  (Django's own attribute type)
    #: ``Cache-Control: public, max-age=`` of the document.
    cache_max_age = 3600

    def get(self, request: HttpRequest, suffix: str | None = None) -> HttpResponse:
        config = get_config()
        if config.resource is None:
            raise Http404("no protected resource is configured")
        expected = urlsplit(config.resource).path.rstrip("/")
        if (suffix or "") != expected:
            raise Http404("not the metadata of the configured resource")
        response = JsonResponse(build_metadata(config, getattr(request, "urlconf", None)))
        patch_cache_control(response, public=True, max_age=self.cache_max_age)
        return response
