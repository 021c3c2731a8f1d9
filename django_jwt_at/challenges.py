"""The only writer of ``WWW-Authenticate`` values.

Canonical form (conformance spec §0.3, choice A-05): one ``Bearer`` challenge whose
parameters are quoted-strings joined by ``", "`` in the order realm, error,
error_description, error_uri, scope, acr_values, max_age. ``realm`` is always present, so
the challenge is never bare (RFC 6750 §3: "one or more auth-param values").
"""

from __future__ import annotations

import re

from .conf import Config
from .errors import InsufficientScope, InsufficientUserAuthentication, ProtocolError

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
    for name, value in params:
        if not _SAFE_VALUE.match(value):
            raise ValueError(f"unsafe value for the {name} parameter of a challenge")
    return "Bearer " + ", ".join(f'{name}="{value}"' for name, value in params)
