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


def bearer_token_from_header(value: str | None) -> str | None:
    """Return the token of a ``Bearer`` ``Authorization`` value.

    None when the header is absent or uses another scheme (not ours: other authenticators
    may accept it). The scheme is case-insensitive (RFC 9110 §11.1). Raises InvalidRequest
    when the value is Bearer but not ``"Bearer" 1*SP b64token`` (choice A-06): nothing after
    the scheme, a TAB, extra parts, characters outside b64token, or several credentials
    folded into one value (choice A-32).
    """
    if not value:
        return None
    if len(value) > _LONGEST_VALUE:
        scheme = _SCHEME.match(value, 0, 64)
        if scheme is None or scheme.group().lower() != "bearer":
            return None
        raise InvalidToken(Description.MALFORMED_TOKEN)  # as any token over the size limit
    credentials = _BEARER_CREDENTIALS.match(value)
    if credentials is not None:
        return credentials.group(1)
    scheme = _SCHEME.match(value)
    if scheme is None or scheme.group().lower() != "bearer":
        return None
    raise InvalidRequest(Description.MALFORMED_HEADER)


def select_token(
    header_token: str | None,
    query_tokens: Sequence[str],
    body_tokens: Sequence[str],
    enabled_methods: Collection[str],
) -> tuple[str, str] | None:
    """Pick the one token of a request as ``(method, token)``, or None when it carries
    none we accept; ``method`` is ``"header"``, ``"query"`` or ``"body"``.

    Every method is counted even when it is disabled, and a request using more than one
    is rejected (RFC 6750 §2 "MUST NOT use more than one method", choice A-16); a disabled
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
