"""What every part of the settings reader shares: the defaults, the problem record and
the reading primitives (one setting, an integer, a bool)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from ..tenants import IssuerTemplate

AUTHENTICATION_CLASS = "django_jwt_at.authentication.JWTAccessTokenAuthentication"
CACHE_CONTROL_MIDDLEWARE = "django_jwt_at.middleware.AccessTokenCacheControlMiddleware"

# RFC 6750 §3: characters allowed inside quoted error / realm values, and inside error_uri.
QUOTED_VALUE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]+\Z")
URI_VALUE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+\Z")
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+\Z")  # RFC 6749 §3.3 scope-token
MAX_LEEWAY = 300
#: The default JWT_AT_MAX_RSA_KEY_BITS: ``django_jwt_at.keys.MAX_RSA_BITS`` (not imported
#: here, so that reading settings loads no cryptography).
DEFAULT_MAX_RSA_KEY_BITS = 8192


@dataclass(frozen=True)
class Problem:
    """A configuration error, reported by the system checks under ``django_jwt_at.<id>``."""

    id: str
    msg: str
    hint: str


DEFAULTS: Mapping[str, Any] = {
    "JWT_AT_REALM": "api",
    "JWT_AT_LEEWAY": 60,
    "JWT_AT_TOKEN_METHODS": ("header",),
    "JWT_AT_ERROR_DESCRIPTIONS": True,
    "JWT_AT_ERROR_URI": None,
    "JWT_AT_CHALLENGE_SCOPE": False,
    "JWT_AT_CACHE": "default",
    "JWT_AT_HTTP_TIMEOUT": 5,
    "JWT_AT_JWKS_DEFAULT_TTL": 3600,
    "JWT_AT_JWKS_MIN_TTL": 300,
    "JWT_AT_JWKS_MAX_TTL": 86400,
    "JWT_AT_JWKS_REFRESH_COOLDOWN": 60,
    "JWT_AT_JWKS_MAX_STALE": 86400,
    "JWT_AT_MAX_TOKEN_SIZE": 8192,
    "JWT_AT_MAX_HEADER_SIZE": 1024,
    "JWT_AT_MAX_JSON_DEPTH": 16,
    "JWT_AT_TOKEN_CACHE_SIZE": 1024,
    "JWT_AT_MAX_RSA_KEY_BITS": DEFAULT_MAX_RSA_KEY_BITS,
    "JWT_AT_USER_MAPPING": "django_jwt_at.users.StatelessUserMapping",
    "JWT_AT_CREATE_USERS": False,
    "JWT_AT_RESOURCE": None,
    "JWT_AT_RESOURCE_METADATA": {},
    "JWT_AT_RESOURCE_URL": None,
    "JWT_AT_DPOP": None,  # "optional" when the external origin is configured, else "off"
    "JWT_AT_DPOP_ALGORITHMS": ("ES256", "PS256"),
    "JWT_AT_DPOP_IAT_WINDOW": (60, 10),
    "JWT_AT_DPOP_NONCE": False,
    "JWT_AT_DPOP_NONCE_LIFETIME": 300,
    "JWT_AT_DPOP_NONCE_SECRET": None,
    "JWT_AT_DPOP_ACCEPT_BOUND_AS_BEARER": False,
    "JWT_AT_MTLS_CERT_HEADER": None,
    "JWT_AT_MTLS_CERT_FORMAT": "rfc9440",
    "JWT_AT_REQUIRE_SENDER_CONSTRAINED": False,
    "JWT_AT_FAPI2": False,
    "JWT_AT_ISSUER_RESOLVER": None,
    "JWT_AT_MAX_DYNAMIC_ISSUERS": 1000,
    "JWT_AT_NEW_ISSUERS_PER_MINUTE": 60,
    "JWT_AT_DYNAMIC_ISSUER_TTL": 60,
}


class ReaderBase:
    """Reads and validates settings, collecting every problem instead of stopping at one.
    The concerns (issuers, DPoP, ...) are mixins of :class:`~django_jwt_at.conf.reader.Reader`."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        #: The issuer templates read (django_jwt_at.tenants), for the checks that need them.
        self.templates: tuple[IssuerTemplate, ...] = ()

    def problem(self, id: str, msg: str, hint: str) -> None:
        self.problems.append(Problem(id, msg, hint))

    def setting(self, name: str) -> Any:
        return getattr(settings, name, DEFAULTS.get(name))

    def integer(self, name: str, low: int, high: int, id: str) -> int:
        value = self.setting(name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(id, f"{name} must be an integer from {low} to {high}.", "")
            return int(DEFAULTS[name])
        return value

    def boolean(self, name: str, id: str) -> bool:
        value = self.setting(name)
        if not isinstance(value, bool):
            self.problem(id, f"{name} must be True or False.", "")
            return bool(DEFAULTS[name])
        return value
