"""The FAPI 2.0 Security Profile (OpenID Foundation, final, February 2025) as rules on the
configuration of a resource server.

With ``JWT_AT_FAPI2 = True`` the settings reader reports every rule broken here as the
settings error ``django_jwt_at.E045``: the system checks list them, and the runtime refuses
to validate tokens until they are fixed, as for every other settings error. Each rule
names the section of the profile it comes from. What the profile asks of the proxy in
front of Django (TLS versions and cipher suites, section 5.2) is outside the settings and
is not checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from .conf import Config, IssuerConfig

#: Section 5.4.1: "use PS256, ES256, or EdDSA (using the Ed25519 variant) algorithms".
FAPI2_ALGORITHMS = frozenset({"PS256", "ES256", "EdDSA"})
#: Section 5.3.2.1 (clock offsets): JWTs with ``iat`` or ``nbf`` up to 10 seconds in the
#: future are accepted, more than 60 seconds never.
FAPI2_MIN_FUTURE = 10
FAPI2_MAX_FUTURE = 60

_ALGORITHMS_HINT = "FAPI 2.0 Security Profile §5.4.1 allows PS256, ES256 and EdDSA (Ed25519) only."
_CLOCK_HINT = (
    "FAPI 2.0 Security Profile §5.3.2.1: JWTs with iat or nbf up to 10 seconds in the future are "
    "accepted, more than 60 seconds in the future never."
)
_TLS_HINT = "FAPI 2.0 Security Profile §5.2.1: only TLS-protected endpoints, and TLS to other servers."
_SENDER_HINT = (
    "FAPI 2.0 Security Profile §5.3.4: a resource server verifies sender-constrained access tokens "
    "(DPoP, RFC 9449, or mutual TLS, RFC 8705), and §5.3.2.1 lets authorization servers issue no other kind."
)


def _sorted_outside(values: Iterable[str]) -> list[str]:
    return sorted(v for v in values if v not in FAPI2_ALGORITHMS)


def _is_http(url: str | None) -> bool:
    return url is not None and urlsplit(url).scheme.lower() == "http"


def _algorithm_violations(issuer: IssuerConfig) -> list[tuple[str, str]]:
    if bad := _sorted_outside(issuer.algorithms):
        return [(f"FAPI 2.0: JWT_AT_ISSUERS[{issuer.issuer!r}]['ALGORITHMS'] allows {bad}.", _ALGORITHMS_HINT)]
    return []


def _tls_violations(issuer: IssuerConfig) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if _is_http(issuer.issuer):
        found.append((f"FAPI 2.0: the issuer {issuer.issuer!r} is not an https URL.", _TLS_HINT))
    if _is_http(issuer.jwks_uri):
        found.append((f"FAPI 2.0: the JWKS_URI of issuer {issuer.issuer!r} is not an https URL.", _TLS_HINT))
    return found


def issuer_violations(issuer: IssuerConfig) -> list[tuple[str, str]]:
    """``(message, hint)`` for every option of one issuer that the FAPI 2.0 Security Profile
    does not allow; for the options ``JWT_AT_ISSUER_RESOLVER`` returns, which are checked
    when they are used (the entries of ``JWT_AT_ISSUERS`` are in :func:`fapi2_violations`)."""
    return _algorithm_violations(issuer) + _tls_violations(issuer)


def fapi2_violations(config: Config) -> list[tuple[str, str]]:
    """``(message, hint)`` for every setting of ``config`` that the FAPI 2.0 Security
    Profile does not allow a resource server, in a stable order; empty when none."""
    found: list[tuple[str, str]] = []
    issuers = [*config.issuers.values(), *(template.base for template in config.issuer_templates)]
    for issuer in issuers:
        found += _algorithm_violations(issuer)
    if bad := _sorted_outside(config.dpop_algorithms):
        found.append((f"FAPI 2.0: JWT_AT_DPOP_ALGORITHMS allows {bad}.", _ALGORITHMS_HINT))

    if not config.require_sender_constrained:
        found.append(
            (
                "FAPI 2.0: JWT_AT_REQUIRE_SENDER_CONSTRAINED is False, so access tokens that are not "
                "sender-constrained are accepted as Bearer tokens.",
                _SENDER_HINT,
            )
        )
    if config.dpop_mode == "off" and config.mtls_cert_meta_key is None:
        found.append(
            (
                "FAPI 2.0: neither DPoP (JWT_AT_DPOP is 'off') nor certificate binding "
                "(JWT_AT_MTLS_CERT_HEADER is None) is on, so no sender-constrained token can be verified.",
                _SENDER_HINT,
            )
        )
    if config.dpop_accept_bound_as_bearer:
        found.append(
            (
                "FAPI 2.0: JWT_AT_DPOP_ACCEPT_BOUND_AS_BEARER is True, so DPoP-bound tokens are accepted "
                "without a proof.",
                _SENDER_HINT,
            )
        )
    if "query" in config.token_methods:
        found.append(
            (
                "FAPI 2.0: JWT_AT_TOKEN_METHODS accepts access tokens in the query string.",
                "FAPI 2.0 Security Profile §5.3.4: a resource server shall not accept access tokens in "
                "the query parameters (RFC 6750 §2.3).",
            )
        )

    # The profile states the clock-offset rule for authorization servers; the access
    # tokens and DPoP proofs a resource server checks are JWTs of the same deployment, so
    # the same bounds apply to their iat and nbf.
    if not FAPI2_MIN_FUTURE <= config.leeway <= FAPI2_MAX_FUTURE:
        found.append(
            (
                f"FAPI 2.0: JWT_AT_LEEWAY is {config.leeway}: access tokens issued up to that many seconds "
                f"in the future are accepted; it must be from {FAPI2_MIN_FUTURE} to {FAPI2_MAX_FUTURE}.",
                _CLOCK_HINT,
            )
        )
    future = config.dpop_iat_window[1]
    if not FAPI2_MIN_FUTURE <= future <= FAPI2_MAX_FUTURE:
        found.append(
            (
                f"FAPI 2.0: JWT_AT_DPOP_IAT_WINDOW accepts DPoP proofs issued up to {future} seconds in "
                f"the future; it must be from {FAPI2_MIN_FUTURE} to {FAPI2_MAX_FUTURE}.",
                _CLOCK_HINT,
            )
        )

    for issuer in issuers:
        found += _tls_violations(issuer)
    if _is_http(config.resource):
        found.append(("FAPI 2.0: JWT_AT_RESOURCE is not an https URL.", _TLS_HINT))
    if _is_http(config.dpop_origin) and not _is_http(config.resource):
        found.append(("FAPI 2.0: JWT_AT_RESOURCE_URL is not an https origin.", _TLS_HINT))
    return found
