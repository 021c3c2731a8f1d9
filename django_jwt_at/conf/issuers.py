"""``JWT_AT_ISSUERS``: the trusted authorization servers, their options and issuer
profiles (how a provider's tokens differ from RFC 9068)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings

from .base import DEFAULT_MAX_RSA_KEY_BITS, QUOTED_VALUE, ReaderBase
from .urls import url_problem

if TYPE_CHECKING:
    pass

#: Signature algorithms this package can verify (RFC 7518 §3, RFC 8037 §3.1).
SUPPORTED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
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


class IssuerSettings(ReaderBase):
    """Reads ``JWT_AT_ISSUERS`` (E001-E006, E018; templates: E046, E047)."""

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
        from ..tenants import is_template, read_templates  # imports this module

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
                and all(t is None or (isinstance(t, str) and QUOTED_VALUE.match(t)) for t in types)
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
