"""Reading the ``WWW-Authenticate`` challenges of a response in a test."""

from __future__ import annotations

import re
from typing import Any

# RFC 9110 §5.6.2 token, §5.6.3 OWS/BWS, §5.6.4 quoted-string, §11.2 token68.
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_PARAM = re.compile(rf"(?P<name>{_TOKEN})[ \t]*=[ \t]*(?P<value>{_TOKEN}|{_QUOTED})")
_TOKEN68 = re.compile(r"(?P<value>[A-Za-z0-9\-._~+/]+=*)[ \t]*(?=,|\Z)")
_SCHEME = re.compile(_TOKEN)
_SPACE = re.compile(r"[ \t]+")
_GAP = re.compile(r"[ \t,]+")  # OWS and the commas of a list (RFC 9110 §5.6.1: empty elements allowed)


def _unquote(value: str) -> str:
    if value.startswith('"'):
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def challenges(response: Any) -> dict[str, dict[str, str]]:
    """The challenges of a ``WWW-Authenticate`` field (RFC 9110 §11.6.1), by scheme:
    ``{"Bearer": {"realm": "api", "error": "insufficient_scope", ...}, "DPoP": {...}}``.

    ``response`` is a response (its ``WWW-Authenticate`` header is read; none gives
    ``{}``) or the field value itself. Parameter values are unquoted; schemes and
    parameter names are kept as sent. A challenge carrying a ``token68`` instead of
    parameters (``Negotiate abc==``) is ``{"token68": "abc=="}``. A value that is not
    a list of challenges raises ValueError, as does a scheme or a parameter that occurs
    twice::

        response = client.post("/api/orders")
        assert challenges(response)["Bearer"]["scope"] == "orders:write"
    """
    if isinstance(response, str):
        field = response
    else:
        field = response.headers.get("WWW-Authenticate", "")
    result: dict[str, dict[str, str]] = {}
    position = _skip(_GAP, field, 0)
    while position < len(field):
        scheme = _SCHEME.match(field, position)
        if scheme is None or scheme.group() in result:
            raise ValueError(f"not a WWW-Authenticate value, or a scheme twice: {field!r}")
        params: dict[str, str] = {}
        result[scheme.group()] = params
        end = scheme.end()  # of the last element of this challenge
        start = _skip(_SPACE, field, end)
        token68 = _TOKEN68.match(field, start)
        if start > end and _PARAM.match(field, start) is not None:
            position = start
            while (param := _PARAM.match(field, position)) is not None:
                if param.group("name") in params or (position > start and "," not in field[end:position]):
                    raise ValueError(f"not a WWW-Authenticate value, or a parameter twice: {field!r}")
                params[param.group("name")] = _unquote(param.group("value"))
                end = param.end()
                position = _skip(_GAP, field, end)
        elif start > end and token68 is not None:
            params["token68"] = token68.group("value")
            end = token68.end()
        position = _skip(_GAP, field, end)
        if position < len(field) and "," not in field[end:position]:
            raise ValueError(f"not a WWW-Authenticate value: {field!r}")
    return result


def _skip(pattern: re.Pattern[str], text: str, position: int) -> int:
    match = pattern.match(text, position)
    return position if match is None else match.end()
