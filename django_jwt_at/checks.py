"""System checks: every configuration error is reported by ``manage.py check`` with a hint.

``django_jwt_at.E0xx`` are the problems found by :func:`django_jwt_at.conf.read_config`
(the same reader the runtime uses, which refuses to run with any of them; E050-E052 are
the user-mapping settings), plus E014; ``django_jwt_at.W001`` warns about the
authentication class order, W002 about issuer profiles that accept tokens RFC 9068
refuses. E015, a deployment check (``manage.py check --deploy``), fetches every issuer's metadata and key set.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.memcached import BaseMemcachedCache
from django.core.cache.backends.redis import RedisCache
from django.core.checks import CheckMessage, Error, Warning
from django.urls import get_resolver
from django.utils.module_loading import import_string

from . import clock
from .conf import AUTHENTICATION_CLASS, CACHE_CONTROL_MIDDLEWARE, DPOP_MODES, read_config, read_openapi_security_scheme
from .discovery import discover
from .fetch import FetchError, fetch_json
from .jwks import build_key_set
from .metadata import _callbacks

#: Django's cache backends whose ``add`` stores only when the key is absent, across every
#: process that shares the cache.
_SHARED_ADD_BACKENDS = (RedisCache, BaseMemcachedCache, DatabaseCache, FileBasedCache)


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Report every problem the settings reader finds (the E0xx it shares with the runtime),
    relaxed issuer profiles (W002) and DPoP without an external origin (W030)."""
    config, problems = read_config()
    problems += read_openapi_security_scheme()[1]
    messages: list[CheckMessage] = [Error(p.msg, hint=p.hint or None, id=f"django_jwt_at.{p.id}") for p in problems]
    if "query" in config.token_methods and CACHE_CONTROL_MIDDLEWARE not in settings.MIDDLEWARE:
        messages.append(
            Error(
                'JWT_AT_TOKEN_METHODS enables "query" but responses would not be marked private.',
                hint=f"Add {CACHE_CONTROL_MIDDLEWARE!r} to MIDDLEWARE (RFC 6750 §2.3).",
                id="django_jwt_at.E014",
            )
        )
    for issuer in [*config.issuers.values(), *(t.base for t in config.issuer_templates)]:
        if not issuer.is_rfc9068:
            # Said out loud, because these options accept tokens RFC 9068 §4 refuses.
            messages.append(
                Warning(
                    f"The profile of issuer {issuer.issuer!r} accepts tokens that are not RFC 9068 "
                    "access tokens (TOKEN_TYPES, AUDIENCE_CLAIM, CLIENT_ID_CLAIM or REQUIRED_CLAIMS).",
                    hint="Right for providers that do not issue RFC 9068 tokens (docs/providers.rst); "
                    "prefer the provider's RFC 9068 option where it has one. Silence with "
                    "SILENCED_SYSTEM_CHECKS = ['django_jwt_at.W002'].",
                    id="django_jwt_at.W002",
                )
            )
    if config.dpop_nonce and CACHE_CONTROL_MIDDLEWARE not in settings.MIDDLEWARE:
        messages.append(
            Error(
                "JWT_AT_DPOP_NONCE is on but DRF responses would not carry the DPoP-Nonce header.",
                hint=f"Add {CACHE_CONTROL_MIDDLEWARE!r} to MIDDLEWARE (RFC 9449 §9).",
                id="django_jwt_at.E037",
            )
        )
    if config.dpop_mode != "off" and config.dpop_origin is None and not problems:
        messages.append(
            Warning(
                f"JWT_AT_DPOP is {config.dpop_mode!r} but no external origin is configured: "
                "every DPoP proof will be refused (its htu cannot match).",
                hint="Set JWT_AT_RESOURCE_URL (or JWT_AT_RESOURCE) to the origin clients use, e.g. "
                "'https://api.example.com'; it is never taken from the Host header (RFC 9449 §4.3).",
                id="django_jwt_at.W030",
            )
        )
    return messages


def _view_dpop_modes() -> Iterator[str]:
    """The DPoP modes that views of ROOT_URLCONF set (a ``dpop`` class attribute or
    ``as_view()`` argument, or the decorators' ``dpop``)."""
    for callback in _callbacks(get_resolver().url_patterns):
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        initkwargs = getattr(callback, "initkwargs", None) or getattr(callback, "view_initkwargs", None) or {}
        for mode in (
            getattr(callback, "jwt_at_dpop", None),
            getattr(view_class, "dpop", None),
            initkwargs.get("dpop") if isinstance(initkwargs, dict) else None,
        ):
            if mode in DPOP_MODES:
                yield mode


