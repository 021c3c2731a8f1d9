"""The only writer of error responses: ``WWW-Authenticate`` values, headers and bodies.

Canonical form (Design decisions: dpop modes, challenge format): one field; the ``Bearer``
challenge first and the ``DPoP`` challenge second, each present as the DPoP mode says
(``off``: Bearer only, ``optional``: both, ``required``: DPoP only). A ``use_dpop_nonce``
answer is the DPoP challenge alone, as in the RFC 9449 §9 example. Parameters are
quoted-strings joined by ``", "`` in the order realm, error, error_description, scope,
acr_values, max_age, error_uri, algs, resource_metadata: ``scope`` comes right after the
error parameters because clients that find parameters with an unanchored search would
otherwise read a ``scope=`` inside an ``error_uri`` as the scope. ``realm`` is always on
the Bearer challenge and ``algs`` on the DPoP one, so neither is ever bare (RFC 6750 §3).
Error information goes on the challenge of the scheme the request used (RFC 9449 §7.2);
``resource_metadata`` on every challenge when configured (RFC 9728 §5.1, Design decisions: resource metadata).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .conf import Config
from .errors import (
    AuthenticationRequired,
    InsufficientScope,
    InsufficientUserAuthentication,
    KeySetUnavailable,
    ProtocolError,
    UseDPoPNonce,
)

# RFC 6750 §3: every value we quote must stay inside %x20-21 / %x23-5B / %x5D-7E, so it
# can be written without escaping. Values come from validated settings and fixed texts;
# this guard turns a programming error into an exception instead of a malformed header.
_SAFE_VALUE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*\Z")


@dataclass(frozen=True)
class ChallengeContext:
    """What decides the shape of a request's challenges besides the error itself.

    ``dpop_mode`` is the DPoP mode of the view; ``scheme`` the authentication scheme the
    request used (``"Bearer"`` or ``"DPoP"``), None when it carried no credentials.
    """

    dpop_mode: str = "off"
    scheme: str | None = None


BEARER_ONLY = ChallengeContext("off")


def _params(config: Config, error: ProtocolError | None, *, bearer: bool, scope: Sequence[str] = ()) -> str:
    """The parameters of one challenge; ``scope`` is written on a challenge without an
    error (the scopes a request without credentials needs, RFC 6750 §3)."""
    params: list[tuple[str, str]] = [("realm", config.realm)] if bearer else []
    if error is not None:
        params.append(("error", error.code))
        if config.error_descriptions:
            params.append(("error_description", error.description.value))
        scope = error.scope if isinstance(error, (InsufficientScope, InsufficientUserAuthentication)) else ()
    if scope:
        params.append(("scope", " ".join(scope)))
    if isinstance(error, InsufficientUserAuthentication):
        if error.acr_values:
            params.append(("acr_values", " ".join(error.acr_values)))
        if error.max_age is not None:
            params.append(("max_age", str(error.max_age)))
    if error is not None and config.error_uri:
        params.append(("error_uri", config.error_uri))
    if not bearer:
        params.append(("algs", " ".join(config.dpop_algorithms)))  # RFC 9449 §7.1
    if config.resource_metadata_url:
        params.append(("resource_metadata", config.resource_metadata_url))
    for name, value in params:
        if not _SAFE_VALUE.match(value):
            raise ValueError(f"unsafe value for the {name} parameter of a challenge")
    return ", ".join(f'{name}="{value}"' for name, value in params)


def www_authenticate(config: Config, error: ProtocolError | None, context: ChallengeContext) -> str:
    """The ``WWW-Authenticate`` value for ``error`` (None: no credentials).

    Errors without a code (no credentials, RFC 6750 §3.1 "SHOULD NOT include an error
    code") get error-free challenges, each with the ``scope`` of an
    :class:`~django_jwt_at.errors.AuthenticationRequired` that names one. An error goes on
    the challenge its ``scheme`` names, else on the one of the scheme the request used,
    else on the first challenge. ``use_dpop_nonce`` is the DPoP challenge alone: RFC 9449
    §9 answers a proof without the server's nonce that way, and clients retry with the
    nonce only when the field starts with that challenge.
    """
    dpop = context.dpop_mode != "off"
    bearer = context.dpop_mode != "required" and not (dpop and isinstance(error, UseDPoPNonce))
    scope = error.scope if isinstance(error, AuthenticationRequired) else ()
    target = None
    if error is not None and error.code:
        target = error.scheme or context.scheme or ("Bearer" if bearer else "DPoP")
        if target != "both" and not (bearer if target == "Bearer" else dpop):
            target = "both"  # that challenge is not offered: the error goes on the other one
    challenges = []
    if bearer:
        on_bearer = error if target in ("Bearer", "both") else None
        challenges.append("Bearer " + _params(config, on_bearer, bearer=True, scope=scope))
    if dpop:
        on_dpop = error if target in ("DPoP", "both") else None
        challenges.append("DPoP " + _params(config, on_dpop, bearer=False, scope=scope))
    return ", ".join(challenges)


def bearer_challenge(config: Config, error: ProtocolError | None = None) -> str:
    """The ``Bearer`` challenge alone for ``error`` (a resource without DPoP)."""
    return www_authenticate(config, error, BEARER_ONLY)


# Used in the JSON body instead of the specific description when JWT_AT_ERROR_DESCRIPTIONS
# is False, so that switching descriptions off hides them from the body too.
_GENERIC_DETAIL = {
    "invalid_request": "The request is invalid",
    "invalid_token": "The access token is invalid",
    "insufficient_scope": "The access token is not sufficient for this request",
    "insufficient_user_authentication": "Stronger or more recent user authentication is required",
    "invalid_dpop_proof": "The DPoP proof is invalid",
    "use_dpop_nonce": "The DPoP proof needs the server's nonce",
}


def error_headers(config: Config, error: ProtocolError, context: ChallengeContext | None = None) -> dict[str, str]:
    """The response headers for ``error``: the challenges, or ``Retry-After`` for a 503 (no
    challenge, the token may be fine: Design decisions, keys unavailable).
    ``use_dpop_nonce`` also carries the one ``DPoP-Nonce`` header and
    ``Cache-Control: no-store`` (RFC 9449 §8, §9)."""
    if isinstance(error, KeySetUnavailable):
        return {"Retry-After": str(error.retry_after)}
    headers = {"WWW-Authenticate": www_authenticate(config, error, context or ChallengeContext(config.dpop_mode))}
    if isinstance(error, UseDPoPNonce):
        headers.update(nonce_headers(error.nonce))
    return headers


def nonce_headers(nonce: str) -> dict[str, str]:
    """``DPoP-Nonce`` and ``Cache-Control: no-store`` (RFC 9449 §8: "should be uncacheable")."""
    return {"DPoP-Nonce": nonce, "Cache-Control": "no-store"}


def error_body(config: Config, error: ProtocolError) -> dict[str, str]:
    """The JSON body for ``error`` (Design decisions: error body): ``{"detail": ..., "error": ...}``, or
    DRF's usual ``{"detail": ...}`` when there is no error code (no credentials)."""
    text = error.description.value
    if not error.code:
        return {"detail": text}
    if not config.error_descriptions:
        text = _GENERIC_DETAIL.get(error.code, text)
    return {"detail": text, "error": error.code}
