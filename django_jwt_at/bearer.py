"""Credentials extraction (RFC 6750 §2), free of any web framework.

The adapter hands over the raw ``Authorization`` value and the ``access_token`` values it
found in the query string and in an eligible form body; this module decides which single
token the request carries, if any.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from .conf import MAX_TOKEN_SIZE_LIMIT
from .errors import Description, InvalidRequest, InvalidToken

# RFC 9110 §11.1: auth-scheme = token; RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token.
_SCHEME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_BEARER_CREDENTIALS = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)\Z")
# No value longer than this can hold a token any configuration accepts: such values are
# refused from their scheme alone, without running the pattern over all of them.
_LONGEST_VALUE = MAX_TOKEN_SIZE_LIMIT + 64
# RFC 9449 §7.1: credentials = "DPoP" 1*SP token68.
_DPOP_CREDENTIALS = re.compile(r"[Dd][Pp][Oo][Pp] +([A-Za-z0-9\-._~+/]+=*)\Z")
_CREDENTIALS_START = re.compile(r"[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]+) ")


def bearer_token_from_header(value: str | None) -> str | None:
    """Return the token of a ``Bearer`` ``Authorization`` value: :func:`credentials_from_header`
    with Bearer alone considered (a resource without DPoP), so the fuzzer and the property
    tests that call this exercise the parser requests go through.

    None when the header is absent or uses another scheme (not ours: other authenticators
    may accept it). Raises InvalidRequest when the value is Bearer but not ``"Bearer" 1*SP
    b64token`` (Design decisions: malformed header, folded credentials), InvalidToken when
    it is longer than any token can be.
    """
    credentials = credentials_from_header(value, bearer=True, dpop=False)
    return None if credentials is None else credentials[1]


def credentials_from_header(value: str | None, *, bearer: bool, dpop: bool) -> tuple[str, str] | None:
    """Return ``(scheme, token)`` of an ``Authorization`` value, scheme ``"Bearer"`` or
    ``"DPoP"``, each considered only when enabled.

    None when the header is absent or uses a scheme not considered (another authenticator
    may accept it; for a resource without Bearer, RFC 6750 §3.1 "unsupported
    authentication method"). Raises InvalidRequest, on the challenge of the scheme used,
    when the value is not ``scheme 1*SP token68`` (Design decisions: malformed header, RFC 9449 §7.1), or on
    both challenges when Bearer and DPoP credentials are folded into one value
    (RFC 9449 §7.2, Design decisions: folded credentials).
    """
    if not value:
        return None
    if len(value) > _LONGEST_VALUE:
        scheme_match = _SCHEME.match(value, 0, 64)
        if scheme_match is None or scheme_match.group().lower() not in ("bearer", "dpop"):
            return None
        raise InvalidToken(Description.MALFORMED_TOKEN)  # as any token over the size limit
    if bearer:
        credentials = _BEARER_CREDENTIALS.match(value)
        if credentials is not None:
            return "Bearer", credentials.group(1)
    if dpop:
        credentials = _DPOP_CREDENTIALS.match(value)
        if credentials is not None:
            return "DPoP", credentials.group(1)
    scheme_match = _SCHEME.match(value)
    scheme = scheme_match.group().lower() if scheme_match else ""
    if not ((bearer and scheme == "bearer") or (dpop and scheme == "dpop")):
        return None
    if bearer and dpop and "," in value:
        used = {m.group(1).lower() for part in value.split(",") if (m := _CREDENTIALS_START.match(part))}
        if {"bearer", "dpop"} <= used:
            raise InvalidRequest(Description.MULTIPLE_METHODS, scheme="both")
    raise InvalidRequest(Description.MALFORMED_HEADER, scheme="Bearer" if scheme == "bearer" else "DPoP")


def select_token(
    header_token: str | None,
    query_tokens: Sequence[str],
    body_tokens: Sequence[str],
    enabled_methods: Collection[str],
) -> tuple[str, str] | None:
    """Pick the one token of a request as ``(method, token)``, or None when it carries
    none we accept; ``method`` is ``"header"``, ``"query"`` or ``"body"``.

    Every method is counted even when it is disabled, and a request using more than one
    is rejected (RFC 6750 §2 "MUST NOT use more than one method", Design decisions: token methods); a disabled
    method used alone is treated as no credentials. A repeated ``access_token`` parameter
    is an invalid request (RFC 6750 §3.1).
    """
    if len(query_tokens) > 1 or len(body_tokens) > 1:
        raise InvalidRequest(Description.REPEATED_TOKEN)
    used = [
        (method, token)
        for method, token in (
            ("header", header_token),
            ("query", query_tokens[0] if query_tokens else None),
            ("body", body_tokens[0] if body_tokens else None),
        )
        if token is not None
    ]
    if len(used) > 1:
        raise InvalidRequest(Description.MULTIPLE_METHODS)
    if not used:
        return None
    method, token = used[0]
    return (method, token) if method in enabled_methods else None
