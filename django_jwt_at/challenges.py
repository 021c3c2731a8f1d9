"""The only writer of error responses: ``WWW-Authenticate`` values, headers and bodies.

Canonical form (conformance spec §0.3, choice A-05): one ``Bearer`` challenge whose
parameters are quoted-strings joined by ``", "`` in the order realm, error,
error_description, error_uri, scope, acr_values, max_age, resource_metadata. ``realm`` is always present, so
the challenge is never bare (RFC 6750 §3: "one or more auth-param values").
"""

from __future__ import annotations

import re

from .conf import Config
from .errors import InsufficientScope, InsufficientUserAuthentication, KeySetUnavailable, ProtocolError

# RFC 6750 §3: every value we quote must stay inside %x20-21 / %x23-5B / %x5D-7E, so it
# can be written without escaping. Values come from validated settings and fixed texts;
# this guard turns a programming error into an exception instead of a malformed header.
_SAFE_VALUE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*\Z")


def bearer_challenge(config: Config, error: ProtocolError | None = None) -> str:
    """Return the ``Bearer`` challenge for ``error``, or the error-free one when None.

    Errors without a code (no credentials, RFC 6750 §3.1 "SHOULD NOT include an error
    code") get the error-free challenge.
    """
    params: list[tuple[str, str]] = [("realm", config.realm)]
    if error is not None and error.code:
        params.append(("error", error.code))
        if config.error_descriptions:
            params.append(("error_description", error.description.value))
        if config.error_uri:
            params.append(("error_uri", config.error_uri))
        if isinstance(error, (InsufficientScope, InsufficientUserAuthentication)) and error.scope:
            params.append(("scope", " ".join(error.scope)))
        if isinstance(error, InsufficientUserAuthentication):
            if error.acr_values:
                params.append(("acr_values", " ".join(error.acr_values)))
            if error.max_age is not None:
                params.append(("max_age", str(error.max_age)))
    if config.resource_metadata_url:  # RFC 9728 §5.1, on every challenge (choice A-27)
        params.append(("resource_metadata", config.resource_metadata_url))
    for name, value in params:
        if not _SAFE_VALUE.match(value):
            raise ValueError(f"unsafe value for the {name} parameter of a challenge")
    return "Bearer " + ", ".join(f'{name}="{value}"' for name, value in params)


# Used in the JSON body instead of the specific description when JWT_AT_ERROR_DESCRIPTIONS
# is False, so that switching descriptions off hides them from the body too.
_GENERIC_DETAIL = {
    "invalid_request": "The request is invalid",
    "invalid_token": "The access token is invalid",
    "insufficient_scope": "The access token is not sufficient for this request",
    "insufficient_user_authentication": "Stronger or more recent user authentication is required",
}


def error_headers(config: Config, error: ProtocolError) -> dict[str, str]:
    """The response headers for ``error``: the challenge, or ``Retry-After`` for a 503
    (choice A-11: no challenge, the token may be fine)."""
    if isinstance(error, KeySetUnavailable):
        return {"Retry-After": str(error.retry_after)}
    return {"WWW-Authenticate": bearer_challenge(config, error)}


def error_body(config: Config, error: ProtocolError) -> dict[str, str]:
    """The JSON body for ``error`` (choice A-31b): ``{"detail": ..., "error": ...}``, or
    DRF's usual ``{"detail": ...}`` when there is no error code (no credentials)."""
    text = error.description.value
    if not error.code:
        return {"detail": text}
    if not config.error_descriptions:
        text = _GENERIC_DETAIL.get(error.code, text)
    return {"detail": text, "error": error.code}
