"""The one reader of ``JWT_AT_*`` settings.

Settings are read lazily, on first use, into an immutable :class:`Config`, which is kept
until a setting changes (Django's ``setting_changed`` signal, sent by ``override_settings``),
so a request never parses settings. :func:`read_config` is shared by the system checks
(which report every problem) and the runtime (which refuses to run with any).

One module per concern: :mod:`.issuers` (``JWT_AT_ISSUERS`` and issuer profiles),
:mod:`.dpop`, :mod:`.mtls` (certificate binding, sender constraint, FAPI 2.0),
:mod:`.metadata` (RFC 9728), :mod:`.users` (user mapping), :mod:`.openapi`, the URL rules
in :mod:`.urls`, shared primitives in :mod:`.base`; :mod:`.reader` assembles them.
"""

from __future__ import annotations

from .base import (
    AUTHENTICATION_CLASS,
    CACHE_CONTROL_MIDDLEWARE,
    DEFAULT_MAX_RSA_KEY_BITS,
    DEFAULTS,
    MAX_LEEWAY,
    Problem,
)
from .dpop import DPOP_MODES, MIN_NONCE_SECRET, dpop_mode
from .issuers import (
    ALWAYS_REQUIRED,
    AT_JWT,
    ISSUER_OPTIONS,
    MAX_RSA_KEY_BITS_RANGE,
    PROFILE_OPTIONS,
    SUPPORTED_ALGORITHMS,
    TEMPLATE_OPTIONS,
    IssuerConfig,
    media_type,
)
from .metadata import METADATA_FIELDS, METADATA_WELL_KNOWN, metadata_url
from .mtls import MTLS_CERT_FORMATS
from .openapi import OPENAPI_BEARER_SCHEME, openapi_security_scheme, read_openapi_security_scheme
from .reader import (
    MAX_TOKEN_SIZE_LIMIT,
    TOKEN_METHODS,
    Config,
    InputLimits,
    get_config,
    on_config_change,
    read_config,
)
from .reader import Reader as _Reader
from .urls import is_loopback_host, normalized_origin, url_problem

__all__ = [
    "ALWAYS_REQUIRED",
    "AT_JWT",
    "AUTHENTICATION_CLASS",
    "CACHE_CONTROL_MIDDLEWARE",
    "DEFAULTS",
    "DEFAULT_MAX_RSA_KEY_BITS",
    "DPOP_MODES",
    "ISSUER_OPTIONS",
    "MAX_LEEWAY",
    "MAX_RSA_KEY_BITS_RANGE",
    "MAX_TOKEN_SIZE_LIMIT",
    "METADATA_FIELDS",
    "METADATA_WELL_KNOWN",
    "MIN_NONCE_SECRET",
    "MTLS_CERT_FORMATS",
    "OPENAPI_BEARER_SCHEME",
    "PROFILE_OPTIONS",
    "SUPPORTED_ALGORITHMS",
    "TEMPLATE_OPTIONS",
    "TOKEN_METHODS",
    "Config",
    "InputLimits",
    "IssuerConfig",
    "Problem",
    "_Reader",
    "dpop_mode",
    "get_config",
    "is_loopback_host",
    "media_type",
    "metadata_url",
    "normalized_origin",
    "on_config_change",
    "openapi_security_scheme",
    "read_config",
    "read_openapi_security_scheme",
    "url_problem",
]
