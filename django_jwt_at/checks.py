"""System checks: every configuration error is reported by ``manage.py check`` with a hint.

``django_jwt_at.E0xx`` are the problems found by :func:`django_jwt_at.conf.read_config`
(the same reader the runtime uses, which refuses to run with any of them; E050-E052 are
the user-mapping settings), plus E014; ``django_jwt_at.W001`` warns about the
authentication class order, W002 about issuer profiles that accept tokens RFC 9068
refuses. E015, a deployment check (``manage.py check --deploy``), fetches every issuer's metadata and key set.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.utils.module_loading import import_string

from . import clock
from .conf import AUTHENTICATION_CLASS, CACHE_CONTROL_MIDDLEWARE, read_config, read_openapi_security_scheme
from .discovery import discover
from .fetch import FetchError, fetch_json
from .jwks import build_key_set


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Report every invalid ``JWT_AT_*`` setting (E001-E014, E016-E019, E030-E038, E040,
    E050-E052), relaxed issuer profiles (W002) and DPoP without an external origin (W030)."""
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
    for issuer in config.issuers.values():
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
