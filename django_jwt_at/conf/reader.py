"""The settings reader, assembled from one mixin per concern, and the validated
:class:`Config` it produces."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from .base import DEFAULT_MAX_RSA_KEY_BITS, DEFAULTS, MAX_LEEWAY, QUOTED_VALUE, URI_VALUE, Problem
from .dpop import DPoPSettings
from .issuers import MAX_RSA_KEY_BITS_RANGE, SUPPORTED_ALGORITHMS, IssuerConfig, IssuerSettings
from .metadata import ResourceSettings, metadata_url
from .mtls import DPOP_CONFIRMATION_METHODS, SenderConstraintSettings
from .users import UserSettings, user_mapping_class

if TYPE_CHECKING:
    from ..tenants import IssuerResolver, IssuerTemplate
    from ..users import UserMapping

TOKEN_METHODS = frozenset({"header", "query", "body"})
#: The largest JWT_AT_MAX_TOKEN_SIZE accepted (E016).
MAX_TOKEN_SIZE_LIMIT = 65536


@dataclass(frozen=True)
class InputLimits:
    """Bounds on hostile input: sizes are checked before anything is decoded, nesting
    right after the (linear) JSON parse (RFC 8725 §3)."""

    max_token_size: int  # characters of the whole compact token
    max_header_size: int  # characters of the protected-header segment
    max_json_depth: int  # nesting of arrays and objects in the header and the claims


@dataclass(frozen=True)
class Config:
    """Every ``JWT_AT_*`` setting, validated."""

    issuers: Mapping[str, IssuerConfig]
    algorithms: frozenset[str]  # allowed for at least one issuer
    token_types: frozenset[str | None]  # accepted by at least one issuer
    realm: str
    leeway: int
    token_methods: frozenset[str]
    error_descriptions: bool
    error_uri: str | None
    cache_alias: str
    http_timeout: float
    jwks_default_ttl: int
    jwks_min_ttl: int
    jwks_max_ttl: int
    jwks_refresh_cooldown: int
    jwks_max_stale: int
    limits: InputLimits
    token_cache_size: int
    user_mapping: str  # the dotted path of a UserMapping subclass (JWT_AT_USER_MAPPING)
    create_users: bool
    max_rsa_bits: int = DEFAULT_MAX_RSA_KEY_BITS  # JWT_AT_MAX_RSA_KEY_BITS
    resource: str | None = None  # RFC 9728 §1.2 resource identifier (JWT_AT_RESOURCE)
    resource_metadata_url: str | None = None  # RFC 9728 §3.1, derived from ``resource``
    resource_metadata: Mapping[str, Any] = field(default_factory=dict)  # extra metadata fields
    dpop_mode: str = "off"  # "off" | "optional" | "required" (RFC 9449 §7.2)
    dpop_algorithms: tuple[str, ...] = ("ES256", "PS256")  # proof algorithms, in `algs` order
    dpop_iat_window: tuple[int, int] = (60, 10)  # seconds a proof's iat may lie in the past, future
    dpop_origin: str | None = None  # normalised external origin that htu is checked against
    dpop_nonce: bool = False  # RS-provided nonces (RFC 9449 §9, Design decisions: dpop nonces)
    dpop_nonce_lifetime: int = 300
    dpop_nonce_key: bytes = field(default=b"", repr=False)
    dpop_accept_bound_as_bearer: bool = False  # "off" mode only (Design decisions: dpop modes)
    # Certificate-bound tokens (RFC 8705 §3): the header a trusted proxy forwards the client
    # certificate in, its WSGI environ key ("HTTP_CLIENT_CERT"), and its format.
    mtls_cert_header: str | None = None
    mtls_cert_meta_key: str | None = None
    mtls_cert_format: str = "rfc9440"
    #: The ``cnf`` members validation accepts: ``jkt``, and ``x5t#S256`` with certificate binding on.
    confirmation_methods: frozenset[str] = DPOP_CONFIRMATION_METHODS
    require_sender_constrained: bool = False  # refuse tokens whose binding was not verified
    fapi2: bool = False  # settings that FAPI 2.0 does not allow are errors (E045)
    challenge_scope: bool = False  # the view's scopes on 401s without credentials (RFC 6750 §3)
    # Issuers trusted at run time (django_jwt_at.tenants): templates of JWT_AT_ISSUERS, the
    # JWT_AT_ISSUER_RESOLVER callable and the bounds on what they cost.
    issuer_templates: tuple[IssuerTemplate, ...] = ()
    issuer_resolver: IssuerResolver | None = field(default=None, compare=False)
    max_dynamic_issuers: int = 1000
    new_issuers_per_minute: int = 60
    dynamic_issuer_ttl: int = 60

    @property
    def user_mapping_class(self) -> type[UserMapping]:
        """The class :attr:`user_mapping` names, imported on first use."""
        return user_mapping_class(self.user_mapping)


class Reader(IssuerSettings, DPoPSettings, SenderConstraintSettings, ResourceSettings, UserSettings):
    """Reads every setting into a :class:`Config`, collecting every problem."""

    def read(self) -> Config:
        # Read before the issuers, whose key sets it bounds.
        max_rsa_bits = self.integer("JWT_AT_MAX_RSA_KEY_BITS", *MAX_RSA_KEY_BITS_RANGE, "E019")
        issuers = self.issuers(max_rsa_bits)
        leeway = self.integer("JWT_AT_LEEWAY", 0, MAX_LEEWAY, "E007")
        realm = self.setting("JWT_AT_REALM")
        if not isinstance(realm, str) or not QUOTED_VALUE.match(realm):
            self.problem(
                "E008",
                "JWT_AT_REALM must be a non-empty string of printable ASCII without '\"' or '\\'.",
                "",
            )
            realm = DEFAULTS["JWT_AT_REALM"]
        methods = self.setting("JWT_AT_TOKEN_METHODS")
        if (
            not isinstance(methods, (list, tuple))
            or not methods
            or not all(isinstance(m, str) and m in TOKEN_METHODS for m in methods)
        ):
            self.problem(
                "E009",
                f"JWT_AT_TOKEN_METHODS must be a non-empty list drawn from {sorted(TOKEN_METHODS)}.",
                "",
            )
            methods = DEFAULTS["JWT_AT_TOKEN_METHODS"]
        descriptions = self.boolean("JWT_AT_ERROR_DESCRIPTIONS", "E010")
        error_uri = self.setting("JWT_AT_ERROR_URI")
        if error_uri is not None and (
            not isinstance(error_uri, str) or not URI_VALUE.match(error_uri) or not urlsplit(error_uri).scheme
        ):
            self.problem(
                "E011",
                "JWT_AT_ERROR_URI must be None or an absolute URI of printable ASCII without "
                "spaces, '\"' or '\\' (RFC 6750 §3).",
                "",
            )
            error_uri = None
        cache_alias = self.setting("JWT_AT_CACHE")
        if not isinstance(cache_alias, str) or cache_alias not in settings.CACHES:
            self.problem("E012", f"JWT_AT_CACHE {cache_alias!r} is not an alias in CACHES.", "")
            cache_alias = "default"
        timeout = self.setting("JWT_AT_HTTP_TIMEOUT")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 60:
            self.problem("E013", "JWT_AT_HTTP_TIMEOUT must be a number of seconds in (0, 60].", "")
            timeout = DEFAULTS["JWT_AT_HTTP_TIMEOUT"]
        day = 86400
        min_ttl = self.integer("JWT_AT_JWKS_MIN_TTL", 0, 7 * day, "E013")
        max_ttl = self.integer("JWT_AT_JWKS_MAX_TTL", 0, 7 * day, "E013")
        default_ttl = self.integer("JWT_AT_JWKS_DEFAULT_TTL", 0, 7 * day, "E013")
        if not min_ttl <= default_ttl <= max_ttl:
            self.problem(
                "E013",
                "The key-set lifetimes must satisfy JWT_AT_JWKS_MIN_TTL <= JWT_AT_JWKS_DEFAULT_TTL "
                f"<= JWT_AT_JWKS_MAX_TTL (now {min_ttl}, {default_ttl}, {max_ttl}).",
                "",
            )
        resource = self.resource()
        from ..tenants import read_dynamic_settings  # imports this module

        dynamic = read_dynamic_settings(self)
        # The parse-time envelope (cheap checks first): what at least one issuer accepts.
        # A resolver may return any supported algorithm and the token types it is allowed.
        profiles = [*issuers.values(), *(t.base for t in self.templates)]
        algorithms = frozenset().union(*(i.algorithms for i in profiles))
        token_types: frozenset[str | None] = frozenset().union(*(i.token_types for i in profiles))
        if dynamic["issuer_resolver"] is not None:
            from ..tenants import RESOLVER_TOKEN_TYPES

            algorithms, token_types = SUPPORTED_ALGORITHMS, token_types | RESOLVER_TOKEN_TYPES
        sender = self.sender_constraint()
        config = Config(
            issuers=issuers,
            algorithms=algorithms,
            token_types=token_types,
            realm=realm,
            leeway=leeway,
            token_methods=frozenset(methods),
            error_descriptions=descriptions,
            error_uri=error_uri,
            cache_alias=cache_alias,
            http_timeout=float(timeout),
            jwks_default_ttl=default_ttl,
            jwks_min_ttl=min_ttl,
            jwks_max_ttl=max_ttl,
            jwks_refresh_cooldown=self.integer("JWT_AT_JWKS_REFRESH_COOLDOWN", 1, day, "E013"),
            jwks_max_stale=self.integer("JWT_AT_JWKS_MAX_STALE", 0, 7 * day, "E013"),
            limits=InputLimits(
                max_token_size=self.integer("JWT_AT_MAX_TOKEN_SIZE", 256, MAX_TOKEN_SIZE_LIMIT, "E016"),
                max_header_size=self.integer("JWT_AT_MAX_HEADER_SIZE", 64, 8192, "E016"),
                max_json_depth=self.integer("JWT_AT_MAX_JSON_DEPTH", 2, 64, "E016"),
            ),
            token_cache_size=self.integer("JWT_AT_TOKEN_CACHE_SIZE", 0, 1_000_000, "E017"),
            user_mapping=self.user_mapping(issuers),
            create_users=self.boolean("JWT_AT_CREATE_USERS", "E051"),
            challenge_scope=self.boolean("JWT_AT_CHALLENGE_SCOPE", "E053"),
            max_rsa_bits=max_rsa_bits,
            resource=resource,
            resource_metadata_url=metadata_url(resource) if resource else None,
            resource_metadata=self.resource_metadata(sender["mtls_cert_meta_key"] is not None),
            **self.dpop(resource),
            **sender,
            issuer_templates=self.templates,
            **dynamic,
        )
        if config.fapi2:
            from ..fapi import fapi2_violations  # imports this module

            for message, hint in fapi2_violations(config):
                self.problem("E045", message, hint)
        return config


def read_config() -> tuple[Config, list[Problem]]:
    """Read every setting; return the configuration and the problems found."""
    reader = Reader()
    config = reader.read()
    return config, reader.problems


_config: Config | None = None


def get_config() -> Config:
    """Return the validated configuration, reading settings on first use.

    Raises ImproperlyConfigured when any setting is invalid: the package fails closed
    rather than validating tokens under a configuration it does not understand.
    """
    global _config
    config = _config
    if config is None:
        config, problems = read_config()
        if problems:
            raise ImproperlyConfigured("; ".join(f"django_jwt_at.{p.id}: {p.msg}" for p in problems))
        _config = config
    return config


_reset_hooks: list[Callable[[], None]] = []


def on_config_change(hook: Callable[[], None]) -> None:
    """Call ``hook`` whenever a setting the configuration depends on changes, so that state
    derived from it (key sets, caches) is dropped together with the configuration."""
    _reset_hooks.append(hook)


@receiver(setting_changed)
def _reset_config(*, setting: str, **kwargs: Any) -> None:
    global _config
    if setting.startswith("JWT_AT_") or setting in {"CACHES", "REST_FRAMEWORK", "MIDDLEWARE"}:
        _config = None
        for hook in _reset_hooks:
            hook()
