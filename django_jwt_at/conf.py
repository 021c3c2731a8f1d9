"""The one reader of ``JWT_AT_*`` settings.

Settings are read lazily, on first use, into an immutable :class:`Config`, which is kept
until a setting changes (Django's ``setting_changed`` signal, sent by ``override_settings``),
so a request never parses settings. :func:`read_config` is shared by the system checks
(which report every problem) and the runtime (which refuses to run with any).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from .users import ISSUER_MAX_LENGTH, ModelUserMapping, UserMapping

if TYPE_CHECKING:
    from .tenants import IssuerResolver, IssuerTemplate

#: Signature algorithms this package can verify (RFC 7518 §3, RFC 8037 §3.1).
SUPPORTED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
TOKEN_METHODS = frozenset({"header", "query", "body"})
#: Options of an issuer profile (docs/providers.rst): how a provider's tokens differ from
#: RFC 9068. Their defaults are the RFC 9068 rules.
PROFILE_OPTIONS = frozenset(
    {
        "TOKEN_TYPES",
        "AUDIENCE_CLAIM",
        "CLIENT_ID_CLAIM",
        "SCOPE_CLAIM",
        "SCOPE_FORMAT",
        "ROLES_CLAIM",
        "REQUIRED_CLAIMS",
        "REQUIRED_CLAIM_VALUES",
    }
)
#: Options of an issuer template only (an entry whose key has the ``{tenant}`` placeholder,
#: see :mod:`django_jwt_at.tenants`).
TEMPLATE_OPTIONS = frozenset({"TENANTS", "TENANT_PATTERN"})
ISSUER_OPTIONS = frozenset({"AUDIENCE", "JWKS_URI", "ALGORITHMS", "ALLOW_HTTP"}) | PROFILE_OPTIONS | TEMPLATE_OPTIONS
#: RFC 9068 §4: the ``typ`` header of a JWT access token, as normalised by :func:`media_type`.
AT_JWT = "at+jwt"
#: Claims checked whatever the profile says: iss, exp and iat are needed by every check
#: RFC 9068 §4 makes, sub by every token (RFC 9068 §2.2), the audience claim by §4 step 4.
ALWAYS_REQUIRED = ("iss", "exp", "iat", "sub")
AUTHENTICATION_CLASS = "django_jwt_at.authentication.JWTAccessTokenAuthentication"
CACHE_CONTROL_MIDDLEWARE = "django_jwt_at.middleware.AccessTokenCacheControlMiddleware"

# RFC 6750 §3: characters allowed inside quoted error / realm values, and inside error_uri.
_QUOTED_VALUE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]+\Z")
_URI_VALUE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+\Z")
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+\Z")  # RFC 6749 §3.3 scope-token
MAX_LEEWAY = 300
#: The largest JWT_AT_MAX_TOKEN_SIZE accepted (E016).
MAX_TOKEN_SIZE_LIMIT = 65536
#: The default JWT_AT_MAX_RSA_KEY_BITS: ``django_jwt_at.keys.MAX_RSA_BITS`` (not imported
#: here, so that reading settings loads no cryptography).
DEFAULT_MAX_RSA_KEY_BITS = 8192
#: The range of JWT_AT_MAX_RSA_KEY_BITS (E019): no shorter than the shortest key accepted
#: (RFC 7518 §3.3), no longer than the largest modulus OpenSSL verifies.
MAX_RSA_KEY_BITS_RANGE = (2048, 16384)


@dataclass(frozen=True)
class IssuerConfig:
    """One trusted authorization server, from an entry of ``JWT_AT_ISSUERS``; or, with
    ``dynamic``, one trusted at run time: a tenant of an issuer template (``tenant`` is its
    ``{tenant}`` value) or an issuer of ``JWT_AT_ISSUER_RESOLVER``."""

    issuer: str
    audiences: frozenset[str]
    jwks_uri: str | None
    algorithms: frozenset[str]
    allow_http: bool
    # The issuer profile (docs/providers.rst); the defaults are RFC 9068's rules.
    token_types: frozenset[str | None] = frozenset({AT_JWT})  # None: no typ header
    audience_claim: str = "aud"
    client_id_claim: str = "client_id"
    scope_claim: str = "scope"
    scope_format: str = "string"  # "string" (space-delimited, RFC 8693 §4.2) or "array"
    roles_claim: str = "roles"  # a claim name, or a dotted path into objects
    required_claims: frozenset[str] = frozenset({"client_id", "jti"})  # besides ALWAYS_REQUIRED
    required_claim_values: tuple[tuple[str, str], ...] = ()  # (claim, exact string value)
    max_rsa_bits: int = DEFAULT_MAX_RSA_KEY_BITS  # JWT_AT_MAX_RSA_KEY_BITS, for this issuer's keys
    # An issuer trusted at run time (docs/multi-tenant.rst): a tenant of an issuer template,
    # whose ``{tenant}`` value is ``tenant``, or an issuer of JWT_AT_ISSUER_RESOLVER.
    dynamic: bool = False
    tenant: str | None = None
    # Derived from the above once, for the validator: string claims that must be present,
    # string claims that may be, and other claims that must be present (any type).
    required_strings: tuple[str, ...] = field(init=False, compare=False)
    optional_strings: tuple[str, ...] = field(init=False, compare=False)
    required_other: tuple[str, ...] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        strings: tuple[str, ...] = ("sub", self.client_id_claim, "jti", "acr")
        if self.scope_format == "string":
            strings += (self.scope_claim,)
        required = tuple(c for c in strings if c == "sub" or c in self.required_claims)
        handled = {*ALWAYS_REQUIRED, self.audience_claim, *strings}
        object.__setattr__(self, "required_strings", required)
        object.__setattr__(self, "optional_strings", tuple(c for c in strings if c not in required))
        object.__setattr__(self, "required_other", tuple(sorted(self.required_claims - handled)))

    @property
    def is_rfc9068(self) -> bool:
        """False when the profile accepts tokens RFC 9068 §4 would refuse."""
        return (
            self.token_types == {AT_JWT}
            and self.audience_claim == "aud"
            and self.client_id_claim == "client_id"
            and {"client_id", "jti"} <= self.required_claims
        )


def media_type(typ: str) -> str:
    """A ``typ`` value compared as RFC 7515 §4.1.9 says: case-insensitively, with the
    ``application/`` prefix optional."""
    typ = typ.lower()
    return typ[len("application/") :] if typ.startswith("application/") else typ


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
    user_mapping: type[UserMapping]
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
    confirmation_methods: frozenset[str] = frozenset({"jkt"})
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

DPOP_MODES = ("off", "optional", "required")
#: The formats of ``JWT_AT_MTLS_CERT_FORMAT`` (see :mod:`django_jwt_at.mtls`).
MTLS_CERT_FORMATS = ("rfc9440", "pem-urlencoded")
# A header name (RFC 9110 §5.1) of letters, digits and single hyphens: WSGI turns "-" and
# "_" alike into "_", so a name with "_" could be matched by another header.
_HEADER_NAME = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\Z")
# Headers that carry something else, or that WSGI does not put under HTTP_*.
_NOT_CERT_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "dpop", "cookie", "host", "content-type", "content-length"}
)
#: The shortest JWT_AT_DPOP_NONCE_SECRET accepted (characters).
MIN_NONCE_SECRET = 32

#: RFC 9728 §3: the well-known URI suffix of protected resource metadata.
METADATA_WELL_KNOWN = "/.well-known/oauth-protected-resource"
#: RFC 9728 §2 parameters that ``JWT_AT_RESOURCE_METADATA`` may set (others are refused,
#: since this package derives them or they would contradict what it enforces).
METADATA_URI_FIELDS = frozenset({"resource_documentation", "resource_policy_uri", "resource_tos_uri", "jwks_uri"})
METADATA_LIST_FIELDS = frozenset(
    {
        "scopes_supported",
        "authorization_servers",
        "authorization_details_types_supported",
        "resource_signing_alg_values_supported",
    }
)
METADATA_FIELDS = (
    METADATA_URI_FIELDS
    | METADATA_LIST_FIELDS
    | {
        "resource_name",
        "tls_client_certificate_bound_access_tokens",
    }
)


def metadata_url(resource: str) -> str:
    """The RFC 9728 §3.1 metadata URL of ``resource``: the well-known suffix inserted
    between the host and the path, after dropping a terminating slash."""
    parts = urlsplit(resource)
    path = parts.path.rstrip("/") if parts.path != "/" else ""
    return f"{parts.scheme}://{parts.netloc}{METADATA_WELL_KNOWN}{path}"


def normalized_origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower-cased, without a default port (RFC 3986
    §6.2.2.1, §6.2.3). Raises ValueError for a URL without a usable host or port."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in ("http", "https") or not host or parts.username is not None or parts.password is not None:
        raise ValueError("not an http(s) URL with a host")
    port = parts.port  # ValueError when out of range or not a number
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    if port is None or port == (443 if scheme == "https" else 80):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def dpop_mode(value: object) -> str:
    """``value`` as a DPoP mode; ImproperlyConfigured when it is not one (a view's ``dpop``
    attribute or a decorator argument)."""
    if value not in DPOP_MODES:
        raise ImproperlyConfigured(f"DPoP mode {value!r} is not one of {DPOP_MODES}")
    assert isinstance(value, str)
    return value


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost`` and loopback IP literals (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: object, *, allow_http: bool, allow_query: bool = False) -> str | None:
    """Why ``url`` cannot be an issuer (or, with ``allow_query``, a JWKS) URL, or None.

    RFC 8414 §2: an https URL without fragment, and for an issuer identifier without
    query either. Plain http is accepted for loopback hosts (local development, tests)
    and where ``allow_http`` is set: a rule for URLs written in settings; a ``jwks_uri``
    read from metadata has a stricter one (:func:`django_jwt_at.discovery.jwks_uri_problem`).
    Never raises.
    """
    if not isinstance(url, str) or not url:
        return "it must be a non-empty string"
    if "#" in url or (not allow_query and "?" in url):
        return "it must not have a fragment" if allow_query else "it must not have a query or fragment"
    if not _URI_VALUE.match(url):
        return "it contains characters that are not allowed in a URL"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number in range)
    except ValueError:  # an unbalanced IPv6 literal ("http://[::1"), a bad port
        return "it is not a valid URL"
    if not parts.hostname or parts.username is not None or parts.password is not None:
        return "it must be an absolute URL with a host and no user information"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and (allow_http or is_loopback_host(parts.hostname)):
        return None
    return "it must use https (http is accepted only for loopback hosts or with ALLOW_HTTP)"


class _Reader:
    """Reads and validates settings, collecting every problem instead of stopping at one."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.templates: tuple[IssuerTemplate, ...] = ()

    def problem(self, id: str, msg: str, hint: str) -> None:
        self.problems.append(Problem(id, msg, hint))

    def setting(self, name: str) -> Any:
        return getattr(settings, name, DEFAULTS.get(name))

    def issuers(self, max_rsa_bits: int) -> dict[str, IssuerConfig]:
        raw = getattr(settings, "JWT_AT_ISSUERS", None)
        # With a resolver, every issuer may come from it: the dict may be empty.
        if not isinstance(raw, Mapping) or (not raw and self.setting("JWT_AT_ISSUER_RESOLVER") is None):
            self.problem(
                "E001",
                "JWT_AT_ISSUERS must be a non-empty dict of issuer identifier to options.",
                'Add JWT_AT_ISSUERS = {"https://issuer.example": {"AUDIENCE": "https://api.example"}}.',
            )
            return {}
        from .tenants import is_template, read_templates  # imports this module

        self.templates = read_templates(self, {k: v for k, v in raw.items() if is_template(k)}, max_rsa_bits)
        return {
            issuer: entry
            for issuer, options in raw.items()
            if not is_template(issuer) and (entry := self.issuer(issuer, options, max_rsa_bits)) is not None
        }

    def issuer(self, issuer: object, options: object, max_rsa_bits: int) -> IssuerConfig | None:
        if not isinstance(options, Mapping):
            self.problem("E006", f"JWT_AT_ISSUERS[{issuer!r}] must be a dict of options.", "")
            return None
        ok = True
        unknown = sorted(str(k) for k in options if k not in ISSUER_OPTIONS)
        if unknown:
            ok = False
            self.problem(
                "E006",
                f"JWT_AT_ISSUERS[{issuer!r}] has unknown options {unknown}.",
                f"Known options: {sorted(ISSUER_OPTIONS)}.",
            )
        template_only = sorted(str(k) for k in options if k in TEMPLATE_OPTIONS)
        if template_only:  # issuer templates hand their options here without these
            ok = False
            self.problem(
                "E046",
                f"JWT_AT_ISSUERS[{issuer!r}] has {template_only}, options of issuer templates only.",
                "An issuer template has the {tenant} placeholder in its identifier, such as "
                "'https://login.example.com/{tenant}/v2.0'.",
            )
        allow_http = options.get("ALLOW_HTTP", False)
        if not isinstance(allow_http, bool):
            ok, allow_http = False, False
            self.problem("E006", f"JWT_AT_ISSUERS[{issuer!r}]['ALLOW_HTTP'] must be a bool.", "")
        why = url_problem(issuer, allow_http=allow_http)
        if why:
            ok = False
            self.problem(
                "E002",
                f"The issuer identifier {issuer!r} is not valid: {why}.",
                "Use the exact `issuer` value of the authorization server's metadata (RFC 8414 §2).",
            )
        audience = options.get("AUDIENCE")
        audiences = (audience,) if isinstance(audience, str) else audience
        if (
            not isinstance(audiences, (list, tuple))
            or not audiences
            or not all(isinstance(a, str) and a for a in audiences)
        ):
            ok = False
            self.problem(
                "E003",
                f"JWT_AT_ISSUERS[{issuer!r}]['AUDIENCE'] must be a non-empty string or list of strings.",
                "Audience validation cannot be switched off (RFC 9068 §4): set the identifier "
                "this API has at the authorization server.",
            )
        algorithms = options.get("ALGORITHMS", ["RS256"])
        if (
            not isinstance(algorithms, (list, tuple))
            or not algorithms
            or not all(isinstance(a, str) and a in SUPPORTED_ALGORITHMS for a in algorithms)
        ):
            ok = False
            self.problem(
                "E004",
                f"JWT_AT_ISSUERS[{issuer!r}]['ALGORITHMS'] must be a non-empty list of supported "
                "asymmetric algorithms.",
                f"Supported: {sorted(SUPPORTED_ALGORITHMS)}; 'none' and HMAC algorithms are never "
                "accepted (RFC 8725 §3.1, RFC 9068 §2.1).",
            )
        jwks_uri = options.get("JWKS_URI")
        if jwks_uri is not None:
            why = url_problem(jwks_uri, allow_http=allow_http, allow_query=True)
            if why:
                ok = False
                self.problem("E005", f"The JWKS_URI of {issuer!r} is not valid: {why}.", "")
        profile = self.profile(issuer, options)
        if not ok or profile is None:
            return None
        assert isinstance(issuer, str) and isinstance(audiences, (list, tuple))
        return IssuerConfig(
            issuer=issuer,
            audiences=frozenset(audiences),
            jwks_uri=jwks_uri,
            algorithms=frozenset(algorithms),
            allow_http=allow_http,
            max_rsa_bits=max_rsa_bits,
            **profile,
        )

    def profile(self, issuer: object, options: Mapping[str, Any]) -> dict[str, Any] | None:
        """The issuer-profile options of ``options`` as IssuerConfig fields (E018)."""
        result: dict[str, Any] = {}
        bad: list[str] = []

        def name(option: str, field_name: str) -> None:
            if option in options:
                value = options[option]
                if isinstance(value, str) and value:
                    result[field_name] = value
                else:
                    bad.append(f"{option} must be a non-empty claim name")

        name("AUDIENCE_CLAIM", "audience_claim")
        name("CLIENT_ID_CLAIM", "client_id_claim")
        name("SCOPE_CLAIM", "scope_claim")
        name("ROLES_CLAIM", "roles_claim")
        if "TOKEN_TYPES" in options:
            types = options["TOKEN_TYPES"]
            if (
                isinstance(types, (list, tuple))
                and types
                and all(t is None or (isinstance(t, str) and _QUOTED_VALUE.match(t)) for t in types)
            ):
                result["token_types"] = frozenset(None if t is None else media_type(t) for t in types)
            else:
                bad.append("TOKEN_TYPES must be a non-empty list of typ values (None: no typ header)")
        if "SCOPE_FORMAT" in options:
            if options["SCOPE_FORMAT"] in ("string", "array"):
                result["scope_format"] = options["SCOPE_FORMAT"]
            else:
                bad.append('SCOPE_FORMAT must be "string" or "array"')
        if "REQUIRED_CLAIMS" in options:
            claims = options["REQUIRED_CLAIMS"]
            if isinstance(claims, (list, tuple)) and all(isinstance(c, str) and c for c in claims):
                result["required_claims"] = frozenset(claims)
            else:
                bad.append("REQUIRED_CLAIMS must be a list of claim names")
        else:
            result["required_claims"] = frozenset({result.get("client_id_claim", "client_id"), "jti"})
        if "REQUIRED_CLAIM_VALUES" in options:
            values = options["REQUIRED_CLAIM_VALUES"]
            if isinstance(values, Mapping) and all(
                isinstance(k, str) and k and isinstance(v, str) for k, v in values.items()
            ):
                result["required_claim_values"] = tuple(sorted(values.items()))
            else:
                bad.append("REQUIRED_CLAIM_VALUES must be a dict of claim name to string value")
        for problem in bad:
            self.problem(
                "E018",
                f"JWT_AT_ISSUERS[{issuer!r}]: {problem}.",
                "See the provider recipes in the documentation (docs/providers.rst).",
            )
        return None if bad else result

    def integer(self, name: str, low: int, high: int, id: str) -> int:
        value = self.setting(name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(id, f"{name} must be an integer from {low} to {high}.", "")
            return int(DEFAULTS[name])
        return value

    def user_mapping(self, issuers: Mapping[str, IssuerConfig]) -> type[UserMapping]:
        path = self.setting("JWT_AT_USER_MAPPING")
        mapping: object = None
        if isinstance(path, str):
            try:
                mapping = import_string(path)
            except ImportError:
                mapping = None
        if not isinstance(mapping, type) or not issubclass(mapping, UserMapping):
            self.problem(
                "E050",
                f"JWT_AT_USER_MAPPING {path!r} is not the dotted path of a UserMapping subclass.",
                "Use 'django_jwt_at.users.StatelessUserMapping' (the default), "
                "'django_jwt_at.users.ModelUserMapping' or a subclass of either.",
            )
            return import_string(str(DEFAULTS["JWT_AT_USER_MAPPING"]))  # type: ignore[no-any-return]
        if issubclass(mapping, ModelUserMapping):
            longest = [(issuer, len(issuer)) for issuer in issuers]
            longest += [(t.template, t.max_issuer_length) for t in self.templates]
            for issuer, length in longest:
                if length > ISSUER_MAX_LENGTH:
                    self.problem(
                        "E052",
                        f"The issuer identifier {issuer!r} is (or, with its tenant, may be) longer than "
                        f"{ISSUER_MAX_LENGTH} characters, which the model-backed user mapping cannot store.",
                        "Use the stateless user mapping for this issuer's tokens, or a shorter TENANT_PATTERN.",
                    )
        return mapping

    def boolean(self, name: str, id: str) -> bool:
        value = self.setting(name)
        if not isinstance(value, bool):
            self.problem(id, f"{name} must be True or False.", "")
            return bool(DEFAULTS[name])
        return value

    def read(self) -> Config:
        # Read before the issuers, whose key sets it bounds.
        max_rsa_bits = self.integer("JWT_AT_MAX_RSA_KEY_BITS", *MAX_RSA_KEY_BITS_RANGE, "E019")
        issuers = self.issuers(max_rsa_bits)
        leeway = self.integer("JWT_AT_LEEWAY", 0, MAX_LEEWAY, "E007")
        realm = self.setting("JWT_AT_REALM")
        if not isinstance(realm, str) or not _QUOTED_VALUE.match(realm):
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
        descriptions = self.setting("JWT_AT_ERROR_DESCRIPTIONS")
        if not isinstance(descriptions, bool):
            self.problem("E010", "JWT_AT_ERROR_DESCRIPTIONS must be True or False.", "")
            descriptions = True
        error_uri = self.setting("JWT_AT_ERROR_URI")
        if error_uri is not None and (
            not isinstance(error_uri, str) or not _URI_VALUE.match(error_uri) or not urlsplit(error_uri).scheme
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
        from .tenants import read_dynamic_settings  # imports this module

        dynamic = read_dynamic_settings(self)
        # The parse-time envelope (cheap checks first): what at least one issuer accepts.
        # A resolver may return any supported algorithm and the token types it is allowed.
        profiles = [*issuers.values(), *(t.base for t in self.templates)]
        algorithms = frozenset().union(*(i.algorithms for i in profiles))
        token_types: frozenset[str | None] = frozenset().union(*(i.token_types for i in profiles))
        if dynamic["issuer_resolver"] is not None:
            from .tenants import RESOLVER_TOKEN_TYPES

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
            from .fapi import fapi2_violations  # imports this module

            for message, hint in fapi2_violations(config):
                self.problem("E045", message, hint)
        return config

    def sender_constraint(self) -> dict[str, Any]:
        """Certificate binding (RFC 8705 §3), the sender-constraint requirement and FAPI 2.0."""
        header = self.setting("JWT_AT_MTLS_CERT_HEADER")
        meta_key = None
        if header is not None:
            if (
                not isinstance(header, str)
                or len(header) > 64
                or not _HEADER_NAME.match(header)
                or header.lower() in _NOT_CERT_HEADERS
            ):
                self.problem(
                    "E042",
                    f"JWT_AT_MTLS_CERT_HEADER {header!r} must be None or the name of the request header "
                    "in which a trusted proxy forwards the client certificate.",
                    "Letters, digits and single hyphens, e.g. 'Client-Cert' (RFC 9440); the proxy must "
                    "remove this header from every client request.",
                )
                header = None
            else:
                meta_key = "HTTP_" + header.upper().replace("-", "_")
        cert_format = self.setting("JWT_AT_MTLS_CERT_FORMAT")
        if cert_format not in MTLS_CERT_FORMATS:
            self.problem(
                "E043",
                f"JWT_AT_MTLS_CERT_FORMAT must be one of {list(MTLS_CERT_FORMATS)}.",
                "'rfc9440': the DER certificate as a byte sequence, ':<base64>:' (RFC 9440 §2.2); "
                "'pem-urlencoded': a URL-encoded PEM certificate (nginx $ssl_client_escaped_cert).",
            )
            cert_format = DEFAULTS["JWT_AT_MTLS_CERT_FORMAT"]
        return {
            "mtls_cert_header": header,
            "mtls_cert_meta_key": meta_key,
            "mtls_cert_format": cert_format,
            "confirmation_methods": frozenset({"jkt", "x5t#S256"} if meta_key else {"jkt"}),
            "require_sender_constrained": self.boolean("JWT_AT_REQUIRE_SENDER_CONSTRAINED", "E044"),
            "fapi2": self.boolean("JWT_AT_FAPI2", "E044"),
        }

    def dpop(self, resource: str | None) -> dict[str, Any]:
        mode = self.setting("JWT_AT_DPOP")
        if mode is not None and mode not in DPOP_MODES:
            self.problem("E032", f"JWT_AT_DPOP must be one of {list(DPOP_MODES)} (or None).", "")
            mode = None
        algorithms = self.setting("JWT_AT_DPOP_ALGORITHMS")
        if (
            not isinstance(algorithms, (list, tuple))
            or not algorithms
            or not all(isinstance(a, str) and a in SUPPORTED_ALGORITHMS for a in algorithms)
            or len(set(algorithms)) != len(algorithms)
        ):
            self.problem(
                "E033",
                "JWT_AT_DPOP_ALGORITHMS must be a non-empty list of distinct supported asymmetric algorithms.",
                f"Supported: {sorted(SUPPORTED_ALGORITHMS)}; 'none' and HMAC algorithms are never "
                "accepted (RFC 9449 §4.2, §11.6).",
            )
            algorithms = DEFAULTS["JWT_AT_DPOP_ALGORITHMS"]
        window = self.setting("JWT_AT_DPOP_IAT_WINDOW")
        if (
            not isinstance(window, (list, tuple))
            or len(window) != 2
            or not all(isinstance(w, int) and not isinstance(w, bool) and 0 <= w <= MAX_LEEWAY for w in window)
        ):
            self.problem(
                "E034",
                f"JWT_AT_DPOP_IAT_WINDOW must be a pair of integers from 0 to {MAX_LEEWAY}: seconds a "
                "proof's iat may lie in the past and in the future.",
                "RFC 9449 §11.1: servers MUST only accept DPoP proofs for a limited time.",
            )
            window = DEFAULTS["JWT_AT_DPOP_IAT_WINDOW"]
        nonce = self.setting("JWT_AT_DPOP_NONCE")
        if not isinstance(nonce, bool):
            self.problem("E035", "JWT_AT_DPOP_NONCE must be True or False.", "")
            nonce = False
        lifetime = self.integer("JWT_AT_DPOP_NONCE_LIFETIME", 10, 3600, "E035")
        nonce_key = b""
        if nonce:
            secret = self.setting("JWT_AT_DPOP_NONCE_SECRET")
            if secret is None:
                secret = getattr(settings, "SECRET_KEY", "")
            if not isinstance(secret, str) or len(secret) < MIN_NONCE_SECRET:
                self.problem(
                    "E035",
                    "DPoP nonces need JWT_AT_DPOP_NONCE_SECRET (or SECRET_KEY) of at least "
                    f"{MIN_NONCE_SECRET} characters.",
                    "Every instance must share the secret, so that a nonce issued by one is accepted by all.",
                )
            else:
                # A key of its own, so that a nonce MAC can never stand for another SECRET_KEY use.
                nonce_key = hmac.new(secret.encode("utf-8"), b"django_jwt_at.dpop-nonce", hashlib.sha256).digest()
        origin_setting = self.setting("JWT_AT_RESOURCE_URL")
        origin: str | None = None
        if origin_setting is not None:
            why = url_problem(origin_setting, allow_http=False)
            if why is None and urlsplit(origin_setting).path not in ("", "/"):
                why = "it must be an origin (scheme, host and port) without a path"
            if why:
                self.problem(
                    "E036",
                    f"JWT_AT_RESOURCE_URL {origin_setting!r} is not valid: {why}.",
                    "Set the external origin clients use, e.g. 'https://api.example.com' (RFC 9449 §4.3).",
                )
            else:
                origin = normalized_origin(origin_setting)
        elif resource is not None:
            origin = normalized_origin(resource)
        if mode is None:
            # Not set: DPoP is on exactly when proofs can be checked, i.e. when the external
            # origin their htu must name is known (RFC 9449 §4.3). Otherwise every challenge
            # would advertise a scheme no proof can pass.
            mode = "optional" if origin is not None else "off"
        accept_bound = self.setting("JWT_AT_DPOP_ACCEPT_BOUND_AS_BEARER")
        if not isinstance(accept_bound, bool):
            self.problem("E038", "JWT_AT_DPOP_ACCEPT_BOUND_AS_BEARER must be True or False.", "")
            accept_bound = False
        elif accept_bound and mode != "off":
            self.problem(
                "E041",
                f"JWT_AT_DPOP_ACCEPT_BOUND_AS_BEARER is True but JWT_AT_DPOP is {mode!r}.",
                "A resource that supports DPoP must refuse DPoP-bound tokens sent as Bearer "
                "(RFC 9449 §7.2): the setting applies only when DPoP is off for the whole resource.",
            )
            accept_bound = False
        return {
            "dpop_mode": mode,
            "dpop_algorithms": tuple(algorithms),
            "dpop_iat_window": (window[0], window[1]),
            "dpop_origin": origin,
            "dpop_nonce": nonce,
            "dpop_nonce_lifetime": lifetime,
            "dpop_nonce_key": nonce_key,
            "dpop_accept_bound_as_bearer": accept_bound,
        }

    def resource(self) -> str | None:
        resource = self.setting("JWT_AT_RESOURCE")
        if resource is None:
            return None
        why = url_problem(resource, allow_http=False)
        if why is None and urlsplit(resource).path.endswith("/") and urlsplit(resource).path != "/":
            why = "its path must not end with a slash"
        if why:
            self.problem(
                "E030",
                f"JWT_AT_RESOURCE {resource!r} is not a valid resource identifier: {why}.",
                "Use the https URL clients know this API by, without query or fragment (RFC 9728 §1.2).",
            )
            return None
        assert isinstance(resource, str)
        return resource

    def resource_metadata(self, certificate_binding: bool) -> Mapping[str, Any]:
        raw = self.setting("JWT_AT_RESOURCE_METADATA")
        if not isinstance(raw, Mapping):
            self.problem("E031", "JWT_AT_RESOURCE_METADATA must be a dict of RFC 9728 §2 parameters.", "")
            return {}
        result: dict[str, Any] = {}
        for name, value in raw.items():
            why = _metadata_field_problem(name, value, certificate_binding)
            if why:
                self.problem(
                    "E031",
                    f"JWT_AT_RESOURCE_METADATA[{name!r}] is not valid: {why}.",
                    f"Allowed: {sorted(METADATA_FIELDS)}; resource, authorization_servers (by default), "
                    "bearer_methods_supported and the dpop_* parameters are derived from the other settings.",
                )
            else:
                result[name] = list(value) if isinstance(value, (list, tuple)) else value
        return MappingProxyType(result)


def _metadata_field_problem(name: object, value: object, certificate_binding: bool) -> str | None:
    if name not in METADATA_FIELDS:
        return "it is not a parameter this setting may set"
    if name == "resource_name":
        return None if isinstance(value, str) and value else "it must be a non-empty string"
    if name == "tls_client_certificate_bound_access_tokens":
        if not isinstance(value, bool):
            return "it must be True or False"
        if value and not certificate_binding:
            # RFC 9728 §2 / RFC 8705 §3: a promise the resource does not keep (without
            # JWT_AT_MTLS_CERT_HEADER it refuses certificate-bound tokens).
            return "without JWT_AT_MTLS_CERT_HEADER certificate-bound access tokens are refused, so it must not be True"
        if not value and certificate_binding:
            return "with JWT_AT_MTLS_CERT_HEADER certificate-bound access tokens are accepted, so it must not be False"
        return None
    if name in METADATA_URI_FIELDS:
        return url_problem(value, allow_http=False, allow_query=True)
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) and v for v in value):
        return "it must be a non-empty list of strings"
    if name == "authorization_servers":
        return next((why for v in value if (why := url_problem(v, allow_http=False))), None)
    if name == "resource_signing_alg_values_supported" and "none" in value:
        return "'none' must not be used (RFC 9728 §2)"
    if name == "scopes_supported" and not all(_SCOPE_TOKEN.match(v) for v in value):
        return "a scope contains characters RFC 6749 §3.3 does not allow"
    return None


def read_config() -> tuple[Config, list[Problem]]:
    """Read every setting; return the configuration and the problems found."""
    reader = _Reader()
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


# --- OpenAPI (read only by django_jwt_at.openapi, while a schema is generated) -----------------

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