def _replay_store_problem(alias: str) -> CheckMessage | None:
    """E039/W031: the DPoP replay store is ``cache.add`` on the ``alias`` cache, which must
    refuse a key that is already there (RFC 9449 §11.1), in every process."""
    cache: BaseCache = caches[alias]
    unusable = Error(
        f"DPoP is on but the cache {alias!r} (JWT_AT_CACHE) cannot detect a replayed proof: "
        f"{type(cache).__name__}.add() does not refuse a key it already holds.",
        hint="Point JWT_AT_CACHE at a cache shared by every process, such as Redis or Memcached "
        "(RFC 9449 §11.1); or set JWT_AT_DPOP = 'off'.",
        id="django_jwt_at.E039",
    )
    if isinstance(cache, DummyCache):
        return unusable
    if isinstance(cache, LocMemCache):
        return Warning(
            f"The DPoP replay store (cache {alias!r}, JWT_AT_CACHE) is a LocMemCache: each process "
            "keeps its own, so a proof replayed to another worker is accepted.",
            hint="Use a cache every process shares, such as Redis or Memcached. A single-process "
            "deployment may silence this with SILENCED_SYSTEM_CHECKS = ['django_jwt_at.W031'].",
            id="django_jwt_at.W031",
        )
    if isinstance(cache, _SHARED_ADD_BACKENDS):
        return None
    # Another backend: try it. A cache that cannot be reached now is not judged here (the
    # replay check answers 503 while it is unreachable).
    key = f"django_jwt_at:check:{uuid.uuid4().hex}"
    try:
        first, second = cache.add(key, 1, timeout=10), cache.add(key, 1, timeout=10)
        cache.delete(key)
    except Exception:  # noqa: BLE001  (a third-party backend may raise anything)
        return None
    return None if first and not second else unusable


def check_dpop_resource(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E039/W031 (the DPoP replay store) when any view supports DPoP, E041 when
    JWT_AT_DPOP_ACCEPT_BOUND_AS_BEARER is set while a view supports DPoP, and W032 when
    sender-constrained tokens are required but no binding can be verified anywhere."""
    config, problems = read_config()
    if problems:
        return []
    try:
        view_modes = set(_view_dpop_modes())
    except Exception:  # noqa: BLE001  (a broken URLconf is reported by Django's own URL checks)
        view_modes = set()
    messages: list[CheckMessage] = []
    if config.dpop_accept_bound_as_bearer and view_modes - {"off"}:
        messages.append(
            Error(
                "JWT_AT_DPOP_ACCEPT_BOUND_AS_BEARER is True but a view supports DPoP (its dpop is "
                "'optional' or 'required').",
                hint="A resource that supports DPoP must refuse DPoP-bound tokens sent as Bearer "
                "(RFC 9449 §7.2): the setting applies only when DPoP is off for the whole resource.",
                id="django_jwt_at.E041",
            )
        )
    if config.dpop_mode != "off" or view_modes - {"off"}:
        problem = _replay_store_problem(config.cache_alias)
        if problem is not None:
            messages.append(problem)
    elif config.require_sender_constrained and config.mtls_cert_meta_key is None:
        messages.append(
            Warning(
                "JWT_AT_REQUIRE_SENDER_CONSTRAINED is True but neither DPoP (JWT_AT_DPOP and every view's "
                "dpop are 'off') nor certificate binding (JWT_AT_MTLS_CERT_HEADER) is on: every access "
                "token will be refused.",
                hint="Turn DPoP on (RFC 9449) or set JWT_AT_MTLS_CERT_HEADER to the header in which the "
                "TLS-terminating proxy forwards client certificates (RFC 8705).",
                id="django_jwt_at.W032",
            )
        )
    return messages


def _is_ours(path: object) -> bool:
    from .authentication import JWTAccessTokenAuthentication

    try:
        cls = import_string(path) if isinstance(path, str) else path
    except ImportError:
        return False
    return isinstance(cls, type) and issubclass(cls, JWTAccessTokenAuthentication)


def check_authentication_order(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W001: DRF builds the 401 challenge for missing credentials from the FIRST
    authentication class; with another class first, DRF's own permissions (such as
    IsAuthenticated) answer 403 without a Bearer challenge. Subclasses count as ours."""
    classes = list(getattr(settings, "REST_FRAMEWORK", {}).get("DEFAULT_AUTHENTICATION_CLASSES", []))
    if classes and not _is_ours(classes[0]) and any(_is_ours(c) for c in classes[1:]):
        return [
            Warning(
                f"{AUTHENTICATION_CLASS} is not the first of DEFAULT_AUTHENTICATION_CLASSES.",
                hint="Put it first so that requests without credentials get a 401 with the "
                "Bearer challenge (RFC 6750 §3); this package's permission classes do so anyway.",
                id="django_jwt_at.W001",
            )
        ]
    return []


def check_issuers_reachable(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E015 (deployment check, makes network requests): every issuer's metadata (when
    JWKS_URI is not set) is usable (RFC 8414 §3.3 exact issuer match, https jwks_uri) and
    its key set has at least one usable key."""
    config, problems = read_config()
    if problems:
        return []
    messages: list[CheckMessage] = []
    for issuer in config.issuers.values():
        try:
            jwks_uri = issuer.jwks_uri or discover(issuer, timeout=config.http_timeout)[0]
            now = clock.now()
            build_key_set(issuer, fetch_json(jwks_uri, timeout=config.http_timeout), now, now)
        except FetchError as exc:
            messages.append(
                Error(
                    f"The keys of issuer {issuer.issuer!r} cannot be obtained: {exc}.",
                    hint="Check the issuer identifier, JWKS_URI and ALGORITHMS against the "
                    "authorization server's metadata; tokens of this issuer get 503 until fixed.",
                    id="django_jwt_at.E015",
                )
            )
    return messages
